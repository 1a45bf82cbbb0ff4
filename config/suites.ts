/**
 * The benchmark suites this stack schedules. Read at synth (infra/boot-bench-stack.ts) and by the CLI
 * (`boot-bench run --suite <name>`, `boot-bench schedules`); validated by infra/suites-schema.ts, so a
 * mistake fails `cdk synth` with the suite and field it concerns.
 *
 * - schedule: an EventBridge Scheduler cron expression (minutes hours day-of-month month day-of-week
 *   year; one of the day fields `?`) in an IANA time zone.
 * - targets: an `image` (AMI id or SSM parameter), or a `pattern` over SSM parameter names, resolved at
 *   every run with GetParametersByPath (recursive): `*` within a segment, `?`, `{a,b}`, `**`. Instance
 *   types are named per architecture; an image only ever runs on the types of its own architecture.
 * - userDataFile: plain text passed as user data, relative to the repository root.
 * - control: true on a target: benchmarked at every run (never skipped as already benchmarked) and
 *   compared with its own last benchmark; it stands beside every other benchmark of the run on its
 *   instance type, so that EC2's own change is told from the image's (platform drift).
 * - sharedControls: controls another suite runs, for a suite that runs none of its own: on each
 *   instance type, the newest benchmark of one of these images started at most withinDays before.
 * - regression: a new AMI of a series is slower than the previous AMI when the 95 % interval of the
 *   shift of its per-run totals lies above `relative` × the previous median run total AND above
 *   `absoluteSeconds` (functions/domain/regression.ts; more timeouts or failures alert too). A
 *   comparison needs at least 5 counted runs a side: keep `runs` at 6 or more.
 */
import type { SuiteConfig } from "../infra/suites-schema.js";

const AL2023_X86_64 = "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64";
const AL2023_ARM64 = "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-arm64";

export const suites: SuiteConfig[] = [
  {
    name: "freebsd-weekly",
    description:
      "FreeBSD weekly snapshots (CURRENT and STABLE branches, amd64 and arm64), first-boot updates off as in the published methodology",
    // FreeBSD snapshots are built on Thursdays and reach the SSM parameters within a day.
    schedule: { cron: "0 3 ? * FRI *", timezone: "America/Vancouver" },
    targets: [
      {
        pattern: "/aws/service/freebsd/*/base/ufs/*/{CURRENT,STABLE}",
        instanceTypes: { x86_64: ["c7i.large"], arm64: ["c7g.large"] },
      },
    ],
    runs: 10,
    userDataFile: "config/user-data/freebsd-no-firstboot-updates.txt",
    concurrency: 2,
    regression: { relative: 0.1, absoluteSeconds: 0.5 },
    // The baseline suite's Amazon Linux of the Sunday before stands beside each snapshot.
    sharedControls: { images: [AL2023_X86_64, AL2023_ARM64], withinDays: 7 },
  },
  {
    name: "baseline",
    description: "Amazon Linux 2023, Ubuntu 24.04 LTS and Debian 12 as published, both architectures",
    schedule: { cron: "0 4 ? * SUN *", timezone: "UTC" },
    targets: [
      {
        // The control of both suites: run every week, changed or not, and compared with its last week.
        pattern: "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-{x86_64,arm64}",
        instanceTypes: { x86_64: ["c7i.large"], arm64: ["c7g.large"] },
        control: true,
      },
      {
        pattern: "/aws/service/canonical/ubuntu/server/24.04/stable/current/{amd64,arm64}/hvm/ebs-gp3/ami-id",
        instanceTypes: { x86_64: ["c7i.large"], arm64: ["c7g.large"] },
      },
      {
        pattern: "/aws/service/debian/release/bookworm/latest/{amd64,arm64}",
        instanceTypes: { x86_64: ["c7i.large"], arm64: ["c7g.large"] },
      },
    ],
    runs: 10,
    concurrency: 2,
    regression: { relative: 0.1, absoluteSeconds: 0.5 },
  },
];
