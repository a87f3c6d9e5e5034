/**
 * Test-only helpers that do what production code must never do: rebuild the secret from shares.
 * Exported only through `@concord/tss/testing`.
 */

import type { KeyShare } from '../keyshare.ts';
import { lagrangeAtZero } from '../math/lagrange.ts';
import { add, mul } from '../math/scalar.ts';

/** Interpolate f(0) from the given points, reading each point's share from its holder. */
export function interpolateSecret(shares: readonly KeyShare[], points: readonly bigint[]): bigint {
  const byPoint = new Map<bigint, bigint>();
  for (const ks of shares) {
    ks.selfPoints.forEach((x, k) => {
      byPoint.set(x, ks.shares[k]!);
    });
  }
  let s = 0n;
  for (const x of points) {
    const share = byPoint.get(x);
    if (share === undefined) throw new Error(`no share for point ${x}`);
    s = add(s, mul(lagrangeAtZero(x, points), share));
  }
  return s;
}
