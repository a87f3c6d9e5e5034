/**
 * Properties of Shamir polynomials, Feldman commitments and Lagrange interpolation
 * (tss/src/math/polynomial.ts, lagrange.ts): any t distinct non-zero points of a degree-(t−1)
 * polynomial interpolate to f(0), and the commitment evaluated in the exponent equals f(x)·G. These
 * are the identities every share check and every signature's additive share rests on.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { TssError } from '../../src/errors.ts';
import { lagrangeAtZero, lagrangeCoefficients } from '../../src/math/lagrange.ts';
import {
  commitPolynomial,
  evaluate,
  evaluateCommitment,
  randomPolynomial,
} from '../../src/math/polynomial.ts';
import { add, G, mul } from '../../src/math/scalar.ts';
import { seededRandom } from '../../src/testing/rng.ts';
import { nonZeroScalar, RUNS, scalar } from './arbitraries.ts';

/** Evaluation points: small (like weighted points 1..Σw) or anywhere in the field. */
const evalPoint = (): fc.Arbitrary<bigint> => fc.oneof(fc.bigInt({ min: 1n, max: 300n }), nonZeroScalar());

/** A polynomial with t coefficients and t distinct non-zero points. */
const polyAndPoints = (maxT: number) =>
  fc.integer({ min: 1, max: maxT }).chain((t) =>
    fc.record({
      coeffs: fc.array(scalar(), { minLength: t, maxLength: t }),
      xs: fc.uniqueArray(evalPoint(), { minLength: t, maxLength: t }),
    }),
  );

describe('Lagrange interpolation', () => {
  it('any t distinct non-zero points of a degree t−1 polynomial interpolate to f(0)', () => {
    fc.assert(
      fc.property(polyAndPoints(10), ({ coeffs, xs }) => {
        const lambdas = lagrangeCoefficients(xs);
        let acc = 0n;
        xs.forEach((x, i) => {
          acc = add(acc, mul(lambdas[i]!, evaluate(coeffs, x)));
        });
        expect(acc).toBe(coeffs[0]);
        // Coefficients at zero sum to 1 (interpolating the constant polynomial 1).
        expect(lambdas.reduce((a, b) => add(a, b), 0n)).toBe(1n);
      }),
      { numRuns: RUNS.medium },
    );
  });

  it('refuses a set with a zero or a repeated point, and a point outside the set', () => {
    fc.assert(
      fc.property(fc.uniqueArray(evalPoint(), { minLength: 1, maxLength: 6 }), (xs) => {
        const code = (f: () => unknown) => {
          try {
            f();
            return 'ok';
          } catch (e) {
            return e instanceof TssError ? e.code : 'other';
          }
        };
        expect(code(() => lagrangeCoefficients([...xs, 0n]))).toBe('INVALID_PARAMETERS');
        expect(code(() => lagrangeCoefficients([...xs, xs[0]!]))).toBe('INVALID_PARAMETERS');
        let outside = 1n;
        while (xs.includes(outside)) outside++;
        expect(code(() => lagrangeAtZero(outside, xs))).toBe('INVALID_PARAMETERS');
      }),
      { numRuns: RUNS.medium },
    );
  });
});

describe('polynomials and Feldman commitments', () => {
  it('evaluate is Horner-correct: f(x) = Σ f_k·x^k', () => {
    fc.assert(
      fc.property(polyAndPoints(8), ({ coeffs, xs }) => {
        for (const x of xs) {
          let naive = 0n;
          let xk = 1n;
          for (const c of coeffs) {
            naive = add(naive, mul(c, xk));
            xk = mul(xk, x);
          }
          expect(evaluate(coeffs, x)).toBe(naive);
        }
      }),
      { numRuns: RUNS.medium },
    );
  });

  it('randomPolynomial has t coefficients and honours a fixed constant term', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 8 }), fc.string(), scalar(), (t, seed, c) => {
        const f = randomPolynomial(t, seededRandom(seed), c);
        expect(f).toHaveLength(t);
        expect(f[0]).toBe(c);
        expect(randomPolynomial(t, seededRandom(seed))).toHaveLength(t);
      }),
      { numRuns: RUNS.medium },
    );
  });

  it('evaluateCommitment(commitPolynomial(f), x) = f(x)·G', () => {
    // Point multiplications cost ~1 ms each: small t, few runs.
    const arb = fc.integer({ min: 1, max: 4 }).chain((t) =>
      fc.record({
        coeffs: fc.array(nonZeroScalar(), { minLength: t, maxLength: t }),
        x: evalPoint(),
      }),
    );
    fc.assert(
      fc.property(arb, ({ coeffs, x }) => {
        const F = commitPolynomial(coeffs);
        expect(F).toHaveLength(coeffs.length);
        // multiplyUnsafe(0) is the identity, so f(x) = 0 is handled too.
        expect(evaluateCommitment(F, x).equals(G.multiplyUnsafe(evaluate(coeffs, x)))).toBe(true);
      }),
      { numRuns: RUNS.costly },
    );
  });
});
