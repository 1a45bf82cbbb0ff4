/**
 * `boot-bench images --local`: the local cloud's image catalogue, so that people know what they can
 * benchmark without an AWS account.
 */
import type { Command } from "commander";
import { seconds, textTable } from "../text-table.js";

export function registerImagesCommand(program: Command): void {
  program
    .command("images")
    .description("list the local cloud's emulated images and the SSM parameters they are published under")
    .option("--local", "the local cloud's catalogue (the only catalogue this command knows)")
    .action(async () => {
      const { LocalCloud } = await import("../../local-cloud/cloud.js");
      const cloud = new LocalCloud();
      try {
        const rows = cloud.catalogue.parameters().map((parameter) => {
          const amiId = parameter.versions.at(-1)?.value ?? "";
          return { parameter: parameter.name, amiId, image: cloud.catalogue.image(amiId) };
        });
        console.log(
          textTable(
            [
              { header: "SSM parameter", value: (r) => r.parameter },
              { header: "AMI Id", value: (r) => r.amiId },
              { header: "AMI Name", value: (r) => r.image?.name ?? "?" },
              { header: "arch", value: (r) => r.image?.architecture ?? "?" },
              {
                header: "running to network",
                value: (r) => seconds(r.image?.boot.runningToNetwork ?? undefined),
                align: "right",
              },
              {
                header: "network to ssh",
                value: (r) => seconds(r.image?.boot.networkToSsh ?? undefined),
                align: "right",
              },
            ],
            rows,
          ),
        );
        console.log("\nEmulated boot profile in seconds (before --time-scale); '-' means it never happens.");
      } finally {
        await cloud.close();
      }
    });
}
