/**
 * Shell completion (@bomb.sh/tab over the commander program): the completions the CLI gives for what
 * is typed, and the bash script it prints, completing in a real bash with Debian's bash-completion
 * (installed by .ci/run) against the installed `boot-bench` command.
 */
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, afterEach, describe, expect, it, vi } from "vitest";
import { buildProgram, main } from "../../cli/main.js";

afterEach(() => {
  vi.restoreAllMocks();
  process.exitCode = undefined;
});

/** What `boot-bench complete -- <words>` prints: the completions, then the shell directive. */
async function completions(...words: string[]): Promise<{ values: string[]; directive: string }> {
  const lines: string[] = [];
  vi.spyOn(console, "log").mockImplementation((line: unknown) => void lines.push(String(line)));
  expect(await main(["node", "boot-bench", "complete", "--", ...words])).toBe(0);
  vi.restoreAllMocks();
  const directive = lines.pop() ?? "";
  return { values: lines.map((line) => line.split("\t")[0] ?? ""), directive };
}

const commandNames = () => buildProgram().commands.map((command) => command.name());
const formatChoices = () =>
  buildProgram()
    .commands.find((command) => command.name() === "results")
    ?.options.find((option) => option.long === "--format")?.argChoices;

describe("boot-bench complete -- <words>", () => {
  it("completes every command, and the commands that start with what is typed", async () => {
    const all = await completions("");
    // commander's implicit `help` command is one too.
    expect(all.values.sort()).toEqual([...commandNames(), "help"].sort());
    expect((await completions("re")).values.sort()).toEqual(["report", "results"]);
  });

  it("completes a command's options, and an option's choices", async () => {
    expect((await completions("run", "--im")).values).toEqual(["--image"]);
    expect((await completions("run", "--time")).values).toEqual(["--time-scale"]);
    const formats = await completions("results", "--format", "");
    expect(formats.values).toEqual(formatChoices());
    expect(formats.values).toContain("markdown");
  });
});

const BASH_COMPLETION = "/usr/share/bash-completion/bash_completion";

describe.skipIf(!existsSync(BASH_COMPLETION))("the bash script, in bash", () => {
  const scratch = mkdtempSync(join(tmpdir(), "boot-bench-completion-"));
  afterAll(() => rmSync(scratch, { recursive: true, force: true }));
  // `boot-bench` on PATH as `npm link` or a global install puts it: the package's bin.
  symlinkSync(resolve("cli/bin.js"), join(scratch, "boot-bench"));

  /** Completes `line` (the cursor at its end) as bash does when Tab is pressed. */
  function tab(line: string): string[] {
    const shell = `
      source ${BASH_COMPLETION}
      source ${join(scratch, "boot-bench.bash")}
      COMP_LINE=${JSON.stringify(line)}
      COMP_POINT=\${#COMP_LINE}
      read -r -a COMP_WORDS <<< "$COMP_LINE"
      [[ "$COMP_LINE" == *" " ]] && COMP_WORDS+=("")
      COMP_CWORD=$(( \${#COMP_WORDS[@]} - 1 ))
      $(complete -p boot-bench | sed -E 's/.* -F ([^ ]+) .*/\\1/') 2>/dev/null
      printf '%s\\n' "\${COMPREPLY[@]}"
    `;
    const out = execFileSync("bash", ["-c", shell], {
      env: { ...process.env, PATH: `${scratch}:${process.env.PATH ?? ""}` },
      encoding: "utf8",
    });
    return out.split("\n").filter((value) => value !== "");
  }

  it("is registered for boot-bench and completes commands, options and choices", async () => {
    const script: string[] = [];
    vi.spyOn(console, "log").mockImplementation((line: unknown) => void script.push(String(line)));
    expect(await main(["node", "boot-bench", "complete", "bash"])).toBe(0);
    vi.restoreAllMocks();
    writeFileSync(join(scratch, "boot-bench.bash"), `${script.join("\n")}\n`);

    expect(tab("boot-bench re").sort()).toEqual(["report", "results"]);
    expect(tab("boot-bench results --fo")).toEqual(["--format"]);
    expect(tab("boot-bench results --format ")).toEqual(formatChoices());
  }, 60_000);
});
