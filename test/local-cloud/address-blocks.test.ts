import { EC2Client } from "@aws-sdk/client-ec2";
import { afterEach, describe, expect, it } from "vitest";
import {
  type AddressBlockClaim,
  type AddressBlockClaimer,
  blockCidr,
  claimAddressBlock,
} from "../../local-cloud/ec2/address-blocks.js";
import { LoopbackAddressPool } from "../../local-cloud/ec2/instances.js";
import { startLocalAws } from "../../local-cloud/local-aws.js";
import { observe } from "../support/loopback-ports.js";
import { CloudProcess } from "./cloud-process.js";
import {
  addressesOf,
  FAST,
  randomSshPort,
  runOne,
  startTestCloud,
  type TestCloud,
} from "./local-aws-support.js";

const REFUSED = { kind: "error", code: "ECONNREFUSED" };
const credentials = { accessKeyId: "x", secretAccessKey: "x" };

/** `127.0.5.0/24` → 5, `127.1.0.0/24` → 256. */
const rowOf = (cidr: string): number => {
  const [, x, y] = cidr.split(".").map(Number);
  return (x as number) * 256 + (y as number);
};

/**
 * Rows far above the ones test files' clouds take (those start at 1 and hold one row each), so that
 * a test that frees a block and takes it again is not racing another test file's cloud for it.
 */
const highRow = (): number => 150 + Math.floor(Math.random() * 90);
const claimFrom =
  (first: number): AddressBlockClaimer =>
  async (row) =>
    row < first ? undefined : claimAddressBlock(row);

/** A claimer over a fake machine where `others` hold some rows; records every claim. */
function fakeMachine(others: Iterable<number>) {
  const held = new Set(others);
  const claimed: number[] = [];
  const claim: AddressBlockClaimer = async (row) => {
    if (held.has(row)) return undefined;
    held.add(row);
    claimed.push(row);
    const claim: AddressBlockClaim = {
      row,
      cidr: blockCidr(row),
      release: async () => {
        held.delete(row);
      },
    };
    return claim;
  };
  return { claim, claimed, held };
}

const processes: CloudProcess[] = [];
const clients: EC2Client[] = [];
const clouds: TestCloud[] = [];
const claims: AddressBlockClaim[] = [];
afterEach(async () => {
  for (const client of clients.splice(0)) client.destroy();
  await Promise.all([
    ...processes.splice(0).map((p) => p.stop()),
    ...clouds.splice(0).map((c) => c.close()),
    ...claims.splice(0).map((c) => c.release()),
  ]);
});

function cloudProcess(): CloudProcess {
  const child = new CloudProcess();
  processes.push(child);
  return child;
}

function ec2At(endpoint: string): EC2Client {
  const ec2 = new EC2Client({ endpoint, region: "us-east-1", credentials, maxAttempts: 1 });
  clients.push(ec2);
  return ec2;
}

describe("neighbouring local clouds (issue 9, hazard 6)", () => {
  it("two clouds in two processes on one SSH port: disjoint addresses, neither probe sees the other's listener", async () => {
    const sshPort = randomSshPort();
    // An image whose sshd never starts: once its network is up, its port must answer RST for good.
    const cloudA = cloudProcess();
    const a = await cloudA.start({
      timeScale: FAST,
      jitter: 0.01,
      sshPort,
      faults: { portNeverOpens: true },
    });
    const instanceA = await runOne(ec2At(a.endpoint));
    const ipA = instanceA.PrivateIpAddress as string;
    await cloudA.waitFor(instanceA.InstanceId as string, "networkUp");
    // Nothing of cloud A is bound on ipA:sshPort now: this is the window the neighbour used to take.
    expect(await observe(ipA, sshPort, 150)).toEqual(REFUSED);

    const cloudB = cloudProcess();
    const b = await cloudB.start({ timeScale: FAST, jitter: 0.01, sshPort });
    const instanceB = await runOne(ec2At(b.endpoint));
    const ipB = instanceB.PrivateIpAddress as string;
    const whileBBoots = await observe(ipA, sshPort, 150);
    await cloudB.waitFor(instanceB.InstanceId as string, "sshUp");
    const onceBIsOpen = await observe(ipA, sshPort, 150);
    const bItself = await observe(ipB, sshPort, 150);

    // What cloud A's probe sees of its never-opening instance: RST throughout, never cloud B's port.
    expect({ whileBBoots, onceBIsOpen }).toEqual({ whileBBoots: REFUSED, onceBIsOpen: REFUSED });
    expect(bItself).toMatchObject({ kind: "connect", banner: expect.stringMatching(/^SSH-2\.0-/) });
    expect(ipB).not.toBe(ipA);
    expect(a.addressBlock).toMatch(/^127\.\d+\.\d+\.0\/24$/);
    expect(b.addressBlock).toMatch(/^127\.\d+\.\d+\.0\/24$/);
    expect(b.addressBlock).not.toBe(a.addressBlock);
    expect(ipA).toMatch(addressesOf(a.addressBlock as string));
    expect(ipB).toMatch(addressesOf(b.addressBlock as string));
  });

  it("a block is freed when its owner is killed with SIGKILL, and another process can take it", async () => {
    const owner = cloudProcess();
    const started = await owner.start({
      timeScale: FAST,
      jitter: 0.01,
      sshPort: randomSshPort(),
      firstRow: highRow(),
    });
    const block = started.addressBlock as string;
    const instance = await runOne(ec2At(started.endpoint));
    expect(instance.PrivateIpAddress as string).toMatch(addressesOf(block));
    expect(await claimAddressBlock(rowOf(block))).toBeUndefined();

    owner.kill("SIGKILL");
    expect(await owner.exited).toEqual({ code: null, signal: "SIGKILL" });
    const taken = await claimAddressBlock(rowOf(block));
    expect(taken?.cidr).toBe(block);
    if (taken) claims.push(taken);
  });

  it("two clouds in one process take different blocks and give them up on close", async () => {
    const first = highRow();
    const one = await startTestCloud({ claimAddressBlock: claimFrom(first) });
    const two = await startTestCloud({ claimAddressBlock: claimFrom(first), sshPort: one.aws.cloud.sshPort });
    clouds.push(one, two);
    const [blockOne, blockTwo] = [one.aws.cloud.addressBlock as string, two.aws.cloud.addressBlock as string];
    expect(blockOne).not.toBe(blockTwo);
    expect(rowOf(blockOne)).toBeGreaterThanOrEqual(first);
    const [ipOne, ipTwo] = [
      (await runOne(one.ec2)).PrivateIpAddress as string,
      (await runOne(two.ec2)).PrivateIpAddress as string,
    ];
    expect(ipOne).toMatch(addressesOf(blockOne));
    expect(ipTwo).toMatch(addressesOf(blockTwo));
    // Held machine-wide, not just in this process's memory.
    expect(await claimAddressBlock(rowOf(blockOne))).toBeUndefined();

    await Promise.all(clouds.splice(0).map((c) => c.close()));
    expect(one.aws.cloud.addressBlocks).toEqual([]);
    for (const block of [blockOne, blockTwo]) {
      const again = await claimAddressBlock(rowOf(block));
      expect(again?.cidr).toBe(block);
      if (again) claims.push(again);
    }
  });

  it("a long process can start and stop many clouds: each one gets the block the previous one freed", async () => {
    const claimer = claimFrom(highRow());
    const blocks: string[] = [];
    for (let i = 0; i < 20; i++) {
      const aws = await startLocalAws({
        timeScale: FAST,
        sshPort: randomSshPort(),
        claimAddressBlock: claimer,
      });
      blocks.push(aws.cloud.addressBlock as string);
      await aws.close();
    }
    expect(new Set(blocks).size).toBe(1);
  });
});

