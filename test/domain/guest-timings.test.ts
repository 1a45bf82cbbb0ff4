import { describe, expect, it } from "vitest";
import {
  GUEST_COMMANDS,
  type GuestCommandOutput,
  guestBootSpans,
  guestFamilyOf,
  guestMilestones,
  loginUserOf,
  parseBoottrace,
  parseFreeBsdBootTime,
  parseLinuxKernelStart,
  parseLstart,
  parseSshdJournal,
  parseSystemdAnalyzeTime,
  systemdSpanMs,
} from "../../functions/domain/guest-timings.js";

const answered = (id: GuestCommandOutput["id"], stdout: string, exitCode = 0): GuestCommandOutput => ({
  id,
  command: "…",
  exitCode,
  stdout,
  stderr: "",
});

describe("which guest, which user", () => {
  it("tells FreeBSD from Linux by the image's name, and the publisher's login user", () => {
    const freebsd = { name: "FreeBSD 15.0-CURRENT-amd64-20250828 UFS", description: "FreeBSD/amd64" };
    const debian = { name: "debian-12-amd64-20250814-2204", description: "Debian 12 (20250814-2204)" };
    const ubuntu = { name: "ubuntu/images/hvm-ssd-gp3/ubuntu-noble-24.04-amd64-server-20250821" };
    const al2023 = {
      name: "al2023-ami-2023.8.20250818.0-kernel-6.1-x86_64",
      description: "Amazon Linux 2023 AMI",
    };
    expect([freebsd, debian, ubuntu, al2023].map(guestFamilyOf)).toEqual([
      "freebsd",
      "linux",
      "linux",
      "linux",
    ]);
    expect([freebsd, debian, ubuntu, al2023].map(loginUserOf)).toEqual([
      "ec2-user",
      "admin",
      "ubuntu",
      "ec2-user",
    ]);
  });

  it("documents every command: where it comes from and what its absence means", () => {
    for (const command of [...GUEST_COMMANDS.linux, ...GUEST_COMMANDS.freebsd]) {
      expect(command.source.length, command.id).toBeGreaterThan(20);
      expect(command.whenAbsent.length, command.id).toBeGreaterThan(5);
    }
  });
});

describe("systemd-analyze time", () => {
  it("reads the kernel and userspace parts of a BIOS boot", () => {
    expect(
      parseSystemdAnalyzeTime(
        "Startup finished in 1.234s (kernel) + 2.345s (userspace) = 3.579s\n" +
          "multi-user.target reached after 2.300s in userspace.\n",
      ),
    ).toEqual({ userlandStartedMs: 1234, bootFinishedMs: 3579 });
  });

  it("reads firmware, loader and initrd of a UEFI boot, and minutes", () => {
    expect(
      parseSystemdAnalyzeTime(
        "Startup finished in 2.155s (firmware) + 1.017s (loader) + 1.263s (kernel) + 3.082s (initrd) + 1min 6.402s (userspace) = 1min 13.919s\n",
      ),
    ).toEqual({
      firmwareMs: 2155,
      loaderMs: 1017,
      userlandStartedMs: 1263,
      bootFinishedMs: 1263 + 3082 + 66_402,
    });
    expect(systemdSpanMs("812ms")).toBe(812);
    expect(systemdSpanMs("500us")).toBe(0.5);
  });

  it("gives nothing while the boot is not finished", () => {
    expect(
      parseSystemdAnalyzeTime(
        "Bootup is not yet finished (org.freedesktop.systemd1.Manager.FinishTimestampMonotonic=0).\nPlease try again later.\n",
      ),
    ).toEqual({});
  });
});

describe("the other answers", () => {
  it("reads sshd's first 'Server listening' line of the journal, in ms since the kernel started", () => {
    const journal =
      "[    3.100000] ip-172-31-1-2 systemd[1]: Starting ssh.service - OpenBSD Secure Shell server...\n" +
      "[    4.512345] ip-172-31-1-2 sshd[612]: Server listening on 0.0.0.0 port 22.\n" +
      "[    4.512400] ip-172-31-1-2 sshd[612]: Server listening on :: port 22.\n";
    expect(parseSshdJournal(journal)).toBe(4512.345);
    expect(parseSshdJournal("-- No entries --\n")).toBeUndefined();
  });

  it("places the Linux kernel's start on the guest's clock from uptime and date", () => {
    expect(parseLinuxKernelStart("12.34 20.01\n1764835212.345678901\n")).toBe(1_764_835_200_006);
  });

  it("reads FreeBSD's kern.boottime and ps lstart", () => {
    expect(parseFreeBsdBootTime("{ sec = 1764835200, usec = 123456 } Thu Dec  4 08:00:00 2025\n")).toBe(
      1_764_835_200_123.456,
    );
    expect(parseLstart("Thu Dec  4 08:00:07 2025\n")).toBe(Date.UTC(2025, 11, 4, 8, 0, 7));
    expect(parseLstart("")).toBeUndefined();
  });

  it("reads boottrace(4)'s table: init's start, sshd's rc script done, rc's end", () => {
    const log = [
      "CPU      msecs      delta process          event                      PID CPUtime IBlks OBlks",
      "  0      10000          0 kernel           sysinit 0x2100001            0    0.00     0     0",
      "  0      11250       1250 init             init(8) starting             1    0.01     0     0",
      "  0      13400       2150 rc.d             /etc/rc.d/sshd start        88    0.02     4     0",
      "  0      13900        500 rc.d             /etc/rc.d/sshd done         88    0.03     4     0",
      "  0      15000       1100 rc               /etc/rc done                 20    0.50    40     8",
    ].join("\n");
    expect(parseBoottrace(log)).toEqual({ userlandStartedMs: 1250, sshdReadyMs: 3900, bootFinishedMs: 5000 });
    expect(parseBoottrace("sysctl: unknown oid 'kern.boottrace.log'\n")).toEqual({});
  });
});

