/**
 * The local cloud's EC2 key pairs: what ImportKeyPair stores, DescribeKeyPairs shows and DeleteKeyPair
 * removes, checked as EC2 checks them, and the public key RunInstances hands to an instance. Imported
 * keys only (no CreateKeyPair: boot-bench makes its own key and gives EC2 only the public half).
 *
 * Facts from EC2's documentation: RSA and ED25519 keys; the fingerprint of an imported RSA key is the
 * MD5 of its DER public key (the user guide's `openssl pkey -pubout -outform DER | openssl md5 -c`), of
 * an ED25519 key the base64 SHA-256 of the key, `=` padding included; key names are up to 255 ASCII
 * characters; a key already imported under the name is `InvalidKeyPair.Duplicate`, an unknown one
 * `InvalidKeyPair.NotFound`, material that is not a key `InvalidKey.Format`.
 */
import { createHash, createPublicKey, randomBytes } from "node:crypto";
import type { Tag } from "./instances.js";
import type { Ec2Refusal } from "./network.js";

export type KeyType = "rsa" | "ed25519";

export interface LocalKeyPair {
  keyPairId: string;
  keyName: string;
  keyType: KeyType;
  keyFingerprint: string;
  /** The OpenSSH public key line as imported (`ssh-ed25519 AAAA… comment`), one line, trimmed. */
  publicKey: string;
  /** When it was imported, to the second (as EC2 shows it). */
  createTime: Date;
  /** When it was imported, epoch ms: the start of its eventual-consistency window. */
  importedAt: number;
  tags: Tag[];
}

/** What RunInstances copies into an instance: deleting the key pair later leaves the instance as it is. */
export interface LaunchKeyPair {
  name: string;
  publicKey: string;
}

export type KeyPairResult<T> = ({ ok: true } & T) | ({ ok: false } & Ec2Refusal);

export const newKeyPairId = (): string => `key-${randomBytes(9).toString("hex").slice(0, 17)}`;

/**
 * The user guide lists 1024, 2048 and 4096 as the supported RSA lengths; EC2 takes lengths in between
 * too (a 3072-bit import succeeds), so the bounds are what is checked.
 */
const RSA_BITS = { min: 1024, max: 4096 } as const;

// EC2's one answer to anything that does not decode to a key it takes (ECDSA and DSA keys included).
const notAKey: Ec2Refusal = {
  code: "InvalidKey.Format",
  message: "Key is not in valid OpenSSH public key format",
};

export function checkKeyName(name: string | undefined): Ec2Refusal | undefined {
  if (name === undefined || name === "") {
    return { code: "MissingParameter", message: "The request must contain the parameter KeyName" };
  }
  // EC2 documents the constraint, not the code it answers a name outside it with.
  if (name.length > 255 || !/^[\x20-\x7e]+$/.test(name) || name.trim() !== name) {
    return {
      code: "InvalidParameterValue",
      message: `Value (${name}) for parameter keyName is invalid. A key name is 1 to 255 ASCII characters, without leading or trailing spaces.`,
    };
  }
  return undefined;
}

/** The fields of an SSH wire-format public key blob (RFC 4253 section 6.6), or undefined if it is not one. */
function sshStrings(blob: Buffer): Buffer[] | undefined {
  const fields: Buffer[] = [];
  let at = 0;
  while (at < blob.length) {
    if (at + 4 > blob.length) return undefined;
    const length = blob.readUInt32BE(at);
    at += 4;
    if (at + length > blob.length) return undefined;
    fields.push(blob.subarray(at, at + length));
    at += length;
  }
  return fields;
}

/** An mpint without its sign byte, for JWK (which wants the unsigned big-endian magnitude). */
const unsigned = (mpint: Buffer): Buffer => {
  let start = 0;
  while (start < mpint.length - 1 && mpint[start] === 0) start++;
  return mpint.subarray(start);
};

const bitLength = (magnitude: Buffer): number => {
  const top = magnitude[0] ?? 0;
  return top === 0 ? 0 : (magnitude.length - 1) * 8 + (32 - Math.clz32(top));
};

