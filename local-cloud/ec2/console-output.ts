/**
 * The serial console of an emulated instance, as GetConsoleOutput returns it: what the firmware, boot
 * loader, kernel and init system of the instance's OS print while it boots, each line stamped with the
 * moment it appears. Times come from the instance's truth: a line tied to a transition (network up,
 * sshd listening, shutdown) appears exactly when the truth says it happened, never before, and the
 * lines in between are spread over the drawn plan. Pure and deterministic: the same truth always gives
 * the same text (values that look random, such as MAC addresses and host keys, are hashed from the
 * instance id).
 */
import { createHash } from "node:crypto";
import type { CatalogueImage } from "../catalogue.js";
import type { InstanceTypeInfo } from "./instance-types.js";
import type { InstanceTruth } from "./instances.js";

export type ConsoleTruth = Pick<
  InstanceTruth,
  | "instanceId"
  | "privateIp"
  | "launchedAt"
  | "runningAt"
  | "networkUpAt"
  | "sshUpAt"
  | "shuttingDownAt"
  | "terminatedAt"
  | "plan"
>;

export interface ConsoleSource {
  image: CatalogueImage;
  instanceType: InstanceTypeInfo;
  bootMode: InstanceTruth["bootMode"];
  truth: ConsoleTruth;
}

/** Lines that mark a step of the boot, so tests can find them without copying console text. */
export type ConsoleMilestone =
  | "firmware"
  | "kernel"
  | "rootMount"
  | "networkUp"
  | "networkFailed"
  | "sshReady"
  | "sshFailed"
  | "loginPrompt"
  | "shutdown"
  | "halted";

export interface ConsoleLine {
  /** Epoch ms at which the line is on the console. */
  at: number;
  text: string;
  milestone?: ConsoleMilestone;
}

export interface ConsoleSnapshot {
  text: string;
  /** When the newest line of `text` appeared; undefined when there is none. */
  updatedAt: number | undefined;
}

/** EC2 keeps only the most recent 64 KB of console output. */
export const CONSOLE_OUTPUT_LIMIT_BYTES = 64 * 1024;

/**
 * Every line the truth so far implies, in order, including lines still to come (kernel lines are laid
 * out over the plan before the network is up). Lines tied to a transition are there only once the truth
 * has it; a shutdown cuts off whatever the boot had not printed yet.
 */
export function consoleLines(source: ConsoleSource): ConsoleLine[] {
  const { truth } = source;
  const runningAt = truth.runningAt;
  // The guest boots once the instance is running: a launch that never got there printed nothing.
  if (runningAt === undefined) return [];
  const script = isFreeBsd(source.image) ? freeBsdScript(source) : linuxScript(source);
  const pace = paceOf(source);
  const line = (at: number, emit: Emit): ConsoleLine => {
    const milestone = typeof emit === "string" ? undefined : emit.milestone;
    return { at, text: script.render(emit, at), ...(milestone && { milestone }) };
  };
  const boot: ConsoleLine[] = [];
  const put = (at: number, emits: readonly Emit[]) => {
    for (const emit of emits) boot.push(line(at, emit));
  };
  /** Spread over (start, start + span], denser early, never after `until` (the transition that ends it). */
  const spread = (start: number, span: number, until: number | undefined, emits: readonly Emit[]) => {
    emits.forEach((emit, i) => {
      const planned = start + span * ((i + 1) / (emits.length + 1)) ** 1.3;
      boot.push(line(until === undefined ? planned : Math.min(planned, until), emit));
    });
  };

  put(runningAt, script.firmware);
  const { plan, networkUpAt, sshUpAt } = truth;
  const kernelSpan = plan.runningToNetworkMs ?? pace * (source.image.boot.runningToNetwork ?? 6) * 1000;
  spread(runningAt, kernelSpan, networkUpAt, script.kernel);
  let bootDoneAt: number | undefined;
  let loginPromptAt: number | undefined;
  if (plan.runningToNetworkMs === null) {
    put(runningAt + kernelSpan + pace * NETWORK_GIVE_UP_S * 1000, script.networkFailed);
  } else if (networkUpAt !== undefined) {
    put(networkUpAt, script.networkUp);
    const sshSpan = plan.networkToSshMs ?? pace * (source.image.boot.networkToSsh ?? 3) * 1000;
    spread(networkUpAt, sshSpan, sshUpAt, script.beforeSsh);
    if (plan.networkToSshMs === null) {
      bootDoneAt = networkUpAt + sshSpan;
      put(bootDoneAt, script.sshFailed);
    } else if (sshUpAt !== undefined) {
      bootDoneAt = sshUpAt;
      put(sshUpAt, script.sshReady);
    }
  }
  if (bootDoneAt !== undefined) {
    loginPromptAt = bootDoneAt + pace * LOGIN_PROMPT_S * 1000;
    put(loginPromptAt, script.loginPrompt);
    put(bootDoneAt + pace * FINAL_S * 1000, script.final);
  }
  // Stable: lines of the same instant keep the order they were printed in.
  boot.sort((a, b) => a.at - b.at);

  const { shuttingDownAt, terminatedAt } = truth;
  if (shuttingDownAt === undefined) return boot;
  // Shutting down cuts the boot off: what it had not printed by then never appears.
  const ran = {
    sshd: sshUpAt !== undefined && sshUpAt <= shuttingDownAt,
    getty: loginPromptAt !== undefined && loginPromptAt <= shuttingDownAt,
  };
  const lines = boot.filter((l) => l.at <= shuttingDownAt);
  for (const emit of script.shutdown(ran, shuttingDownAt - runningAt)) lines.push(line(shuttingDownAt, emit));
  if (terminatedAt !== undefined) lines.push(line(Math.max(terminatedAt, shuttingDownAt), script.halted));
  return lines;
}

/** The console text as of `at`: the lines that had appeared by then (the most recent 64 KB of them). */
export function consoleOutputAt(source: ConsoleSource, at: number): ConsoleSnapshot {
  const visible = consoleLines(source).filter((l) => l.at <= at);
  let bytes = 0;
  let first = visible.length;
  while (first > 0) {
    const size = Buffer.byteLength(visible[first - 1]?.text ?? "") + EOL.length;
    if (bytes + size > CONSOLE_OUTPUT_LIMIT_BYTES) break;
    bytes += size;
    first -= 1;
  }
  const kept = visible.slice(first);
  return { text: kept.map((l) => l.text + EOL).join(""), updatedAt: kept.at(-1)?.at };
}

/** The milestone lines of this boot (past and, as far as the truth says, still to come), in order. */
export function consoleMilestones(
  source: ConsoleSource,
): { milestone: ConsoleMilestone; at: number; text: string }[] {
  return consoleLines(source).flatMap((l) =>
    l.milestone ? [{ milestone: l.milestone, at: l.at, text: l.text }] : [],
  );
}

