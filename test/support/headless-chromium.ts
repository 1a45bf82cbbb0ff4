/**
 * Debian's Chromium, headless, for the tests of the pages boot-bench writes: started with the flags
 * this machine's closed network needs (no background connections, no QUIC, no updates or sync).
 */
import { existsSync } from "node:fs";
import { type Browser, chromium } from "playwright-core";

export const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";

/** Whether the browser is installed (`.ci/run` installs it; a test without it is skipped). */
export const chromiumInstalled = (): boolean => existsSync(CHROMIUM);

export const launchHeadlessChromium = (): Promise<Browser> =>
  chromium.launch({
    executablePath: CHROMIUM,
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--no-first-run",
      "--disable-quic",
    ],
  });
