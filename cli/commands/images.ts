/**
 * `boot-bench images --local`: the local cloud's image catalogue, so that people know what they can
 * benchmark without an AWS account: every image, its emulated boot profile, what it is for, and the SSM
 * parameters (if any) it is published under.
 */
import type { Command } from "commander";
import type { Catalogue, CatalogueImage } from "../../local-cloud/catalogue.js";
import { seconds, textTable } from "../text-table.js";

interface ImageRow {
  image: CatalogueImage;
  publishedAs: string;
}

/**
 * Where an image is published: each parameter with the version that holds it and whether that is the
 * parameter's current value. An image under no parameter is benchmarked by its AMI id.
 */
function publicationOf(catalogue: Catalogue, image: CatalogueImage): string {
  const places = catalogue.parameters().flatMap((parameter) =>
    parameter.versions
      .filter((version) => version.value === image.imageId)
      .map((version) => {
        const current = version === parameter.versions.at(-1);
        return `${parameter.name} (${current ? "current" : `version ${version.version}, superseded`})`;
      }),
  );
  return places.length > 0 ? places.join(", ") : "none: use --image <AMI id>";
}

/**
 * Every image of the catalogue: each parameter's current image in the parameters' order, then the
 * superseded snapshots, then the images published under no parameter.
 */
export function renderImageCatalogue(catalogue: Catalogue): string {
  const current = catalogue.parameters().map((parameter) => parameter.versions.at(-1)?.value);
  const rank = (image: CatalogueImage) => {
    const at = current.indexOf(image.imageId);
    if (at !== -1) return at;
    return image.publishedAs.length > 0 ? current.length : current.length + 1;
  };
  const rows: ImageRow[] = catalogue
    .images()
    .sort((a, b) => rank(a) - rank(b))
    .map((image) => ({ image, publishedAs: publicationOf(catalogue, image) }));
  const table = textTable<ImageRow>(
    [
      { header: "AMI Id", value: (r) => r.image.imageId },
      { header: "AMI Name", value: (r) => r.image.name },
      { header: "arch", value: (r) => r.image.architecture },
      { header: "boot mode", value: (r) => r.image.bootMode ?? "default" },
      { header: "pending to running", value: (r) => seconds(r.image.boot.pendingToRunning), align: "right" },
      {
        header: "running to network",
        value: (r) => seconds(r.image.boot.runningToNetwork ?? undefined),
        align: "right",
      },
      {
        header: "network to ssh",
        value: (r) => seconds(r.image.boot.networkToSsh ?? undefined),
        align: "right",
      },
      { header: "what it is", value: (r) => r.image.description },
      { header: "SSM parameter", value: (r) => r.publishedAs },
    ],
    rows,
  );
  return [
    table,
    "",
    "Emulated boot profile in seconds (before --time-scale); '-' means it never happens.",
    "`run --local` without --image benchmarks each parameter's current x86_64 image; any image by",
    "`run --local --image <AMI id or SSM parameter>` (an arm64 one with --instance-type, e.g. c7g.large).",
  ].join("\n");
}

export function registerImagesCommand(program: Command): void {
  program
    .command("images")
    .description("list the local cloud's emulated images: boot profile, what each is for, SSM parameters")
    .option("--local", "the local cloud's catalogue (the only catalogue this command knows)")
    .action(async () => {
      const { Catalogue } = await import("../../local-cloud/catalogue.js");
      console.log(renderImageCatalogue(new Catalogue()));
    });
}
