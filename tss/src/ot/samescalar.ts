/**
 * Constant-time multiplication of many edwards25519 points (ristretto255 representatives) by one
 * secret scalar: the base-OT sender's K_j^i = β·M_j^i, 512 points per batch (docs/PROTOCOL.md
 * "Base OT v2"), which is over half of a pairwise OT setup's work.
 *
 * Algorithm: signed radix-2^5 fixed window (digits in [−16, 15], recoded once for the batch), a
 * per-point table of [0..16]·P in ref10's "cached" form (Y+X, Y−X, 2d·T, 2Z), and per window five
 * doublings and exactly one table addition whatever the digit (digit 0 adds the identity). Point
 * formulas are Hisil–Wong–Carter–Dawson (2008) in extended coordinates for a = −1: complete
 * addition `add-2008-hwcd-3` and doubling `dbl-2008-hwcd`, the first four doublings of a window
 * without the T coordinate (it is only needed by the addition). The same formulas as
 * curve25519-dalek's and ref10's `ge_add` / `ge_p2_dbl`.
 *
 * Why not noble's `Point.multiply`: it is the same constant-time fixed-window walk, but each field
 * operation there is a method call that reduces its result modulo p, additions included. Here
 * additions and subtractions are left unreduced (they only feed products, reduced by one `%`), the
 * scalar is recoded once for the whole batch instead of once per point, and the table is in the
 * form that makes each addition 8 multiplications instead of 9. Results are checked against noble
 * in `tss/test/ot/samescalar.test.ts`.
 *
 * Side channels: the scalar's digits only pick a table entry by a scan that touches every entry
 * (the same data-oblivious select as noble's constant-time multiply) and a sign by a select of the
 * same kind; the sequence of field operations does not depend on the scalar. Like every BigInt
 * implementation this is not constant time at the machine-word level (V8's BigInt arithmetic is
 * not), which is the same standing as noble's, the library the rest of the package relies on.
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
const ORDER = ed25519.Point.Fn.ORDER;
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
function fold(t: bigint): bigint {
  return (t & MASK) + 19n * (t >> 255n);
}

/** Two folds: congruent to t, |result| < 2^256 for |t| < 2^560. */
function red(t: bigint): bigint {
  const u = (t & MASK) + 19n * (t >> 255n);
  return (u & MASK) + 19n * (u >> 255n);
}

/** Radix-2^5 signed digits: 51 windows cover 255 bits, the 52nd holds the last carry. */
const W = 5;
const WINDOWS = 52;
const HALF = 1 << (W - 1); // 16: table entries 0..16

/** ref10's cached form of a point: (Y+X, Y−X, 2d·T, 2Z). Coordinates may be unreduced. */
interface Cached {
  ypx: bigint;
  ymx: bigint;
  t2d: bigint;
  z2: bigint;
}

/** Mutable extended point used inside the walk (coordinates in (−p, p) after each product). */
interface Acc {
  X: bigint;
  Y: bigint;
  Z: bigint;
  T: bigint;
}

const IDENTITY_CACHED: Cached = { ypx: 1n, ymx: 1n, t2d: 0n, z2: 2n };

function toCached(p: Acc): Cached {
  return { ypx: p.Y + p.X, ymx: p.Y - p.X, t2d: red(p.T * D2), z2: p.Z + p.Z };
}

/** acc := acc + q (add-2008-hwcd-3, complete for a = −1 and non-square d). 8M. */
function addCached(acc: Acc, q: Cached): void {
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
function double(acc: Acc, withT: boolean): void {
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

function canonical(x: bigint): bigint {
  const r = x % P;
  return r < 0n ? r + P : r;
}

/**
 * Signed radix-32 digits of k (1 ≤ k < ℓ): k = Σ d_w·32^w with d_w ∈ [−16, 15]. Recoded with
 * arithmetic only (no branch on the digits), once per batch.
 */
function recode(k: bigint): Int8Array {
  const digits = new Int8Array(WINDOWS);
  let rest = k;
  let carry = 0;
  for (let w = 0; w < WINDOWS - 1; w++) {
    const v = Number(rest & 31n) + carry;
    rest >>= 5n;
    carry = (v + HALF) >> W;
    digits[w] = v - (carry << W);
  }
  digits[WINDOWS - 1] = carry;
  return digits;
}

/** The table [0..16]·p in cached form (entry 0 is the identity). */
function buildTable(p: Extended): Cached[] {
  const table: Cached[] = new Array(HALF + 1);
  table[0] = IDENTITY_CACHED;
  const one: Acc = { X: p.X, Y: p.Y, Z: p.Z, T: p.T };
  table[1] = toCached(one);
  const cur: Acc = { ...one };
  double(cur, true);
  table[2] = toCached(cur);
  for (let i = 3; i <= HALF; i++) {
    addCached(cur, table[1]!);
    table[i] = toCached(cur);
  }
  return table;
}

/**
 * Data-oblivious select of d·P from the table (d ∈ [−16, 16]): every entry is read, and the sign is
 * applied by selecting between the entry and its negation (both computed).
 */
function select(table: readonly Cached[], digit: number): Cached {
  const neg = digit >>> 31; // 1 iff digit < 0
  const abs = (digit ^ -neg) + neg;
  let sel = table[0]!;
  for (let i = 1; i <= HALF; i++) sel = i === abs ? table[i]! : sel;
  const negated: Cached = { ypx: sel.ymx, ymx: sel.ypx, t2d: -sel.t2d, z2: sel.z2 };
  return neg === 1 ? negated : sel;
}

/**
 * k·P_i for every point (canonical extended coordinates). k is secret, 1 ≤ k < ℓ; the points are
 * any edwards25519 points (here: ristretto255 representatives, already validated by the caller).
 */
export function multiplySameScalar(points: readonly Extended[], k: bigint): Extended[] {
  if (k <= 0n || k >= ORDER) throw new RangeError('scalar out of range');
  const digits = recode(k);
  const out: Extended[] = new Array(points.length);
  for (let n = 0; n < points.length; n++) {
    const table = buildTable(points[n]!);
    const acc: Acc = { X: 0n, Y: 1n, Z: 1n, T: 0n };
    addCached(acc, select(table, digits[WINDOWS - 1]!));
    for (let w = WINDOWS - 2; w >= 0; w--) {
      for (let j = 1; j < W; j++) double(acc, false);
      double(acc, true);
      addCached(acc, select(table, digits[w]!));
    }
    out[n] = { X: canonical(acc.X), Y: canonical(acc.Y), Z: canonical(acc.Z), T: canonical(acc.T) };
  }
  digits.fill(0);
  return out;
}
