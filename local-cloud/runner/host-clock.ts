/**
 * Step clocks that are off, for the local runner's faults. On AWS each step runs in its own Lambda
 * environment on its own host: a warm environment that was paused has a process clock
 * (`performance.timeOrigin + performance.now()`) that has drifted from the wall clock, and a host whose
 * time sync failed has a wall clock that is off. In one process every step shares one clock, which is
 * kinder than AWS. These faults give one step invocation (and every callback it causes: sockets, timers)
 * a clock of its own through AsyncLocalStorage, while the local cloud, which keeps the truth, and every
 * other invocation read the real one.
 */
import { AsyncLocalStorage } from "node:async_hooks";

export interface HostClockFault {
  /** The host's wall clock (`Date.now()`) is this far ahead of the truth; its process clock agrees. */
  wallOffsetMs?: number;
  /**
   * The process clock (`performance.timeOrigin + performance.now()`) is this far ahead of the host's
   * wall clock when the invocation starts…
   */
  processClockOffsetMs?: number;
  /** …and gains this many microseconds per second of the invocation on top (a drifting clock). */
  processClockDriftPpm?: number;
}

interface ActiveFault {
  wallOffsetMs: number;
  processClockOffsetMs: number;
  driftPerMs: number;
  /** Real performance.now() when the invocation started. */
  startedAt: number;
}

const storage = new AsyncLocalStorage<ActiveFault>();
let installed = false;

/** Replaces Date.now and performance.now, once, by versions that apply the active fault, if any. */
function install(): void {
  if (installed) return;
  installed = true;
  const realDateNow = Date.now.bind(Date);
  const realPerformanceNow = performance.now.bind(performance);
  Date.now = () => {
    const fault = storage.getStore();
    return fault === undefined ? realDateNow() : Math.floor(realDateNow() + fault.wallOffsetMs);
  };
  Object.defineProperty(performance, "now", {
    configurable: true,
    writable: true,
    value: () => {
      const now = realPerformanceNow();
      const fault = storage.getStore();
      if (fault === undefined) return now;
      const drift = (now - fault.startedAt) * fault.driftPerMs;
      return now + fault.wallOffsetMs + fault.processClockOffsetMs + drift;
    },
  });
}

/** Runs one invocation with its host's clock off as the fault says. */
export function withHostClock<T>(fault: HostClockFault, invocation: () => Promise<T>): Promise<T> {
  install();
  return storage.run(
    {
      wallOffsetMs: fault.wallOffsetMs ?? 0,
      processClockOffsetMs: fault.processClockOffsetMs ?? 0,
      driftPerMs: (fault.processClockDriftPpm ?? 0) / 1e6,
      startedAt: performance.now(),
    },
    invocation,
  );
}
