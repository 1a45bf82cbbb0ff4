/**
 * boot-bench: the command line. Each command lives in cli/commands/ and registers itself here.
 */
import tab from "@bomb.sh/tab/commander";
import { Command, CommanderError } from "commander";
import { registerCompareCommand } from "./commands/compare.js";
import { registerConsoleCommand } from "./commands/console.js";
import { registerFilmstripCommand } from "./commands/filmstrip.js";
import { registerHistoryCommand } from "./commands/history.js";
import { registerImagesCommand } from "./commands/images.js";
import { registerLocalCloudCommand } from "./commands/local-cloud.js";
import { registerReportCommand } from "./commands/report.js";
import { registerResultsCommand } from "./commands/results.js";
import { registerRunCommand } from "./commands/run.js";
import { registerSchedulesCommand } from "./commands/schedules.js";
import { registerServeDynamoDbCommand } from "./commands/serve-dynamodb.js";

export function buildProgram(): Command {
  const program = new Command()
    .name("boot-bench")
    .description("EC2 boot-time benchmark: RunInstances to SSH port open, measured as ec2-boot-bench does")
    .showHelpAfterError()
    .exitOverride();
  registerRunCommand(program);
  registerImagesCommand(program);
  registerSchedulesCommand(program);
  registerResultsCommand(program);
  registerHistoryCommand(program);
  registerCompareCommand(program);
  registerReportCommand(program);
  registerConsoleCommand(program);
  registerFilmstripCommand(program);
  registerServeDynamoDbCommand(program);
  registerLocalCloudCommand(program);
  // Last, so that it knows every command and option: `complete <shell>` prints the shell's script,
  // which asks `boot-bench complete -- <words>` for the completions of what is typed.
  tab(program);
  program.commands
    .find((command) => command.name() === "complete")
    ?.description("print the shell completion script: complete bash, zsh, fish or powershell");
  return program;
}

/** An error's message, with what to do where the SDK's own message does not say. */
function explained(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  if (message === "Region is missing") {
    return (
      "Region is missing: a deployed stack's command needs an AWS Region: set AWS_REGION (or " +
      "AWS_DEFAULT_REGION, or a region in your AWS profile), or add --local for the local cloud"
    );
  }
  return message;
}

export async function main(argv: string[] = process.argv): Promise<number> {
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";
  try {
    await buildProgram().parseAsync(argv);
    return typeof process.exitCode === "number" ? process.exitCode : 0;
  } catch (error) {
    if (error instanceof CommanderError) return error.exitCode;
    console.error(`boot-bench: ${explained(error)}`);
    return 1;
  }
}

if (import.meta.url === `file://${process.argv[1]}` || process.argv[1]?.endsWith("cli/main.ts")) {
  main().then((code) => {
    process.exit(code);
  });
}
