/**
 * Constant-time multiplication of a fixed point by many secret scalars through a precomputed table:
 * the base-OT receiver's a_i·G and a_i·B (one table of the sender's B per batch, docs/PROTOCOL.md
 * "Base OT v2"). The same algorithm as noble's cached wNAF walk (signed fixed windows, all doublings
 * baked into the table, exactly one table addition per window whatever the digit, every entry of a
 * window scanned), on `edwards25519.ts`'s lazy arithmetic and with the table in cached form. Results
 * are checked against noble in `tss/test/ot/fixedbase.test.ts`.
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

const ORDER = ed25519.Point.Fn.ORDER;
const SCALAR_BITS = 253; // ℓ < 2^253
const IDENTITY_CACHED: Cached = { ypx: 1n, ymx: 1n, t2d: 0n, z2: 2n };

export class FixedBaseTable {
  private readonly w: number;
  private readonly half: number;
  private readonly windows: number;
  /** windows × (half + 1) entries: [0..half]·2^(w·k)·P for window k, entry 0 the identity. */
  private readonly table: Cached[];

  constructor(point: Extended, w: number) {
    if (!Number.isInteger(w) || w < 2 || w > 10) throw new RangeError('window must be 2..10');
    this.w = w;
    this.half = 1 << (w - 1);
    this.windows = Math.ceil(SCALAR_BITS / w) + 1;
    this.table = new Array(this.windows * (this.half + 1));
    let base: Acc = { X: point.X, Y: point.Y, Z: point.Z, T: point.T };
    for (let k = 0; k < this.windows; k++) {
      const off = k * (this.half + 1);
      this.table[off] = IDENTITY_CACHED;
      const baseCached = toCached(base);
      this.table[off + 1] = baseCached;
      const cur: Acc = { ...base };
      for (let i = 2; i <= this.half; i++) {
        addCached(cur, baseCached);
        this.table[off + i] = toCached(cur);
      }
      // Next window's base: 2·(half·base) = 2^w·base.
      double(cur, true);
      base = cur;
    }
  }

  /** k·P, canonical extended coordinates; k secret, 1 ≤ k < ℓ. */
  multiply(k: bigint): Extended {
    if (k <= 0n || k >= ORDER) throw new RangeError('scalar out of range');
    const { w, half, windows, table } = this;
    const mask = BigInt((1 << w) - 1);
    const acc: Acc = { X: 0n, Y: 1n, Z: 1n, T: 0n };
    let rest = k;
    let carry = 0;
    for (let n = 0; n < windows; n++) {
      // Signed digit in [−half, half − 1] (the last window takes the final carry), by arithmetic.
      const v = Number(rest & mask) + carry;
      rest >>= BigInt(w);
      carry = (v + half) >> w;
      const digit = v - (carry << w);
      const neg = digit >>> 31;
      const abs = (digit ^ -neg) + neg;
      const off = n * (half + 1);
      let sel = table[off]!;
      for (let i = 1; i <= half; i++) sel = i === abs ? table[off + i]! : sel;
      const negated: Cached = { ypx: sel.ymx, ymx: sel.ypx, t2d: -sel.t2d, z2: sel.z2 };
      addCached(acc, neg === 1 ? negated : sel);
    }
    return { X: canonical(acc.X), Y: canonical(acc.Y), Z: canonical(acc.Z), T: canonical(acc.T) };
  }
}
