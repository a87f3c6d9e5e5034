/**
 * Ethereum keystore files, Web3 Secret Storage Definition version 3 (the format geth, ethers,
 * MetaMask and most wallets import): scrypt (or, when reading, PBKDF2-HMAC-SHA256) derives 32 bytes;
 * the first 16 are the AES-128-CTR key, the MAC is keccak-256(derived[16..32] ‖ ciphertext).
 *
 * Reading (THREATS D73): the MAC is checked, in constant time, before anything is decrypted; KDF
 * parameters are bounded (memory and work ceilings as for backups) so a hostile file cannot exhaust
 * the machine; only aes-128-ctr is accepted. Writing uses geth's "standard" scrypt cost
 * (n = 2^18, r = 8, p = 1) by default. Passwords are NFKC-normalised, as ethers v6 does, so files
 * written here open in ethers with non-ASCII passwords too; reading also tries the raw bytes (geth).
 */
import { ctr } from '@noble/ciphers/aes.js';
import { pbkdf2Async } from '@noble/hashes/pbkdf2.js';
import { scryptAsync } from '@noble/hashes/scrypt.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { keccak_256 } from '@noble/hashes/sha3.js';
import { BackupError } from '../backup/errors.ts';
import { checkScryptParams, KDF_POLICY, type KdfPolicy } from '../backup/kdf.ts';
import { concatBytes, equalBytes, fromHex, toHex, utf8, zeroize } from '../bytes.ts';
import { mulG, pointToBytes, scalarFromBytes } from '../math/scalar.ts';
import { cryptoRandomBytes, type RandomBytes } from '../random.ts';
import { ethereumAddress } from './ethereum.ts';

export interface KeystoreScrypt {
  n: number;
  r: number;
  p: number;
}

/** geth's StandardScryptN / StandardScryptP. */
export const KEYSTORE_DEFAULT_SCRYPT: Readonly<KeystoreScrypt> = Object.freeze({ n: 2 ** 18, r: 8, p: 1 });
/** Largest PBKDF2 iteration count accepted when reading (geth writes 262,144). */
export const KEYSTORE_MAX_PBKDF2_ITERATIONS = 10_000_000;

/** Reading accepts legacy light parameters (geth "light" n = 4096); the ceilings still apply. */
const READ_POLICY: Readonly<KdfPolicy> = Object.freeze({ ...KDF_POLICY, minN: 2, minR: 1 });

export interface KeystoreWriteOptions {
  rng?: RandomBytes;
  scrypt?: KeystoreScrypt;
  /** TEST ONLY: allow scrypt below the backup floor (n < 2^17) so tests run fast. */
  insecureTestKdf?: boolean;
}

export interface KeystoreV3 {
  version: 3;
  id: string;
  address: string;
  crypto: {
    cipher: 'aes-128-ctr';
    cipherparams: { iv: string };
    ciphertext: string;
    kdf: 'scrypt';
    kdfparams: { dklen: 32; n: number; r: number; p: number; salt: string };
    mac: string;
  };
}

function uuidV4(rng: RandomBytes): string {
  const b = rng(16);
  b[6] = (b[6]! & 0x0f) | 0x40; // version 4
  b[8] = (b[8]! & 0x3f) | 0x80; // RFC 4122 variant
  const h = toHex(b);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

function passwordBytes(password: string, form: 'NFKC' | 'raw'): Uint8Array {
  return utf8(form === 'raw' ? password : password.normalize('NFKC'));
}

/** Encrypt a 32-byte private key into keystore V3 JSON text. The caller zeroes `privateKey`. */
export async function encryptKeystoreV3(
  privateKey: Uint8Array,
  password: string,
  opts: KeystoreWriteOptions = {},
): Promise<string> {
  const k = scalarFromBytes(privateKey, 'private key', { nonZero: true });
  if (typeof password !== 'string' || password.length === 0) {
    throw new BackupError('WEAK_PASSPHRASE', 'keystore password must not be empty');
  }
  const params = { ...(opts.scrypt ?? KEYSTORE_DEFAULT_SCRYPT) };
  checkScryptParams(
    { N: params.n, r: params.r, p: params.p },
    opts.insecureTestKdf === true ? READ_POLICY : KDF_POLICY,
  );
  const rng = opts.rng ?? cryptoRandomBytes;
  const salt = rng(32);
  const iv = rng(16);
  const pw = passwordBytes(password, 'NFKC');
  const dk = await scryptAsync(pw, salt, {
    N: params.n,
    r: params.r,
    p: params.p,
    dkLen: 32,
    maxmem: 2 ** 30 + 2 ** 20,
  });
  try {
    const ciphertext = ctr(dk.subarray(0, 16), iv).encrypt(privateKey);
    const macInput = concatBytes(dk.subarray(16, 32), ciphertext);
    const mac = keccak_256(macInput);
    zeroize(macInput);
    const ks: KeystoreV3 = {
      version: 3,
      id: uuidV4(rng),
      address: ethereumAddress(pointToBytes(mulG(k)))
        .slice(2)
        .toLowerCase(),
      crypto: {
        cipher: 'aes-128-ctr',
        cipherparams: { iv: toHex(iv) },
        ciphertext: toHex(ciphertext),
        kdf: 'scrypt',
        kdfparams: { dklen: 32, n: params.n, r: params.r, p: params.p, salt: toHex(salt) },
        mac: toHex(mac),
      },
    };
    return `${JSON.stringify(ks, null, 2)}\n`;
  } finally {
    zeroize(dk, pw);
  }
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

function bad(msg: string): never {
  throw new BackupError('CORRUPT_BACKUP', `keystore: ${msg}`, { reason: 'field' });
}

function hexField(v: unknown, what: string, len?: number): Uint8Array {
  if (typeof v !== 'string' || !/^(0x)?([0-9a-fA-F]{2})*$/.test(v)) bad(`${what} must be hex`);
  const b = fromHex(v, what);
  if (len !== undefined && b.length !== len) {
    throw new BackupError('CORRUPT_BACKUP', `keystore: ${what} must be ${len} bytes`, { reason: 'length' });
  }
  return b;
}

function intField(v: unknown, what: string): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 1) bad(`${what} must be a positive integer`);
  return v;
}