describe("guestMilestones", () => {
  it("takes a Linux guest's milestones from systemd, the journal and uptime, naming each one's source", () => {
    const milestones = guestMilestones("linux", [
      answered("systemdAnalyzeTime", "Startup finished in 1.234s (kernel) + 2.345s (userspace) = 3.579s\n"),
      answered("uptime", "12.34 20.01\n1764835212.345678901\n"),
      answered("sshdJournal", "[    4.512345] h sshd[612]: Server listening on 0.0.0.0 port 22.\n"),
    ]);
    expect(milestones).toEqual({
      kernelStartedAt: 1_764_835_200_006,
      userlandStartedMs: 1234,
      bootFinishedMs: 3579,
      sshdReadyMs: 4512.345,
      sources: {
        kernelStartedAt: "uptime",
        userlandStartedMs: "systemdAnalyzeTime",
        bootFinishedMs: "systemdAnalyzeTime",
        sshdReadyMs: "sshdJournal",
      },
    });
  });

  it("takes nothing from a command that failed or timed out", () => {
    const milestones = guestMilestones("linux", [
      answered(
        "systemdAnalyzeTime",
        "Startup finished in 1.234s (kernel) + 2.345s (userspace) = 3.579s\n",
        1,
      ),
      { ...answered("uptime", "12.34 20.01\n1764835212.3\n"), timedOut: true },
    ]);
    expect(milestones).toEqual({ sources: {} });
  });

  it("takes a stock FreeBSD guest's kernel start and sshd's start, without boottrace", () => {
    const milestones = guestMilestones("freebsd", [
      answered("bootTime", "{ sec = 1764835200, usec = 500000 } Thu Dec  4 08:00:00 2025\n"),
      answered("boottraceLog", "", 0),
      answered("tslog", "sysctl: unknown oid 'debug.tslog_user'\n", 1),
      answered("sshdStart", "Thu Dec  4 08:00:07 2025\n"),
    ]);
    expect(milestones).toEqual({
      kernelStartedAt: 1_764_835_200_500,
      sshdReadyMs: 6500,
      sources: { kernelStartedAt: "bootTime", sshdReadyMs: "sshdStart" },
    });
  });
});

describe("guestBootSpans", () => {
  it("ends the guest's userland at the port's first SYN/ACK and starts its kernel sshd-ready before it", () => {
    const spans = guestBootSpans(5.5, { userlandStartedMs: 1234, sshdReadyMs: 4500, sources: {} });
    expect(spans?.kernel?.[0]).toBeCloseTo(1.0, 9);
    expect(spans?.kernel?.[1]).toBeCloseTo(2.234, 9);
    expect(spans?.userland?.[0]).toBeCloseTo(2.234, 9);
    expect(spans?.userland?.[1]).toBe(5.5);
    expect(spans).not.toHaveProperty("kernelAndUserland");
  });

  it("starts the kernel before running was seen when the guest booted longer than the observed span", () => {
    const spans = guestBootSpans(3, { userlandStartedMs: 500, sshdReadyMs: 4000, sources: {} });
    expect(spans?.kernel?.[0]).toBeCloseTo(-1, 9);
    expect(spans?.userland?.[1]).toBe(3);
  });

  it("draws kernel and userland as one span when the guest did not say when userland started, or said it after sshd", () => {
    expect(guestBootSpans(6, { sshdReadyMs: 4000, sources: {} })).toEqual({
      resolutionMs: 1,
      kernelAndUserland: [2, 6],
    });
    expect(guestBootSpans(6, { userlandStartedMs: 4100, sshdReadyMs: 4000, sources: {} })).toEqual({
      resolutionMs: 1,
      kernelAndUserland: [2, 6],
    });
  });

  it("says how coarse the spans are: FreeBSD's ps lstart gives sshd's start in whole seconds", () => {
    const freebsd = guestBootSpans(6, {
      kernelStartedAt: 1_764_835_200_500,
      sshdReadyMs: 6500,
      sources: { kernelStartedAt: "bootTime", sshdReadyMs: "sshdStart" },
    });
    expect(freebsd?.resolutionMs).toBe(1000);
    const linux = guestBootSpans(6, {
      userlandStartedMs: 1234,
      sshdReadyMs: 4512.345,
      sources: {
        userlandStartedMs: "systemdAnalyzeTime",
        sshdReadyMs: "sshdJournal",
        kernelStartedAt: "uptime",
      },
    });
    // The kernel's start on the guest's clock (to 10 ms) places nothing: it does not count.
    expect(linux?.resolutionMs).toBe(1);
  });

  it("places nothing without sshd ready, the one anchor", () => {
    expect(guestBootSpans(6, { userlandStartedMs: 1000, bootFinishedMs: 3000, sources: {} })).toBeUndefined();
  });
});
