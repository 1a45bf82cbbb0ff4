/**
 * `boot-bench schedules`: the suites of config/suites.ts with their schedules and next run times,
 * computed from the configuration in each suite's time zone (no AWS call). With `--stack`, also each
 * deployed schedule's state, from EventBridge Scheduler's GetSchedule.
 */
import { GetScheduleCommand, SchedulerClient } from "@aws-sdk/client-scheduler";
import { suites as configuredSuites } from "../config/suites.js";
import { type LoadedSuite, loadSuites, nextRuns, scheduleName } from "../infra/suites-schema.js";
import { type Column, textTable } from "./text-table.js";

export interface ScheduleRow {
  suite: string;
  expression: string;
  timezone: string;
  /** Next run times, in the suite's time zone and in UTC. */
  next: { local: string; utc: string }[];
  targets: number;
  deployed?: string;
}

/** `Fri 2025-10-31 03:00 PDT`: a time as people in that time zone read it. */
export function formatInZone(date: Date, timeZone: string): string {
  const parts = Object.fromEntries(
    new Intl.DateTimeFormat("en-US", {
      timeZone,
      weekday: "short",
      year: "numeric",
      month: "2-digit",
      day: "2-digit",
      hour: "2-digit",
      minute: "2-digit",
      hourCycle: "h23",
      timeZoneName: "short",
    })
      .formatToParts(date)
      .map((part) => [part.type, part.value]),
  );
  return `${parts.weekday} ${parts.year}-${parts.month}-${parts.day} ${parts.hour}:${parts.minute} ${parts.timeZoneName}`;
}

export function scheduleRows(suites: readonly LoadedSuite[], from: Date, count = 1): ScheduleRow[] {
  return suites.map((suite) => ({
    suite: suite.name,
    expression: suite.schedule.expression,
    timezone: suite.schedule.timezone,
    next: nextRuns(suite.schedule.cron, suite.schedule.timezone, from, count).map((date) => ({
      local: formatInZone(date, suite.schedule.timezone),
      utc: `${date.toISOString().slice(0, 16).replace("T", " ")} UTC`,
    })),
    targets: suite.input.suite.targets.length,
  }));
}

/** What the deployed schedule says, compared with the configuration. */
export async function deployedState(
  scheduler: SchedulerClient,
  stack: string,
  suite: LoadedSuite,
): Promise<string> {
  try {
    const schedule = await scheduler.send(new GetScheduleCommand({ Name: scheduleName(stack, suite.name) }));
    const same =
      schedule.ScheduleExpression === suite.schedule.expression &&
      (schedule.ScheduleExpressionTimezone ?? "UTC") === suite.schedule.timezone;
    return `${schedule.State ?? "?"}${same ? "" : ` (deployed: ${schedule.ScheduleExpression} ${schedule.ScheduleExpressionTimezone ?? ""}; redeploy)`}`;
  } catch (error) {
    if (error instanceof Error && error.name === "ResourceNotFoundException") return "not deployed";
    throw error;
  }
}

export function schedulesTable(rows: ScheduleRow[]): string {
  const withState = rows.some((row) => row.deployed !== undefined);
  const columns: Column<ScheduleRow>[] = [
    { header: "suite", value: (r) => r.suite },
    { header: "schedule", value: (r) => r.expression },
    { header: "time zone", value: (r) => r.timezone },
    { header: "next run (suite's time zone)", value: (r) => r.next.map((n) => n.local).join(", ") },
    { header: "next run (UTC)", value: (r) => r.next.map((n) => n.utc).join(", ") },
    { header: "targets", value: (r) => String(r.targets), align: "right" },
    ...(withState ? [{ header: "deployed", value: (r: ScheduleRow) => r.deployed ?? "-" }] : []),
  ];
  return textTable(columns, rows);
}

/** The `schedules` command's work, loaded only when the command runs (it needs zod and the Scheduler client). */
export async function printSchedules(options: { stack?: string; next: string }): Promise<void> {
  const count = Number(options.next);
  if (!Number.isInteger(count) || count < 1 || count > 20)
    throw new Error("--next must be an integer from 1 to 20");
  const suites = loadSuites(configuredSuites);
  const rows = scheduleRows(suites, new Date(), count);
  if (options.stack !== undefined) {
    const scheduler = new SchedulerClient({});
    try {
      for (const [i, suite] of suites.entries()) {
        (rows[i] as ScheduleRow).deployed = await deployedState(scheduler, options.stack, suite);
      }
    } finally {
      scheduler.destroy();
    }
  }
  console.log(schedulesTable(rows));
}
