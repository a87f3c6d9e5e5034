/**
 * Encryption at rest for a headless member's store: a random 256-bit data key, wrapped by a key
 * derived from the operator's passphrase with scrypt (RFC 7914; default N = 2^17, r = 8, p = 1,
 * OWASP's recommendation), and XChaCha20-Poly1305 (draft-irtf-cfrg-xchacha) for every sealed row.
 *
 * - Each sealed value's associated data names its table and row key under a versioned domain tag,
 *   so a ciphertext moved to another row (another vault's share, another epoch) does not open.
 * - The wrapped data key is itself sealed under its own domain: a wrong passphrase fails the AEAD
 *   there, before anything else is read, and is reported as `WRONG_PASSPHRASE` without a write.
 * - Nonces are 24 random bytes from `crypto.getRandomValues` (safe at random for XChaCha).
 */
import { xchacha20poly1305 } from '@noble/ciphers/chacha.js';
import { scrypt } from '@noble/hashes/scrypt.js';
import { concatBytes, utf8 } from '../bytes.ts';
import { MemberError } from './errors.ts';

const NONCE_BYTES = 24;
const KEY_BYTES = 32;
const DEK_DOMAIN = 'concord/member/data-key/v1';
const ROW_DOMAIN = 'concord/member/row/v1';

export interface ScryptParams {
  N: number;
  r: number;
  p: number;
}

/** OWASP's scrypt parameters for password storage. */
export const DEFAULT_SCRYPT: ScryptParams = { N: 2 ** 17, r: 8, p: 1 };
/** Below this, a stored or requested cost is refused (tests use the floor itself). */
const MIN_N = 2 ** 10;

export function randomBytes(n: number): Uint8Array {
  const out = new Uint8Array(n);
  crypto.getRandomValues(out);
  return out;
}

export function checkParams(p: ScryptParams): void {
  const pow2 = Number.isInteger(Math.log2(p.N));
  if (!pow2 || p.N < MIN_N || p.N > 2 ** 22 || p.r < 1 || p.r > 32 || p.p < 1 || p.p > 16) {
    throw new MemberError('STORE_VERSION', 'The store names scrypt parameters outside the accepted range.');
  }
}

/** The key-encryption key from the passphrase. */
export function deriveKek(passphrase: string, salt: Uint8Array, params: ScryptParams): Uint8Array {
  checkParams(params);
  return scrypt(utf8(passphrase.normalize('NFKC')), salt, { ...params, dkLen: KEY_BYTES, maxmem: 2 ** 30 });
}

function seal(key: Uint8Array, aad: Uint8Array, plaintext: Uint8Array): Uint8Array {
  const nonce = randomBytes(NONCE_BYTES);
  return concatBytes(nonce, xchacha20poly1305(key, nonce, aad).encrypt(plaintext));
}

function open(key: Uint8Array, aad: Uint8Array, sealed: Uint8Array): Uint8Array | undefined {
  if (sealed.length < NONCE_BYTES + 16) return undefined;
  try {
    return xchacha20poly1305(key, sealed.subarray(0, NONCE_BYTES), aad).decrypt(sealed.subarray(NONCE_BYTES));
  } catch {
    return undefined;
  }
}

/** A fresh data key, and its wrapping under `kek`. */
export function newDataKey(kek: Uint8Array): { dek: Uint8Array; wrapped: Uint8Array } {
  const dek = randomBytes(KEY_BYTES);
  return { dek, wrapped: seal(kek, utf8(DEK_DOMAIN), dek) };
}

/** Unwraps the data key; a wrong passphrase is `WRONG_PASSPHRASE`. */
export function unwrapDataKey(kek: Uint8Array, wrapped: Uint8Array): Uint8Array {
  const dek = open(kek, utf8(DEK_DOMAIN), wrapped);
  if (dek === undefined || dek.length !== KEY_BYTES) {
    throw new MemberError('WRONG_PASSPHRASE', 'Wrong passphrase: it does not open this member store.');
  }
  return dek;
}

/** Associated data binding a sealed value to its table and row. */
function rowAad(table: string, key: string): Uint8Array {
  return utf8(`${ROW_DOMAIN}\u0000${table}\u0000${key}`);
}

export function sealRow(dek: Uint8Array, table: string, key: string, plaintext: Uint8Array): Uint8Array {
  return seal(dek, rowAad(table, key), plaintext);
}

export function openRow(dek: Uint8Array, table: string, key: string, sealed: Uint8Array): Uint8Array {
  const out = open(dek, rowAad(table, key), sealed);
  if (out === undefined) {
    throw new MemberError('STORE_CORRUPT', `A sealed ${table} record does not open (tampered or moved).`);
  }
  return out;
}
