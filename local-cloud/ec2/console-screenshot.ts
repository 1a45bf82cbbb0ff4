/**
 * The screen of an emulated instance, as GetConsoleScreenshot returns it: a JPEG of a dark 640x400
 * VGA-like text console showing the instance's console text (console-output.ts, never written twice)
 * in a bitmap font on an 80-column grid, with a status bar naming the boot phase.
 *
 * The screen changes at the boot's milestones and only there: what it shows is the console as it stood
 * when the most recent milestone line appeared (firmware, kernel, root mounted, network, sshd, login
 * prompt, shutdown, halted). So a frame is a function of (instance, phase): two calls in one phase get
 * the same bytes, two phases always differ (the status bar names the phase, in its own colour), and a
 * frame is rendered once and cached for the instance's life. Drawing takes about a millisecond on the
 * main thread; the JPEG is encoded in a worker thread (tens of ms), so the event loop that runs the
 * emulated ports and the in-process probe is not held up.
 */
import { createRequire } from "node:module";
import { Worker } from "node:worker_threads";
import { loadFont } from "jimp";
import { SANS_8_WHITE } from "jimp/fonts";
import {
  type ConsoleMilestone,
  type ConsoleSource,
  consoleMilestones,
  consoleOutputAt,
} from "./console-output.js";

/** What the status bar says: the milestone the screen last changed at, or `no signal` before any. */
export type ScreenPhase =
  | "no signal"
  | "firmware"
  | "kernel"
  | "userland"
  | "network up"
  | "network failed"
  | "sshd ready"
  | "sshd failed"
  | "login"
  | "shutting down"
  | "halted";

const PHASE_OF: Readonly<Record<ConsoleMilestone, ScreenPhase>> = {
  firmware: "firmware",
  kernel: "kernel",
  // The root file system is mounted: init runs next.
  rootMount: "userland",
  networkUp: "network up",
  networkFailed: "network failed",
  sshReady: "sshd ready",
  sshFailed: "sshd failed",
  loginPrompt: "login",
  shutdown: "shutting down",
  halted: "halted",
};

/** Status bar background per phase (RGB): a phase reads at a glance, and survives JPEG. */
const PHASE_COLOUR: Readonly<Record<ScreenPhase, number>> = {
  "no signal": 0x202020,
  firmware: 0x2a2a70,
  kernel: 0x1f4a7a,
  userland: 0x1f6a6a,
  "network up": 0x2a6a2a,
  "network failed": 0x8a2a1a,
  "sshd ready": 0x1a7a3a,
  "sshd failed": 0x8a1a3a,
  login: 0x5a5a1a,
  "shutting down": 0x7a4a1a,
  halted: 0x484848,
};

export const SCREEN_WIDTH = 640;
export const SCREEN_HEIGHT = 400;
const CELL_WIDTH = 8;
const CELL_HEIGHT = 10;
export const SCREEN_COLUMNS = SCREEN_WIDTH / CELL_WIDTH;
const STATUS_HEIGHT = 20;
/** Rows of console text above the status bar. */
export const SCREEN_ROWS = Math.floor((SCREEN_HEIGHT - STATUS_HEIGHT) / CELL_HEIGHT);
const BACKGROUND = 0x101010;
const FOREGROUND = 0xc0c0c0;
const STATUS_FOREGROUND = 0xffffff;
/** Moderate: a frame is a few KB to a few tens of KB, as EC2's own screenshots are. */
const JPEG_QUALITY = 70;
const TAB_STOP = 8;

export interface Screen {
  phase: ScreenPhase;
  /** When the screen last changed (the milestone's instant); undefined for `no signal`. */
  since: number | undefined;
  /** The text rows shown, top to bottom: the last rows of the console that fit, lines wrapped at 80. */
  rows: string[];
}

/**
 * The screen as of `at`: the console as it stood at the most recent milestone at or before `at`.
 * Nothing (`no signal`) before the guest printed anything, or for a launch that never ran.
 */
export function screenAt(source: ConsoleSource, at: number): Screen {
  const last = consoleMilestones(source)
    .filter((m) => m.at <= at)
    .at(-1);
  if (!last) return { phase: "no signal", since: undefined, rows: [] };
  const { text } = consoleOutputAt(source, last.at);
  return { phase: PHASE_OF[last.milestone], since: last.at, rows: screenRows(text) };
}

/** Console text as an 80-column screen shows it: tabs expanded, long lines wrapped, the last rows kept. */
function screenRows(text: string): string[] {
  const rows: string[] = [];
  for (const line of text.split("\r\n").slice(0, -1)) {
    let expanded = "";
    for (const c of line) {
      expanded += c === "\t" ? " ".repeat(TAB_STOP - (expanded.length % TAB_STOP)) : c;
    }
    if (expanded === "") rows.push("");
    for (let i = 0; i < expanded.length; i += SCREEN_COLUMNS)
      rows.push(expanded.slice(i, i + SCREEN_COLUMNS));
  }
  return rows.slice(-SCREEN_ROWS);
}