/**
 * Decrypt keystore V3 JSON text to the 32-byte private key (the caller zeroes it).
 * Throws `WRONG_PASSPHRASE` on a MAC mismatch, `CORRUPT_BACKUP` on a malformed file,
 * `KDF_PARAMS_REJECTED` on out-of-bounds KDF parameters.
 */
export async function decryptKeystoreV3(json: string, password: string): Promise<Uint8Array> {
  let raw: unknown;
  try {
    raw = JSON.parse(json);
  } catch (e) {
    throw new BackupError('CORRUPT_BACKUP', 'keystore is not valid JSON', { reason: 'json', cause: e });
  }
  if (!isObj(raw)) bad('not an object');
  if (raw.version !== 3) {
    throw new BackupError(
      'UNSUPPORTED_BACKUP_VERSION',
      `keystore version ${JSON.stringify(raw.version)} is not 3`,
    );
  }
  // geth writes "crypto"; some old tools wrote "Crypto".
  const c = raw.crypto ?? raw.Crypto;
  if (!isObj(c)) bad('crypto section missing');
  if (c.cipher !== 'aes-128-ctr')
    bad(`cipher ${JSON.stringify(c.cipher)} is not supported (only aes-128-ctr)`);
  if (!isObj(c.cipherparams)) bad('cipherparams missing');
  const iv = hexField(c.cipherparams.iv, 'iv', 16);
  const ciphertext = hexField(c.ciphertext, 'ciphertext', 32);
  const mac = hexField(c.mac, 'mac', 32);
  if (!isObj(c.kdfparams)) bad('kdfparams missing');
  const kp = c.kdfparams;
  const salt = hexField(kp.salt, 'salt');
  if (salt.length < 16 || salt.length > 1024) bad('salt must be 16..1024 bytes');
  if (kp.dklen !== 32) bad('dklen must be 32');
  let derive: (pw: Uint8Array) => Promise<Uint8Array>;
  if (c.kdf === 'scrypt') {
    const N = intField(kp.n, 'n');
    const r = intField(kp.r, 'r');
    const p = intField(kp.p, 'p');
    checkScryptParams({ N, r, p }, READ_POLICY);
    derive = (pw) => scryptAsync(pw, salt, { N, r, p, dkLen: 32, maxmem: 2 ** 30 + 2 ** 20 });
  } else if (c.kdf === 'pbkdf2') {
    if (kp.prf !== 'hmac-sha256') bad('pbkdf2 prf must be hmac-sha256');
    const iterations = intField(kp.c, 'c');
    if (iterations > KEYSTORE_MAX_PBKDF2_ITERATIONS) {
      throw new BackupError(
        'KDF_PARAMS_REJECTED',
        `pbkdf2 iteration count ${iterations} is above the ceiling ${KEYSTORE_MAX_PBKDF2_ITERATIONS}`,
      );
    }
    derive = (pw) => pbkdf2Async(sha256, pw, salt, { c: iterations, dkLen: 32 });
  } else {
    bad(`kdf ${JSON.stringify(c.kdf)} is not supported`);
  }
  const forms: ('raw' | 'NFKC')[] = password.normalize('NFKC') === password ? ['raw'] : ['raw', 'NFKC'];
  for (const form of forms) {
    const pw = passwordBytes(password, form);
    const dk = await derive(pw);
    try {
      // MAC first, compared in constant time; nothing is decrypted under a wrong password.
      const macInput = concatBytes(dk.subarray(16, 32), ciphertext);
      const expect = keccak_256(macInput);
      zeroize(macInput);
      if (!equalBytes(expect, mac)) continue;
      return ctr(dk.subarray(0, 16), iv).decrypt(ciphertext);
    } finally {
      zeroize(dk, pw);
    }
  }
  throw new BackupError('WRONG_PASSPHRASE', 'keystore MAC mismatch: wrong password or modified file');
}
