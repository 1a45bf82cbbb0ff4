/**
 * A local EC2 + SSM endpoint on 127.0.0.1 speaking the real wire protocols, so the unchanged AWS SDK v3
 * clients work against it through AWS_ENDPOINT_URL_EC2 / AWS_ENDPOINT_URL_SSM (any credentials).
 * One HTTP server serves both: SSM requests carry `X-Amz-Target: AmazonSSM.*`, EC2 requests are
 * form-encoded Query requests. The two endpoint URLs are therefore the same.
 */
import { randomUUID } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import { LocalCloud, type LocalCloudOptions } from "./cloud.js";
import { ec2ErrorXml, type HttpReply, handleEc2Request, NO_ANSWER } from "./ec2/ec2-server.js";
import { QueryParams } from "./ec2/query.js";
import { assertLoopbackEndpoint } from "./runner/loopback.js";
import { handleSsmRequest, SSM_TARGET_PREFIX } from "./ssm/ssm-server.js";
import { trueTime } from "./true-time.js";

export interface LocalAwsOptions extends LocalCloudOptions {
  /** Loopback address to listen on. Default 127.0.0.1; anything outside loopback is refused. */
  host?: string;
  /** Default 0: an ephemeral port. */
  port?: number;
}

export interface LocalAws {
  /** For AWS_ENDPOINT_URL_EC2 or `new EC2Client({ endpoint })`. */
  ec2Endpoint: string;
  /** For AWS_ENDPOINT_URL_SSM or `new SSMClient({ endpoint })` (the same server as EC2). */
  ssmEndpoint: string;
  cloud: LocalCloud;
  /** Terminates every instance, closes every emulated port and the HTTP server, frees the address block. */
  close(): Promise<void>;
}

const MAX_BODY_BYTES = 1024 * 1024;

class BodyTooLarge extends Error {}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) throw new BodyTooLarge();
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString("utf8");
}

function send(res: ServerResponse, reply: HttpReply, requestId: string): void {
  reply.beforeSend?.();
  res.writeHead(reply.status, {
    "Content-Type": reply.contentType,
    "Content-Length": Buffer.byteLength(reply.body),
    "x-amzn-RequestId": requestId,
  });
  res.end(reply.body);
}

/**
 * Connections whose request is left unanswered on purpose (a stall fault). Nothing of Node's ends them
 * (its request timeout covers only receiving the request), so close() must.
 */
type Stalled = Set<Socket>;

async function handle(
  cloud: LocalCloud,
  stalled: Stalled,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  const requestedAt = trueTime();
  const requestId = randomUUID();
  let body: string;
  try {
    body = await readBody(req);
  } catch (error) {
    const tooLarge = error instanceof BodyTooLarge;
    res.writeHead(tooLarge ? 413 : 400, { "Content-Type": "text/plain", Connection: "close" });
    res.end(tooLarge ? "request body too large" : "could not read the request body");
    return;
  }
  const target = req.headers["x-amz-target"];
  if (typeof target === "string" && target.startsWith(SSM_TARGET_PREFIX)) {
    send(res, handleSsmRequest(cloud, target, body), requestId);
    return;
  }
  if (req.method !== "POST" && req.method !== "GET") {
    send(
      res,
      {
        status: 405,
        contentType: "text/xml;charset=UTF-8",
        body: ec2ErrorXml("InvalidHttpRequest", `${req.method} is not supported`, requestId),
      },
      requestId,
    );
    return;
  }
  // EC2 Query: the parameters are in the form body (POST) or the query string (GET).
  const params = new URLSearchParams(new URL(req.url ?? "/", "http://localhost").search);
  for (const [key, value] of new URLSearchParams(body)) params.set(key, value);
  const reply = await handleEc2Request(cloud, new QueryParams(params), requestId, requestedAt);
  if (reply !== NO_ANSWER) {
    send(res, reply, requestId);
    return;
  }
  const { socket } = req;
  if (socket.destroyed) return;
  stalled.add(socket);
  socket.once("close", () => stalled.delete(socket));
}

/** Starts the local EC2 + SSM endpoint on an ephemeral loopback port. */
export async function startLocalAws(options: LocalAwsOptions = {}): Promise<LocalAws> {
  const host = options.host ?? "127.0.0.1";
  assertLoopbackEndpoint("host", `http://${host.includes(":") ? `[${host}]` : host}/`);
  const cloud = new LocalCloud(options);
  // At start rather than at the first launch, so the block can be reported before anything runs.
  await cloud.claimAddressBlock();
  const stalled: Stalled = new Set();
  const server = createServer({ keepAliveTimeout: 5_000 }, (req, res) => {
    handle(cloud, stalled, req, res).catch((error: unknown) => {
      if (!res.headersSent) res.writeHead(500, { "Content-Type": "text/plain" });
      res.end(`internal error: ${(error as Error).message}`);
    });
  });
  try {
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(options.port ?? 0, host, () => {
        server.off("error", reject);
        resolve();
      });
    });
  } catch (error) {
    await cloud.close();
    throw error;
  }
  const { port } = server.address() as AddressInfo;
  const endpoint = `http://${host.includes(":") ? `[${host}]` : host}:${port}`;
  let closing: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closing ??= (async () => {
      const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      for (const socket of stalled) socket.destroy();
      await cloud.close();
      server.closeAllConnections();
      await stopped;
    })();
    return closing;
  };
  return { ec2Endpoint: endpoint, ssmEndpoint: endpoint, cloud, close };
}