describe("address blocks", () => {
  it("one block cannot be claimed twice on this machine, and can be once released", async () => {
    const row = highRow();
    const claim = await claimAddressBlock(row);
    expect(claim?.cidr).toBe(blockCidr(row));
    expect(await claimAddressBlock(row)).toBeUndefined();
    await claim?.release();
    await claim?.release(); // idempotent
    const again = await claimAddressBlock(row);
    expect(again?.row).toBe(row);
    if (again) claims.push(again);
  });

  it("spells rows as /24 blocks of 127.0.0.0/8 and refuses 127.0.0.x", async () => {
    expect(blockCidr(1)).toBe("127.0.1.0/24");
    expect(blockCidr(256)).toBe("127.1.0.0/24");
    expect(blockCidr(256 * 256 - 1)).toBe("127.255.255.0/24");
    await expect(claimAddressBlock(0)).rejects.toThrow(/from 1/);
    await expect(claimAddressBlock(256 * 256)).rejects.toThrow(/from 1/);
  });

  it("the pool takes the lowest block nobody holds and hands out addresses only inside its blocks", async () => {
    const machine = fakeMachine([1, 2]);
    const pool = new LoopbackAddressPool(machine.claim);
    expect(pool.blocks).toEqual([]);
    expect(await pool.claim()).toEqual(["127.0.3.0/24"]);
    expect(await pool.claim()).toEqual(["127.0.3.0/24"]);
    expect(await pool.allocate()).toBe("127.0.3.1");
    expect(await pool.allocate(new Set(["127.0.3.2"]))).toBe("127.0.3.3");
    expect(machine.claimed).toEqual([3]);
  });

  it("the pool claims one more block when its blocks are full, however many launches find it full at once", async () => {
    const machine = fakeMachine([1, 2, 4]);
    const pool = new LoopbackAddressPool(machine.claim);
    const first: string[] = [];
    for (let i = 0; i < 254; i++) first.push(await pool.allocate());
    expect(first.every((a) => a.startsWith("127.0.3."))).toBe(true);
    const more = await Promise.all(Array.from({ length: 5 }, () => pool.allocate()));
    expect(more).toEqual(["127.0.5.1", "127.0.5.2", "127.0.5.3", "127.0.5.4", "127.0.5.5"]);
    expect(machine.claimed).toEqual([3, 5]);
    expect(pool.blocks).toEqual(["127.0.3.0/24", "127.0.5.0/24"]);
    // A freed address in the first block comes back before the second block's next one.
    pool.release("127.0.3.9");
    expect(await pool.allocate()).toBe("127.0.3.9");
  });

  it("the pool gives every block up on close and hands out nothing after", async () => {
    const machine = fakeMachine([]);
    const pool = new LoopbackAddressPool(machine.claim);
    await pool.allocate();
    await pool.close();
    expect(machine.held.size).toBe(0);
    expect(pool.blocks).toEqual([]);
    await expect(pool.allocate()).rejects.toThrow(/closed/);
    expect(machine.held.size).toBe(0);
  });
});