/**
 * Without `Latest`, EC2 answers with what was posted shortly after the most recent state transition
 * (start, stop, reboot, terminate): the latest of launch, running, shutting-down and terminated at or
 * before `now`. Undefined: nothing posted yet.
 */
export function bufferedPostAt(truth: ConsoleTruth, now: number): number | undefined {
  const transitions = [truth.launchedAt, truth.runningAt, truth.shuttingDownAt, truth.terminatedAt];
  let latest: number | undefined;
  for (const at of transitions) {
    if (at === undefined || Number.isNaN(at) || at > now) continue;
    if (latest === undefined || at > latest) latest = at;
  }
  return latest;
}

// ---- timing ------------------------------------------------------------------------------------

const EOL = "\r\n";
/** Seconds (before the boot's pace) after the kernel lines until DHCP gives up on a dead link. */
const NETWORK_GIVE_UP_S = 5;
/** Seconds after sshd started (or failed) until getty shows the login prompt. */
const LOGIN_PROMPT_S = 0.4;
/** Seconds after sshd started (or failed) until the last boot lines (cloud-init final, cron). */
const FINAL_S = 1;

/**
 * How fast this boot runs against the catalogue's seconds (the cloud's time scale, with jitter),
 * from the drawn plan: nominal delays (a DHCP timeout, the login prompt) keep the same proportions.
 */
function paceOf({ image, truth }: ConsoleSource): number {
  const pairs: [number | null, number | null][] = [
    [truth.plan.pendingToRunningMs, image.boot.pendingToRunning],
    [truth.plan.runningToNetworkMs, image.boot.runningToNetwork],
    [truth.plan.networkToSshMs, image.boot.networkToSsh],
  ];
  for (const [ms, seconds] of pairs) {
    if (ms !== null && seconds !== null && ms > 0 && seconds > 0) return ms / (seconds * 1000);
  }
  return 1;
}

// ---- scripts -----------------------------------------------------------------------------------

/**
 * A console line: plain text, or text with properties: `kernel` (a kernel message, which Linux stamps
 * with the seconds since running), `milestone`.
 */
type Emit = string | { text: string; kernel?: boolean; milestone?: ConsoleMilestone };

interface BootScript {
  firmware: Emit[];
  kernel: Emit[];
  networkUp: Emit[];
  networkFailed: Emit[];
  beforeSsh: Emit[];
  sshReady: Emit[];
  sshFailed: Emit[];
  loginPrompt: Emit[];
  final: Emit[];
  /** `sshd`/`getty`: whether sshd had started, whether the boot had got to the login prompt. */
  shutdown(ran: { sshd: boolean; getty: boolean }, uptimeMs: number): Emit[];
  halted: Emit;
  render(line: Emit, at: number): string;
}

const isFreeBsd = (image: CatalogueImage) => image.name.startsWith("FreeBSD");

/** A kernel message. */
const k = (text: string, milestone?: ConsoleMilestone): Emit => ({
  text,
  kernel: true,
  ...(milestone && { milestone }),
});
/** A milestone line that is not a kernel message. */
const mark = (text: string, milestone: ConsoleMilestone): Emit => ({ text, milestone });

/** Deterministic "random" bytes for this instance. */
function bytesFor(truth: ConsoleTruth, label: string, length = 32): Buffer {
  const out: Buffer[] = [];
  for (let i = 0; out.length * 32 < length; i++) {
    out.push(createHash("sha256").update(`${truth.instanceId}/${label}/${i}`).digest());
  }
  return Buffer.concat(out).subarray(0, length);
}

const hexFor = (truth: ConsoleTruth, label: string, digits: number) =>
  bytesFor(truth, label, Math.ceil(digits / 2))
    .toString("hex")
    .slice(0, digits);

function macFor(truth: ConsoleTruth): string {
  const b = bytesFor(truth, "mac", 5);
  return ["0a", ...[...b].map((x) => x.toString(16).padStart(2, "0"))].join(":");
}

