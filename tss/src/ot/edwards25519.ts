/**
 * Field and point arithmetic on edwards25519 (p = 2^255 − 19, a = −1) for the hot loops of the base
 * OTs (`samescalar.ts`, `elligator.ts`), with lazy reduction: products are folded with 2^255 ≡ 19
 * instead of divided, sums and differences are not reduced at all. Point formulas are
 * Hisil–Wong–Carter–Dawson (2008) in extended coordinates, as in ref10 and curve25519-dalek:
 * complete addition `add-2008-hwcd-3` against a point in "cached" form (Y+X, Y−X, 2d·T, 2Z) and
 * doubling `dbl-2008-hwcd`. Results are checked against noble in `tss/test/ot/samescalar.test.ts`
 * and `tss/test/ot/elligator.test.ts`.
 */
import { ed25519 } from '@noble/curves/ed25519.js';

/** Extended twisted-Edwards coordinates (x = X/Z, y = Y/Z, xy = T/Z); canonical when returned. */
export interface Extended {
  readonly X: bigint;
  readonly Y: bigint;
  readonly Z: bigint;
  readonly T: bigint;
}

const P = ed25519.Point.Fp.ORDER;
const D2 = (2n * ed25519.Point.CURVE().d) % P;
const MASK = (1n << 255n) - 1n;

// Modular reduction without division. V8's BigInt `%` costs several times a 256-bit product and
// dominates noble's field arithmetic; p = 2^255 − 19 allows folding t = hi·2^255 + lo into
// lo + 19·hi (2^255 ≡ 19 mod p) instead. `&` and `>>` are two's-complement on BigInt, so negative
// values (from unreduced subtractions) fold correctly too. Bounds, for the formulas below:
// coordinates between steps are `red` outputs, |x| < 2^256; `fold` outputs of products of those (or
// of their sums of ≤ 3 terms, < 2^258) are < 2^267; the sums of ≤ 3 of those are < 2^269, their
// products < 2^538, and `red` of anything below 2^560 is again < 2^256. Products never need more
// than nine 64-bit words, so the laziness costs nothing in multiplication width.

/** One fold: congruent to t, |result| < 19·2^(bits(t)−255) + 2^255. */
export function fold(t: bigint): bigint {
  return (t & MASK) + 19n * (t >> 255n);
}

/** Two folds: congruent to t, |result| < 2^256 for |t| < 2^560. */
export function red(t: bigint): bigint {
  const u = (t & MASK) + 19n * (t >> 255n);
  return (u & MASK) + 19n * (u >> 255n);
}

/** ref10's cached form of a point: (Y+X, Y−X, 2d·T, 2Z). Coordinates may be unreduced. */
export interface Cached {
  ypx: bigint;
  ymx: bigint;
  t2d: bigint;
  z2: bigint;
}

/** Mutable extended point used inside the walk (coordinates in (−p, p) after each product). */
export interface Acc {
  X: bigint;
  Y: bigint;
  Z: bigint;
  T: bigint;
}

export function toCached(p: Acc): Cached {
  return { ypx: p.Y + p.X, ymx: p.Y - p.X, t2d: red(p.T * D2), z2: p.Z + p.Z };
}

/** acc := acc + q (add-2008-hwcd-3, complete for a = −1 and non-square d). 8M. */
export function addCached(acc: Acc, q: Cached): void {
  const a = fold((acc.Y - acc.X) * q.ymx);
  const b = fold((acc.Y + acc.X) * q.ypx);
  const c = fold(acc.T * q.t2d);
  const d = fold(acc.Z * q.z2);
  const e = b - a;
  const f = d - c;
  const g = d + c;
  const h = b + a;
  acc.X = red(e * f);
  acc.Y = red(g * h);
  acc.T = red(e * h);
  acc.Z = red(f * g);
}

