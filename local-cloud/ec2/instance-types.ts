import type { Architecture, BootMode } from "../catalogue.js";

export interface InstanceTypeInfo {
  instanceType: string;
  architecture: Architecture;
  supportedBootModes: readonly Exclude<BootMode, "uefi-preferred">[];
  vcpus: number;
  memoryMiB: number;
  hypervisor: "nitro" | "xen";
  manufacturer: "Intel" | "AWS";
  burstable: boolean;
}

const BOTH = ["legacy-bios", "uefi"] as const;
const UEFI = ["uefi"] as const;

/** Sizes as `[suffix, vCPUs, memory MiB]`. */
type Sizes = ReadonlyArray<readonly [string, number, number]>;
const compute: Sizes = [
  ["large", 2, 4096],
  ["xlarge", 4, 8192],
  ["2xlarge", 8, 16384],
];
const general: Sizes = [
  ["large", 2, 8192],
  ["xlarge", 4, 16384],
  ["2xlarge", 8, 32768],
];
const burstable: Sizes = [
  ["micro", 2, 1024],
  ["small", 2, 2048],
  ["medium", 2, 4096],
  ["large", 2, 8192],
];

function family(
  name: string,
  sizes: Sizes,
  common: Omit<InstanceTypeInfo, "instanceType" | "vcpus" | "memoryMiB">,
): InstanceTypeInfo[] {
  return sizes.map(([size, vcpus, memoryMiB]) => ({
    instanceType: `${name}.${size}`,
    vcpus,
    memoryMiB,
    ...common,
  }));
}

const x86 = {
  architecture: "x86_64",
  supportedBootModes: BOTH,
  hypervisor: "nitro",
  manufacturer: "Intel",
} as const;
const graviton = {
  architecture: "arm64",
  supportedBootModes: UEFI,
  hypervisor: "nitro",
  manufacturer: "AWS",
} as const;

/** Common current instance types; t2 is there as a Xen type that can only boot legacy BIOS. */
const ALL: InstanceTypeInfo[] = [
  ...family("c5", compute, { ...x86, burstable: false }),
  ...family("c6i", compute, { ...x86, burstable: false }),
  ...family("c7i", compute, { ...x86, burstable: false }),
  ...family("m7i", general, { ...x86, burstable: false }),
  ...family("t3", burstable, { ...x86, burstable: true }),
  ...family("c6g", compute, { ...graviton, burstable: false }),
  ...family("c7g", compute, { ...graviton, burstable: false }),
  ...family("m7g", general, { ...graviton, burstable: false }),
  ...family("t4g", burstable, { ...graviton, burstable: true }),
  {
    instanceType: "t2.micro",
    architecture: "x86_64",
    supportedBootModes: ["legacy-bios"],
    vcpus: 1,
    memoryMiB: 1024,
    hypervisor: "xen",
    manufacturer: "Intel",
    burstable: true,
  },
];

export const INSTANCE_TYPES: ReadonlyMap<string, InstanceTypeInfo> = new Map(
  ALL.map((t) => [t.instanceType, t]),
);
