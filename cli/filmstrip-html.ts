/**
 * The page `boot-bench filmstrip` writes beside a run's frames: one self-contained file (inline CSS and
 * script, a Content-Security-Policy that allows only the frames beside it) that plays the boot, each
 * frame placed against the run's milestones and intervals on one time axis. Pure: the run and its
 * manifest in, the page out.
 */
import { posix } from "node:path";
import type { FilmstripManifest, FilmstripStop } from "../functions/domain/contract.js";
import { INTERVAL_LABELS } from "../functions/domain/figures.js";
import { INTERVAL_NAMES, isValidInterval } from "../functions/domain/integrity.js";
import type { RunRecord, RunTimestamps } from "../functions/domain/run-record.js";
import { INTERVAL_BOUNDARIES } from "../functions/domain/timeline.js";
import { escapeHtml, scriptSafeJson } from "./report-html.js";
import { seconds } from "./text-table.js";

/** The file a frame is written to: its S3 key's own name (`frame-0007.jpg`). */
export const frameFileName = (key: string): string => posix.basename(key);

/** The observations the timeline marks, in the order they happen, as the run's record has them. */
const MILESTONES: readonly { at: keyof RunTimestamps; label: string }[] = [
  { at: "launchRequestedAt", label: "RunInstances requested" },
  { at: "launchRespondedAt", label: "RunInstances answered" },
  { at: "runningAt", label: "running" },
  { at: "firstClosedAt", label: "port closed" },
  { at: "firstOpenAt", label: "port open" },
  { at: "probeEndedAt", label: "probe end" },
];

/** The four intervals of a run, each between its boundaries (the total spans the last three). */
const SEGMENT_INTERVALS = INTERVAL_NAMES.filter((name) => name !== "total");

const STOP_MEANINGS: Record<FilmstripStop, string> = {
  "probe-ended": "the probe ended (port open or its deadline) and the tail after it passed",
  "run-ended": "terminate marked the run ended",
  deadline: "the probe's deadline and the tail passed without either mark",
};

/** What the page's script gets: times in seconds after the origin, places in % of the axis. */
export interface FilmstripPageData {
  origin: string;
  frames: { file: string; at: number; answeredAt: number; left: number; width: number }[];
  milestones: { label: string; at: number; left: number }[];
  segments: { label: string; from: number; to: number; seconds: number; valid: boolean }[];
  axis: { from: number; to: number };
}

/** The nicest step that puts at most a dozen labels on an axis this long. */
function axisStep(span: number): number {
  for (const step of [0.5, 1, 2, 5, 10, 15, 30, 60, 120, 300, 600]) if (span / step <= 12) return step;
  return Math.ceil(span / 12 / 600) * 600;
}

const round = (value: number, digits = 3): number => Number(value.toFixed(digits));

export function filmstripPageData(run: RunRecord, manifest: FilmstripManifest): FilmstripPageData {
  const launchRequestedAt = run.timestamps.launchRequestedAt;
  const originAt = launchRequestedAt ?? manifest.startedAt;
  const after = (at: number): number => (at - originAt) / 1000;

  const milestones = MILESTONES.flatMap(({ at, label }) => {
    const value = run.timestamps[at];
    return value === undefined ? [] : [{ label, at: after(value) }];
  });
  // Each interval between the clamped boundaries it was measured between (functions/domain/timeline.ts),
  // which may differ from the raw milestones by the clamping.
  const segments: FilmstripPageData["segments"] = [];
  const { clamped, intervals } = run;
  if (run.status === "succeeded" && clamped !== undefined && intervals !== undefined) {
    for (const name of SEGMENT_INTERVALS) {
      const [fromKey, toKey] = INTERVAL_BOUNDARIES[name];
      segments.push({
        label: INTERVAL_LABELS[name],
        from: after(clamped[fromKey]),
        to: after(clamped[toKey]),
        seconds: intervals[name],
        valid: isValidInterval(run.integrity, name),
      });
    }
  }
  const frames = manifest.frameList.map((frame) => ({
    file: frameFileName(frame.key),
    at: after(frame.requestedAt),
    answeredAt: after(frame.respondedAt),
  }));

  const times = [
    after(manifest.startedAt),
    after(manifest.endedAt),
    ...milestones.map((m) => m.at),
    ...segments.flatMap((s) => [s.from, s.to]),
    ...frames.flatMap((f) => [f.at, f.answeredAt]),
  ];
  const from = Math.min(0, ...times);
  const to = Math.max(from + 1, ...times);
  const place = (at: number): number => round(((at - from) / (to - from)) * 100);
  return {
    origin: launchRequestedAt === undefined ? "the filmstrip's start" : "the RunInstances request",
    frames: frames.map((frame) => ({
      ...frame,
      at: round(frame.at),
      answeredAt: round(frame.answeredAt),
      left: place(frame.at),
      width: round(place(frame.answeredAt) - place(frame.at)),
    })),
    milestones: milestones.map((m) => ({ ...m, at: round(m.at), left: place(m.at) })),
    segments: segments.map((s) => ({ ...s, from: round(s.from), to: round(s.to) })),
    axis: { from: round(from), to: round(to) },
  };
}

