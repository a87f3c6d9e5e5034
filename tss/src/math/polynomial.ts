/**
 * Polynomials over the secp256k1 scalar field and their Feldman commitments (Feldman 1987; PROTOCOL.md
 * 3.1). A degree-(t−1) polynomial has exactly t coefficients; commitments have exactly t points.
 */
import { TssError } from '../errors.ts';
import type { RandomBytes } from '../random.ts';
import { add, mul, mulG, type Point, randomScalar } from './scalar.ts';

/** Random polynomial with `t` coefficients; `constant` fixes f(0) (reshare), otherwise random. */
export function randomPolynomial(t: number, rng: RandomBytes, constant?: bigint): bigint[] {
  if (!Number.isInteger(t) || t < 1) throw new TssError('INVALID_PARAMETERS', 'polynomial needs t >= 1');
  const coeffs: bigint[] = [];
  for (let k = 0; k < t; k++) coeffs.push(k === 0 && constant !== undefined ? constant : randomScalar(rng));
  return coeffs;
}

/** f(x) by Horner's rule. */
export function evaluate(coeffs: readonly bigint[], x: bigint): bigint {
  let acc = 0n;
  for (let k = coeffs.length - 1; k >= 0; k--) acc = add(mul(acc, x), coeffs[k]!);
  return acc;
}

/** Feldman commitment (f_k·G) for k = 0..t−1. */
export function commitPolynomial(coeffs: readonly bigint[]): Point[] {
  return coeffs.map((c) => mulG(c));
}

/** F(x) = Σ_k x^k·F_k, the commitment evaluated in the exponent (public values: variable-time). */
export function evaluateCommitment(commitment: readonly Point[], x: bigint): Point {
  // Horner in the exponent: acc = acc·x + F_k. x is public, so multiplyUnsafe is fine.
  let acc = commitment[commitment.length - 1]!;
  for (let k = commitment.length - 2; k >= 0; k--) {
    acc = acc.multiplyUnsafe(x).add(commitment[k]!);
  }
  return acc;
}

/** Coefficient-wise sum of commitments of equal length. */
export function addCommitments(a: readonly Point[], b: readonly Point[]): Point[] {
  if (a.length !== b.length) throw new TssError('BAD_LENGTH', 'commitment lengths differ');
  return a.map((P, k) => P.add(b[k]!));
}
