import { isIP } from "node:net";

/**
 * The local cloud only ever talks to this machine. An endpoint taken from the environment that points
 * anywhere else is refused rather than used.
 */
export function assertLoopbackEndpoint(variable: string, url: string): void {
  let host: string;
  try {
    host = new URL(url).hostname.replace(/^\[|\]$/g, "");
  } catch {
    throw new Error(`${variable}=${url} is not a URL`);
  }
  const loopback = host === "localhost" || host === "::1" || (isIP(host) === 4 && host.startsWith("127."));
  if (!loopback) {
    throw new Error(
      `${variable}=${url} is not a loopback address; local mode only talks to 127.0.0.0/8 or ::1`,
    );
  }
}
