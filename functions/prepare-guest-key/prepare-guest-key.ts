import {
  DescribeKeyPairsCommand,
  type EC2Client,
  ImportKeyPairCommand,
  type KeyPairInfo,
} from "@aws-sdk/client-ec2";
import type { BenchmarkRef, PrepareGuestKeyEvent, PrepareGuestKeyResult } from "../domain/contract.js";
import { type ActiveGuestKey, guestKeyName, type NewGuestKey } from "../domain/guest-timings.js";
import { TAG_BENCHMARK, TAG_STACK } from "../domain/instance-tags.js";
import type { OpenSshKeyPair } from "../shared/ssh-key.js";

export interface PrepareGuestKeyDeps {
  ec2: EC2Client;
  /** Stores the key unless one is stored already, and answers with the one that is (putGuestKeyOnce). */
  storeOnce: (record: NewGuestKey) => Promise<ActiveGuestKey>;
  generate: () => OpenSshKeyPair;
  stackTag: string;
  now: () => Date;
}

export class GuestKeyConflictError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "BootBench.GuestKeyConflict";
  }
}

/** The key material of an OpenSSH line, without its type and comment: what EC2 gives back. */
const keyMaterial = (line: string | undefined): string | undefined => line?.trim().split(/\s+/)[1];

/**
 * Makes the benchmark's key pair for guest timings: an ED25519 key stored first (so that a retry uses
 * the same one), then imported into EC2 tagged with the stack (IAM allows no other import) and the
 * benchmark. A retry whose first ImportKeyPair went through finds the key pair there already: it is
 * accepted when it holds the stored public key, refused otherwise (a foreign key under our name).
 */
export async function prepareGuestKey(
  event: PrepareGuestKeyEvent,
  deps: PrepareGuestKeyDeps,
): Promise<PrepareGuestKeyResult> {
  const { benchmarkId } = event.benchmark;
  const keyName = guestKeyName(benchmarkId);
  const fresh = deps.generate();
  const stored = await deps.storeOnce({
    benchmarkId,
    executionId: event.benchmark.executionId,
    keyName,
    publicKey: fresh.publicKey,
    privateKey: fresh.privateKey,
    createdAt: deps.now().toISOString(),
  });
  try {
    const imported = await deps.ec2.send(
      new ImportKeyPairCommand({
        KeyName: keyName,
        PublicKeyMaterial: new TextEncoder().encode(stored.publicKey),
        TagSpecifications: [{ ResourceType: "key-pair", Tags: tagsOf(event.benchmark, deps.stackTag) }],
      }),
    );
    if (imported.KeyPairId === undefined) throw new Error(`ImportKeyPair answered ${keyName} without an id`);
    return { keyName, keyPairId: imported.KeyPairId };
  } catch (error) {
    if (!(error instanceof Error) || error.name !== "InvalidKeyPair.Duplicate") throw error;
  }
  const existing = await describeKeyPair(deps.ec2, keyName);
  if (
    existing?.KeyPairId === undefined ||
    keyMaterial(existing.PublicKey) !== keyMaterial(stored.publicKey)
  ) {
    throw new GuestKeyConflictError(
      `EC2 has a key pair named ${keyName} that does not hold this benchmark's stored key`,
    );
  }
  return { keyName, keyPairId: existing.KeyPairId };
}

const tagsOf = (benchmark: BenchmarkRef, stackTag: string) => [
  { Key: TAG_STACK, Value: stackTag },
  { Key: TAG_BENCHMARK, Value: benchmark.benchmarkId },
  { Key: "Name", Value: `boot-bench ${benchmark.benchmarkId} guest timings` },
];

async function describeKeyPair(ec2: EC2Client, keyName: string): Promise<KeyPairInfo | undefined> {
  const output = await ec2.send(new DescribeKeyPairsCommand({ KeyNames: [keyName], IncludePublicKey: true }));
  return output.KeyPairs?.[0];
}
