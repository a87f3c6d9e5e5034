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
 * operation there reduces its result with a BigInt division, additions included. Here the field
 * arithmetic is `edwards25519.ts`'s (lazy reduction by folding, no division), the scalar is recoded
 * once for the whole batch instead of once per point, and the table is in the form that makes each
 * addition 8 multiplications instead of 9. Results are checked against noble
 * in `tss/test/ot/samescalar.test.ts`.
 *
 * Side channels: the scalar's digits only pick a table entry by a scan that touches every entry
 * (the same data-oblivious select as noble's constant-time multiply) and a sign by a select of the
 * same kind; the sequence of field operations does not depend on the scalar. Like every BigInt
 * implementation this is not constant time at the machine-word level (V8's BigInt arithmetic is
 * not), which is the same standing as noble's, the library the rest of the package relies on.
 */
import { ed25519 } from '@noble/curves/ed25519.js';
import {
  type Acc,
  addCached,
  type Cached,
  canonical,
  double,
  type Extended,
  toCached,
} from './edwards25519.ts';

export type { Extended };

const ORDER = ed25519.Point.Fn.ORDER;

/** Radix-2^5 signed digits: 51 windows cover 255 bits, the 52nd holds the last carry. */
const W = 5;
const WINDOWS = 52;
const HALF = 1 << (W - 1); // 16: table entries 0..16
const IDENTITY_CACHED: Cached = { ypx: 1n, ymx: 1n, t2d: 0n, z2: 2n };

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
