/**
 * Properties of the secp256k1 scalar field and point parsing (tss/src/math/scalar.ts): field laws,
 * inverses, the 32-byte scalar codec (rejecting values ≥ n, THREATS A10) and compressed-point
 * parsing that accepts exactly the canonical encodings of curve points (THREATS A11), checked against
 * an independent square-root oracle over F_p.
 */
import { secp256k1 } from '@noble/curves/secp256k1.js';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { TssError } from '../../src/errors.ts';
import {
  add,
  inv,
  mul,
  mulG,
  N,
  neg,
  pointFromBytes,
  pointToBytes,
  scalarFromBytes,
  scalarToBytes,
  sub,
} from '../../src/math/scalar.ts';
import { bytes, nonZeroScalar, RUNS, scalar } from './arbitraries.ts';

const P = secp256k1.Point.Fp.ORDER;

function beBytes(v: bigint, len: number): Uint8Array {
  const out = new Uint8Array(len);
  for (let i = len - 1; i >= 0; i--) {
    out[i] = Number(v & 0xffn);
    v >>= 8n;
  }
  return out;
}
function beBigint(b: Uint8Array): bigint {
  let v = 0n;
  for (const x of b) v = (v << 8n) | BigInt(x);
  return v;
}
function powMod(b: bigint, e: bigint, m: bigint): bigint {
  let r = 1n;
  b %= m;
  while (e > 0n) {
    if (e & 1n) r = (r * b) % m;
    b = (b * b) % m;
    e >>= 1n;
  }
  return r;
}
/** Independent oracle: x < p has a curve point iff x³+7 is a square mod p (p ≡ 3 mod 4). */
function hasCurvePoint(x: bigint): boolean {
  const rhs = (((x * x) % P) * x + 7n) % P;
  const y = powMod(rhs, (P + 1n) / 4n, P);
  return (y * y) % P === rhs;
}
function throwsCode(f: () => unknown, code: string): boolean {
  try {
    f();
    return false;
  } catch (e) {
    return e instanceof TssError && e.code === code;
  }
}

describe('scalar field laws', () => {
  it('addition and multiplication are associative and commutative', () => {
    fc.assert(
      fc.property(scalar(), scalar(), scalar(), (a, b, c) => {
        expect(add(add(a, b), c)).toBe(add(a, add(b, c)));
        expect(mul(mul(a, b), c)).toBe(mul(a, mul(b, c)));
        expect(add(a, b)).toBe(add(b, a));
        expect(mul(a, b)).toBe(mul(b, a));
      }),
      { numRuns: RUNS.cheap },
    );
  });

  it('multiplication distributes over addition, and results stay in [0, n)', () => {
    fc.assert(
      fc.property(scalar(), scalar(), scalar(), (a, b, c) => {
        const l = mul(a, add(b, c));
        expect(l).toBe(add(mul(a, b), mul(a, c)));
        expect(l >= 0n && l < N).toBe(true);
        expect(sub(add(a, b), b)).toBe(a);
        expect(add(a, neg(a))).toBe(0n);
      }),
      { numRuns: RUNS.cheap },
    );
  });

  it('a · a⁻¹ = 1 for every non-zero a, and inverting zero is refused', () => {
    fc.assert(
      fc.property(nonZeroScalar(), (a) => {
        expect(mul(a, inv(a))).toBe(1n);
      }),
      { numRuns: RUNS.cheap },
    );
    expect(throwsCode(() => inv(0n), 'INVALID_SCALAR')).toBe(true);
  });
});

describe('scalar codec', () => {
  it('round-trips every scalar through 32 big-endian bytes', () => {
    fc.assert(
      fc.property(scalar(), (k) => {
        const b = scalarToBytes(k);
        expect(b).toHaveLength(32);
        expect(b).toEqual(beBytes(k, 32));
        expect(scalarFromBytes(b, 'k')).toBe(k);
      }),
      { numRuns: RUNS.cheap },
    );
  });

  it('rejects 32-byte values ≥ n, and zero only when asked to', () => {
    const tooBig = fc.bigInt({ min: N, max: (1n << 256n) - 1n });
    fc.assert(
      fc.property(tooBig, (v) => {
        expect(throwsCode(() => scalarFromBytes(beBytes(v, 32), 'k'), 'INVALID_SCALAR')).toBe(true);
      }),
      { numRuns: RUNS.cheap },
    );
    expect(scalarFromBytes(new Uint8Array(32), 'k')).toBe(0n);
    expect(
      throwsCode(() => scalarFromBytes(new Uint8Array(32), 'k', { nonZero: true }), 'INVALID_SCALAR'),
    ).toBe(true);
  });

  it('rejects any byte string that is not exactly 32 bytes', () => {
    const wrongLength = fc.uint8Array({ maxLength: 64 }).filter((b) => b.length !== 32);
    fc.assert(
      fc.property(wrongLength, (b) => {
        expect(throwsCode(() => scalarFromBytes(b, 'k'), 'INVALID_SCALAR')).toBe(true);
      }),
      { numRuns: RUNS.cheap },
    );
  });
});

describe('compressed point parsing', () => {
  it('rejects every 33-byte string whose prefix is not 02 or 03', () => {
    const badPrefix = fc
      .tuple(
        fc.integer({ min: 0, max: 255 }).filter((p) => p !== 2 && p !== 3),
        bytes(32),
      )
      .map(([p, x]) => Uint8Array.of(p, ...x));
    fc.assert(
      fc.property(badPrefix, (b) => {
        expect(throwsCode(() => pointFromBytes(b, 'P'), 'INVALID_POINT')).toBe(true);
      }),
      { numRuns: RUNS.cheap },
    );
  });

  it('rejects non-canonical x ≥ p whatever the prefix', () => {
    const big = fc.bigInt({ min: P, max: (1n << 256n) - 1n });
    fc.assert(
      fc.property(fc.constantFrom(2, 3), big, (prefix, x) => {
        expect(
          throwsCode(() => pointFromBytes(Uint8Array.of(prefix, ...beBytes(x, 32)), 'P'), 'INVALID_POINT'),
        ).toBe(true);
      }),
      { numRuns: RUNS.cheap },
    );
  });

  it('accepts a random 02/03 string exactly when x³+7 is a square mod p, and then re-encodes it', () => {
    fc.assert(
      fc.property(fc.constantFrom(2, 3), bytes(32), (prefix, xb) => {
        const b = Uint8Array.of(prefix, ...xb);
        const x = beBigint(xb);
        const valid = x < P && hasCurvePoint(x);
        if (!valid) {
          expect(throwsCode(() => pointFromBytes(b, 'P'), 'INVALID_POINT')).toBe(true);
          return;
        }
        const Pt = pointFromBytes(b, 'P');
        expect(pointToBytes(Pt)).toEqual(b);
        expect(Pt.toAffine().x).toBe(x);
      }),
      { numRuns: RUNS.medium },
    );
  });

  it('rejects lengths other than 33 bytes', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 70 }).filter((b) => b.length !== 33),
        (b) => {
          expect(throwsCode(() => pointFromBytes(b, 'P'), 'INVALID_POINT')).toBe(true);
        },
      ),
      { numRuns: RUNS.cheap },
    );
  });

  it('accepts the encoding of k·G for any non-zero k and parses it back to the same point', () => {
    fc.assert(
      fc.property(nonZeroScalar(), (k) => {
        const K = mulG(k);
        const enc = pointToBytes(K);
        expect(enc).toHaveLength(33);
        expect(pointFromBytes(enc, 'K').equals(K)).toBe(true);
      }),
      { numRuns: RUNS.costly * 2 },
    );
  });
});
