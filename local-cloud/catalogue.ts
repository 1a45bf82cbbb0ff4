/**
 * The images the local cloud knows: AMIs with believable boot profiles, and the SSM public parameters
 * that publish them. Boot profiles are calibrated against ec2-boot-bench's published results (DESIGN
 * section 7): about 6.9 s from the RunInstances response to `running`, then per-OS "running to port
 * closed" and "closed to open" times, with the later FreeBSD work (about 8 s running to SSH, UEFI saving
 * about 5 s over legacy BIOS) applied to the FreeBSD entries.
 */
import { createHash } from "node:crypto";

export type Architecture = "x86_64" | "arm64";
export type BootMode = "legacy-bios" | "uefi" | "uefi-preferred";

/** Seconds, before time scaling and jitter. */
export interface BootProfile {
  /** From the RunInstances response to state `running`. */
  pendingToRunning: number;
  /** From `running` to the network answering SYNs with RST (port closed); `null`: never comes up. */
  runningToNetwork: number | null;
  /** From network up to sshd accepting; 0: at the same instant (closed is never seen); `null`: never. */
  networkToSsh: number | null;
  /**
   * Added to `runningToNetwork` when a `uefi-preferred` image boots through legacy BIOS because the
   * instance type cannot do UEFI.
   */
  legacyBiosPenalty?: number;
}

export interface CatalogueImage {
  imageId: string;
  name: string;
  description: string;
  architecture: Architecture;
  /** Absent: the image boots the way the instance type does by default (legacy BIOS on x86_64). */
  bootMode?: BootMode;
  /** ISO 8601, as DescribeImages reports it. */
  creationDate: string;
  ownerId: string;
  ownerAlias?: string;
  platformDetails: string;
  rootDeviceName: string;
  /** SSM public parameters that published this image (a parameter's history is ordered by creationDate). */
  publishedAs: readonly string[];
  boot: BootProfile;
}

/** One version of an SSM parameter. */
export interface ParameterVersion {
  version: number;
  value: string;
  /** Epoch ms. */
  lastModified: number;
}

export interface PublicParameter {
  name: string;
  /** Oldest first; the last one is the current value. */
  versions: ParameterVersion[];
}

/** `ami-` + 17 hex digits derived from the seed, so the same catalogue always has the same ids. */
export function amiIdFor(seed: string): string {
  return `ami-${createHash("sha256").update(seed).digest("hex").slice(0, 17)}`;
}

const FREEBSD_OWNER = "782442783595";
const DEBIAN_OWNER = "136693071363";
const CANONICAL_OWNER = "099720109477";
const AMAZON_OWNER = "137112412989";
/** Synthetic images that exist only in the local cloud. */
const LOCAL_OWNER = "111122223333";

const FREEBSD_CURRENT_AMD64 = "/aws/service/freebsd/amd64/base/ufs/15.0/CURRENT";
const FREEBSD_CURRENT_ARM64 = "/aws/service/freebsd/arm64/base/ufs/15.0/CURRENT";

type ImageSpec = Omit<CatalogueImage, "imageId" | "platformDetails" | "rootDeviceName"> &
  Partial<Pick<CatalogueImage, "platformDetails" | "rootDeviceName">>;

function image(spec: ImageSpec): CatalogueImage {
  const freebsd = spec.name.startsWith("FreeBSD");
  return {
    imageId: amiIdFor(`${spec.ownerId}/${spec.name}`),
    platformDetails: "Linux/UNIX",
    rootDeviceName: freebsd ? "/dev/sda1" : "/dev/xvda",
    ...spec,
  };
}

/** A FreeBSD weekly snapshot: the boot profile moves a little from week to week. */
function freebsdSnapshot(
  branch: "15.0-CURRENT" | "14.3-STABLE",
  arch: "amd64" | "arm64",
  date: string,
  runningToNetwork: number,
  networkToSsh: number,
  publishedAs: string,
): CatalogueImage {
  const stamp = date.replaceAll("-", "");
  return image({
    name: `FreeBSD ${branch}-${arch}-${stamp} UFS`,
    description: `FreeBSD/${arch} ${branch} snapshot ${stamp} UFS`,
    architecture: arch === "amd64" ? "x86_64" : "arm64",
    bootMode: arch === "amd64" ? "uefi-preferred" : "uefi",
    creationDate: `${date}T07:12:31.000Z`,
    ownerId: FREEBSD_OWNER,
    publishedAs: [publishedAs],
    boot: {
      pendingToRunning: arch === "amd64" ? 6.9 : 6.6,
      runningToNetwork,
      networkToSsh,
      ...(arch === "amd64" && { legacyBiosPenalty: 5 }),
    },
  });
}

