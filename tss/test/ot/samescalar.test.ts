import { ed25519, ristretto255, ristretto255_hasher } from '@noble/curves/ed25519.js';
import { bytesToNumberLE } from '@noble/curves/utils.js';
import { describe, expect, it } from 'vitest';
import { type Extended, multiplySameScalar } from '../../src/ot/samescalar.ts';
import { seededRandom } from '../../src/testing/rng.ts';

const L = ed25519.Point.Fn.ORDER;
const P_FIELD = ed25519.Point.Fp.ORDER;
type EPoint = InstanceType<typeof ed25519.Point>;

function edwards(p: InstanceType<typeof ristretto255.Point>): EPoint {
  return Reflect.get(p, 'ep') as EPoint;
}

function asNoble(e: Extended): EPoint {
  return new ed25519.Point(e.X, e.Y, e.Z, e.T);
}

const rng = seededRandom('same-scalar');
const points: EPoint[] = [
  ...Array.from({ length: 6 }, () => edwards(ristretto255_hasher.deriveToCurve!(rng(64)))),
  // Representatives with other Z (not normalised) and a negated point.
  edwards(ristretto255.Point.BASE.multiply(12345n)),
  edwards(ristretto255.Point.BASE.multiply(L - 7n)),
  ed25519.Point.BASE.double().add(ed25519.Point.BASE),
];

// Scalars that exercise every recoding edge: single windows at ±16, carries through every window,
// the top window's carry, and the largest scalar.
const SCALARS = [
  1n,
  2n,
  15n,
  16n,
  17n,
  31n,
  32n,
  33n,
  (1n << 250n) - 1n,
  (1n << 252n) + 16n,
  L - 1n,
  L - 2n,
  BigInt(`0x${'10'.repeat(31)}`),
  bytesToNumberLE(rng(32)) % L,
  bytesToNumberLE(rng(32)) % L,
];

describe('multiplySameScalar (the base-OT sender β·M_j)', () => {
  it('equals noble’s constant-time multiply for every point and scalar', () => {
    for (const k of SCALARS) {
      const got = multiplySameScalar(points, k);
      expect(got).toHaveLength(points.length);
      for (const [i, p] of points.entries()) {
        const want = p.multiply(k);
        expect(asNoble(got[i]!).equals(want), `k = ${k}, point ${i}`).toBe(true);
      }
    }
  });

  it('returns canonical, consistent extended coordinates (X·Y = Z·T, all in [0, p))', () => {
    for (const e of multiplySameScalar(points, SCALARS.at(-1)!)) {
      for (const c of [e.X, e.Y, e.Z, e.T]) {
        expect(c >= 0n && c < P_FIELD).toBe(true);
      }
      expect((e.X * e.Y - e.Z * e.T) % P_FIELD).toBe(0n);
      expect(() => asNoble(e).assertValidity()).not.toThrow();
    }
  });

  it('maps the identity to the identity', () => {
    const [z] = multiplySameScalar([ed25519.Point.ZERO], 5n);
    expect(asNoble(z!).is0()).toBe(true);
  });

  it('refuses the scalars 0 and ℓ and anything outside [1, ℓ)', () => {
    for (const k of [0n, -1n, L, L + 1n]) {
      expect(() => multiplySameScalar(points, k)).toThrow(RangeError);
    }
  });

  it('returns an empty batch for no points', () => {
    expect(multiplySameScalar([], 3n)).toEqual([]);
  });
});
