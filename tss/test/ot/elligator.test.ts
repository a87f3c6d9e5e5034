import { ed25519, ristretto255, ristretto255_hasher } from '@noble/curves/ed25519.js';
import { describe, expect, it } from 'vitest';
import { addExtended, negateExtended, pow22523, sqrtRatioM1 } from '../../src/ot/edwards25519.ts';
import { deriveToEdwards } from '../../src/ot/elligator.ts';
import { seededRandom } from '../../src/testing/rng.ts';

const P = ed25519.Point.Fp.ORDER;
const asRistretto = (e: { X: bigint; Y: bigint; Z: bigint; T: bigint }) =>
  new ristretto255.Point(new ed25519.Point(e.X, e.Y, e.Z, e.T));

function modPow(b: bigint, e: bigint): bigint {
  let r = 1n;
  let x = b % P;
  let k = e;
  while (k > 0n) {
    if (k & 1n) r = (r * x) % P;
    x = (x * x) % P;
    k >>= 1n;
  }
  return r;
}

describe('RFC 9496 element derivation on the lazy arithmetic', () => {
  it('equals noble’s deriveToCurve (as ristretto255 elements and encodings) on random and edge inputs', () => {
    const rng = seededRandom('elligator');
    const inputs = [
      ...Array.from({ length: 200 }, () => rng(64)),
      new Uint8Array(64),
      new Uint8Array(64).fill(0xff),
      // A half whose integer is ≥ p after masking the top bit (reduced mod p).
      Uint8Array.from([...new Uint8Array(32).fill(0xff).map((b, i) => (i === 0 ? 0xf0 : b)), ...rng(32)]),
    ];
    for (const [i, u] of inputs.entries()) {
      const want = ristretto255_hasher.deriveToCurve!(u);
      const got = asRistretto(deriveToEdwards(u));
      expect(got.equals(want), `input ${i}`).toBe(true);
      expect(got.toBytes()).toEqual(want.toBytes());
    }
  });

  it('refuses an input that is not 64 bytes', () => {
    expect(() => deriveToEdwards(new Uint8Array(63))).toThrow(RangeError);
    expect(() => deriveToEdwards(new Uint8Array(65))).toThrow(RangeError);
  });
});

describe('edwards25519 lazy field helpers', () => {
  it('pow22523 is z^((p−5)/8)', () => {
    const rng = seededRandom('pow');
    for (let i = 0; i < 20; i++) {
      const z = BigInt(`0x${Buffer.from(rng(32)).toString('hex')}`) % P;
      expect(((pow22523(z) % P) + P) % P).toBe(modPow(z, (P - 5n) / 8n));
    }
  });

  it('sqrtRatioM1 finds non-negative roots of squares and flags non-squares', () => {
    const rng = seededRandom('sqrt');
    let nonSquares = 0;
    for (let i = 0; i < 40; i++) {
      const u = BigInt(`0x${Buffer.from(rng(32)).toString('hex')}`) % P;
      const v = (BigInt(`0x${Buffer.from(rng(32)).toString('hex')}`) % (P - 1n)) + 1n;
      const { wasSquare, r } = sqrtRatioM1(u, v);
      expect(r >= 0n && r < P && (r & 1n) === 0n).toBe(true);
      const lhs = (r * r * v) % P;
      if (wasSquare) expect(lhs).toBe(u);
      else {
        nonSquares++;
        expect(lhs).toBe(
          (((u * 19681161376707505956807079304988542015446066515923890162744021073123829784752n) % P) + P) %
            P,
        );
      }
    }
    // Seeded: both outcomes occur (a fixed fact of these inputs).
    expect(nonSquares).toBeGreaterThan(0);
    expect(nonSquares).toBeLessThan(40);
  });

  it('addExtended and negateExtended agree with noble', () => {
    const rng = seededRandom('add');
    for (let i = 0; i < 20; i++) {
      const a = ristretto255_hasher.deriveToCurve!(rng(64));
      const b = ristretto255_hasher.deriveToCurve!(rng(64));
      const ea = Reflect.get(a, 'ep') as InstanceType<typeof ed25519.Point>;
      const eb = Reflect.get(b, 'ep') as InstanceType<typeof ed25519.Point>;
      expect(asRistretto(addExtended(ea, eb)).equals(a.add(b))).toBe(true);
      expect(asRistretto(addExtended(ea, negateExtended(eb))).equals(a.subtract(b))).toBe(true);
      expect(asRistretto(addExtended(ea, ea)).equals(a.double())).toBe(true);
    }
  });
});
