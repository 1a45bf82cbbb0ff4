import { createHash, generateKeyPairSync, type KeyObject } from "node:crypto";
import {
  DeleteKeyPairCommand,
  DescribeInstancesCommand,
  DescribeKeyPairsCommand,
  type Filter,
  ImportKeyPairCommand,
} from "@aws-sdk/client-ec2";
import { utils } from "ssh2";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import {
  rejection,
  runOne,
  startTestCloud,
  type TestCloud,
  terminateEveryInstance,
} from "./local-aws-support.js";

/** An SSH wire-format string: uint32 length, then the bytes. */
const sshString = (bytes: Buffer): Buffer => {
  const length = Buffer.alloc(4);
  length.writeUInt32BE(bytes.length);
  return Buffer.concat([length, bytes]);
};

/** An SSH mpint from an unsigned big-endian magnitude: a zero byte in front when the top bit is set. */
const mpint = (magnitude: Buffer): Buffer =>
  sshString((magnitude[0] ?? 0) & 0x80 ? Buffer.concat([Buffer.from([0]), magnitude]) : magnitude);

/** node:crypto exports no OpenSSH line: the blob is built from the key's JWK, as ssh-keygen writes it. */
function openSshLine(publicKey: KeyObject, comment: string): { line: string; blob: Buffer } {
  const jwk = publicKey.export({ format: "jwk" });
  const blob =
    jwk.kty === "OKP"
      ? Buffer.concat([
          sshString(Buffer.from("ssh-ed25519")),
          sshString(Buffer.from(jwk.x ?? "", "base64url")),
        ])
      : Buffer.concat([
          sshString(Buffer.from("ssh-rsa")),
          mpint(Buffer.from(jwk.e ?? "", "base64url")),
          mpint(Buffer.from(jwk.n ?? "", "base64url")),
        ]);
  const type = jwk.kty === "OKP" ? "ssh-ed25519" : "ssh-rsa";
  return { line: `${type} ${blob.toString("base64")} ${comment}`, blob };
}

const ed25519 = () => generateKeyPairSync("ed25519").publicKey;
const rsa = (modulusLength: number) => generateKeyPairSync("rsa", { modulusLength }).publicKey;
/** What the SDK is given: the bytes of the OpenSSH line (it base64-encodes them on the wire). */
const material = (line: string) => new TextEncoder().encode(`${line}\n`);

