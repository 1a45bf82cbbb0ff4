/**
 * The one Step Functions call a handler makes, for the local cloud: DescribeExecution (AWS JSON 1.0,
 * `X-Amz-Target: AWSStepFunctions.DescribeExecution`, what the SDK's SFNClient sends), answered from
 * the local runner's own executions. The sweeper asks it whether a benchmark still runs before it
 * deletes that benchmark's key pair. Anything else is refused as an unknown operation.
 */
import { randomUUID } from "node:crypto";
import { createServer } from "node:http";
import { listenOnLoopback, readRequestBody } from "../http-server.js";
import type { LocalStateMachine } from "../runner/local-state-machine.js";

export interface LocalSfn {
  /** For AWS_ENDPOINT_URL_SFN or `new SFNClient({ endpoint })`. */
  endpoint: string;
  close(): Promise<void>;
}

const epochSeconds = (iso: string): number => Date.parse(iso) / 1000;

/** `machine()` is read at each request: the runner exists only once the pipeline has loaded it. */
export async function startLocalSfn(
  machine: () => LocalStateMachine | undefined,
  options: { port?: number } = {},
): Promise<LocalSfn> {
  const server = createServer((req, res) => {
    const requestId = randomUUID();
    const answer = (status: number, body: object) => {
      res.writeHead(status, { "Content-Type": "application/x-amz-json-1.0", "x-amzn-RequestId": requestId });
      res.end(JSON.stringify(body));
    };
    readRequestBody(req)
      .then((text) => {
        const target = String(req.headers["x-amz-target"] ?? "");
        if (target !== "AWSStepFunctions.DescribeExecution") {
          answer(400, {
            __type: "UnknownOperationException",
            message: `The local cloud does not answer ${target}`,
          });
          return;
        }
        const { executionArn } = JSON.parse(text || "{}") as { executionArn?: unknown };
        if (typeof executionArn !== "string" || executionArn === "") {
          answer(400, { __type: "InvalidArn", message: "Invalid Arn: executionArn is required" });
          return;
        }
        const execution = machine()?.describeExecution(executionArn);
        if (execution === undefined) {
          answer(400, {
            __type: "ExecutionDoesNotExist",
            message: `Execution Does Not Exist: '${executionArn}'`,
          });
          return;
        }
        answer(200, {
          executionArn,
          name: execution.name,
          status: execution.status,
          startDate: epochSeconds(execution.startedAt),
          ...(execution.stoppedAt !== undefined && { stopDate: epochSeconds(execution.stoppedAt) }),
        });
      })
      .catch((error: unknown) => {
        if (!res.headersSent) res.writeHead(500, { "Content-Type": "text/plain" });
        res.end(`internal error: ${(error as Error).message}`);
      });
  });
  return listenOnLoopback(server, options.port);
}
