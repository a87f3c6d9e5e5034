/**
 * Envelope-key rotation bound into the reshare certificate (PROTOCOL.md "Envelope-key rotation at
 * every reshare"; Signal's signed pre-key / Noise static-key rotation pattern, with the device's
 * Ed25519 key as the long-term signer).
 *
 * At every reshare and refresh each new party draws a fresh X25519 envelope key and, instead of
 * signing the certificate message M = H(descriptor, sid, transcript) itself, signs
 *
 *     R_i = H(`concord/reshare/key-rotation/v1`, M, encodePublicIdentity(next_i))
 *
 * where next_i = (device id, new X25519 key, binding signature). One Ed25519 signature thus says
 * both "I hold a consistent share of this epoch" and "from this epoch on, seal to this key"; the
 * complete certificate carries every member's new key, so every member that activates records the
 * same keys, and a key cannot be moved to another reshare (M binds vault, epoch, committee, sid and
 * transcript), to another party (the device id is inside next_i and the signer is the party) or
 * swapped by a relayer (the signature would fail).
 *
 * Checks on a rotation (each names the party whose own signature vouches for the bad value):
 *  - the new identity's device key is the party's identity key (in the wallet: its id) and its
 *    binding signature verifies
 *    (`ROTATION_INVALID`);
 *  - the new key is not of small order — the identity point u = 0 and the other points that
 *    X25519 maps to zero would make every shared secret public (`INVALID_POINT`);
 *  - the new key is none of the keys listed before the reshare (the party's own, or anyone's):
 *    re-using a key a stolen backup may hold would defeat the rotation (`KEY_NOT_ROTATED`).
 * Two parties presenting the same new key is refused without a culprit (either may have copied it).
 */
import { x25519 } from '@noble/curves/ed25519.js';
import { equalBytes, toHex } from '../bytes.ts';
import { TssError } from '../errors.ts';
import { taggedHash } from '../hash.ts';
import { TAGS } from '../tags.ts';
import {
  encodePublicIdentity,
  type PublicDeviceIdentity,
  verifyPublicIdentity,
} from '../transport/identity.ts';

/** The envelope keys listed before the reshare, by hex party id (the request's member identities). */
export interface RotationPolicy {
  readonly previous: ReadonlyMap<string, Uint8Array>;
}

/** What a rotating party signs in place of the plain certificate message. */
export function rotationMessage(certificateMessage: Uint8Array, next: PublicDeviceIdentity): Uint8Array {
  return taggedHash(TAGS.reshareKeyRotation, certificateMessage, encodePublicIdentity(next));
}

// Any clamped X25519 scalar is a multiple of the cofactor 8, so it sends every point of small order
// (the identity u = 0 included, in any encoding) to zero, which noble refuses with an exception.
const PROBE_SCALAR = new Uint8Array(32).fill(0x5a);

/** True when `key` is an X25519 public key of small order (a product with it is predictable). */
export function isSmallOrder(key: Uint8Array): boolean {
  if (key.length !== 32) return true;
  try {
    x25519.getSharedSecret(PROBE_SCALAR, key);
    return false;
  } catch {
    return true;
  }
}

function rotationError(
  code: 'ROTATION_INVALID' | 'KEY_NOT_ROTATED' | 'INVALID_POINT',
  message: string,
  culprits: string[],
) {
  return new TssError(code, message, { culprits, round: 'reshare.rotation' });
}

/**
 * Check party `id`'s new envelope identity against its Ed25519 identity key (not its certificate
 * signature, which the caller verifies over `rotationMessage`). Throws a typed `TssError` naming it.
 */
export function checkRotation(
  id: Uint8Array,
  identityKey: Uint8Array | undefined,
  next: PublicDeviceIdentity,
  policy?: RotationPolicy,
): void {
  const hex = toHex(id);
  if (identityKey === undefined || !equalBytes(next.deviceId, identityKey)) {
    throw rotationError('ROTATION_INVALID', 'new envelope key is bound to another device key', [hex]);
  }
  if (!verifyPublicIdentity(next)) {
    throw rotationError('ROTATION_INVALID', 'new envelope key binding signature is invalid', [hex]);
  }
  if (isSmallOrder(next.agreementKey)) {
    throw rotationError('INVALID_POINT', 'new envelope key is of small order', [hex]);
  }
  if (policy !== undefined) {
    for (const old of policy.previous.values()) {
      if (equalBytes(old, next.agreementKey)) {
        throw rotationError('KEY_NOT_ROTATED', 'new envelope key was already in use before this reshare', [
          hex,
        ]);
      }
    }
  }
}

/** Refuses two parties announcing the same new key (no culprit: either may have copied it). */
export function checkDistinct(rotations: readonly PublicDeviceIdentity[]): void {
  const seen = new Set<string>();
  for (const r of rotations) {
    const k = toHex(r.agreementKey);
    if (seen.has(k))
      throw rotationError('KEY_NOT_ROTATED', 'two parties announced the same new envelope key', []);
    seen.add(k);
  }
}
