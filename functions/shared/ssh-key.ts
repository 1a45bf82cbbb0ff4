// ssh2 is CommonJS whose exports Node's ESM loader cannot name: the default import is the module.
import ssh2, { type ParsedKey } from "ssh2";

/** A key pair in OpenSSH's formats: the public line EC2 imports, the private key ssh2 reads. */
export interface OpenSshKeyPair {
  /** OpenSSH public key line. */
  publicKey: string;
  /** OpenSSH private key. */
  privateKey: string;
}

/** ssh2's key generator, or a stand-in with its signature. */
export type SshKeyGenerator = (comment: string | undefined) => { public: string; private: string };

const ssh2Ed25519: SshKeyGenerator = (comment) =>
  ssh2.utils.generateKeyPairSync("ed25519", comment === undefined ? {} : { comment });

/** An ED25519 public key's wire blob: string "ssh-ed25519" (4 + 11 bytes), string key (4 + 32 bytes). */
const ED25519_PUBLIC_BLOB_BYTES = 4 + 11 + 4 + 32;
/** More than enough draws: a bad key comes 1 time in 256. */
const MAX_DRAWS = 8;

const parsed = (text: string): ParsedKey | undefined => {
  const key = ssh2.utils.parseKey(text);
  return key instanceof Error ? undefined : key;
};

/**
 * Whether both halves are whole: ssh2 reads them, the public key is 32 bytes long, and the private key
 * holds that same public key.
 */
function isWholeEd25519(pair: OpenSshKeyPair): boolean {
  const publicKey = parsed(pair.publicKey);
  const privateKey = parsed(pair.privateKey);
  if (publicKey === undefined || privateKey === undefined) return false;
  const blob = publicKey.getPublicSSH();
  return blob.length === ED25519_PUBLIC_BLOB_BYTES && blob.equals(privateKey.getPublicSSH());
}

/**
 * A new ED25519 key pair. ssh2 1.17's generator strips every leading zero byte of the public key, not
 * only the DER bit string's padding byte (mscdex/ssh2#1390 and #1513, open): about one key in 256 comes
 * out 31 bytes long, in both halves, and EC2 refuses it (`InvalidKey.Format`) as ssh2 itself does. Such
 * a pair is drawn again.
 */
export function generateEd25519KeyPair(
  comment?: string,
  generate: SshKeyGenerator = ssh2Ed25519,
): OpenSshKeyPair {
  for (let draw = 0; draw < MAX_DRAWS; draw++) {
    const { public: publicKey, private: privateKey } = generate(comment);
    const pair = { publicKey, privateKey };
    if (isWholeEd25519(pair)) return pair;
  }
  throw new Error(`ssh2 made ${MAX_DRAWS} ED25519 key pairs in a row that are not whole keys`);
}
