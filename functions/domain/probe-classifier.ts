/**
 * Classification of port-probe attempts, ec2-boot-bench style: a new non-blocking connect() every few
 * milliseconds, each abandoned after 1 s. Attempts overlap, so their answers arrive out of order; each
 * one is classified by the time its answer arrived, and the observation keeps the earliest arrival of
 * each kind. Pure code: no sockets, no clock.
 */

/** ec2-boot-bench abandons every connect() after one second. */
export const ATTEMPT_TIMEOUT_MS = 1000;

/** What answered one connect() attempt, as seen by the socket layer. */
export type ConnectAnswer = { type: "connect" } | { type: "error"; code?: string | undefined };

export type AttemptOutcome =
  /** SYN/ACK: the connect succeeded. */
  | { kind: "open"; startedAt: number; at: number }
  /** RST: the connect failed with ECONNREFUSED. */
  | { kind: "closed"; startedAt: number; at: number }
  /** No answer within the attempt timeout (late answers count as none). Never changes the first arrivals. */
  | { kind: "unanswered"; startedAt: number }
  /** Any other failure (EHOSTUNREACH, ENETUNREACH, EADDRNOTAVAIL, …): counted, never closed or open. */
  | { kind: "other"; startedAt: number; at: number; code: string };

/** An answer of one kind: when its attempt started and when the answer arrived. */
export interface Arrival {
  startedAt: number;
  at: number;
}

/** The fold of all outcomes so far. */
export interface ProbeObservation {
  /** Earliest arrival of an RST. */
  firstClosed?: Arrival;
  /** Earliest arrival of a SYN/ACK. */
  firstOpen?: Arrival;
  refused: number;
  connected: number;
  unanswered: number;
  otherErrors: number;
}

export const emptyObservation = (): ProbeObservation => ({
  refused: 0,
  connected: 0,
  unanswered: 0,
  otherErrors: 0,
});

/**
 * Classifies the answer to an attempt started at `startedAt` that arrived at `answeredAt`. An answer
 * that arrives after the timeout is treated as no answer: ec2-boot-bench would have abandoned the
 * attempt by then, and this keeps the result independent of how promptly abandoned sockets are reaped.
 */
export function classifyAnswer(
  startedAt: number,
  answeredAt: number,
  answer: ConnectAnswer,
  timeoutMs: number = ATTEMPT_TIMEOUT_MS,
): AttemptOutcome {
  if (answeredAt - startedAt > timeoutMs) return { kind: "unanswered", startedAt };
  if (answer.type === "connect") return { kind: "open", startedAt, at: answeredAt };
  if (answer.code === "ECONNREFUSED") return { kind: "closed", startedAt, at: answeredAt };
  return { kind: "other", startedAt, at: answeredAt, code: answer.code ?? "UNKNOWN" };
}

const earliest = (current: Arrival | undefined, outcome: Arrival): Arrival =>
  current === undefined || outcome.at < current.at
    ? { startedAt: outcome.startedAt, at: outcome.at }
    : current;

/** Adds one outcome. Order-independent: only the earliest RST and SYN/ACK arrivals are kept. */
export function recordOutcome(observation: ProbeObservation, outcome: AttemptOutcome): ProbeObservation {
  switch (outcome.kind) {
    case "open":
      return {
        ...observation,
        connected: observation.connected + 1,
        firstOpen: earliest(observation.firstOpen, outcome),
      };
    case "closed":
      return {
        ...observation,
        refused: observation.refused + 1,
        firstClosed: earliest(observation.firstClosed, outcome),
      };
    case "unanswered":
      return { ...observation, unanswered: observation.unanswered + 1 };
    case "other":
      return { ...observation, otherErrors: observation.otherErrors + 1 };
  }
}

export const foldOutcomes = (outcomes: Iterable<AttemptOutcome>): ProbeObservation => {
  let observation = emptyObservation();
  for (const outcome of outcomes) observation = recordOutcome(observation, outcome);
  return observation;
};

/**
 * Start times of the attempts that showed "not yet": unanswered (no SYN/ACK or RST) and refused (RST,
 * so not open yet). Kept whole because which of them bound a bracket depends on which attempt turns out
 * to have brought the first RST or SYN/ACK, and answers arrive out of order.
 */
export class NotYetEvidence {
  readonly #unanswered: number[] = [];
  readonly #refused: number[] = [];

  add(outcome: AttemptOutcome): void {
    if (outcome.kind === "unanswered") this.#unanswered.push(outcome.startedAt);
    else if (outcome.kind === "closed") this.#refused.push(outcome.startedAt);
  }

  /**
   * The bracket ends of the observation (DESIGN section 2): the closed bracket starts at the latest
   * unanswered attempt started before the attempt that got the first RST; the open bracket at the
   * latest attempt answered by RST or not at all, started before the attempt that got the first SYN/ACK.
   * An end is absent when no attempt showed "not yet" before: the probe has no evidence of when.
   */
  lowerEnds(observation: ProbeObservation): { closedNotBefore?: number; openNotBefore?: number } {
    const latestBefore = (limit: number, ...lists: number[][]): number | undefined => {
      let latest: number | undefined;
      for (const list of lists) {
        for (const startedAt of list) {
          if (startedAt < limit && (latest === undefined || startedAt > latest)) latest = startedAt;
        }
      }
      return latest;
    };
    const closedNotBefore =
      observation.firstClosed && latestBefore(observation.firstClosed.startedAt, this.#unanswered);
    const openNotBefore =
      observation.firstOpen && latestBefore(observation.firstOpen.startedAt, this.#unanswered, this.#refused);
    return {
      ...(closedNotBefore !== undefined && { closedNotBefore }),
      ...(openNotBefore !== undefined && { openNotBefore }),
    };
  }
}