const fact = (name: string, value: string): string =>
  `<div><dt>${escapeHtml(name)}</dt><dd>${escapeHtml(value)}</dd></div>`;

const plusSeconds = (value: number): string => `${value < 0 ? "−" : "+"}${seconds(Math.abs(value))} s`;

function timeline(data: FilmstripPageData): string {
  const { from, to } = data.axis;
  const place = (at: number): number => round(((at - from) / (to - from)) * 100);
  const step = axisStep(to - from);
  const labels: string[] = [];
  for (let at = Math.ceil(from / step) * step; at <= to; at += step) {
    labels.push(
      `<span class="axis-label" style="left:${place(at)}%">${escapeHtml(`${round(at, 1)} s`)}</span>`,
    );
  }
  const segments = data.segments.map(
    (segment, i) =>
      `<div class="segment segment-${i}${segment.valid ? "" : " invalid"}" style="left:${place(segment.from)}%;width:${round(place(segment.to) - place(segment.from))}%" ` +
      `title="${escapeHtml(`${segment.label}: ${seconds(segment.seconds)} s${segment.valid ? "" : " (invalid)"}`)}"></div>`,
  );
  const ticks = data.frames.map(
    (frame, i) =>
      `<div class="tick" data-frame="${i}" style="left:${frame.left}%" title="${escapeHtml(frame.file)}"></div>`,
  );
  const milestones = data.milestones.map(
    (m, i) =>
      `<div class="milestone row-${i % 3}" style="left:${m.left}%"><span>${escapeHtml(`${m.label} ${plusSeconds(m.at)}`)}</span></div>`,
  );
  return [
    `<div class="timeline" id="timeline" aria-label="the run's milestones, intervals and frames on one time axis">`,
    `<div class="milestones">${milestones.join("")}</div>`,
    `<div class="track">${segments.join("")}${ticks.join("")}<div class="cursor" id="cursor" hidden></div></div>`,
    `<div class="axis">${labels.join("")}</div>`,
    "</div>",
  ].join("\n");
}

function legend(data: FilmstripPageData): string {
  const milestones = data.milestones.map(
    (m) =>
      `<li><span class="swatch milestone-swatch"></span>${escapeHtml(`${m.label}: ${plusSeconds(m.at)}`)}</li>`,
  );
  const segments = data.segments.map(
    (s, i) =>
      `<li><span class="swatch segment-${i}${s.valid ? "" : " invalid"}"></span>${escapeHtml(
        `${s.label}: ${seconds(s.seconds)} s (${plusSeconds(s.from)} to ${plusSeconds(s.to)})${s.valid ? "" : ", invalid"}`,
      )}</li>`,
  );
  const note =
    data.segments.length > 0
      ? "Intervals as the run's figures give them, measured between the clamped boundaries."
      : "The run did not succeed, so it has no intervals; only its milestones are marked.";
  return `<ul class="legend">${[...milestones, ...segments].join("")}</ul>\n<p class="note">${escapeHtml(
    `Times are seconds after ${data.origin}. Each tick is a frame, requested at its left edge; the cursor spans the current frame's request to its answer, so the picture shows the screen at some instant inside it. ${note}`,
  )}</p>`;
}

/** The whole page; every string that came from data is escaped, the embedded JSON made script-safe. */
export function filmstripPage(run: RunRecord, manifest: FilmstripManifest): string {
  const data = filmstripPageData(run, manifest);
  const title = `Boot filmstrip: benchmark ${run.benchmarkId}, run ${run.runIndex}`;
  const facts = [
    fact("status", run.status + (run.counted ? "" : " (not counted)")),
    fact("instance", run.instanceId ?? manifest.instanceId),
    fact("image", `${run.image.name} (${run.image.amiId})`),
    fact("instance type", run.instanceType),
    fact(
      "frames",
      `${manifest.frames} stored, ${manifest.throttled} throttled, ${manifest.failed} failed, ${manifest.busy} busy`,
    ),
    fact("frames per second", String(manifest.framesPerSecond)),
    fact("stopped by", `${manifest.stoppedBy}: ${STOP_MEANINGS[manifest.stoppedBy] ?? ""}`),
    ...(manifest.lastError === undefined ? [] : [fact("last error", manifest.lastError)]),
  ];
  const first = data.frames[0];
  const viewer =
    first === undefined
      ? `<p class="empty">No frame was stored (see the counts above).</p>`
      : `<figure class="viewer"><img id="frame" src="${escapeHtml(first.file)}" alt="${escapeHtml(`console screenshot 1 of ${data.frames.length}`)}"></figure>
