/**
 * RFC 9496 element derivation for ristretto255 (§4.3.4: two applications of the Elligator-based MAP
 * to the halves of 64 uniform bytes, added), on `edwards25519.ts`'s lazy arithmetic. The base OTs'
 * random oracle H onto the group runs it 1,024 times per ordered pair (docs/PROTOCOL.md "Base OT
 * v2"); noble's `ristretto255_hasher.deriveToCurve` computes the same function (checked in
 * `tss/test/ot/elligator.test.ts`) with a BigInt division after every field operation, which on V8
 * costs more than the product itself.
 *
 * Returns the Edwards representative in canonical extended coordinates (the ristretto255 element
 * it represents is what the protocol uses; callers encode it or add it to other representatives).
 * The inputs here are public (hashes of transcript data) or become public (the receiver's unused
 * r_{1−c}); the map has no data-dependent early exit either way.
 */
import { bytesToNumberLE } from '@noble/curves/utils.js';
import {
  addExtended,
  canonical,
  type Extended,
  isNegative,
  red,
  SQRT_M1,
  sqrtRatioM1,
} from './edwards25519.ts';

const P = 2n ** 255n - 19n;
const MASK_255 = (1n << 255n) - 1n;
// RFC 9496 §4.1 constants (d is edwards25519's).
const D = 37095705934669439343138083508754565189542113879843219016388785533085940283555n;
const ONE_MINUS_D_SQ = 1159843021668779879193775521855586647937357759715417654439879720876111806838n;
const D_MINUS_ONE_SQ = 40440834346308536858101042469323190826248399146238708352240133220865137265952n;
const SQRT_AD_MINUS_ONE = 25063068953384623474111414158702152701244531502492656460079210482610430750235n;

/** RFC 9496 §4.3.4 MAP(t), t a canonical field element. */
function map(t: bigint): Extended {
  const r = red(red(SQRT_M1 * t) * t);
  const u = red((r + 1n) * ONE_MINUS_D_SQ);
  const v = red((-1n - red(r * D)) * (r + D));
  const { wasSquare, r: s0 } = sqrtRatioM1(u, v);
  let sPrime = canonical(red(s0 * t));
  sPrime = isNegative(sPrime) ? sPrime : canonical(-sPrime); // −CT_ABS(s·t)
  const s = wasSquare ? s0 : sPrime;
  const c = wasSquare ? -1n : r;
  const n = red(red(c * (r - 1n)) * D_MINUS_ONE_SQ) - v;
  const s2 = red(s * s);
  const w0 = red(2n * s * v);
  const w1 = red(n * SQRT_AD_MINUS_ONE);
  const w2 = 1n - s2;
  const w3 = 1n + s2;
  return {
    X: canonical(w0 * w3),
    Y: canonical(w2 * w1),
    Z: canonical(w1 * w3),
    T: canonical(w0 * w2),
  };
}

/** RFC 9496 element derivation of 64 uniform bytes: MAP(bytes[0..32]) + MAP(bytes[32..64]). */
export function deriveToEdwards(uniform: Uint8Array): Extended {
  if (!(uniform instanceof Uint8Array) || uniform.length !== 64)
    throw new RangeError('element derivation takes 64 bytes');
  const t1 = (bytesToNumberLE(uniform.subarray(0, 32)) & MASK_255) % P;
  const t2 = (bytesToNumberLE(uniform.subarray(32, 64)) & MASK_255) % P;
  return addExtended(map(t1), map(t2));
}
