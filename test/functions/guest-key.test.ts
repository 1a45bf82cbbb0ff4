import {
  DeleteKeyPairCommand,
  DescribeKeyPairsCommand,
  EC2Client,
  ImportKeyPairCommand,
} from "@aws-sdk/client-ec2";
import { mockClient } from "aws-sdk-client-mock";
import { beforeEach, describe, expect, it } from "vitest";
import { deleteGuestKey } from "../../functions/delete-guest-key/delete-guest-key.js";
import type { ActiveGuestKey, NewGuestKey } from "../../functions/domain/guest-timings.js";
import { prepareGuestKey } from "../../functions/prepare-guest-key/prepare-guest-key.js";
import { ec2Error } from "./ec2-test-helpers.js";

const ec2Mock = mockClient(EC2Client);
const benchmark = {
  benchmarkId: "bench-1",
  executionId: "arn:aws:states:us-east-1:1:execution:B:x",
  startedAt: "2026-12-04T00:00:00.000Z",
};
const STORED = {
  publicKey: "ssh-ed25519 AAAAstored first-attempt",
  privateKey: "-----BEGIN OPENSSH PRIVATE KEY-----\nstored\n",
};

let stored: ActiveGuestKey | undefined;
const deps = () => ({
  ec2: new EC2Client({}),
  storeOnce: async (record: NewGuestKey): Promise<ActiveGuestKey> => {
    stored ??= { pk: "BENCHMARK#bench-1", sk: "GUESTKEY", itemType: "guestKey", ...record };
    return stored;
  },
  generate: () => ({ publicKey: "ssh-ed25519 AAAAfresh this-attempt", privateKey: "fresh" }),
  stackTag: "BootBench",
  now: () => new Date("2026-12-04T00:00:00.000Z"),
});

beforeEach(() => {
  ec2Mock.reset();
  stored = undefined;
});

describe("prepareGuestKey", () => {
  it("stores the key first, then imports its public half tagged with the stack and the benchmark", async () => {
    ec2Mock
      .on(ImportKeyPairCommand)
      .resolves({ KeyName: "boot-bench-bench-1", KeyPairId: "key-0123456789abcdef0" });
    await expect(prepareGuestKey({ benchmark }, deps())).resolves.toEqual({
      keyName: "boot-bench-bench-1",
      keyPairId: "key-0123456789abcdef0",
    });
    const input = ec2Mock.commandCalls(ImportKeyPairCommand)[0]?.args[0].input;
    expect(new TextDecoder().decode(input?.PublicKeyMaterial)).toBe("ssh-ed25519 AAAAfresh this-attempt");
    expect(input?.TagSpecifications).toEqual([
      {
        ResourceType: "key-pair",
        Tags: [
          { Key: "boot-bench:stack", Value: "BootBench" },
          { Key: "boot-bench:benchmark", Value: "bench-1" },
          { Key: "Name", Value: "boot-bench bench-1 guest timings" },
        ],
      },
    ]);
  });

  it("imports the key a first attempt stored, not a fresh one, and accepts the key pair that attempt made", async () => {
    stored = {
      pk: "BENCHMARK#bench-1",
      sk: "GUESTKEY",
      itemType: "guestKey",
      benchmarkId: "bench-1",
      executionId: benchmark.executionId,
      keyName: "boot-bench-bench-1",
      createdAt: "…",
      ...STORED,
    };
    ec2Mock
      .on(ImportKeyPairCommand)
      .rejects(ec2Error("InvalidKeyPair.Duplicate", "The keypair 'boot-bench-bench-1' already exists."));
    ec2Mock.on(DescribeKeyPairsCommand).resolves({
      KeyPairs: [
        {
          KeyName: "boot-bench-bench-1",
          KeyPairId: "key-0aaa",
          PublicKey: "ssh-ed25519 AAAAstored other-comment",
        },
      ],
    });
    await expect(prepareGuestKey({ benchmark }, deps())).resolves.toEqual({
      keyName: "boot-bench-bench-1",
      keyPairId: "key-0aaa",
    });
    const imported = ec2Mock.commandCalls(ImportKeyPairCommand)[0]?.args[0].input;
    expect(new TextDecoder().decode(imported?.PublicKeyMaterial)).toBe(STORED.publicKey);
    expect(ec2Mock.commandCalls(DescribeKeyPairsCommand)[0]?.args[0].input).toEqual({
      KeyNames: ["boot-bench-bench-1"],
      IncludePublicKey: true,
    });
  });

  it("refuses a key pair of its name that holds another key", async () => {
    ec2Mock.on(ImportKeyPairCommand).rejects(ec2Error("InvalidKeyPair.Duplicate", "exists"));
    ec2Mock.on(DescribeKeyPairsCommand).resolves({
      KeyPairs: [
        { KeyName: "boot-bench-bench-1", KeyPairId: "key-0bbb", PublicKey: "ssh-ed25519 AAAAsomeoneelse x" },
      ],
    });
    await expect(prepareGuestKey({ benchmark }, deps())).rejects.toMatchObject({
      name: "BootBench.GuestKeyConflict",
    });
  });

  it("lets other EC2 errors through for Step Functions to retry", async () => {
    ec2Mock.on(ImportKeyPairCommand).rejects(ec2Error("RequestLimitExceeded", "slow down"));
    await expect(prepareGuestKey({ benchmark }, deps())).rejects.toMatchObject({
      name: "RequestLimitExceeded",
    });
  });
});

describe("deleteGuestKey", () => {
  it("deletes the key pair by its id, then retires the stored private half", async () => {
    ec2Mock.on(DeleteKeyPairCommand).resolves({ Return: true });
    const retired: string[] = [];
    const result = await deleteGuestKey(
      { benchmark, guestKey: { keyName: "boot-bench-bench-1", keyPairId: "key-0aaa" } },
      { ec2: new EC2Client({}), retireStoredKey: async (id) => void retired.push(id) },
    );
    expect(result).toEqual({ keyPairId: "key-0aaa" });
    expect(ec2Mock.commandCalls(DeleteKeyPairCommand)[0]?.args[0].input).toEqual({ KeyPairId: "key-0aaa" });
    expect(retired).toEqual(["bench-1"]);
  });
});