describe("local EC2 key pairs", () => {
  let t: TestCloud;
  beforeAll(async () => {
    t = await startTestCloud();
  });
  afterAll(async () => {
    await t.close();
  });
  afterEach(() => terminateEveryInstance(t));

  const importKey = (KeyName: string, line: string, tags?: Record<string, string>) =>
    t.ec2.send(
      new ImportKeyPairCommand({
        KeyName,
        PublicKeyMaterial: material(line),
        ...(tags && {
          TagSpecifications: [
            { ResourceType: "key-pair", Tags: Object.entries(tags).map(([Key, Value]) => ({ Key, Value })) },
          ],
        }),
      }),
    );

  it("imports an ED25519 key with tags: its id, EC2's SHA-256 fingerprint (padded) and the tags", async () => {
    const { line, blob } = openSshLine(ed25519(), "bench@host");
    const out = await importKey("kp-ed25519", line, { "boot-bench:stack": "BootBench", Name: "a <b>" });
    expect(out.KeyName).toBe("kp-ed25519");
    expect(out.KeyPairId).toMatch(/^key-[0-9a-f]{17}$/);
    expect(out.KeyFingerprint).toBe(createHash("sha256").update(blob).digest("base64"));
    expect(out.KeyFingerprint).toMatch(/^[A-Za-z0-9+/]{43}=$/);
    // The same fingerprint as the ssh2 package computes from the line (OpenSSH's SHA256:…, unpadded).
    const parsed = utils.parseKey(line);
    if (parsed instanceof Error) throw parsed;
    const sshFingerprint = createHash("sha256").update(parsed.getPublicSSH()).digest("base64");
    expect(out.KeyFingerprint).toBe(sshFingerprint);
    expect(out.Tags).toEqual([
      { Key: "boot-bench:stack", Value: "BootBench" },
      { Key: "Name", Value: "a <b>" },
    ]);
  });

  it("imports RSA keys of 1024 to 4096 bits, fingerprinted as EC2 does: MD5 of the DER public key", async () => {
    for (const bits of [1024, 2048, 3072, 4096]) {
      const key = rsa(bits);
      const out = await importKey(`kp-rsa-${bits}`, openSshLine(key, "").line.trim());
      const der = key.export({ type: "spki", format: "der" });
      const md5 = createHash("md5").update(der).digest("hex");
      expect(out.KeyFingerprint).toBe(md5.match(/../g)?.join(":"));
      expect(out.Tags).toBeUndefined();
    }
    const described = await t.ec2.send(new DescribeKeyPairsCommand({ KeyNames: ["kp-rsa-2048"] }));
    expect(described.KeyPairs?.[0]?.KeyType).toBe("rsa");
  });

  it("refuses a name already imported with InvalidKeyPair.Duplicate", async () => {
    const first = await importKey("kp-dup", openSshLine(ed25519(), "one").line);
    const error = await rejection(importKey("kp-dup", openSshLine(ed25519(), "two").line));
    expect(error.name).toBe("InvalidKeyPair.Duplicate");
    expect(error.message).toBe("The keypair 'kp-dup' already exists.");
    expect(error.$metadata?.httpStatusCode).toBe(400);
    const described = await t.ec2.send(new DescribeKeyPairsCommand({ KeyNames: ["kp-dup"] }));
    expect(described.KeyPairs?.map((k) => k.KeyPairId)).toEqual([first.KeyPairId]);
  });

  it("refuses what is not an RSA or ED25519 OpenSSH public key with InvalidKey.Format, and bad names and tags", async () => {
    const ecdsa = utils.generateKeyPairSync("ecdsa", { bits: 256 }).public;
    const { line } = openSshLine(ed25519(), "c");
    const [, body] = line.split(" ");
    const notKeys: (string | Uint8Array)[] = [
      ecdsa,
      openSshLine(rsa(512), "too short").line,
      "not a key at all",
      `ssh-rsa ${body}`, // the blob says ssh-ed25519
      `ssh-ed25519 ${body?.slice(0, 40)}`,
      // The SDK encodes the blob itself: material base64-encoded beforehand arrives encoded twice.
      Buffer.from(line).toString("base64"),
      generateKeyPairSync("ed25519").privateKey.export({ type: "pkcs8", format: "pem" }).toString(),
    ];
    for (const [i, notKey] of notKeys.entries()) {
      const error = await rejection(
        t.ec2.send(
          new ImportKeyPairCommand({
            KeyName: `kp-bad-${i}`,
            PublicKeyMaterial: typeof notKey === "string" ? material(notKey) : notKey,
          }),
        ),
      );
      expect({ i, code: error.name }).toEqual({ i, code: "InvalidKey.Format" });
      expect(error.message).toBe("Key is not in valid OpenSSH public key format");
    }
    const cases: [Promise<unknown>, string][] = [
      [importKey("x".repeat(256), line), "InvalidParameterValue"],
      [importKey("kp-é", line), "InvalidParameterValue"],
      [
        t.ec2.send(new ImportKeyPairCommand({ KeyName: undefined, PublicKeyMaterial: material(line) })),
        "MissingParameter",
      ],
      [
        t.ec2.send(
          new ImportKeyPairCommand({
            KeyName: "kp-tagged-as-instance",
            PublicKeyMaterial: material(line),
            TagSpecifications: [{ ResourceType: "instance", Tags: [{ Key: "a", Value: "b" }] }],
          }),
        ),
        "InvalidParameterValue",
      ],
    ];
    for (const [call, code] of cases) expect((await rejection(call)).name).toBe(code);
    const all = await t.ec2.send(new DescribeKeyPairsCommand({}));
    expect(all.KeyPairs?.filter((k) => k.KeyName?.startsWith("kp-bad-") || k.KeyName === "kp-é")).toEqual([]);
    // A name of 255 ASCII characters is fine.
    expect((await importKey("y".repeat(255), line)).KeyName).toHaveLength(255);
  });

  it("describes key pairs by name, id and filters, with the public key only when asked for", async () => {
    const stack = { "boot-bench:stack": "Describe" };
    const a = openSshLine(ed25519(), "a@bench");
    const imported = await importKey("kp-desc-a", a.line, stack);
    await importKey("kp-desc-b", openSshLine(ed25519(), "b").line);
    const before = Date.now();

    const byName = await t.ec2.send(new DescribeKeyPairsCommand({ KeyNames: ["kp-desc-a"] }));
    expect(byName.KeyPairs).toHaveLength(1);
    const info = byName.KeyPairs?.[0];
    expect(info).toMatchObject({
      KeyPairId: imported.KeyPairId,
      KeyName: "kp-desc-a",
      KeyType: "ed25519",
      KeyFingerprint: imported.KeyFingerprint,
      Tags: [{ Key: "boot-bench:stack", Value: "Describe" }],
    });
    expect(info?.PublicKey).toBeUndefined();
    expect(info?.CreateTime).toBeInstanceOf(Date);
    expect(info?.CreateTime?.getTime()).toBeLessThanOrEqual(before);
    expect((info?.CreateTime?.getTime() ?? 0) % 1000).toBe(0);

    const withKey = await t.ec2.send(
      new DescribeKeyPairsCommand({ KeyPairIds: [imported.KeyPairId as string], IncludePublicKey: true }),
    );
    expect(withKey.KeyPairs?.map((k) => k.PublicKey)).toEqual([a.line]);
    const parsed = utils.parseKey(withKey.KeyPairs?.[0]?.PublicKey ?? "");
    if (parsed instanceof Error) throw parsed;
    expect(parsed.getPublicSSH()).toEqual(a.blob);

    const names = async (Filters: Filter[]) =>
      ((await t.ec2.send(new DescribeKeyPairsCommand({ Filters }))).KeyPairs ?? []).map((k) => k.KeyName);
    expect(await names([{ Name: "tag:boot-bench:stack", Values: ["Describe"] }])).toEqual(["kp-desc-a"]);
    expect(await names([{ Name: "tag-key", Values: ["boot-bench:*"] }])).toContain("kp-desc-a");
    expect(await names([{ Name: "key-name", Values: ["kp-desc-*"] }])).toEqual(["kp-desc-a", "kp-desc-b"]);
    expect(await names([{ Name: "fingerprint", Values: [imported.KeyFingerprint as string] }])).toEqual([
      "kp-desc-a",
    ]);
    expect(
      await names([
        { Name: "key-name", Values: ["kp-desc-*"] },
        { Name: "tag:boot-bench:stack", Values: ["Other"] },
      ]),
    ).toEqual([]);
    const untagged = await t.ec2.send(new DescribeKeyPairsCommand({ KeyNames: ["kp-desc-b"] }));
    expect(untagged.KeyPairs?.[0]?.Tags).toEqual([]);

    const badFilter = await rejection(
      t.ec2.send(new DescribeKeyPairsCommand({ Filters: [{ Name: "key-type", Values: ["rsa"] }] })),
    );
    expect(badFilter.name).toBe("InvalidParameterValue");
  });

  it("answers InvalidKeyPair.NotFound for a name or id it does not have, also next to one it has", async () => {
    await importKey("kp-found", openSshLine(ed25519(), "f").line);
    const cases: [DescribeKeyPairsCommand, RegExp][] = [
      [
        new DescribeKeyPairsCommand({ KeyNames: ["kp-missing"] }),
        /^The key pair 'kp-missing' does not exist$/,
      ],
      [new DescribeKeyPairsCommand({ KeyNames: ["kp-found", "kp-missing"] }), /'kp-missing'/],
      [new DescribeKeyPairsCommand({ KeyPairIds: ["key-0123456789abcdef0"] }), /key-0123456789abcdef0/],
    ];
    for (const [command, message] of cases) {
      const error = await rejection(t.ec2.send(command));
      expect(error.name).toBe("InvalidKeyPair.NotFound");
      expect(error.message).toMatch(message);
      expect(error.$metadata?.httpStatusCode).toBe(400);
    }
  });

  it("does not show a key pair just imported during the eventual-consistency window, to a launch or a describe", async () => {
    t.aws.cloud.faults.set({ notFoundWindowMs: 400 });
    try {
      const imported = await importKey("kp-window", openSshLine(ed25519(), "w").line);
      const byName = () => t.ec2.send(new DescribeKeyPairsCommand({ KeyNames: ["kp-window"] }));
      const byId = () =>
        t.ec2.send(new DescribeKeyPairsCommand({ KeyPairIds: [imported.KeyPairId as string] }));
      const listed = async () =>
        ((await t.ec2.send(new DescribeKeyPairsCommand({}))).KeyPairs ?? []).map((k) => k.KeyName);
      expect((await rejection(byName())).name).toBe("InvalidKeyPair.NotFound");
      expect((await rejection(byId())).name).toBe("InvalidKeyPair.NotFound");
      expect((await rejection(runOne(t.ec2, { KeyName: "kp-window" }))).name).toBe("InvalidKeyPair.NotFound");
      expect(await listed()).not.toContain("kp-window");
      // The name is taken all the same: a second import is refused.
      expect((await rejection(importKey("kp-window", openSshLine(ed25519(), "w2").line))).name).toBe(
        "InvalidKeyPair.Duplicate",
      );
      await new Promise((resolve) => setTimeout(resolve, 450));
      expect((await byName()).KeyPairs?.[0]?.KeyPairId).toBe(imported.KeyPairId);
      expect((await byId()).KeyPairs?.[0]?.KeyName).toBe("kp-window");
      expect(await listed()).toContain("kp-window");
    } finally {
      t.aws.cloud.faults.set({ notFoundWindowMs: undefined });
    }
  });

  it("deletes by name or id, and answers true for a key pair that is not there (again)", async () => {
    const byName = await importKey("kp-del-name", openSshLine(ed25519(), "d").line);
    const byId = await importKey("kp-del-id", openSshLine(ed25519(), "e").line);

    const first = await t.ec2.send(new DeleteKeyPairCommand({ KeyName: "kp-del-name" }));
    expect(first.Return).toBe(true);
    expect(first.KeyPairId).toBe(byName.KeyPairId);
    const again = await t.ec2.send(new DeleteKeyPairCommand({ KeyName: "kp-del-name" }));
    expect(again.Return).toBe(true);
    expect(again.KeyPairId).toBeUndefined();

    const deletedById = await t.ec2.send(new DeleteKeyPairCommand({ KeyPairId: byId.KeyPairId }));
    expect(deletedById).toMatchObject({ Return: true, KeyPairId: byId.KeyPairId });
    expect((await t.ec2.send(new DeleteKeyPairCommand({ KeyPairId: byId.KeyPairId }))).Return).toBe(true);

    for (const KeyNames of [["kp-del-name"], ["kp-del-id"]]) {
      expect((await rejection(t.ec2.send(new DescribeKeyPairsCommand({ KeyNames })))).name).toBe(
        "InvalidKeyPair.NotFound",
      );
    }
    // A deleted name can be imported again.
    expect((await importKey("kp-del-name", openSshLine(ed25519(), "d2").line)).KeyPairId).not.toBe(
      byName.KeyPairId,
    );
    expect((await rejection(t.ec2.send(new DeleteKeyPairCommand({})))).name).toBe("MissingParameter");
  });

  it("launches nothing with a KeyName it does not have", async () => {
    const before = t.aws.cloud.instances().length;
    const error = await rejection(runOne(t.ec2, { KeyName: "kp-never-imported" }));
    expect(error.name).toBe("InvalidKeyPair.NotFound");
    expect(error.message).toBe("The key pair 'kp-never-imported' does not exist");
    expect(error.$metadata?.httpStatusCode).toBe(400);
    expect(t.aws.cloud.instances()).toHaveLength(before);
  });

  it("launches with a key pair: DescribeInstances shows its name, the snapshot its public key, kept after the key pair is deleted", async () => {
    const { line } = openSshLine(ed25519(), "launch@bench");
    await importKey("kp-launch", line);
    const launched = await runOne(t.ec2, { KeyName: "kp-launch" });
    expect(launched.KeyName).toBe("kp-launch");
    const plain = await runOne(t.ec2);
    expect(plain.KeyName).toBeUndefined();

    const snapshot = (id: string | undefined) => t.aws.cloud.instances().find((i) => i.instanceId === id);
    expect(snapshot(launched.InstanceId)?.keyPair).toEqual({ name: "kp-launch", publicKey: line });
    expect(snapshot(plain.InstanceId)).not.toHaveProperty("keyPair");

    await t.ec2.send(new DeleteKeyPairCommand({ KeyName: "kp-launch" }));
    const described = await t.ec2.send(
      new DescribeInstancesCommand({ Filters: [{ Name: "key-name", Values: ["kp-launch"] }] }),
    );
    const instances = (described.Reservations ?? []).flatMap((r) => r.Instances ?? []);
    expect(instances.map((i) => [i.InstanceId, i.KeyName])).toEqual([[launched.InstanceId, "kp-launch"]]);
    expect(snapshot(launched.InstanceId)?.keyPair).toEqual({ name: "kp-launch", publicKey: line });
    // Gone for new launches, as on EC2.
    expect((await rejection(runOne(t.ec2, { KeyName: "kp-launch" }))).name).toBe("InvalidKeyPair.NotFound");
  });

  it("counts the key pair calls per action", async () => {
    t.aws.cloud.resetStats();
    await importKey("kp-stats", openSshLine(ed25519(), "s").line);
    await t.ec2.send(new DescribeKeyPairsCommand({ KeyNames: ["kp-stats"] }));
    await t.ec2.send(new DeleteKeyPairCommand({ KeyName: "kp-stats" }));
    await rejection(t.ec2.send(new DescribeKeyPairsCommand({ KeyNames: ["kp-stats"] })));
    expect(t.aws.cloud.stats()).toEqual({
      calls: { ImportKeyPair: 1, DescribeKeyPairs: 2, DeleteKeyPair: 1 },
      errors: { DescribeKeyPairs: { "InvalidKeyPair.NotFound": 1 } },
    });
  });
});
