/**
 * secp256k1 scalar field and point helpers with strict validation at every boundary
 * (THREATS A10/A11): scalars are 32-byte big-endian and < n; points are 33-byte SEC1 compressed,
 * canonical (x < p), on the curve, never the identity. Secret scalars are only ever multiplied with
 * noble's constant-time `multiply`; `multiplyUnsafe` is reserved for public scalars.
 */

import { mapHashToField } from '@noble/curves/abstract/modular.js';
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { TssError } from '../errors.ts';
import type { RandomBytes } from '../random.ts';

export const Point = secp256k1.Point;
export type Point = InstanceType<typeof secp256k1.Point>;
export const Fn = secp256k1.Point.Fn;
export const N = Fn.ORDER;
export const G = Point.BASE;

export const SCALAR_BYTES = 32;
export const POINT_BYTES = 33;

export const mod = (a: bigint): bigint => Fn.create(a);
export const add = (a: bigint, b: bigint): bigint => Fn.add(a, b);
export const sub = (a: bigint, b: bigint): bigint => Fn.sub(a, b);
export const mul = (a: bigint, b: bigint): bigint => Fn.mul(a, b);
export const neg = (a: bigint): bigint => Fn.neg(a);
export const inv = (a: bigint): bigint => {
  if (a === 0n) throw new TssError('INVALID_SCALAR', 'inverse of zero');
  return Fn.inv(a);
};

/** Uniform scalar in [1, n): 48 random bytes reduced (bias < 2^-128), retried on zero. */
export function randomScalar(rng: RandomBytes): bigint {
  for (;;) {
    const k = Fn.fromBytes(mapHashToField(rng(48), N));
    if (k !== 0n) return k;
  }
}

export function scalarToBytes(k: bigint): Uint8Array {
  return Fn.toBytes(k);
}

/** Parse a received scalar: exactly 32 bytes, < n; `nonZero` also rejects 0. */
export function scalarFromBytes(b: Uint8Array, what: string, opts: { nonZero?: boolean } = {}): bigint {
  if (!(b instanceof Uint8Array) || b.length !== SCALAR_BYTES) {
    throw new TssError('INVALID_SCALAR', `${what}: expected ${SCALAR_BYTES} bytes`);
  }
  let k = 0n;
  for (const byte of b) k = (k << 8n) | BigInt(byte);
  if (k >= N) throw new TssError('INVALID_SCALAR', `${what}: not below the group order`);
  if (opts.nonZero && k === 0n) throw new TssError('INVALID_SCALAR', `${what}: zero`);
  return k;
}

export function pointToBytes(P: Point): Uint8Array {
  if (P.equals(Point.ZERO)) throw new TssError('INVALID_POINT', 'cannot encode the identity');
  return P.toBytes(true);
}

/** Parse a received point: 33-byte compressed, prefix 02/03, canonical, on curve, not identity. */
export function pointFromBytes(b: Uint8Array, what: string): Point {
  if (!(b instanceof Uint8Array) || b.length !== POINT_BYTES) {
    throw new TssError('INVALID_POINT', `${what}: expected ${POINT_BYTES}-byte compressed point`);
  }
  if (b[0] !== 0x02 && b[0] !== 0x03) throw new TssError('INVALID_POINT', `${what}: bad prefix`);
  let P: Point;
  try {
    P = Point.fromBytes(b); // rejects x >= p and x without a curve point
  } catch {
    throw new TssError('INVALID_POINT', `${what}: not a canonical curve point`);
  }
  P.assertValidity();
  if (P.equals(Point.ZERO)) throw new TssError('INVALID_POINT', `${what}: identity`);
  return P;
}

/** k·G for a secret k (constant time, precomputed base table). */
export function mulG(k: bigint): Point {
  return G.multiply(k);
}

/** Σ points (public). */
export function sumPoints(points: readonly Point[]): Point {
  let acc = Point.ZERO;
  for (const P of points) acc = acc.add(P);
  return acc;
}

export function scalarFromBigint(n: bigint | number): bigint {
  return mod(BigInt(n));
}
