/**
 * An emulated instance launched with an imported key pair runs an SSH server once its port opens: the
 * probe's guest session (functions/probe-port/guest-session.ts) logs in as the image's user and reads
 * milestones that match the instance's ground truth. Without a key pair the port stays a banner.
 */
import net from "node:net";
import { ImportKeyPairCommand } from "@aws-sdk/client-ec2";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { GUEST_COMMANDS, guestMilestones } from "../../functions/domain/guest-timings.js";
import { collectGuestOutput } from "../../functions/probe-port/guest-session.js";
import { generateEd25519KeyPair } from "../../functions/shared/ssh-key.js";
import { BUILT_IN_AMI_IDS } from "../../local-cloud/catalogue.js";
import { consoleMilestones } from "../../local-cloud/ec2/console-output.js";
import {
  consoleSourceOf,
  runOne,
  sleep,
  startTestCloud,
  type TestCloud,
  terminateEveryInstance,
} from "./local-aws-support.js";

const keys = generateEd25519KeyPair();
let t: TestCloud;

beforeAll(async () => {
  t = await startTestCloud();
  await t.ec2.send(
    new ImportKeyPairCommand({
      KeyName: "bench-1",
      PublicKeyMaterial: new TextEncoder().encode(keys.publicKey),
    }),
  );
});
afterAll(() => t?.close());
afterEach(() => terminateEveryInstance(t));

/** Launches `imageId` with the key pair and waits for the boot's login prompt (the boot's end). */
async function bootedWithKey(imageId: string) {
  const launched = await runOne(t.ec2, { ImageId: imageId, KeyName: "bench-1" });
  const instanceId = launched.InstanceId as string;
  const truth = await t.aws.cloud.waitFor(instanceId, "sshUp");
  const loginPrompt = () =>
    consoleMilestones(consoleSourceOf(t, instanceId)).find((m) => m.milestone === "loginPrompt")?.at;
  while ((loginPrompt() ?? Number.POSITIVE_INFINITY) > Date.now()) await sleep(20);
  return { instanceId, truth, milestones: consoleMilestones(consoleSourceOf(t, instanceId)) };
}

const login = (host: string, username: string) => ({
  host,
  port: t.aws.cloud.sshPort,
  username,
  privateKey: keys.privateKey,
});

describe("the local guest's sshd", () => {
  it("lets the Debian image's user in with the key pair; its milestones are the instance's truth", async () => {
    const { truth, milestones } = await bootedWithKey(BUILT_IN_AMI_IDS.debian12Amd64);
    const session = await collectGuestOutput(login(truth.privateIp, "admin"), GUEST_COMMANDS.linux, {
      readyTimeoutMs: 5_000,
    });
    expect(session.status).toBe("collected");
    const guest = guestMilestones("linux", session.outputs);
    const runningAt = truth.runningAt as number;
    const at = (name: string) => milestones.find((m) => m.milestone === name)?.at as number;
    // The console's kernel stamps count from running; /proc/uptime has hundredths of a second.
    expect(Math.abs((guest.kernelStartedAt ?? 0) - runningAt)).toBeLessThanOrEqual(10);
    expect(Math.abs((guest.userlandStartedMs ?? 0) - (at("rootMount") - runningAt))).toBeLessThanOrEqual(0.5);
    expect(Math.abs((guest.sshdReadyMs ?? 0) - ((truth.sshUpAt as number) - runningAt))).toBeLessThanOrEqual(
      0.001,
    );
    expect(Math.abs((guest.bootFinishedMs ?? 0) - (at("loginPrompt") - runningAt))).toBeLessThanOrEqual(1);
  });

  it("lets FreeBSD's ec2-user in; kern.boottime is running, sshd's start is to the second", async () => {
    const { truth } = await bootedWithKey(BUILT_IN_AMI_IDS.freebsd143Release);
    const session = await collectGuestOutput(login(truth.privateIp, "ec2-user"), GUEST_COMMANDS.freebsd, {
      readyTimeoutMs: 5_000,
    });
    expect(session.status).toBe("collected");
    const guest = guestMilestones("freebsd", session.outputs);
    expect(Math.abs((guest.kernelStartedAt ?? 0) - (truth.runningAt as number))).toBeLessThanOrEqual(0.001);
    expect(
      Math.abs((guest.sshdReadyMs ?? 0) - ((truth.sshUpAt as number) - (truth.runningAt as number))),
    ).toBeLessThan(1000);
  });

  it("refuses another image's user", async () => {
    const { truth } = await bootedWithKey(BUILT_IN_AMI_IDS.debian12Amd64);
    const session = await collectGuestOutput(login(truth.privateIp, "ubuntu"), GUEST_COMMANDS.linux, {
      readyTimeoutMs: 5_000,
    });
    expect(session).toMatchObject({ status: "failed", error: { name: "SSH.client-authentication" } });
  });

  it("keeps an instance without a key pair to the banner: nothing to log in to", async () => {
    const launched = await runOne(t.ec2, { ImageId: BUILT_IN_AMI_IDS.debian12Amd64 });
    const truth = await t.aws.cloud.waitFor(launched.InstanceId as string, "sshUp");
    const banner = await new Promise<string>((resolve, reject) => {
      const socket = net.connect(t.aws.cloud.sshPort, truth.privateIp);
      let text = "";
      socket.on("data", (chunk) => {
        text += chunk.toString();
      });
      socket.on("end", () => resolve(text));
      socket.on("error", reject);
    });
    expect(banner).toBe("SSH-2.0-OpenSSH_9.9 boot-bench-local\r\n");
  });
});