/** acc := 2·acc (dbl-2008-hwcd, a = −1); T is produced only when `withT`. 4S + 3M (+1M for T). */
export function double(acc: Acc, withT: boolean): void {
  const { X, Y, Z } = acc;
  const a = fold(X * X);
  const b = fold(Y * Y);
  const zz = fold(Z * Z);
  const c = zz + zz;
  const xy = X + Y;
  const e = fold(xy * xy) - a - b;
  const g = b - a; // D + B with D = −A
  const f = g - c;
  const h = -a - b; // D − B
  acc.X = red(e * f);
  acc.Y = red(g * h);
  acc.Z = red(f * g);
  if (withT) acc.T = red(e * h);
}

export function canonical(x: bigint): bigint {
  const r = x % P;
  return r < 0n ? r + P : r;
}

/** Canonical extended coordinates of a + b (both in any extended form, e.g. canonical). */
export function addExtended(a: Extended, b: Extended): Extended {
  const acc: Acc = { X: a.X, Y: a.Y, Z: a.Z, T: a.T };
  addCached(acc, toCached(b));
  return { X: canonical(acc.X), Y: canonical(acc.Y), Z: canonical(acc.Z), T: canonical(acc.T) };
}

/** −P (canonical in, canonical out). */
export function negateExtended(e: Extended): Extended {
  return { X: canonical(-e.X), Y: e.Y, Z: e.Z, T: canonical(-e.T) };
}

// ---------------------------------------------------------------------------------------------
// Square roots (RFC 9496 §4.2 SQRT_RATIO_M1), with the same lazy products.

/** √−1 mod p (RFC 9496 §4.1 SQRT_M1). */
export const SQRT_M1 = 19681161376707505956807079304988542015446066515923890162744021073123829784752n;

/** x^(2^k) (x of any size the bounds above allow). */
function sqrN(x: bigint, k: number): bigint {
  let r = x;
  for (let i = 0; i < k; i++) r = red(r * r);
  return r;
}

/** z^((p−5)/8) = z^(2^252 − 3), ref10's addition chain (`fe_pow22523`): 250 squarings, 11 products. */
export function pow22523(z: bigint): bigint {
  const z2 = red(z * z);
  const z9 = red(sqrN(z2, 2) * z);
  const z11 = red(z9 * z2);
  const z5_0 = red(red(z11 * z11) * z9); // z^(2^5 − 1)
  const z10_0 = red(sqrN(z5_0, 5) * z5_0);
  const z20_0 = red(sqrN(z10_0, 10) * z10_0);
  const z40_0 = red(sqrN(z20_0, 20) * z20_0);
  const z50_0 = red(sqrN(z40_0, 10) * z10_0);
  const z100_0 = red(sqrN(z50_0, 50) * z50_0);
  const z200_0 = red(sqrN(z100_0, 100) * z100_0);
  const z250_0 = red(sqrN(z200_0, 50) * z50_0);
  return red(sqrN(z250_0, 2) * z);
}

/** Whether canonical x is "negative" in RFC 9496's sense (odd). */
export function isNegative(x: bigint): boolean {
  return (x & 1n) === 1n;
}

/**
 * RFC 9496 §4.2 SQRT_RATIO_M1(u, v): (was_square, r) with r the non-negative square root of u/v if
 * it exists, else of SQRT_M1·u/v. Inputs of any size the bounds allow; r canonical. Both roots are
 * computed and one is selected, as in the RFC (no early exit).
 */
export function sqrtRatioM1(u0: bigint, v0: bigint): { wasSquare: boolean; r: bigint } {
  const u = canonical(u0);
  const v = red(v0);
  const v3 = red(red(v * v) * v);
  const v7 = red(red(v3 * v3) * v);
  let r = canonical(red(red(u * v3) * pow22523(red(u * v7))));
  const check = canonical(red(red(r * r) * v));
  const correct = check === u;
  const flipped = check === canonical(-u);
  const flippedI = check === canonical(red(-u * SQRT_M1));
  const rPrime = canonical(red(r * SQRT_M1));
  r = flipped || flippedI ? rPrime : r;
  r = isNegative(r) ? P - r : r;
  return { wasSquare: correct || flipped, r };
}