const colonHex = (digest: Buffer): string => (digest.toString("hex").match(/../g) ?? []).join(":");

export interface ParsedPublicKey {
  keyType: KeyType;
  publicKey: string;
  keyFingerprint: string;
}

/** ImportKeyPair's `PublicKeyMaterial` once base64-decoded: an OpenSSH public key line. */
export function parsePublicKey(material: Buffer): KeyPairResult<ParsedPublicKey> {
  const refuse = { ok: false as const, ...notAKey };
  const line = material.toString("utf8").trim();
  if (line === "" || /[\r\n]/.test(line)) return refuse;
  const [type = "", encoded = "", ...comment] = line.split(/[ \t]+/);
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(encoded)) return refuse;
  const blob = Buffer.from(encoded, "base64");
  const fields = sshStrings(blob);
  if (!fields || fields[0]?.toString("latin1") !== type) return refuse;
  const publicKey = [type, encoded, ...comment].join(" ");
  try {
    if (type === "ssh-ed25519") {
      const [, x] = fields;
      if (fields.length !== 2 || x?.length !== 32) return refuse;
      createPublicKey({ key: { kty: "OKP", crv: "Ed25519", x: x.toString("base64url") }, format: "jwk" });
      const keyFingerprint = createHash("sha256").update(blob).digest("base64");
      return { ok: true, keyType: "ed25519", publicKey, keyFingerprint };
    }
    if (type === "ssh-rsa") {
      const [, e, n] = fields;
      if (fields.length !== 3 || !e || !n) return refuse;
      const modulus = unsigned(n);
      const bits = bitLength(modulus);
      if (bits < RSA_BITS.min || bits > RSA_BITS.max) return refuse;
      const der = createPublicKey({
        key: { kty: "RSA", n: modulus.toString("base64url"), e: unsigned(e).toString("base64url") },
        format: "jwk",
      }).export({ type: "spki", format: "der" });
      const keyFingerprint = colonHex(createHash("md5").update(der).digest());
      return { ok: true, keyType: "rsa", publicKey, keyFingerprint };
    }
  } catch {
    return refuse;
  }
  return refuse;
}

/** The key pairs of one local cloud (one account, one Region), by name. */
export class KeyPairs {
  readonly #byName = new Map<string, LocalKeyPair>();

  /** ImportKeyPair, once its name, material (base64, as sent) and tags have been read. */
  import(
    keyName: string | undefined,
    materialBase64: string | undefined,
    tags: readonly Tag[],
    now: number,
  ): KeyPairResult<{ keyPair: LocalKeyPair }> {
    const badName = checkKeyName(keyName);
    if (badName) return { ok: false, ...badName };
    const name = keyName as string;
    if (materialBase64 === undefined || materialBase64 === "") {
      return {
        ok: false,
        code: "MissingParameter",
        message: "The request must contain the parameter PublicKeyMaterial",
      };
    }
    if (this.#byName.has(name)) {
      return {
        ok: false,
        code: "InvalidKeyPair.Duplicate",
        message: `The keypair '${name}' already exists.`,
      };
    }
    // Material that is not base64 at all decodes to nothing EC2 could take as a key either.
    if (!/^[A-Za-z0-9+/\r\n]+={0,2}\s*$/.test(materialBase64)) return { ok: false, ...notAKey };
    const parsed = parsePublicKey(Buffer.from(materialBase64, "base64"));
    if (!parsed.ok) return parsed;
    const keyPair: LocalKeyPair = {
      keyPairId: newKeyPairId(),
      keyName: name,
      keyType: parsed.keyType,
      keyFingerprint: parsed.keyFingerprint,
      publicKey: parsed.publicKey,
      createTime: new Date(Math.floor(now / 1000) * 1000),
      importedAt: now,
      tags: tags.map((t) => ({ ...t })),
    };
    this.#byName.set(name, keyPair);
    return { ok: true, keyPair };
  }

  get(keyName: string): LocalKeyPair | undefined {
    return this.#byName.get(keyName);
  }

