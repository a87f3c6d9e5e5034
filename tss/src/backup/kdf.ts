/**
 * Passphrase key derivation for backups: scrypt (RFC 7914) at the OWASP Password Storage Cheat
 * Sheet's recommended cost (N = 2^17, r = 8, p = 1: 128 MiB, about 0.6 s in pure JS), with the
 * parameters stored in the file header.
 *
 * A header is attacker-controlled input, so its parameters are checked against a policy before any
 * work is done (THREATS D72): below the floor a stolen file would be cheap to brute-force, above the
 * ceiling a crafted file would exhaust memory or CPU of the device opening it. Tests use much lower
 * costs only through the explicit `insecureTestKdf` switch, which lowers the floor and nothing else.
 *
 * Passphrases are NFKC-normalised first so the same passphrase typed on another OS or keyboard
 * (composed vs decomposed accents, full-width forms) derives the same key.
 */
import { scryptAsync } from '@noble/hashes/scrypt.js';
import { utf8 } from '../bytes.ts';
import { BackupError } from './errors.ts';

export interface ScryptParams {
  /** CPU/memory cost, a power of two. */
  N: number;
  /** Block size. */
  r: number;
  /** Parallelism (noble runs lanes sequentially, so p costs time, not memory). */
  p: number;
}

/** What new backups use: OWASP's scrypt recommendation. */
export const DEFAULT_SCRYPT: Readonly<ScryptParams> = Object.freeze({ N: 2 ** 17, r: 8, p: 1 });

export interface KdfPolicy {
  minN: number;
  minR: number;
  /** Ceiling on scrypt's working memory, 128·N·r bytes. */
  maxMemoryBytes: number;
  /** Ceiling on total work, N·r·p (in units of 128-byte block mixes). */
  maxWork: number;
  maxR: number;
  maxP: number;
}

/** The production policy: nothing below OWASP's floor; nothing a browser tab cannot afford. */
export const KDF_POLICY: Readonly<KdfPolicy> = Object.freeze({
  minN: 2 ** 17,
  minR: 8,
  // 1 GiB matches noble's own default `maxmem`; N = 2^20 at r = 8 is the largest accepted.
  maxMemoryBytes: 2 ** 30,
  // 16× the default work (about 10 s in pure JS): generous for future increases, bounded for DoS.
  maxWork: 2 ** 24,
  maxR: 32,
  maxP: 16,
});

/** Test-only policy: same ceilings, floor lowered so a test suite can run thousands of times faster. */
const TEST_POLICY: Readonly<KdfPolicy> = Object.freeze({ ...KDF_POLICY, minN: 2 ** 4, minR: 1 });

export function kdfPolicy(insecureTestKdf: boolean | undefined): Readonly<KdfPolicy> {
  return insecureTestKdf === true ? TEST_POLICY : KDF_POLICY;
}

function reject(msg: string): never {
  throw new BackupError('KDF_PARAMS_REJECTED', msg);
}

/** Refuse parameters outside `policy` with a message naming the parameter and the bound. */
export function checkScryptParams(params: ScryptParams, policy: Readonly<KdfPolicy>): void {
  const { N, r, p } = params;
  for (const [k, v] of [
    ['N', N],
    ['r', r],
    ['p', p],
  ] as const) {
    if (!Number.isSafeInteger(v) || v < 1) reject(`scrypt ${k} must be a positive integer`);
  }
  if (N < 2 || (N & (N - 1)) !== 0) reject(`scrypt N = ${N} is not a power of two`);
  if (N < policy.minN) {
    reject(`scrypt N = ${N} is below the floor ${policy.minN} (too cheap to brute-force); refusing`);
  }
  if (r < policy.minR) reject(`scrypt r = ${r} is below the floor ${policy.minR}; refusing`);
  if (r > policy.maxR) reject(`scrypt r = ${r} is above the ceiling ${policy.maxR}; refusing`);
  if (p > policy.maxP) reject(`scrypt p = ${p} is above the ceiling ${policy.maxP}; refusing`);
  const memory = 128 * N * r;
  if (memory > policy.maxMemoryBytes) {
    reject(
      `scrypt needs ${memory} bytes of memory (128·N·r), above the ceiling ${policy.maxMemoryBytes}; ` +
        'refusing to open a file that could exhaust memory',
    );
  }
  if (N * r * p > policy.maxWork) {
    reject(`scrypt work N·r·p = ${N * r * p} is above the ceiling ${policy.maxWork}; refusing`);
  }
}

/** Derive 32 bytes from the passphrase. The caller zeroes the result. */
export async function deriveScrypt(
  passphrase: string,
  salt: Uint8Array,
  params: ScryptParams,
): Promise<Uint8Array> {
  const pw = utf8(passphrase.normalize('NFKC'));
  try {
    return await scryptAsync(pw, salt, {
      N: params.N,
      r: params.r,
      p: params.p,
      dkLen: 32,
      // Our own ceiling is already enforced; give noble room for its scratch blocks.
      maxmem: 2 ** 30 + 2 ** 20,
    });
  } finally {
    pw.fill(0);
  }
}