/** The built-in catalogue. */
export function builtInImages(): CatalogueImage[] {
  return [
    // FreeBSD 15.0-CURRENT weekly snapshots (amd64). The 2025-08-21 snapshot carries a boot-time
    // regression that the next week fixes, which is what weekly tracking exists to catch.
    freebsdSnapshot("15.0-CURRENT", "amd64", "2025-08-07", 5.2, 2.9, FREEBSD_CURRENT_AMD64),
    freebsdSnapshot("15.0-CURRENT", "amd64", "2025-08-14", 5.1, 2.9, FREEBSD_CURRENT_AMD64),
    freebsdSnapshot("15.0-CURRENT", "amd64", "2025-08-21", 7.9, 3.0, FREEBSD_CURRENT_AMD64),
    freebsdSnapshot("15.0-CURRENT", "amd64", "2025-08-28", 5.0, 2.8, FREEBSD_CURRENT_AMD64),
    freebsdSnapshot("15.0-CURRENT", "arm64", "2025-08-21", 4.8, 2.7, FREEBSD_CURRENT_ARM64),
    freebsdSnapshot("15.0-CURRENT", "arm64", "2025-08-28", 4.7, 2.6, FREEBSD_CURRENT_ARM64),
    freebsdSnapshot(
      "14.3-STABLE",
      "amd64",
      "2025-08-28",
      6.1,
      3.1,
      "/aws/service/freebsd/amd64/base/ufs/14.3/STABLE",
    ),
    image({
      name: "FreeBSD 14.3-RELEASE-amd64 UFS",
      description: "FreeBSD/amd64 releng/14.3@14.3-RELEASE UFS",
      architecture: "x86_64",
      bootMode: "uefi-preferred",
      creationDate: "2025-06-06T21:40:09.000Z",
      ownerId: FREEBSD_OWNER,
      publishedAs: ["/aws/service/freebsd/amd64/base/ufs/14.3/RELEASE"],
      boot: { pendingToRunning: 6.9, runningToNetwork: 6.4, networkToSsh: 3.2, legacyBiosPenalty: 5 },
    }),
    image({
      name: "debian-12-amd64-20250814-2204",
      description: "Debian 12 (20250814-2204)",
      architecture: "x86_64",
      bootMode: "uefi-preferred",
      creationDate: "2025-08-14T22:31:55.000Z",
      ownerId: DEBIAN_OWNER,
      publishedAs: ["/aws/service/debian/release/bookworm/latest/amd64"],
      boot: { pendingToRunning: 6.9, runningToNetwork: 5.6, networkToSsh: 3.4 },
    }),
    image({
      name: "debian-12-arm64-20250814-2204",
      description: "Debian 12 (20250814-2204)",
      architecture: "arm64",
      bootMode: "uefi",
      creationDate: "2025-08-14T22:33:02.000Z",
      ownerId: DEBIAN_OWNER,
      publishedAs: ["/aws/service/debian/release/bookworm/latest/arm64"],
      boot: { pendingToRunning: 6.6, runningToNetwork: 5.2, networkToSsh: 3.1 },
    }),
    image({
      name: "ubuntu/images/hvm-ssd-gp3/ubuntu-noble-24.04-amd64-server-20250821",
      description: "Canonical, Ubuntu, 24.04, amd64 noble image",
      architecture: "x86_64",
      bootMode: "uefi-preferred",
      creationDate: "2025-08-21T06:27:44.000Z",
      ownerId: CANONICAL_OWNER,
      publishedAs: ["/aws/service/canonical/ubuntu/server/24.04/stable/current/amd64/hvm/ebs-gp3/ami-id"],
      boot: { pendingToRunning: 6.9, runningToNetwork: 7.0, networkToSsh: 4.1 },
    }),
    image({
      name: "ubuntu/images/hvm-ssd-gp3/ubuntu-noble-24.04-arm64-server-20250821",
      description: "Canonical, Ubuntu, 24.04, arm64 noble image",
      architecture: "arm64",
      bootMode: "uefi",
      creationDate: "2025-08-21T06:29:13.000Z",
      ownerId: CANONICAL_OWNER,
      publishedAs: ["/aws/service/canonical/ubuntu/server/24.04/stable/current/arm64/hvm/ebs-gp3/ami-id"],
      boot: { pendingToRunning: 6.6, runningToNetwork: 6.5, networkToSsh: 3.9 },
    }),
    image({
      name: "al2023-ami-2023.8.20250818.0-kernel-6.1-x86_64",
      description: "Amazon Linux 2023 AMI 2023.8.20250818.0 x86_64 HVM kernel-6.1",
      architecture: "x86_64",
      bootMode: "uefi-preferred",
      creationDate: "2025-08-18T20:04:38.000Z",
      ownerId: AMAZON_OWNER,
      ownerAlias: "amazon",
      publishedAs: ["/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64"],
      boot: { pendingToRunning: 6.9, runningToNetwork: 6.8, networkToSsh: 1.4 },
    }),
    image({
      name: "al2023-ami-2023.8.20250818.0-kernel-6.1-arm64",
      description: "Amazon Linux 2023 AMI 2023.8.20250818.0 arm64 HVM kernel-6.1",
      architecture: "arm64",
      bootMode: "uefi",
      creationDate: "2025-08-18T20:05:51.000Z",
      ownerId: AMAZON_OWNER,
      ownerAlias: "amazon",
      publishedAs: ["/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-arm64"],
      boot: { pendingToRunning: 6.6, runningToNetwork: 6.3, networkToSsh: 1.3 },
    }),
    // Like Clear Linux in 2021: sshd is listening by the time the network answers, so the port goes
    // from no answer straight to open (closed to open = 0).
    image({
      name: "clear-linux-like-43480",
      description: "Emulated: sshd already listening when the network comes up (closed to open = 0)",
      architecture: "x86_64",
      creationDate: "2025-07-30T12:00:00.000Z",
      ownerId: LOCAL_OWNER,
      publishedAs: [],
      boot: { pendingToRunning: 6.9, runningToNetwork: 1.23, networkToSsh: 0 },
    }),
    image({
      name: "sshd-never-starts",
      description: "Emulated: the network comes up but sshd never starts (the port never opens)",
      architecture: "x86_64",
      creationDate: "2025-07-30T12:00:00.000Z",
      ownerId: LOCAL_OWNER,
      publishedAs: [],
      boot: { pendingToRunning: 6.9, runningToNetwork: 6.0, networkToSsh: null },
    }),
    // Slow on both sides of `running` (a long pending, as metal instance types have, then first boot):
    // at time scale 1 PollState and ProbePort each last over a minute, longer than the 60 s that
    // aws-local-stepfunctions gives a Task without TimeoutSeconds (test/e2e/long-run.test.ts). Not
    // published under any parameter, so `run --local` without --image leaves it out.
    image({
      name: "slow-boot-over-a-minute",
      description: "Emulated: running after 64 s, the port open about 70 s after launch",
      architecture: "x86_64",
      creationDate: "2025-07-30T12:00:00.000Z",
      ownerId: LOCAL_OWNER,
      publishedAs: [],
      boot: { pendingToRunning: 64, runningToNetwork: 4, networkToSsh: 2 },
    }),
  ];
}