<p class="now"><span id="frame-count"></span> · <span id="frame-time"></span> <span id="frame-phase"></span></p>
<div class="controls">
<button type="button" id="prev" title="previous frame (←)">◀ previous</button>
<button type="button" id="play" title="play or pause (space)">▶ play</button>
<button type="button" id="next" title="next frame (→)">next ▶</button>
<input type="range" id="slider" min="0" max="${data.frames.length - 1}" value="0" step="1" aria-label="frame">
<label>speed <select id="speed">
<option value="1">real time</option><option value="2">2×</option><option value="5">5×</option><option value="0">as fast as frames</option>
</select></label>
</div>`;

  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src 'self' file:">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title>
<style>${STYLE}</style>
</head>
<body>
<h1>${escapeHtml(title)}</h1>
<dl class="facts">${facts.join("")}</dl>
${viewer}
${timeline(data)}
${legend(data)}
<script type="application/json" id="filmstrip-data">${scriptSafeJson(data)}</script>
<script>${PAGE_SCRIPT}</script>
</body>
</html>
`;
}

const STYLE = `
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; margin: 1.5rem auto; max-width: 72rem; padding: 0 1rem; color: #222; }
h1 { font-size: 1.4rem; margin-bottom: .6rem; }
.facts { display: flex; flex-wrap: wrap; gap: .3rem 1.6rem; margin: 0 0 1rem; } .facts div { display: flex; gap: .4rem; }
.facts dt { color: #666; } .facts dd { margin: 0; font-weight: 600; }
.viewer { margin: 0; background: #111; text-align: center; } .viewer img { max-width: 100%; max-height: 70vh; image-rendering: pixelated; vertical-align: middle; }
.now { font-variant-numeric: tabular-nums; margin: .4rem 0; } #frame-phase { color: #666; }
.controls { display: flex; align-items: center; gap: .5rem; margin: .4rem 0 1rem; } #slider { flex: 1; }
.timeline { position: relative; margin: 0 0 .6rem; }
.milestones { position: relative; height: 3.6rem; }
.milestone { position: absolute; top: 0; bottom: -2.2rem; border-left: 2px solid #d62728; }
.milestone span { position: absolute; left: 3px; white-space: nowrap; font-size: .8em; color: #a01d1e; background: rgba(255,255,255,.85); }
.milestone.row-0 span { top: 0; } .milestone.row-1 span { top: 1.15rem; } .milestone.row-2 span { top: 2.3rem; }
.track { position: relative; height: 2.2rem; background: #f2f2f2; border: 1px solid #ccc; }
.segment { position: absolute; top: 0; height: 1rem; opacity: .85; }
.segment-0, .swatch.segment-0 { background: #9ecae1; } .segment-1, .swatch.segment-1 { background: #4292c6; }
.segment-2, .swatch.segment-2 { background: #fdae6b; } .segment-3, .swatch.segment-3 { background: #41ab5d; }
.invalid { background-image: repeating-linear-gradient(45deg, transparent 0 3px, rgba(0,0,0,.35) 3px 5px); }
.tick { position: absolute; bottom: 0; height: 1.1rem; width: 1px; background: #555; }
.cursor { position: absolute; top: -3px; bottom: -3px; min-width: 3px; background: rgba(255,200,0,.55); border: 1px solid #b8860b; box-sizing: border-box; }
.axis { position: relative; height: 1.2rem; font-size: .75em; color: #555; }
.axis-label { position: absolute; transform: translateX(-50%); top: .1rem; white-space: nowrap; }
.legend { list-style: none; padding: 0; display: flex; flex-wrap: wrap; gap: .2rem 1.2rem; font-size: .9em; }
.swatch { display: inline-block; width: .9em; height: .9em; margin-right: .3em; vertical-align: -.1em; }
.milestone-swatch { width: 2px; background: #d62728; }
.note, .empty { color: #555; font-size: .9em; }
`;