// ---- rendering ---------------------------------------------------------------------------------

type Font = Awaited<ReturnType<typeof loadFont>>;
let font: Promise<Font> | undefined;
let rendered = 0;

/** How many frames were rendered (not served from the cache) in this process, for tests. */
export function framesRendered(): number {
  return rendered;
}

/** An RGBA frame buffer of the screen's size. */
interface Pixels {
  data: Uint8Array;
  width: number;
  height: number;
}

/** Draws `text` from column 0 on a grid of 8-pixel cells: a proportional font set monospaced. */
function drawText(pixels: Pixels, glyphs: Font, text: string, top: number, colour: number): void {
  const page = glyphs.pages[0]?.bitmap;
  if (!page) throw new Error("the screen font has no glyph page");
  const { data, width, height } = pixels;
  const rgb = [(colour >> 16) & 0xff, (colour >> 8) & 0xff, colour & 0xff] as const;
  for (let col = 0; col < text.length && col < SCREEN_COLUMNS; col++) {
    const c = text[col] ?? " ";
    if (c === " ") continue;
    const glyph = glyphs.chars[c] ?? glyphs.chars["?"];
    if (!glyph) continue;
    const left = col * CELL_WIDTH + Math.floor((CELL_WIDTH - glyph.xadvance) / 2) + glyph.xoffset;
    for (let y = 0; y < glyph.height; y++) {
      const dy = top + glyph.yoffset + y;
      if (dy < 0 || dy >= height) continue;
      for (let x = 0; x < glyph.width; x++) {
        const dx = left + x;
        if (dx < 0 || dx >= width) continue;
        // White glyphs: the alpha channel is the coverage.
        const alpha = (page.data[((glyph.y + y) * page.width + glyph.x + x) * 4 + 3] ?? 0) / 255;
        if (alpha === 0) continue;
        const i = (dy * width + dx) * 4;
        for (let k = 0; k < 3; k++) {
          const under = data[i + k] ?? 0;
          data[i + k] = Math.round(under + ((rgb[k] ?? 0) - under) * alpha);
        }
      }
    }
  }
}

function fillRows(pixels: Pixels, top: number, rows: number, colour: number): void {
  const { data, width } = pixels;
  for (let i = top * width * 4; i < (top + rows) * width * 4; i += 4) {
    data[i] = (colour >> 16) & 0xff;
    data[i + 1] = (colour >> 8) & 0xff;
    data[i + 2] = colour & 0xff;
    data[i + 3] = 0xff;
  }
}

/** The screen's pixels; `instanceId` is shown in the status bar. A few ms. */
export async function drawScreen(screen: Screen, instanceId: string): Promise<Pixels> {
  font ??= loadFont(SANS_8_WHITE).catch((error: unknown) => {
    font = undefined;
    throw error;
  });
  const glyphs = await font;
  const pixels = {
    data: new Uint8Array(SCREEN_WIDTH * SCREEN_HEIGHT * 4),
    width: SCREEN_WIDTH,
    height: SCREEN_HEIGHT,
  };
  const statusTop = SCREEN_HEIGHT - STATUS_HEIGHT;
  fillRows(pixels, 0, statusTop, BACKGROUND);
  screen.rows.forEach((row, i) => {
    drawText(pixels, glyphs, row, i * CELL_HEIGHT + 1, FOREGROUND);
  });
  fillRows(pixels, statusTop, STATUS_HEIGHT, PHASE_COLOUR[screen.phase]);
  const label = screen.phase.toUpperCase();
  const left = ` ${instanceId}`;
  const status = `${left}${" ".repeat(Math.max(1, SCREEN_COLUMNS - 1 - left.length - label.length))}${label}`;
  drawText(pixels, glyphs, status, statusTop + 5, STATUS_FOREGROUND);
  return pixels;
}

/** The JPEG of a screen; `instanceId` is shown in the status bar. */
export async function renderScreen(screen: Screen, instanceId: string): Promise<Buffer> {
  const pixels = await drawScreen(screen, instanceId);
  rendered += 1;
  return jpegEncoder().encode(pixels);
}

/**
 * jimp's pure-JS JPEG encoder takes 40 to 100 ms for one 640x400 frame: on the main thread that would
 * stall the local cloud's emulated ports and the in-process probe that times them. So frames are encoded
 * in a worker thread. Plain JavaScript, evaluated (it runs the same under node, tsx and vitest, as the
 * silent-listener worker of emulated-port.ts does), loading jimp from the path resolved here.
 */
const ENCODER_SOURCE = `"use strict";
const { parentPort, workerData } = require("node:worker_threads");
const { Jimp } = require(workerData.jimp);
parentPort.on("message", async ({ id, data, width, height, quality }) => {
  try {
    const image = Jimp.fromBitmap({ data: Buffer.from(data.buffer, data.byteOffset, data.byteLength), width, height });
    const jpeg = new Uint8Array(await image.getBuffer("image/jpeg", { quality }));
    parentPort.postMessage({ id, jpeg }, [jpeg.buffer]);
  } catch (error) {
    parentPort.postMessage({ id, error: String(error && error.stack || error) });
  }
});
`;