/** Well-known AMI ids of the built-in catalogue, for tests, samples and docs. */
export const BUILT_IN_AMI_IDS = (() => {
  const byName = new Map(builtInImages().map((i) => [i.name, i.imageId]));
  const id = (name: string): string => {
    const found = byName.get(name);
    if (found === undefined) throw new Error(`catalogue has no image named ${name}`);
    return found;
  };
  return {
    freebsdCurrentAmd64: id("FreeBSD 15.0-CURRENT-amd64-20250828 UFS"),
    freebsdCurrentAmd64Regression: id("FreeBSD 15.0-CURRENT-amd64-20250821 UFS"),
    freebsdCurrentArm64: id("FreeBSD 15.0-CURRENT-arm64-20250828 UFS"),
    freebsd143Release: id("FreeBSD 14.3-RELEASE-amd64 UFS"),
    freebsd143Stable: id("FreeBSD 14.3-STABLE-amd64-20250828 UFS"),
    debian12Amd64: id("debian-12-amd64-20250814-2204"),
    ubuntu2404Amd64: id("ubuntu/images/hvm-ssd-gp3/ubuntu-noble-24.04-amd64-server-20250821"),
    al2023X86_64: id("al2023-ami-2023.8.20250818.0-kernel-6.1-x86_64"),
    clearLinuxLike: id("clear-linux-like-43480"),
    sshdNeverStarts: id("sshd-never-starts"),
    slowBootOverAMinute: id("slow-boot-over-a-minute"),
  };
})();

/** The images and public parameters of one local cloud; images can be published at runtime. */
export class Catalogue {
  readonly #images = new Map<string, CatalogueImage>();
  readonly #parameters = new Map<string, PublicParameter>();

  constructor(images: readonly CatalogueImage[] = builtInImages()) {
    const ordered = [...images].sort((a, b) => a.creationDate.localeCompare(b.creationDate));
    for (const img of ordered) this.publish(img);
  }

  /**
   * Adds an image (or replaces one with the same id) and makes it the current value of every
   * parameter in `publishedAs`, as a vendor's weekly snapshot does.
   */
  publish(img: CatalogueImage): void {
    if (!/^ami-[0-9a-f]{8,17}$/.test(img.imageId)) throw new Error(`invalid AMI id ${img.imageId}`);
    this.#images.set(img.imageId, img);
    for (const name of img.publishedAs) {
      const parameter = this.#parameters.get(name) ?? { name, versions: [] };
      const previous = parameter.versions.at(-1);
      // Publication time: a little after the image was created, never before the previous version.
      const lastModified = Math.max(
        Date.parse(img.creationDate) + 3_600_000,
        (previous?.lastModified ?? 0) + 1,
      );
      parameter.versions.push({ version: parameter.versions.length + 1, value: img.imageId, lastModified });
      this.#parameters.set(name, parameter);
    }
  }

  image(imageId: string): CatalogueImage | undefined {
    return this.#images.get(imageId);
  }

  images(): CatalogueImage[] {
    return [...this.#images.values()];
  }

  parameter(name: string): PublicParameter | undefined {
    return this.#parameters.get(name);
  }

  parameters(): PublicParameter[] {
    return [...this.#parameters.values()];
  }
}