/**
 * Plays the frames: real time waits each frame's own gap (divided by the speed); "as fast as frames"
 * moves on as soon as the picture has been decoded. The cursor, slider and times follow the frame.
 */
const PAGE_SCRIPT = `
(function () {
  var data = JSON.parse(document.getElementById("filmstrip-data").textContent);
  var frames = data.frames;
  if (frames.length === 0) return;
  var img = document.getElementById("frame");
  var slider = document.getElementById("slider");
  var play = document.getElementById("play");
  var speed = document.getElementById("speed");
  var cursor = document.getElementById("cursor");
  var timer = null;
  var current = 0;
  function signed(s) { return (s < 0 ? "\\u2212" : "+") + Math.abs(s).toFixed(2) + " s"; }
  function phase(at) {
    var last = null;
    for (var i = 0; i < data.milestones.length; i++) if (data.milestones[i].at <= at) last = data.milestones[i];
    return last ? "(after " + last.label + ")" : "";
  }
  function show(index) {
    current = Math.max(0, Math.min(frames.length - 1, index));
    var frame = frames[current];
    img.src = frame.file;
    img.alt = "console screenshot " + (current + 1) + " of " + frames.length;
    slider.value = String(current);
    document.getElementById("frame-count").textContent = "frame " + (current + 1) + " of " + frames.length;
    document.getElementById("frame-time").textContent =
      signed(frame.at) + " after " + data.origin + " (answered " + signed(frame.answeredAt) + ")";
    document.getElementById("frame-phase").textContent = phase(frame.at);
    cursor.hidden = false;
    cursor.style.left = frame.left + "%";
    cursor.style.width = frame.width + "%";
    document.body.dataset.frame = String(current);
  }
  function pause() {
    if (timer !== null) clearTimeout(timer);
    timer = null;
    play.textContent = "\\u25b6 play";
  }
  function step() {
    if (current >= frames.length - 1) { pause(); return; }
    var factor = Number(speed.value);
    var wait = factor > 0 ? ((frames[current + 1].at - frames[current].at) * 1000) / factor : 0;
    timer = setTimeout(function () {
      show(current + 1);
      if (factor > 0) { step(); return; }
      img.decode().catch(function () {}).then(function () { if (timer !== null) step(); });
    }, Math.max(0, wait));
  }
  play.addEventListener("click", function () {
    if (timer !== null) { pause(); return; }
    if (current >= frames.length - 1) show(0);
    play.textContent = "\\u275a\\u275a pause";
    step();
  });
  document.getElementById("prev").addEventListener("click", function () { pause(); show(current - 1); });
  document.getElementById("next").addEventListener("click", function () { pause(); show(current + 1); });
  slider.addEventListener("input", function () { pause(); show(Number(slider.value)); });
  speed.addEventListener("change", function () { if (timer !== null) { clearTimeout(timer); step(); } });
  document.getElementById("timeline").addEventListener("click", function (event) {
    var tick = event.target.closest && event.target.closest(".tick");
    if (tick) { pause(); show(Number(tick.dataset.frame)); }
  });
  document.addEventListener("keydown", function (event) {
    if (event.target === slider || event.target === speed) return;
    if (event.key === "ArrowLeft") { pause(); show(current - 1); }
    else if (event.key === "ArrowRight") { pause(); show(current + 1); }
    else if (event.key === " ") { event.preventDefault(); play.click(); }
  });
  show(0);
  document.body.dataset.ready = "true";
})();
`;
