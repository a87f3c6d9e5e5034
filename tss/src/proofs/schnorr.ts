/**
 * Schnorr proof of knowledge of a discrete log (Schnorr 1991, Fiat–Shamir), bound to a statement
 * kind, session id, prover id and label. The binding is what rejects a proof replayed from another
 * session, copied from another party, or submitted as another kind of proof (THREATS A6, A9).
 * Proof = (R, z) with z·G = R + e·X, e = H(kind, sid, prover, label, X, R).
 */

import { utf8 } from '../bytes.ts';
import { TssError } from '../errors.ts';
import { hashToScalar } from '../hash.ts';
import {
  add,
  G,
  mul,
  mulG,
  POINT_BYTES,
  type Point,
  pointFromBytes,
  pointToBytes,
  randomScalar,
  SCALAR_BYTES,
  scalarFromBytes,
  scalarToBytes,
} from '../math/scalar.ts';
import type { RandomBytes } from '../random.ts';
import { TAGS } from '../tags.ts';

export const SCHNORR_PROOF_BYTES = POINT_BYTES + SCALAR_BYTES;

export interface SchnorrProof {
  readonly R: Point;
  readonly z: bigint;
}

export interface SchnorrContext {
  /** Statement kind, e.g. `TAGS.dkgPokCoefficient`: a proof of one kind never verifies as another. */
  readonly kind: string;
  readonly sessionId: Uint8Array;
  readonly prover: Uint8Array;
  /** Position of the statement (coefficient index, evaluation point…). */
  readonly label: Uint8Array;
}

function challenge(ctx: SchnorrContext, X: Point, R: Point): bigint {
  return hashToScalar(
    TAGS.schnorrChallenge,
    utf8(ctx.kind),
    ctx.sessionId,
    ctx.prover,
    ctx.label,
    pointToBytes(X),
    pointToBytes(R),
  );
}

export function schnorrProve(ctx: SchnorrContext, x: bigint, X: Point, rng: RandomBytes): SchnorrProof {
  const k = randomScalar(rng);
  const R = mulG(k);
  const e = challenge(ctx, X, R);
  return { R, z: add(k, mul(e, x)) };
}

/** Verifies; public values only, so variable-time arithmetic is fine here. */
export function schnorrVerify(ctx: SchnorrContext, X: Point, proof: SchnorrProof): boolean {
  const e = challenge(ctx, X, proof.R);
  // multiplyUnsafe(0) is the identity in noble v2; both scalars are public.
  return G.multiplyUnsafe(proof.z).equals(proof.R.add(X.multiplyUnsafe(e)));
}

export function encodeSchnorr(p: SchnorrProof): Uint8Array {
  const out = new Uint8Array(SCHNORR_PROOF_BYTES);
  out.set(pointToBytes(p.R), 0);
  out.set(scalarToBytes(p.z), POINT_BYTES);
  return out;
}

export function decodeSchnorr(b: Uint8Array, what: string): SchnorrProof {
  if (b.length !== SCHNORR_PROOF_BYTES) throw new TssError('BAD_LENGTH', `${what}: proof length`);
  return {
    R: pointFromBytes(b.subarray(0, POINT_BYTES), `${what}.R`),
    z: scalarFromBytes(b.subarray(POINT_BYTES), `${what}.z`),
  };
}