  /** Oldest first. */
  all(): LocalKeyPair[] {
    return [...this.#byName.values()];
  }

  /**
   * DescribeKeyPairs' `KeyName.N` and `KeyPairId.N`: every key pair when neither is given, else those
   * named, `InvalidKeyPair.NotFound` for the first one it does not have (names first). Eventual
   * consistency (`notFoundWindowMs`): a key pair imported less than that long ago is not shown yet,
   * as if it did not exist, as EC2 may answer right after ImportKeyPair.
   */
  lookUp(
    names: readonly string[],
    ids: readonly string[],
    now: number,
    notFoundWindowMs = 0,
  ): KeyPairResult<{ keyPairs: LocalKeyPair[] }> {
    const all = this.all().filter((k) => now - k.importedAt >= notFoundWindowMs);
    const missingName = names.find((name) => !all.some((k) => k.keyName === name));
    if (missingName !== undefined) {
      return {
        ok: false,
        code: "InvalidKeyPair.NotFound",
        message: `The key pair '${missingName}' does not exist`,
      };
    }
    const missingId = ids.find((id) => !all.some((k) => k.keyPairId === id));
    if (missingId !== undefined) {
      // EC2's message for an unknown (or malformed) id is not documented; this one names the id.
      return {
        ok: false,
        code: "InvalidKeyPair.NotFound",
        message: `The key pair ID '${missingId}' does not exist`,
      };
    }
    if (names.length === 0 && ids.length === 0) return { ok: true, keyPairs: all };
    return {
      ok: true,
      keyPairs: all.filter((k) => names.includes(k.keyName) || ids.includes(k.keyPairId)),
    };
  }

  /**
   * DeleteKeyPair by name and/or id: removes the key pair both given parameters name, if there is one.
   * A key pair that does not exist is no error (EC2 answers `true` for it as well); the id of the one
   * removed, if any, comes back.
   */
  delete(keyName: string | undefined, keyPairId: string | undefined): KeyPairResult<{ deleted?: string }> {
    if ((keyName === undefined || keyName === "") && (keyPairId === undefined || keyPairId === "")) {
      return {
        ok: false,
        code: "MissingParameter",
        message: "The request must contain the parameter KeyName or KeyPairId",
      };
    }
    const found = this.all().find(
      (k) => (!keyName || k.keyName === keyName) && (!keyPairId || k.keyPairId === keyPairId),
    );
    if (!found) return { ok: true };
    this.#byName.delete(found.keyName);
    return { ok: true, deleted: found.keyPairId };
  }

  /**
   * RunInstances' `KeyName`: what the instance keeps, or EC2's error for a key pair it does not have.
   * Eventual consistency (`notFoundWindowMs`): for `notFoundWindowMs` after its import, a key pair is
   * not found yet, as on EC2, where a name just imported may not have reached RunInstances.
   */
  forLaunch(keyName: string, now: number, notFoundWindowMs = 0): KeyPairResult<{ keyPair: LaunchKeyPair }> {
    const found = this.#byName.get(keyName);
    if (!found || now - found.importedAt < notFoundWindowMs) {
      return {
        ok: false,
        code: "InvalidKeyPair.NotFound",
        message: `The key pair '${keyName}' does not exist`,
      };
    }
    return { ok: true, keyPair: { name: found.keyName, publicKey: found.publicKey } };
  }
}

/** DescribeKeyPairs' documented filters (`tag:<key>` besides). */
export const KEY_PAIR_FILTERS = new Set(["key-pair-id", "fingerprint", "key-name", "tag-key"]);

export function keyPairFilterValues(k: LocalKeyPair, name: string): string[] {
  switch (name) {
    case "key-pair-id":
      return [k.keyPairId];
    case "fingerprint":
      return [k.keyFingerprint];
    case "key-name":
      return [k.keyName];
    case "tag-key":
      return k.tags.map((t) => t.key);
    default:
      return name.startsWith("tag:") ? k.tags.filter((t) => t.key === name.slice(4)).map((t) => t.value) : [];
  }
}
