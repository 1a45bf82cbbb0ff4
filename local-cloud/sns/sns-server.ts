/**
 * A tiny SNS for the local cloud: the Query protocol's Publish (what the SDK's SNSClient sends), on
 * 127.0.0.1, keeping every message so that tests and `run --local` can show the alerts that AWS would
 * have delivered. Nothing is delivered anywhere. `setPublishFault` makes Publish fail as SNS can
 * (`InternalError`, HTTP 500, which the SDK retries; `AuthorizationError`, 403, which it does not).
 */
import { randomUUID } from "node:crypto";
import { createServer } from "node:http";
import { listenOnLoopback, readRequestBody } from "../http-server.js";

export interface PublishedMessage {
  messageId: string;
  topicArn: string;
  subject?: string;
  message: string;
  /** String attributes by name. */
  attributes: Record<string, string>;
  publishedAt: string;
}

/** An error SNS answers a Publish with: the Query protocol's error code and HTTP status. */
export interface SnsPublishError {
  code: string;
  status: number;
  message?: string;
}

/**
 * Decides for every Publish request (`request` counts them from 1, failed ones included) whether it
 * fails; a failed Publish keeps nothing.
 */
export type PublishFault = (
  request: number,
  message: { subject?: string; message: string },
) => SnsPublishError | undefined;

export interface LocalSns {
  /** For AWS_ENDPOINT_URL_SNS or `new SNSClient({ endpoint })`. */
  endpoint: string;
  /** Every message published so far, oldest first. */
  readonly messages: PublishedMessage[];
  /** Fails Publish requests as `fault` decides (undefined: none fail). */
  setPublishFault(fault: PublishFault | undefined): void;
  close(): Promise<void>;
}

const XMLNS = "https://sns.amazonaws.com/doc/2010-03-31/";

const escapeXml = (text: string): string =>
  text.replace(
    /[<>&'"]/g,
    (c) => ({ "<": "&lt;", ">": "&gt;", "&": "&amp;", "'": "&apos;", '"': "&quot;" })[c] as string,
  );

function errorXml(code: string, message: string, requestId: string, type = "Sender"): string {
  return (
    `<ErrorResponse xmlns="${XMLNS}"><Error><Type>${type}</Type><Code>${escapeXml(code)}</Code>` +
    `<Message>${escapeXml(message)}</Message></Error><RequestId>${requestId}</RequestId></ErrorResponse>`
  );
}

/** `MessageAttributes.entry.N.Name` / `.Value.StringValue` pairs. */
function attributesOf(form: URLSearchParams): Record<string, string> {
  const attributes: Record<string, string> = {};
  for (let n = 1; form.has(`MessageAttributes.entry.${n}.Name`); n++) {
    const name = form.get(`MessageAttributes.entry.${n}.Name`) as string;
    attributes[name] = form.get(`MessageAttributes.entry.${n}.Value.StringValue`) ?? "";
  }
  return attributes;
}

/** `port`: default 0, an ephemeral port. */
export async function startLocalSns(options: { port?: number } = {}): Promise<LocalSns> {
  const messages: PublishedMessage[] = [];
  let publishFault: PublishFault | undefined;
  let publishRequests = 0;
  const server = createServer((req, res) => {
    readRequestBody(req)
      .then((body) => {
        const requestId = randomUUID();
        const form = new URLSearchParams(body);
        const reply = (status: number, xml: string) => {
          res.writeHead(status, { "Content-Type": "text/xml", "x-amzn-RequestId": requestId });
          res.end(xml);
        };
        const action = form.get("Action");
        if (action !== "Publish") {
          reply(
            400,
            errorXml(
              "InvalidAction",
              `The local SNS only knows Publish, not ${action ?? "(none)"}`,
              requestId,
            ),
          );
          return;
        }
        const topicArn = form.get("TopicArn");
        const message = form.get("Message");
        if (topicArn === null || !topicArn.startsWith("arn:aws:sns:") || message === null || message === "") {
          reply(
            400,
            errorXml("InvalidParameter", "Invalid parameter: TopicArn and Message are required", requestId),
          );
          return;
        }
        const subject = form.get("Subject");
        const failure = publishFault?.(++publishRequests, { ...(subject !== null && { subject }), message });
        if (failure !== undefined) {
          const text = failure.message ?? `${failure.code} (injected)`;
          reply(
            failure.status,
            errorXml(failure.code, text, requestId, failure.status >= 500 ? "Receiver" : "Sender"),
          );
          return;
        }
        const messageId = randomUUID();
        messages.push({
          messageId,
          topicArn,
          ...(subject !== null && { subject }),
          message,
          attributes: attributesOf(form),
          publishedAt: new Date().toISOString(),
        });
        reply(
          200,
          `<PublishResponse xmlns="${XMLNS}"><PublishResult><MessageId>${messageId}</MessageId></PublishResult>` +
            `<ResponseMetadata><RequestId>${requestId}</RequestId></ResponseMetadata></PublishResponse>`,
        );
      })
      .catch((error: unknown) => {
        if (!res.headersSent) res.writeHead(500, { "Content-Type": "text/plain" });
        res.end(`internal error: ${(error as Error).message}`);
      });
  });
  const listening = await listenOnLoopback(server, options.port);
  return {
    endpoint: listening.endpoint,
    messages,
    setPublishFault: (fault) => {
      publishFault = fault;
    },
    close: listening.close,
  };
}
