import { ed25519, ristretto255_hasher } from '@noble/curves/ed25519.js';
import { bytesToNumberLE } from '@noble/curves/utils.js';
import { describe, expect, it } from 'vitest';
import { FixedBaseTable } from '../../src/ot/fixedbase.ts';
import { seededRandom } from '../../src/testing/rng.ts';

const L = ed25519.Point.Fn.ORDER;
type EPoint = InstanceType<typeof ed25519.Point>;
const rng = seededRandom('fixed-base');
const B = Reflect.get(ristretto255_hasher.deriveToCurve!(rng(64)), 'ep') as EPoint;
const SCALARS = [
  1n,
  2n,
  31n,
  32n,
  33n,
  127n,
  128n,
  (1n << 252n) - 1n,
  1n << 252n,
  L - 1n,
  L - 2n,
  ...Array.from({ length: 8 }, () => bytesToNumberLE(rng(32)) % L),
];

describe('FixedBaseTable (the base-OT receiver a_i·G, a_i·B)', () => {
  for (const w of [6, 8]) {
    it(`equals noble’s multiply for every scalar (window ${w})`, () => {
      const t = new FixedBaseTable(B, w);
      for (const k of SCALARS) {
        const e = t.multiply(k);
        expect(new ed25519.Point(e.X, e.Y, e.Z, e.T).equals(B.multiply(k)), `k = ${k}`).toBe(true);
      }
    });
  }

  it('works for the generator', () => {
    const t = new FixedBaseTable(ed25519.Point.BASE, 8);
    const k = SCALARS.at(-1)!;
    const e = t.multiply(k);
    expect(new ed25519.Point(e.X, e.Y, e.Z, e.T).equals(ed25519.Point.BASE.multiply(k))).toBe(true);
  });

  it('refuses scalars outside [1, ℓ) and windows outside 2..10', () => {
    const t = new FixedBaseTable(B, 4);
    for (const k of [0n, -1n, L, L + 1n]) expect(() => t.multiply(k)).toThrow(RangeError);
    for (const w of [0, 1, 11, 2.5]) expect(() => new FixedBaseTable(B, w)).toThrow(RangeError);
  });
});
