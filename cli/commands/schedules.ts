/**
 * `boot-bench schedules`: the suites of config/suites.ts with their next run times.
 */
import type { Command } from "commander";

export function registerSchedulesCommand(program: Command): void {
  program
    .command("schedules")
    .description("list the suites of config/suites.ts with their schedules and next run times")
    .option(
      "--stack <name>",
      "also show each schedule's state in this deployed stack (Scheduler GetSchedule)",
    )
    .option("-n, --next <count>", "how many next run times to show", "1")
    .action(async (options: { stack?: string; next: string }) => {
      const { printSchedules } = await import("../schedules-view.js");
      await printSchedules(options);
    });
}
