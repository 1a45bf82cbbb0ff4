import { afterEach, describe, expect, it, vi } from "vitest";
import { renderImageCatalogue } from "../../cli/commands/images.js";
import { buildProgram } from "../../cli/main.js";
import { BUILT_IN_AMI_IDS, Catalogue } from "../../local-cloud/catalogue.js";

afterEach(() => {
  vi.restoreAllMocks();
});

/** The table's line for one AMI id. */
const lineOf = (text: string, amiId: string): string => {
  const line = text.split("\n").find((l) => l.startsWith(amiId));
  if (line === undefined) throw new Error(`no line for ${amiId}`);
  return line;
};

describe("boot-bench images --local", () => {
  const catalogue = new Catalogue();
  const text = renderImageCatalogue(catalogue);

  it("lists every image of the catalogue once, published or not", () => {
    const ids = catalogue.images().map((image) => image.imageId);
    expect(ids.length).toBeGreaterThan(10);
    for (const id of ids) expect(text.split("\n").filter((l) => l.startsWith(id))).toHaveLength(1);
  });

  it("shows the emulated images no parameter publishes, with their profile and what they are for", () => {
    const never = lineOf(text, BUILT_IN_AMI_IDS.sshdNeverStarts);
    expect(never).toMatch(/sshd-never-starts\s+x86_64\s+default\s+6\.90\s+6\.00\s+-\s+/);
    expect(never).toContain("the network comes up but sshd never starts");
    expect(never).toMatch(/none: use --image <AMI id>$/);
    const clear = lineOf(text, BUILT_IN_AMI_IDS.clearLinuxLike);
    expect(clear).toMatch(/clear-linux-like-43480\s+x86_64\s+default\s+6\.90\s+1\.23\s+0\.00\s+/);
    expect(clear).toContain("closed to open = 0");
    expect(lineOf(text, BUILT_IN_AMI_IDS.slowBootOverAMinute)).toMatch(/\s64\.00\s+4\.00\s+2\.00\s/);
  });

  it("says which parameter version holds each snapshot, the current ones first", () => {
    const parameter = "/aws/service/freebsd/amd64/base/ufs/15.0/CURRENT";
    expect(lineOf(text, BUILT_IN_AMI_IDS.freebsdCurrentAmd64)).toMatch(
      new RegExp(`uefi-preferred\\s+6\\.90\\s+5\\.00\\s+2\\.80\\s+.*${parameter} \\(current\\)$`),
    );
    const versions = catalogue.parameters().find((p) => p.name === parameter)?.versions ?? [];
    const superseded = versions.find((v) => v.value === BUILT_IN_AMI_IDS.freebsdCurrentAmd64Regression);
    expect(superseded).toBeDefined();
    expect(lineOf(text, BUILT_IN_AMI_IDS.freebsdCurrentAmd64Regression)).toContain(
      `${parameter} (version ${superseded?.version}, superseded)`,
    );
    const lines = text.split("\n");
    const at = (id: string) => lines.findIndex((l) => l.startsWith(id));
    expect(at(BUILT_IN_AMI_IDS.freebsd143Stable)).toBeLessThan(
      at(BUILT_IN_AMI_IDS.freebsdCurrentAmd64Regression),
    );
    expect(at(BUILT_IN_AMI_IDS.freebsdCurrentAmd64Regression)).toBeLessThan(
      at(BUILT_IN_AMI_IDS.clearLinuxLike),
    );
  });

  it("prints the same table from the command", async () => {
    const log = vi.spyOn(console, "log").mockImplementation(() => undefined);
    await buildProgram().parseAsync(["node", "boot-bench", "images", "--local"]);
    expect(log.mock.calls.map((call) => String(call[0])).join("\n")).toBe(text);
  });
});