function uuidFor(truth: ConsoleTruth, label: string): string {
  const h = hexFor(truth, label, 32);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

const hostnameOf = (truth: ConsoleTruth) => `ip-${truth.privateIp.replaceAll(".", "-")}`;

/** An OpenSSH public key blob: length-prefixed strings. */
function sshBlob(...parts: (string | Buffer)[]): Buffer {
  return Buffer.concat(
    parts.flatMap((p) => {
      const data = typeof p === "string" ? Buffer.from(p) : p;
      const length = Buffer.alloc(4);
      length.writeUInt32BE(data.length);
      return [length, data];
    }),
  );
}

interface HostKey {
  type: string;
  bits: number;
  name: string;
  blob: Buffer;
}

function hostKeys(truth: ConsoleTruth): HostKey[] {
  const ecdsaPoint = Buffer.concat([Buffer.from([4]), bytesFor(truth, "ecdsa", 64)]);
  return [
    {
      type: "ecdsa-sha2-nistp256",
      bits: 256,
      name: "ECDSA",
      blob: sshBlob("ecdsa-sha2-nistp256", "nistp256", ecdsaPoint),
    },
    {
      type: "ssh-ed25519",
      bits: 256,
      name: "ED25519",
      blob: sshBlob("ssh-ed25519", bytesFor(truth, "ed25519")),
    },
  ];
}

const fingerprint = (blob: Buffer) =>
  `SHA256:${createHash("sha256").update(blob).digest("base64").replace(/=+$/, "")}`;

/** `[    1.234567] `: seconds since running, floored to the microsecond (as dmesg's resolution). */
function dmesgStamp(elapsedMs: number): string {
  const us = Math.max(0, Math.floor(elapsedMs * 1000));
  const seconds = `${Math.floor(us / 1_000_000)}.${String(us % 1_000_000).padStart(6, "0")}`;
  return `[${seconds.padStart(12)}] `;
}

const upSeconds = (source: ConsoleSource, at: number) =>
  ((at - (source.truth.runningAt ?? at)) / 1000).toFixed(2);

/** `Thu, 28 Aug 2025 07:12:40 +0000`, as cloud-init prints it. */
const rfc2822 = (at: number) => new Date(at).toUTCString().replace("GMT", "+0000");

/** `Aug 28 07:12:45`, as syslog prints it. */
function syslogTime(at: number): string {
  const [, day = "", month = "", , time = ""] = new Date(at).toUTCString().split(/[ ,]+/);
  return `${month} ${day.replace(/^0/, " ")} ${time}`;
}

function volumeIdFor(truth: ConsoleTruth): string {
  return `vol0${hexFor(truth, "volume", 16)}`;
}

function cpuModelOf(type: InstanceTypeInfo): string {
  const family = type.instanceType.split(".")[0] ?? "";
  const models: Record<string, string> = {
    c5: "Intel(R) Xeon(R) Platinum 8275CL CPU @ 3.00GHz",
    c6i: "Intel(R) Xeon(R) Platinum 8375C CPU @ 2.90GHz",
    c7i: "Intel(R) Xeon(R) Platinum 8488C",
    m7i: "Intel(R) Xeon(R) Platinum 8488C",
    t3: "Intel(R) Xeon(R) Platinum 8259CL CPU @ 2.50GHz",
    t2: "Intel(R) Xeon(R) CPU E5-2676 v3 @ 2.40GHz",
    c6g: "ARM Neoverse-N1 r3p1",
    t4g: "ARM Neoverse-N1 r3p1",
    c7g: "ARM Neoverse-V1 r1p1",
    m7g: "ARM Neoverse-V1 r1p1",
  };
  return models[family] ?? (type.architecture === "arm64" ? "ARM Neoverse-N1 r3p1" : "Intel(R) Xeon(R) CPU");
}

const NVME_BOOT_PATH = "PciRoot(0x0)/Pci(0x4,0x0)/NVMe(0x1,00-00-00-00-00-00-00-00)";
const uefiLoading = (volume: string) =>
  `BdsDxe: loading Boot0001 "UEFI Amazon Elastic Block Store ${volume}" from ${NVME_BOOT_PATH}`;
const uefiStarting = (volume: string) =>
  `BdsDxe: starting Boot0001 "UEFI Amazon Elastic Block Store ${volume}" from ${NVME_BOOT_PATH}`;

// ---- Linux -------------------------------------------------------------------------------------

interface LinuxDistro {
  welcome: string;
  kernelRelease(arch: "x86_64" | "arm64"): string;
  linuxVersion(release: string): string;
  grubEntry: string;
  systemd: string;
  sshUnit: string;
  rootFs: "ext4" | "xfs";
  partitions: readonly string[];
  user: string;
  cloudInit: string;
  banner(host: string, tty: string, release: string, arch: string): string[];
}

const DEBIAN: LinuxDistro = {
  welcome: "Debian GNU/Linux 12 (bookworm)",
  kernelRelease: (arch) => `6.1.0-38-cloud-${arch === "arm64" ? "arm64" : "amd64"}`,
  linuxVersion: (release) =>
    `Linux version ${release} (debian-kernel@lists.debian.org) (gcc-12 (Debian 12.2.0-14+deb12u1) 12.2.0, GNU ld (GNU Binutils for Debian) 2.40) #1 SMP PREEMPT_DYNAMIC Debian 6.1.147-1 (2025-08-02)`,
  grubEntry: "Debian GNU/Linux",
  systemd: "252.38-1~deb12u1",
  sshUnit: "ssh.service - OpenBSD Secure Shell server",
  rootFs: "ext4",
  partitions: ["p1", "p14", "p15"],
  user: "admin",
  cloudInit: "22.4.2",
  banner: (host, tty) => [`Debian GNU/Linux 12 ${host} ${tty}`],
};

const UBUNTU: LinuxDistro = {
  welcome: "Ubuntu 24.04.3 LTS",
  kernelRelease: () => "6.8.0-1035-aws",
  linuxVersion: (release) =>
    `Linux version ${release} (buildd@lcy02-amd64-089) (x86_64-linux-gnu-gcc-13 (Ubuntu 13.3.0-6ubuntu2~24.04) 13.3.0, GNU ld (GNU Binutils for Ubuntu) 2.42) #37~24.04.1-Ubuntu SMP Mon Aug 11 10:22:42 UTC 2025 (Ubuntu 6.8.0-1035.37~24.04.1-aws 6.8.12)`,
  grubEntry: "Ubuntu",
  systemd: "255.4-1ubuntu8.10",
  sshUnit: "ssh.service - OpenBSD Secure Shell server",
  rootFs: "ext4",
  partitions: ["p1", "p14", "p15", "p16"],
  user: "ubuntu",
  cloudInit: "25.1.4-0ubuntu0~24.04.1",
  banner: (host, tty) => [`Ubuntu 24.04.3 LTS ${host} ${tty}`],
};

const AMAZON_LINUX: LinuxDistro = {
  welcome: "Amazon Linux 2023.8.20250818",
  kernelRelease: (arch) => `6.1.147-172.266.amzn2023.${arch === "arm64" ? "aarch64" : "x86_64"}`,
  linuxVersion: (release) =>
    `Linux version ${release} (mockbuild@ip-10-0-53-148) (gcc (GCC) 11.5.0 20240719 (Red Hat 11.5.0-5), GNU ld version 2.41-50.amzn2023.0.3) #1 SMP PREEMPT_DYNAMIC Mon Aug 11 21:06:41 UTC 2025`,
  grubEntry: "Amazon Linux",
  systemd: "252.23-2.amzn2023",
  sshUnit: "sshd.service - OpenSSH server daemon",
  rootFs: "xfs",
  partitions: ["p1", "p127", "p128"],
  user: "ec2-user",
  cloudInit: "22.2.2",
  banner: (_host, _tty, release, arch) => [
    "Amazon Linux 2023.8.20250818",
    `Kernel ${release} on an ${arch === "arm64" ? "aarch64" : "x86_64"} (-)`,
  ],
};

function distroOf(image: CatalogueImage): LinuxDistro {
  const name = image.name.toLowerCase();
  if (name.includes("ubuntu")) return UBUNTU;
  if (name.startsWith("al2023") || name.includes("amzn")) return AMAZON_LINUX;
  // Debian, and the local cloud's synthetic images, which stand for a plain Debian-like system.
  return DEBIAN;
}

function linuxScript(source: ConsoleSource): BootScript {
  const { truth, instanceType: type, bootMode } = source;
  const distro = distroOf(source.image);
  const arch = source.image.architecture;
  const release = distro.kernelRelease(arch);
  const xen = type.hypervisor === "xen";
  const host = hostnameOf(truth);
  const tty = "ttyS0";
  const disk = xen ? "xvda" : "nvme0n1";
  const part = (p: string) => (xen ? `xvda${p.slice(1)}` : `nvme0n1${p}`);
  const nic = xen ? "enX0" : "ens5";
  const mac = macFor(truth);
  const volume = volumeIdFor(truth);
  const rootUuid = uuidFor(truth, "root-partuuid");
  const cpus = type.vcpus;
  const totalK = type.memoryMiB * 1024;
  const cmdline = `BOOT_IMAGE=/boot/vmlinuz-${release} root=PARTUUID=${rootUuid} ro console=tty0 console=${tty},115200n8 nvme_core.io_timeout=4294967295 earlyprintk=${tty},115200 consoleblank=0`;
  const sshUnitName = distro.sshUnit.split(" ")[0] ?? "ssh.service";
  const keys = hostKeys(truth);
  const cloudInitPid = 400 + (bytesFor(truth, "pid")[0] ?? 0);
  const finalPid = cloudInitPid + 41;

  const firmware: Emit[] =
    bootMode === "uefi"
      ? [
          mark(uefiLoading(volume), "firmware"),
          uefiStarting(volume),
          `Booting \`${distro.grubEntry}'`,
          `Loading Linux ${release} ...`,
          "Loading initial ramdisk ...",
          "EFI stub: Loaded initrd from LINUX_EFI_INITRD_MEDIA_GUID device path",
          "EFI stub: Measured initrd data into PCR 9",
        ]
      : [
          mark(`SeaBIOS (version 1.11.0-2.amzn${xen ? 1 : 2})`, "firmware"),
          "Booting from Hard Disk 0...",
          "GRUB loading.",
          `Booting \`${distro.grubEntry}'`,
          `Loading Linux ${release} ...`,
          "Loading initial ramdisk ...",
        ];

  const platform: Emit[] =
    arch === "arm64"
      ? [
          k("Booting Linux on physical CPU 0x0000000000 [0x413fd0c1]"),
          k(distro.linuxVersion(release), "kernel"),
          k("efi: EFI v2.7 by EDK II"),
          k(
            "efi: SMBIOS=0x7bed0000 SMBIOS 3.0=0x7bec0000 ACPI=0x786e0000 ACPI 2.0=0x786e0014 MEMATTR=0x7afa6018",
          ),
          k("ACPI: SPCR 0x00000000786E0000 000050 (v02 AMAZON AMZNSPCR 00000001 AMZN 00000001)"),
          k(`ACPI: SPCR: console: uart,mmio,0x90a0000,115200`),
          k(`DMI: Amazon EC2 ${type.instanceType}/, BIOS 1.0 11/1/2018`),
          k("psci: probing for conduit method from ACPI."),
          k(`percpu: Embedded 31 pages/cpu s86824 r8192 d32984 u126976`),
          k(`Kernel command line: ${cmdline}`),
          k(`Memory: ${Math.floor(totalK * 0.96)}K/${totalK}K available (13120K kernel code, 2836K rwdata)`),
          k(`SLUB: HWalign=64, Order=0-3, MinObjects=0, CPUs=${cpus}, Nodes=1`),
          k("GICv3: 96 SPIs implemented"),
          k("arch_timer: cp15 timer(s) running at 1050.00MHz (virt)."),
          k(`printk: console [${tty}] enabled`),
          k(
            `CPU features: detected: ${cpuModelOf(type).startsWith("ARM Neoverse-V1") ? "SVE" : "LSE atomic instructions"}`,
          ),
          k(`smp: Brought up 1 node, ${cpus} CPUs`),
        ]
      : [
          k(distro.linuxVersion(release), "kernel"),
          k(`Command line: ${cmdline}`),
          k("BIOS-provided physical RAM map:"),
          k("BIOS-e820: [mem 0x0000000000000000-0x000000000009ffff] usable"),
          k("BIOS-e820: [mem 0x0000000000100000-0x00000000bffe9fff] usable"),
          k("BIOS-e820: [mem 0x00000000bffea000-0x00000000bfffffff] reserved"),
          k("NX (Execute Disable) protection: active"),
          k(
            xen
              ? "DMI: Xen HVM domU, BIOS 4.11.amazon 08/24/2006"
              : `DMI: Amazon EC2 ${type.instanceType}/, BIOS 1.0 10/16/2017`,
          ),
          k(xen ? "Hypervisor detected: Xen HVM" : "Hypervisor detected: KVM"),
          ...(xen ? [k("Xen version 4.11.")] : [k("kvm-clock: Using msrs 4b564d01 and 4b564d00")]),
          k(`tsc: Detected ${xen ? "2400.050" : "3000.000"} MHz processor`),
          k("ACPI: Early table checksum verification disabled"),
          k(`smpboot: Allowing ${cpus} CPUs, 0 hotplug CPUs`),
          k(`Kernel command line: ${cmdline}`),
          k(`Memory: ${Math.floor(totalK * 0.95)}K/${totalK}K available (14336K kernel code, 2620K rwdata)`),
          k(`SLUB: HWalign=64, Order=0-3, MinObjects=0, CPUs=${cpus}, Nodes=1`),
          k("Console: colour dummy device 80x25"),
          k(`printk: console [${tty}] enabled`),
          k("ACPI: Core revision 20220331"),
          k(`smpboot: CPU0: ${cpuModelOf(type)} (family: 0x6, model: 0x55, stepping: 0x7)`),
          k("smp: Bringing up secondary CPUs ..."),
          k(`smp: Brought up 1 node, ${cpus} CPUs`),
        ];

  const devices: Emit[] = [
    k("devtmpfs: initialized"),
    k("clocksource: jiffies: mask: 0xffffffff max_cycles: 0xffffffff, max_idle_ns: 7645041785100000 ns"),
    k("NET: Registered PF_NETLINK/PF_ROUTE protocol family"),
    k("ACPI: Interpreter enabled"),
    k("PCI host bridge to bus 0000:00"),
    k(`SCSI subsystem initialized`),
    k(
      `clocksource: Switched to clocksource ${xen ? "xen" : arch === "arm64" ? "arch_sys_counter" : "kvm-clock"}`,
    ),
    k("NET: Registered PF_INET protocol family"),
    k("Freeing initrd memory: 30836K"),
    k("Serial: 8250/16550 driver, 4 ports, IRQ sharing enabled"),
    k(`00:04: ${tty} at I/O 0x3f8 (irq = 4, base_baud = 115200) is a 16550A`),
    k("Freeing unused kernel image (initmem) memory: 2800K"),
    k("Write protecting the kernel read-only data: 26624k"),
    k("Run /init as init process"),
    ...(xen
      ? [
          k(
            "blkfront: xvda: barrier or flush: disabled; persistent grants: disabled; indirect descriptors: enabled; bounce buffer: enabled;",
          ),
          k(` xvda: ${distro.partitions.map(part).join(" ")}`),
          k("xen_netfront: Initialising Xen virtual ethernet driver"),
          k(`vif vif-0 ${nic}: renamed from eth0`),
        ]
      : [
          k("nvme nvme0: pci function 0000:00:04.0"),
          k(`nvme nvme0: ${Math.min(cpus, 2)}/0/0 default/read/poll queues`),
          k(` ${disk}: ${distro.partitions.join(" ")}`),
          k("ena 0000:00:05.0: Elastic Network Adapter (ENA) v2.8.1g"),
          k("ena 0000:00:05.0: ENA device version: 0.10"),
          k("ena 0000:00:05.0: ENA controller version: 0.0.1 implementation version 1"),
          k(`ena 0000:00:05.0: Elastic Network Adapter (ENA) found at mem febf4000, mac addr ${mac}`),
          k(`ena 0000:00:05.0 ${nic}: renamed from eth0`),
        ]),
    distro.rootFs === "xfs"
      ? k(`XFS (${part("p1")}): Mounting V5 Filesystem ${uuidFor(truth, "fs")}`, "rootMount")
      : k(
          `EXT4-fs (${part("p1")}): mounted filesystem with ordered data mode. Quota mode: none.`,
          "rootMount",
        ),
    ...(distro.rootFs === "xfs" ? [k(`XFS (${part("p1")}): Ending clean mount`)] : []),
    k("Run /sbin/init as init process"),
    k(
      `systemd[1]: systemd ${distro.systemd} running in system mode (+PAM +AUDIT +SELINUX +APPARMOR +IMA +SMACK +SECCOMP +GCRYPT -GNUTLS +OPENSSL +ACL +BLKID +CURL +ELFUTILS +FIDO2 +IDN2 -IDN +IPTC +KMOD +LIBCRYPTSETUP +LIBFDISK +PCRE2 -PWQUALITY +P11KIT +QRENCODE +TPM2 +BZIP2 +LZ4 +XZ +ZLIB +ZSTD -BPF_FRAMEWORK -XKBCOMMON +UTMP +SYSVINIT default-hierarchy=unified)`,
    ),
    k("systemd[1]: Detected virtualization amazon."),
    k(`systemd[1]: Detected architecture ${arch === "arm64" ? "arm64" : "x86-64"}.`),
    "",
    `Welcome to ${distro.welcome}!`,
    "",
    k(`systemd[1]: Hostname set to <${host}>.`),
    k("systemd[1]: Queued start job for default target graphical.target."),
  ];

  const ok = (text: string) => `[  OK  ] ${text}`;
  const starting = (text: string) => `         Starting ${text}...`;
  const units: Emit[] = [
    ok("Created slice system-getty.slice - Slice /system/getty."),
    ok("Created slice system-modprobe.slice - Slice /system/modprobe."),
    ok("Created slice system-serial\\x2dgetty.slice - Slice /system/serial-getty."),
    ok("Started systemd-ask-password-console.path - Dispatch Password Requests to Console."),
    ok("Reached target cryptsetup.target - Local Encrypted Volumes."),
    ok("Reached target paths.target - Path Units."),
    ok("Reached target slices.target - Slice Units."),
    ok("Listening on systemd-journald.socket - Journal Socket."),
    ok("Listening on systemd-udevd-control.socket - udev Control Socket."),
    starting("dev-hugepages.mount - Huge Pages File System"),
    starting("systemd-journald.service - Journal Service"),
    starting("systemd-modules-load.service - Load Kernel Modules"),
    ok("Mounted dev-hugepages.mount - Huge Pages File System."),
    ok("Started systemd-journald.service - Journal Service."),
    ok("Finished systemd-modules-load.service - Load Kernel Modules."),
    starting("systemd-udevd.service - Rule-based Manager for Device Events and Files"),
    ok("Started systemd-udevd.service - Rule-based Manager for Device Events and Files."),
    ok("Finished systemd-udev-trigger.service - Coldplug All udev Devices."),
    ok(`Found device dev-${tty}.device - /dev/${tty}.`),
    ok(`Found device dev-${part("p15").replace("/", "-")}.device - Amazon Elastic Block Store 15.`),
    ok("Reached target local-fs.target - Local File Systems."),
    starting("cloud-init-local.service - Initial cloud-init job (pre-networking)"),
    ok("Finished cloud-init-local.service - Initial cloud-init job (pre-networking)."),
    ok("Reached target network-pre.target - Preparation for Network."),
    starting("systemd-networkd.service - Network Configuration"),
    ok("Started systemd-networkd.service - Network Configuration."),
    starting("systemd-networkd-wait-online.service - Wait for Network to be Configured"),
  ];

  const ci = (text: string) => k(`cloud-init[${cloudInitPid}]: ${text}`);
  const table = (rows: string[][], widths: number[]) =>
    rows.map((cells) => ci(`ci-info: | ${cells.map((c, i) => c.padEnd(widths[i] ?? 0)).join(" | ")} |`));
  const rule = (widths: number[]) => ci(`ci-info: +${widths.map((w) => "-".repeat(w + 2)).join("+")}+`);
  const netWidths = [6, 4, 27, 15, 6, 17];
  const routeWidths = [5, 11, 11, 15, 9, 5];
  const gateway = truth.privateIp.replace(/\.\d+$/, ".1");

  const beforeSsh: Emit[] = [
    starting("cloud-init.service - Initial cloud-init job (metadata service crawler)"),
    ci(`Cloud-init v. ${distro.cloudInit} running 'init' at @TIME@. Up @UP@ seconds.`),
    ci(`ci-info: ${"+".repeat(38)}Net device info${"+".repeat(38)}`),
    rule(netWidths),
    ...table([["Device", " Up ", "Address", "Mask", "Scope", "Hw-Address"]], netWidths),
    rule(netWidths),
    ...table(
      [
        [nic, "True", truth.privateIp, "255.255.255.0", "global", mac],
        [nic, "True", `fe80::8${hexFor(truth, "ll", 3)}:${hexFor(truth, "ll2", 4)}/64`, ".", "link", mac],
        ["lo", "True", "127.0.0.1", "255.0.0.0", "host", "."],
        ["lo", "True", "::1/128", ".", "host", "."],
      ],
      netWidths,
    ),
    rule(netWidths),
    ci(`ci-info: ${"+".repeat(29)}Route IPv4 info${"+".repeat(29)}`),
    rule(routeWidths),
    ...table([["Route", "Destination", "Gateway", "Genmask", "Interface", "Flags"]], routeWidths),
    rule(routeWidths),
    ...table(
      [
        ["0", "0.0.0.0", gateway, "0.0.0.0", nic, "UG"],
        ["1", gateway.replace(/\.1$/, ".0"), "0.0.0.0", "255.255.255.0", nic, "U"],
      ],
      routeWidths,
    ),
    rule(routeWidths),
    ...keys.flatMap((key) => [
      ci(`Generating public/private ${key.name.toLowerCase()} key pair.`),
      ci(`Your identification has been saved in /etc/ssh/ssh_host_${key.name.toLowerCase()}_key`),
      ci(`Your public key has been saved in /etc/ssh/ssh_host_${key.name.toLowerCase()}_key.pub`),
      ci("The key fingerprint is:"),
      ci(`${fingerprint(key.blob)} root@${host}`),
    ]),
    ok("Finished cloud-init.service - Initial cloud-init job (metadata service crawler)."),
    ok("Reached target cloud-config.target - Cloud-config availability."),
    ok("Reached target network.target - Network."),
    starting("chrony.service - chrony, an NTP client/server"),
    ok("Started chrony.service - chrony, an NTP client/server."),
    starting(`${distro.sshUnit}`),
  ];

  const final: Emit[] = [
    k(
      `cloud-init[${finalPid}]: Cloud-init v. ${distro.cloudInit} running 'modules:final' at @TIME@. Up @UP@ seconds.`,
    ),
    k(`cloud-init[${finalPid}]: ci-info: no authorized SSH keys fingerprints found for user ${distro.user}.`),
    "@SYSLOG@ cloud-init: #############################################################",
    "@SYSLOG@ cloud-init: -----BEGIN SSH HOST KEY FINGERPRINTS-----",
    ...keys.map(
      (key) => `@SYSLOG@ cloud-init: ${key.bits} ${fingerprint(key.blob)} root@${host} (${key.name})`,
    ),
    "@SYSLOG@ cloud-init: -----END SSH HOST KEY FINGERPRINTS-----",
    "@SYSLOG@ cloud-init: #############################################################",
    "-----BEGIN SSH HOST KEY KEYS-----",
    ...keys.map((key) => `${key.type} ${key.blob.toString("base64")} root@${host}`),
    "-----END SSH HOST KEY KEYS-----",
    k(
      `cloud-init[${finalPid}]: Cloud-init v. ${distro.cloudInit} finished at @TIME@. Datasource DataSourceEc2Local.  Up @UP@ seconds`,
    ),
  ];

  return {
    firmware,
    kernel: [...platform, ...devices, ...units],
    networkUp: [
      k(`IPv6: ADDRCONF(NETDEV_CHANGE): ${nic}: link becomes ready`, "networkUp"),
      ok("Finished systemd-networkd-wait-online.service - Wait for Network to be Configured."),
      ok("Reached target network-online.target - Network is Online."),
    ],
    networkFailed: [
      k(`ena: ${nic}: carrier lost, link is down`),
      mark(
        "[FAILED] Failed to start systemd-networkd-wait-online.service - Wait for Network to be Configured.",
        "networkFailed",
      ),
      "See 'systemctl status systemd-networkd-wait-online.service' for details.",
    ],
    beforeSsh,
    sshReady: [
      mark(ok(`Started ${distro.sshUnit}.`), "sshReady"),
      ok(`Started serial-getty@${tty}.service - Serial Getty on ${tty}.`),
      ok("Reached target getty.target - Login Prompts."),
      ok("Reached target multi-user.target - Multi-User System."),
      ok("Reached target graphical.target - Graphical Interface."),
    ],
    sshFailed: [
      mark(`[FAILED] Failed to start ${distro.sshUnit}.`, "sshFailed"),
      `See 'systemctl status ${sshUnitName}' for details.`,
      ok(`Started serial-getty@${tty}.service - Serial Getty on ${tty}.`),
      ok("Reached target getty.target - Login Prompts."),
      ok("Reached target multi-user.target - Multi-User System."),
    ],
    loginPrompt: ["", ...distro.banner(host, tty, release, arch), "", mark(`${host} login: `, "loginPrompt")],
    final,
    shutdown: (ran) => [
      mark(ok("Stopped target multi-user.target - Multi-User System."), "shutdown"),
      ...(ran.getty ? [ok("Stopped target getty.target - Login Prompts.")] : []),
      "         Stopping cron.service - Regular background program processing daemon...",
      ...(ran.sshd ? [`         Stopping ${distro.sshUnit}...`] : []),
      ...(ran.getty ? [`         Stopping serial-getty@${tty}.service - Serial Getty on ${tty}...`] : []),
      ...(ran.sshd ? [ok(`Stopped ${distro.sshUnit}.`)] : []),
      ...(ran.getty ? [ok(`Stopped serial-getty@${tty}.service - Serial Getty on ${tty}.`)] : []),
      ok("Stopped target network-online.target - Network is Online."),
      "         Stopping systemd-networkd.service - Network Configuration...",
      ok("Stopped systemd-networkd.service - Network Configuration."),
      ok("Reached target shutdown.target - System Shutdown."),
      ok("Reached target final.target - Late Shutdown Phase."),
      ok("Finished systemd-poweroff.service - System Power Off."),
      ok("Reached target poweroff.target - System Power Off."),
      k("systemd-shutdown[1]: Syncing filesystems and block devices."),
      k("systemd-shutdown[1]: Sending SIGTERM to remaining processes..."),
      k("systemd-journald[212]: Received SIGTERM from PID 1 (systemd-shutdown)."),
      k("systemd-shutdown[1]: Sending SIGKILL to remaining processes..."),
      k("systemd-shutdown[1]: Unmounting file systems."),
      k("systemd-shutdown[1]: All filesystems unmounted."),
      k("systemd-shutdown[1]: Deactivating swaps."),
      k("systemd-shutdown[1]: All swaps deactivated."),
      k("systemd-shutdown[1]: Detaching loop devices."),
      k("systemd-shutdown[1]: All loop devices detached."),
      k("systemd-shutdown[1]: Powering off."),
    ],
    halted: k("reboot: Power down", "halted"),
    render: (line, at) => {
      const text =
        typeof line === "string"
          ? line
          : (line.kernel ? dmesgStamp(at - (truth.runningAt ?? at)) : "") + line.text;
      return text
        .replace("@TIME@", rfc2822(at))
        .replace("@UP@", upSeconds(source, at))
        .replace("@SYSLOG@", `<14>${syslogTime(at)}`);
    },
  };
}

// ---- FreeBSD -----------------------------------------------------------------------------------

function freeBsdScript(source: ConsoleSource): BootScript {
  const { truth, instanceType: type, bootMode, image } = source;
  const m = /^FreeBSD (\S+?)-(amd64|arm64)(?:-(\d{8}))?/.exec(image.name);
  const version = m?.[1] ?? "15.0-CURRENT";
  const arch = m?.[2] ?? (image.architecture === "arm64" ? "arm64" : "amd64");
  const built = new Date(image.creationDate);
  const builtAt = Number.isNaN(built.getTime()) ? new Date(0) : built;
  const buildDate = `${builtAt.toUTCString().slice(0, 3)} ${builtAt.toUTCString().slice(8, 11)} ${String(builtAt.getUTCDate()).padStart(2, " ")} ${builtAt.toISOString().slice(11, 19)} UTC ${builtAt.getUTCFullYear()}`;
  const branch = version.endsWith("CURRENT")
    ? "main"
    : version.endsWith("STABLE")
      ? `stable/${version.split(".")[0]}`
      : `releng/${version.split("-")[0]}`;
  // The build is the image's, not the instance's.
  const build = createHash("sha256").update(image.imageId).digest();
  const revision = `${branch}-n${270000 + (build.readUInt16BE(0) % 10000)}-${build.toString("hex").slice(4, 16)}`;
  const xen = type.hypervisor === "xen";
  const nic = xen ? "xn0" : "ena0";
  const diskDev = xen ? "xbd0" : "nda0";
  const mac = macFor(truth);
  const volume = volumeIdFor(truth);
  const host = hostnameOf(truth);
  const cpus = type.vcpus;
  const memBytes = type.memoryMiB * 1024 * 1024;
  const rsa = fingerprint(sshBlob("ssh-rsa", bytesFor(truth, "rsa", 384)));
  const keys = hostKeys(truth);
  const loaderArch = arch === "arm64" ? "arm64" : "amd64";

  const loaderCommon = [
    "Loading /boot/defaults/loader.conf",
    "Loading /boot/defaults/loader.conf.local",
    "Loading /boot/loader.conf",
    "Loading /boot/loader.conf.local",
    "/boot/kernel/kernel text=0x1c9e68 data=0x16a8 data=0x1c1a4f8+0x3efb30 syms=[0x8+0x1b2dc8+0x8+0x1a5e3d]",
    "/boot/entropy size=0x1000",
    "/boot/kernel/if_ena.ko size 0x26fc8 at 0x2a37000",
    "Booting...",
  ];
  const firmware: Emit[] =
    bootMode === "uefi"
      ? [
          mark(uefiLoading(volume), "firmware"),
          uefiStarting(volume),
          "Consoles: EFI console  ",
          "    Reading loader env vars from /efi/freebsd/loader.env",
          "Setting currdev to disk0p1:",
          `FreeBSD/${loaderArch} EFI loader, Revision 3.0`,
          "   Command line arguments: loader.efi",
          "   Image base: 0x7b7d6000",
          "   EFI version: 2.70",
          "   EFI Firmware: Amazon EC2 (rev 1.00)",
          "   Console: comconsole (0)",
          "   Load Path: \\EFI\\BOOT\\BOOTX64.EFI",
          "Trying ESP: PciRoot(0x0)/Pci(0x4,0x0)/NVMe(0x1,00-00-00-00-00-00-00-00)/HD(1,GPT)",
          "Setting currdev to disk0p4:",
          ...loaderCommon,
        ]
      : [
          mark("/boot/config: -h -S115200", "firmware"),
          "Consoles: serial port  ",
          "BIOS drive C: is disk0",
          "BIOS 639kB/3144680kB available memory",
          "",
          "FreeBSD/x86 bootstrap loader, Revision 1.1",
          "",
          ...loaderCommon,
        ];

  const cpuLines: Emit[] =
    arch === "arm64"
      ? [
          `CPU  0: ${cpuModelOf(type)} affinity:  0`,
          "                   Cache Type = <64 byte D-cacheline,64 byte I-cacheline,PIPT ICache,64 byte ERG,64 byte CWG>",
          " Instruction Set Attributes 0 = <DP,RDM,Atomic,CRC32,SHA2,SHA1,AES>",
        ]
      : [
          `CPU: ${cpuModelOf(type)} (${xen ? "2400.05" : "3000.00"}-MHz K8-class CPU)`,
          '  Origin="GenuineIntel"  Id=0x50657  Family=0x6  Model=0x55  Stepping=7',
          "  Features=0x1f83fbff<FPU,VME,DE,PSE,TSC,MSR,PAE,MCE,CX8,APIC,SEP,MTRR,PGE,MCA,CMOV,PAT,PSE36,MMX,FXSR,SSE,SSE2,SS,HTT>",
          "  Features2=0xfffa3203<SSE3,PCLMULQDQ,SSSE3,FMA,CX16,PCID,SSE4.1,SSE4.2,x2APIC,MOVBE,POPCNT,TSCDLT,AESNI,XSAVE,OSXSAVE,AVX,F16C,RDRAND,HV>",
          "  AMD Features=0x2c100800<SYSCALL,NX,Page1GB,RDTSCP,LM>",
          "  AMD Features2=0x121<LAHF,ABM,Prefetch>",
          `  Hypervisor: Origin = "${xen ? "XenVMMXenVMM" : "KVMKVMKVM"}"`,
        ];

  const kernel: Emit[] = [
    "---<<BOOT>>---",
    mark(`Copyright (c) 1992-${builtAt.getUTCFullYear()} The FreeBSD Project.`, "kernel"),
    "Copyright (c) 1979, 1980, 1983, 1986, 1988, 1989, 1991, 1992, 1993, 1994",
    "\tThe Regents of the University of California. All rights reserved.",
    "FreeBSD is a registered trademark of The FreeBSD Foundation.",
    version.endsWith("RELEASE")
      ? `FreeBSD ${version} ${revision} GENERIC ${arch}`
      : `FreeBSD ${version} #0 ${revision}: ${buildDate}`,
    `    root@releng3.nyi.freebsd.org:/usr/obj/usr/src/${arch}.${arch === "arm64" ? "aarch64" : "amd64"}/sys/GENERIC ${arch}`,
    "FreeBSD clang version 19.1.7 (https://github.com/llvm/llvm-project.git llvmorg-19.1.7-0-gcd708029e0b2)",
    bootMode === "uefi" ? "VT(efifb): resolution 800x600" : "VT(vga): text 80x25",
    ...(xen ? ["XEN: Hypervisor version 4.11 detected."] : []),
    ...cpuLines,
    `real memory  = ${memBytes} (${type.memoryMiB} MB)`,
    `avail memory = ${Math.floor(memBytes * 0.95)} (${Math.floor(type.memoryMiB * 0.95)} MB)`,
    'Event timer "LAPIC" quality 600',
    "ACPI APIC Table: <AMAZON AMZNAPIC>",
    `FreeBSD/SMP: Multiprocessor System Detected: ${cpus} CPUs`,
    `FreeBSD/SMP: 1 package(s) x ${Math.max(1, cpus / 2)} core(s) x ${cpus > 1 ? 2 : 1} hardware threads`,
    "random: registering fast source Intel Secure Key RNG",
    'random: fast provider: "Intel Secure Key RNG"',
    "ioapic0 <Version 1.1> irqs 0-23",
    ...(cpus > 1 ? [`Launching APs: ${Array.from({ length: cpus - 1 }, (_, i) => i + 1).join(" ")}`] : []),
    'Timecounter "TSC-low" frequency 1500000000 Hz quality 1000',
    "acpi0: <AMAZON AMZNFACP>",
    "atrtc0: <AT realtime clock> port 0x70-0x71,0x72-0x77 irq 8 on acpi0",
    'Event timer "RTC" frequency 32768 Hz quality 0',
    "pcib0: <ACPI Host-PCI bridge> port 0xcf8-0xcff on acpi0",
    "pci0: <ACPI PCI bus> on pcib0",
    ...(xen
      ? [
          "xenpci0: <Xen Platform Device> port 0xc000-0xc0ff mem 0xf2000000-0xf2ffffff irq 24 at device 3.0 on pci0",
          "xenbusb_front0: <Xen Frontend Devices> on xenstore0",
          `${nic}: <Virtual Network Interface> at device/vif/0 on xenbusb_front0`,
          `${nic}: Ethernet address: ${mac}`,
          `${diskDev}: 6144MB <Virtual Block Device> at device/vbd/768 on xenbusb_front0`,
          `${diskDev}: attaching as ada0`,
        ]
      : [
          "nvme0: <Generic NVMe Device> mem 0xfebf0000-0xfebf3fff irq 11 at device 4.0 on pci0",
          `${nic}: <ENA adapter> mem 0xfebf4000-0xfebf7fff at device 5.0 on pci0`,
          `${nic}: Elastic Network Adapter (ENA)ena v2.8.1`,
          `${nic}: ena_com_validate_version: ENA device version: 0.10`,
          `${nic}: ena_com_validate_version: ENA controller version: 0.0.1 implementation version 1`,
          `${nic}: Ethernet address: ${mac}`,
        ]),
    "uart0: <16550 or compatible> port 0x3f8-0x3ff irq 4 flags 0x10 on acpi0",
    "uart0: console (115200,n,8,1)",
    "Timecounters tick every 1.000 msec",
    ...(xen
      ? []
      : [
          `${diskDev} at nvme0 bus 0 scbus0 target 0 lun 1`,
          `${diskDev}: <Amazon Elastic Block Store 2.0 ${volume}>`,
          `${diskDev}: Serial Number ${volume}`,
          `${diskDev}: nvme version 1.0`,
          `${diskDev}: 6144MB (12582912 512 byte sectors)`,
        ]),
    mark("Trying to mount root from ufs:/dev/gpt/rootfs [rw]...", "rootMount"),
    `Setting hostuuid: ${uuidFor(truth, "hostuuid")}.`,
    `Setting hostid: 0x${hexFor(truth, "hostid", 8)}.`,
    "Starting file system checks:",
    "/dev/gpt/rootfs: FILE SYSTEM CLEAN; SKIPPING CHECKS",
    `/dev/gpt/rootfs: clean, ${1_000_000 + (bytesFor(truth, "free")[0] ?? 0) * 97} free (4168 frags, 124813 blocks, 0.3% fragmentation)`,
    "Mounting local filesystems:.",
    "Growing root partition to fill device",
    `${xen ? "ada0" : diskDev}p4 resized`,
    "ELF ldconfig path: /lib /usr/lib /usr/lib/compat /usr/local/lib",
    "32-bit compatibility ldconfig path:",
    `Setting hostname: ${host}.`,
    "Setting up harvesting: [UMA],[FS_ATIME],SWI,INTERRUPT,NET_NG,[NET_ETHER],NET_TUN,MOUSE,KEYBOARD,ATTACH,CACHED",
    "Feeding entropy: .",
    "Starting devd.",
    "lo0: link state changed to UP",
    `Starting Network: lo0 ${nic}.`,
    "lo0: flags=1008049<UP,LOOPBACK,RUNNING,MULTICAST,LOWER_UP> metric 0 mtu 16384",
    "\toptions=680003<RXCSUM,TXCSUM,LINKSTATE,RXCSUM_IPV6,TXCSUM_IPV6>",
    "\tinet 127.0.0.1 netmask 0xff000000",
    `${nic}: flags=1008843<UP,BROADCAST,RUNNING,SIMPLEX,MULTICAST,LOWER_UP> metric 0 mtu 9001`,
    `\tether ${mac}`,
    `DHCPDISCOVER on ${nic} to 255.255.255.255 port 67 interval 1`,
  ];
  const gateway = truth.privateIp.replace(/\.\d+$/, ".1");

  return {
    firmware,
    kernel,
    networkUp: [
      mark(`${nic}: link state changed to UP`, "networkUp"),
      `DHCPOFFER from ${gateway}`,
      `DHCPREQUEST on ${nic} to 255.255.255.255 port 67`,
      `DHCPACK from ${gateway}`,
      `bound to ${truth.privateIp} -- renewal in 1800 seconds.`,
    ],
    networkFailed: [
      `${nic}: link state DOWN`,
      mark(`${nic}: no link ............. giving up`, "networkFailed"),
    ],
    beforeSsh: [
      "add host 127.0.0.1: gateway lo0 fib 0: route already in table",
      "add host ::1: gateway lo0 fib 0: route already in table",
      "add net fe80::: gateway ::1",
      "add net ff02::: gateway ::1",
      "add net ::ffff:0.0.0.0: gateway ::1",
      "add net ::0.0.0.0: gateway ::1",
      "Fetching SSH public key for ec2-user: done",
      "Updating motd:.",
      "Creating and/or trimming log files.",
      "Starting syslogd.",
      "Clearing /tmp (X related).",
      "Generating RSA host key.",
      `3072 ${rsa} root@${host} (RSA)`,
      ...keys.flatMap((key) => [
        `Generating ${key.name} host key.`,
        `${key.bits} ${fingerprint(key.blob)} root@${host} (${key.name})`,
      ]),
      "Performing sanity check on sshd configuration.",
    ],
    sshReady: [mark("Starting sshd.", "sshReady")],
    sshFailed: [mark("/etc/rc: WARNING: failed to start sshd", "sshFailed")],
    loginPrompt: [
      "Starting cron.",
      "Starting background file system checks in 60 seconds.",
      "",
      "@DATE@",
      "",
      `FreeBSD/${arch} (${host}) (ttyu0)`,
      "",
      mark("login: ", "loginPrompt"),
    ],
    final: [],
    shutdown: (ran, uptimeMs) => [
      // rc.shutdown stops services in reverse boot order; devd runs from early in every boot.
      ...(ran.getty ? ["Stopping cron.", "Waiting for PIDS: 1187."] : []),
      ...(ran.sshd ? ["Stopping sshd.", "Waiting for PIDS: 1121."] : []),
      mark("Stopping devd.", "shutdown"),
      "Waiting for PIDS: 486.",
      "Writing entropy file: .",
      "Writing early boot entropy file: .",
      ".",
      "Terminated",
      "Waiting (max 60 seconds) for system process `vnlru' to stop... done",
      "Waiting (max 60 seconds) for system process `syncer' to stop...",
      "Syncing disks, vnodes remaining... 0 0 0 done",
      "All buffers synced.",
      `Uptime: ${Math.max(0, Math.floor(uptimeMs / 1000))}s`,
    ],
    halted: mark("The operating system has halted.", "halted"),
    render: (line, at) => (typeof line === "string" ? line : line.text).replace("@DATE@", freeBsdDate(at)),
  };
}

/** `Thu Aug 28 07:12:44 UTC 2025`, as date(1) prints it at the end of rc. */
function freeBsdDate(at: number): string {
  const d = new Date(at);
  const [weekday = "", day = "", month = "", year = "", time = ""] = d.toUTCString().split(/[ ,]+/);
  return `${weekday} ${month} ${day.replace(/^0/, " ")} ${time} UTC ${year}`;
}
