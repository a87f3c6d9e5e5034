/**
 * Passphrase key derivation: scrypt (RFC 7914) via @noble/hashes, at the OWASP Password Storage
 * Cheat Sheet minimum N=2^17, r=8, p=1 (128 MiB). Parameters are stored next to every header that
 * uses them. On read we enforce a floor (refuse anything weaker, THREATS 58) and report whether the
 * header is below the current policy so the keyring can re-wrap with current parameters right after a
 * successful unlock.
 */
import { scryptAsync } from '@noble/hashes/scrypt.js';
import { ExtensionError } from '../shared/errors.ts';

export interface ScryptParams {
  alg: 'scrypt';
  /** CPU/memory cost, a power of two. */
  N: number;
  r: number;
  p: number;
  dkLen: 32;
}

export interface KdfPolicy {
  /** Parameters for new headers and for re-wrapping old ones. */
  current: ScryptParams;
  /** Weakest parameters still accepted when reading a stored header. */
  floor: { N: number; r: number; p: number };
}

/** OWASP minimum for scrypt: N=2^17, r=8, p=1. */
export const OWASP_SCRYPT: ScryptParams = { alg: 'scrypt', N: 2 ** 17, r: 8, p: 1, dkLen: 32 };

export const DEFAULT_KDF_POLICY: KdfPolicy = {
  current: OWASP_SCRYPT,
  floor: { N: 2 ** 17, r: 8, p: 1 },
};

export const SALT_LENGTH = 16;

/** Memory-hardness of scrypt is 128·N·r bytes; compare on that and on p separately. */
function cost(p: { N: number; r: number }): number {
  return p.N * p.r;
}

/** Validates the shape of stored parameters (a tampered header must not crash or loop). */
export function assertScryptParams(x: unknown): asserts x is ScryptParams {
  const p = x as Partial<ScryptParams> | null;
  const ok =
    p !== null &&
    typeof p === 'object' &&
    p.alg === 'scrypt' &&
    Number.isInteger(p.N) &&
    p.N! >= 2 &&
    (p.N! & (p.N! - 1)) === 0 &&
    p.N! <= 2 ** 22 &&
    Number.isInteger(p.r) &&
    p.r! >= 1 &&
    p.r! <= 32 &&
    Number.isInteger(p.p) &&
    p.p! >= 1 &&
    p.p! <= 16 &&
    p.dkLen === 32;
  if (!ok) throw new ExtensionError('CORRUPT_RECORD', 'The stored key-derivation parameters are invalid.');
}

/** Throws `KDF_BELOW_FLOOR` if stored parameters are weaker than the policy's floor. */
export function enforceFloor(params: ScryptParams, policy: KdfPolicy): void {
  if (cost(params) < cost(policy.floor) || params.r < policy.floor.r || params.p < policy.floor.p) {
    throw new ExtensionError(
      'KDF_BELOW_FLOOR',
      'The stored key-derivation parameters are weaker than Concord accepts. Restore from a backup.',
    );
  }
}

/** True when a header should be re-wrapped with `policy.current` after a successful unlock. */
export function isBelowCurrent(params: ScryptParams, policy: KdfPolicy): boolean {
  return cost(params) < cost(policy.current) || params.r < policy.current.r || params.p < policy.current.p;
}

/**
 * Derives a 32-byte key-encryption key. NFKC-normalises the passphrase so the same characters typed
 * on different keyboards / OSes derive the same key. Async with a small tick so a page stays
 * responsive and a service worker keeps answering pings.
 */
export async function deriveKek(
  passphrase: string,
  salt: Uint8Array,
  params: ScryptParams,
): Promise<Uint8Array> {
  assertScryptParams(params);
  return scryptAsync(passphrase.normalize('NFKC'), salt, {
    N: params.N,
    r: params.r,
    p: params.p,
    dkLen: params.dkLen,
    asyncTick: 20,
  });
}
