import ssh2 from "ssh2";
import { describe, expect, it } from "vitest";
import { generateEd25519KeyPair, type SshKeyGenerator } from "../../functions/shared/ssh-key.js";
import { parsePublicKey } from "../../local-cloud/ec2/key-pairs.js";

type Generated = ReturnType<SshKeyGenerator>;

/** ssh2's own generator, drawn until it makes one of its short keys (1 in 256; ssh2#1390). */
function shortKeyFromSsh2(): Generated {
  for (let draw = 0; draw < 20_000; draw++) {
    const pair = ssh2.utils.generateKeyPairSync("ed25519");
    if (ssh2.utils.parseKey(pair.public) instanceof Error) return pair;
  }
  throw new Error("ssh2 made no short key in 20000 draws");
}

const importable = (publicKey: string) => parsePublicKey(Buffer.from(publicKey)).ok;

describe("generateEd25519KeyPair", () => {
  it("draws again when ssh2 makes a key whose public half lost its leading zero byte", () => {
    const short = shortKeyFromSsh2();
    // What the hazard is: EC2's format check (the local cloud's) refuses the short key.
    expect(importable(short.public)).toBe(false);
    const good = ssh2.utils.generateKeyPairSync("ed25519", { comment: "good" });
    const draws = [short, good];
    const pair = generateEd25519KeyPair("good", () => draws.shift() as Generated);
    expect(pair).toEqual({ publicKey: good.public, privateKey: good.private });
    expect(draws).toEqual([]);
    expect(importable(pair.publicKey)).toBe(true);
  });

  it("gives a pair that EC2 imports and whose halves match, draw after draw", () => {
    for (let draw = 0; draw < 1_000; draw++) {
      const pair = generateEd25519KeyPair("boot-bench BootBench");
      expect(importable(pair.publicKey)).toBe(true);
      const privateKey = ssh2.utils.parseKey(pair.privateKey);
      if (privateKey instanceof Error) throw privateKey;
      expect(privateKey.getPublicSSH().toString("base64")).toBe(pair.publicKey.split(" ")[1]);
    }
  });

  it("says so when the generator never makes a whole key", () => {
    const short = shortKeyFromSsh2();
    expect(() => generateEd25519KeyPair(undefined, () => short)).toThrow(
      "ssh2 made 8 ED25519 key pairs in a row that are not whole keys",
    );
  });
});
