import { describe, expect, it } from 'vitest';
import { lagrangeCoefficients } from '../src/math/lagrange.ts';
import { evaluate, randomPolynomial } from '../src/math/polynomial.ts';
import { add, mul } from '../src/math/scalar.ts';
import { seededRandom } from '../src/testing/rng.ts';

describe('math smoke', () => {
  it('interpolates a random polynomial back to its constant', () => {
    const rng = seededRandom('smoke');
    const f = randomPolynomial(3, rng);
    const xs = [2n, 5n, 9n];
    const lam = lagrangeCoefficients(xs);
    const s = xs.reduce((acc, x, i) => add(acc, mul(lam[i]!, evaluate(f, x))), 0n);
    expect(s).toBe(f[0]);
  });
});
