import { GetScheduleCommand, SchedulerClient } from "@aws-sdk/client-scheduler";
import { mockClient } from "aws-sdk-client-mock";
import { afterEach, describe, expect, it, vi } from "vitest";
import { buildProgram } from "../../cli/main.js";
import { formatInZone, scheduleRows, schedulesTable } from "../../cli/schedules-view.js";
import { suites as configuredSuites } from "../../config/suites.js";
import { loadSuites } from "../../infra/suites-schema.js";

const schedulerMock = mockClient(SchedulerClient);
afterEach(() => {
  schedulerMock.reset();
  vi.restoreAllMocks();
});

describe("boot-bench schedules", () => {
  it("computes each suite's next runs from the configuration, in its own time zone", () => {
    const rows = scheduleRows(loadSuites(configuredSuites), new Date("2025-10-28T12:00:00Z"), 2);
    expect(rows).toEqual([
      {
        suite: "freebsd-weekly",
        expression: "cron(0 3 ? * FRI *)",
        timezone: "America/Vancouver",
        next: [
          { local: "Fri 2025-10-31 03:00 PDT", utc: "2025-10-31 10:00 UTC" },
          { local: "Fri 2025-11-07 03:00 PST", utc: "2025-11-07 11:00 UTC" },
        ],
        targets: 1,
      },
      {
        suite: "baseline",
        expression: "cron(0 4 ? * SUN *)",
        timezone: "UTC",
        next: [
          { local: "Sun 2025-11-02 04:00 UTC", utc: "2025-11-02 04:00 UTC" },
          { local: "Sun 2025-11-09 04:00 UTC", utc: "2025-11-09 04:00 UTC" },
        ],
        targets: 3,
      },
    ]);
    expect(formatInZone(new Date("2025-07-01T00:30:00Z"), "Europe/Berlin")).toBe(
      "Tue 2025-07-01 02:30 GMT+2",
    );
  });

  it("adds each deployed schedule's state with --stack (Scheduler GetSchedule)", async () => {
    schedulerMock
      .on(GetScheduleCommand, { Name: "BootBench-freebsd-weekly" })
      .resolves({
        State: "ENABLED",
        ScheduleExpression: "cron(0 3 ? * FRI *)",
        ScheduleExpressionTimezone: "America/Vancouver",
      })
      .on(GetScheduleCommand, { Name: "BootBench-baseline" })
      .rejects(
        Object.assign(new Error("Schedule BootBench-baseline does not exist."), {
          name: "ResourceNotFoundException",
        }),
      );
    const log = vi.spyOn(console, "log").mockImplementation(() => {});
    await buildProgram().parseAsync(["node", "boot-bench", "schedules", "--stack", "BootBench"]);
    const table = String(log.mock.calls[0]?.[0]);
    expect(table).toMatch(/freebsd-weekly .* ENABLED$/m);
    expect(table).toMatch(/baseline .* not deployed$/m);
  });

  it("prints a table with a header and one line per suite", () => {
    const table = schedulesTable(
      scheduleRows(loadSuites(configuredSuites), new Date("2025-10-28T12:00:00Z")),
    );
    expect(table.split("\n")).toHaveLength(4);
    expect(table.split("\n")[0]).toMatch(
      /^suite +schedule +time zone +next run \(suite's time zone\) +next run \(UTC\) +targets$/,
    );
  });
});
