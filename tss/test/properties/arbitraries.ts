/**
 * Shared fast-check arbitraries for the property tests: scalars (biased to the field edges by
 * fast-check), byte strings, and a small pool of precomputed curve points so properties that only
 * need "some valid point" do not pay ~1 ms per scalar multiplication on every run.
 */
import fc from 'fast-check';
import { mulG, N, type Point } from '../../src/math/scalar.ts';

/** Any element of Z_n. */
export const scalar = (): fc.Arbitrary<bigint> => fc.bigInt({ min: 0n, max: N - 1n });
/** A non-zero element of Z_n. */
export const nonZeroScalar = (): fc.Arbitrary<bigint> => fc.bigInt({ min: 1n, max: N - 1n });
export const bytes = (len: number): fc.Arbitrary<Uint8Array> =>
  fc.uint8Array({ minLength: len, maxLength: len });
export const varBytes = (max: number): fc.Arbitrary<Uint8Array> =>
  fc.uint8Array({ minLength: 0, maxLength: max });

const POOL: Point[] = Array.from({ length: 12 }, (_, i) => mulG(BigInt(i + 1) * 0x9e3779b97f4a7c15n + 7n));
/** One of a fixed pool of valid, non-identity points. */
export const point = (): fc.Arbitrary<Point> => fc.constantFrom(...POOL);

/** Numbers of runs, kept small so the whole directory stays well under 20 s on a shared machine. */
export const RUNS = { cheap: 200, medium: 60, costly: 15 } as const;
