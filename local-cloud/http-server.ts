/** What the local cloud's small HTTP services (SNS, Step Functions) share: the body, the listening. */
import type { IncomingMessage, Server } from "node:http";
import type { AddressInfo } from "node:net";

export async function readRequestBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req as AsyncIterable<Buffer>) chunks.push(chunk);
  return Buffer.concat(chunks).toString("utf8");
}

/** Listens on 127.0.0.1 (`port` 0: any free one); `close` also ends the connections still open. */
export async function listenOnLoopback(
  server: Server,
  port = 0,
): Promise<{ endpoint: string; close(): Promise<void> }> {
  const host = "127.0.0.1";
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const { port: bound } = server.address() as AddressInfo;
  return {
    endpoint: `http://${host}:${bound}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
