/**
 * Strict Ed25519 point check for device keys and signature nonces (RFC 8032 §5.1.3 decoding, as in
 * noble's `zip215: false`; THREATS B31). Node's `verify()` (OpenSSL) accepts small-order public
 * keys and R values, so a signature (R = a torsion point, S = 0) verifies for a key of order ≤ 8
 * whatever the message: anyone could log in as such a device id. Refused here before `verify`:
 *
 * - non-canonical encodings (y ≥ p, or x = 0 with the sign bit set): one point would otherwise have
 *   several device ids;
 * - points of small order (8·P = 0): no honest key or nonce is one (their discrete log is known).
 *
 * A decode is a square root in the field (tens of µs), paid once per key (cached by the caller)
 * and once per auth for R.
 */
import { ed25519 } from '@noble/curves/ed25519.js';

/** True if `bytes` is the canonical encoding of a curve point that is not of small order. */
export function strictPoint(bytes: Uint8Array): boolean {
  if (bytes.length !== 32) return false;
  try {
    return !ed25519.Point.fromBytes(bytes, false).isSmallOrder();
  } catch {
    return false;
  }
}
