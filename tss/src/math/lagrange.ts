/**
 * Lagrange coefficients at zero over a set of distinct, non-zero evaluation points
 * (Shamir 1979): λ_x^T = Π_{y∈T, y≠x} y/(y−x).
 */
import { TssError } from '../errors.ts';
import { inv, mul, sub } from './scalar.ts';

export function assertDistinctNonZero(xs: readonly bigint[], what: string): void {
  const seen = new Set<bigint>();
  for (const x of xs) {
    if (x === 0n) throw new TssError('INVALID_PARAMETERS', `${what}: evaluation point 0`);
    if (seen.has(x)) throw new TssError('INVALID_PARAMETERS', `${what}: duplicate evaluation point ${x}`);
    seen.add(x);
  }
}

export function lagrangeAtZero(x: bigint, set: readonly bigint[]): bigint {
  let num = 1n;
  let den = 1n;
  let found = false;
  for (const y of set) {
    if (y === x) {
      found = true;
      continue;
    }
    num = mul(num, y);
    den = mul(den, sub(y, x));
  }
  if (!found) throw new TssError('INVALID_PARAMETERS', 'point not in interpolation set');
  return mul(num, inv(den));
}

/** All coefficients for a set at once. */
export function lagrangeCoefficients(set: readonly bigint[]): bigint[] {
  assertDistinctNonZero(set, 'interpolation set');
  return set.map((x) => lagrangeAtZero(x, set));
}