type EncoderReply = { id: number; jpeg: Uint8Array; error?: undefined } | { id: number; error: string };

/** One worker for the process; it holds the process open only while a frame is being encoded. */
class JpegEncoder {
  #worker: Worker | undefined;
  #next = 0;
  readonly #pending = new Map<number, { resolve: (jpeg: Buffer) => void; reject: (e: Error) => void }>();

  encode(pixels: Pixels): Promise<Buffer> {
    const worker = this.#start();
    const id = this.#next++;
    return new Promise<Buffer>((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
      worker.ref();
      const { data, width, height } = pixels;
      worker.postMessage({ id, data, width, height, quality: JPEG_QUALITY }, [data.buffer as ArrayBuffer]);
    });
  }

  #start(): Worker {
    if (this.#worker) return this.#worker;
    const worker = new Worker(ENCODER_SOURCE, {
      eval: true,
      workerData: { jimp: createRequire(import.meta.url).resolve("jimp") },
      name: "screenshot-jpeg",
      // Not the parent's flags: loaders (tsx, vitest) have nothing to do with this CommonJS source.
      execArgv: [],
    });
    worker.unref();
    worker.on("message", (reply: EncoderReply) => {
      const job = this.#pending.get(reply.id);
      this.#pending.delete(reply.id);
      if (this.#pending.size === 0) worker.unref();
      if (reply.error !== undefined) job?.reject(new Error(`JPEG encoding failed: ${reply.error}`));
      else job?.resolve(Buffer.from(reply.jpeg.buffer, reply.jpeg.byteOffset, reply.jpeg.byteLength));
    });
    const gone = (reason: string) => {
      if (this.#worker !== worker) return;
      // The next frame starts a new worker; the frames in flight fail (and are not cached).
      this.#worker = undefined;
      for (const job of this.#pending.values()) job.reject(new Error(`The JPEG worker stopped (${reason})`));
      this.#pending.clear();
    };
    worker.on("error", (error) => gone(error.message));
    worker.on("exit", (code) => gone(`exit code ${code}`));
    this.#worker = worker;
    return worker;
  }
}

let encoder: JpegEncoder | undefined;
const jpegEncoder = (): JpegEncoder => {
  encoder ??= new JpegEncoder();
  return encoder;
};

/** Rendered frames per instance (the owner object, so they go with it), by phase and text. */
const frames = new WeakMap<object, Map<string, Promise<Buffer>>>();

/** The JPEG of a screen of `owner`'s, rendered once per distinct screen. */
export function screenshotJpeg(owner: object, instanceId: string, screen: Screen): Promise<Buffer> {
  let perOwner = frames.get(owner);
  if (!perOwner) {
    perOwner = new Map();
    frames.set(owner, perOwner);
  }
  const key = `${screen.phase}\n${screen.rows.join("\n")}`;
  const cached = perOwner.get(key);
  if (cached) return cached;
  const jpeg = renderScreen(screen, instanceId);
  perOwner.set(key, jpeg);
  // A failed render is tried again next time rather than served forever.
  jpeg.catch(() => perOwner.delete(key));
  return jpeg;
}

// ---- rate limit --------------------------------------------------------------------------------

/**
 * EC2 answers about one GetConsoleScreenshot a second per instance: a token bucket per instance, burst
 * 1, refilled at 1 token a second of real time (API limits are not time-scaled).
 */
export const SCREENSHOT_RATE = { burst: 1, refillPerSecond: 1 } as const;

/**
 * A call may come this much early. Times are the local cloud's arrival times, which its own busy event
 * loop (the in-process pipeline, a render) shifts by a few ms: without slack, a client that spaces its
 * calls exactly a second apart would be refused at random. Early calls borrow: the sustained rate stays
 * one a second.
 */
export const SCREENSHOT_RATE_SLACK_MS = 50;

const buckets = new WeakMap<object, { tokens: number; at: number }>();

/**
 * Takes a token from `owner`'s bucket at `at` (ms, on a real-time clock); false: the call is refused.
 */
export function admitScreenshot(owner: object, at: number): boolean {
  const { burst, refillPerSecond } = SCREENSHOT_RATE;
  const bucket = buckets.get(owner) ?? { tokens: burst, at };
  // Requests are not always handled in the order they arrived: time never runs back for the bucket.
  const now = Math.max(at, bucket.at);
  bucket.tokens = Math.min(burst, bucket.tokens + ((now - bucket.at) / 1000) * refillPerSecond);
  bucket.at = now;
  buckets.set(owner, bucket);
  if (bucket.tokens < 1 - (SCREENSHOT_RATE_SLACK_MS / 1000) * refillPerSecond) return false;
  bucket.tokens -= 1;
  return true;
}
