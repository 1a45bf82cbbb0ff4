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
  | { kind: "open"; at: number }
  /** RST: the connect failed with ECONNREFUSED. */
  | { kind: "closed"; at: number }
  /** No answer within the attempt timeout (late answers count as none). Never changes the observation. */
  | { kind: "unanswered" }
  /** Any other failure (EHOSTUNREACH, ENETUNREACH, EADDRNOTAVAIL, …): counted, never closed or open. */
  | { kind: "other"; at: number; code: string };

/** The fold of all outcomes so far. */
export interface ProbeObservation {
  /** Earliest arrival of an RST. */
  firstClosedAt?: number;
  /** Earliest arrival of a SYN/ACK. */
  firstOpenAt?: number;
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
  if (answeredAt - startedAt > timeoutMs) return { kind: "unanswered" };
  if (answer.type === "connect") return { kind: "open", at: answeredAt };
  if (answer.code === "ECONNREFUSED") return { kind: "closed", at: answeredAt };
  return { kind: "other", at: answeredAt, code: answer.code ?? "UNKNOWN" };
}

const earliest = (current: number | undefined, at: number): number =>
  current === undefined || at < current ? at : current;

/** Adds one outcome. Order-independent: only the earliest RST and SYN/ACK arrivals are kept. */
export function recordOutcome(observation: ProbeObservation, outcome: AttemptOutcome): ProbeObservation {
  switch (outcome.kind) {
    case "open":
      return {
        ...observation,
        connected: observation.connected + 1,
        firstOpenAt: earliest(observation.firstOpenAt, outcome.at),
      };
    case "closed":
      return {
        ...observation,
        refused: observation.refused + 1,
        firstClosedAt: earliest(observation.firstClosedAt, outcome.at),
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
