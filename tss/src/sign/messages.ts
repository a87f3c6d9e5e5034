/**
 * Signing wire messages (PROTOCOL.md 4, DKLs23 Protocol 3.6 with a session-agreement flight first).
 * Canonical binary: [version u8][type u8][fields…]. Every message after flight 0 carries the
 * sender's view hash, checked before anything else.
 */
import { messageReader, messageWriter } from '../codec/binary.ts';
import type { Point } from '../math/scalar.ts';

export const SIGN_MSG_TYPE = { s0: 0x21, s1: 0x22, s2: 0x23, s3: 0x24 } as const;
const MAX_RVOLE = 128 * 1024;

/** Flight 0, broadcast: what I think we are signing, my session contribution, commitment to R_i. */
export interface SignS0Broadcast {
  readonly vaultId: Uint8Array;
  readonly epoch: number;
  readonly digest: Uint8Array;
  /** Hash of the signer set S and the point set T. */
  readonly setHash: Uint8Array;
  readonly contribution: Uint8Array;
  readonly commitR: Uint8Array;
}

/** Round 1, to each peer: view hash and the RVOLE receiver message (peer will be the sender). */
export interface SignS1ToPeer {
  readonly view: Uint8Array;
  readonly rvole: Uint8Array;
}

/** Round 2, to each peer: RVOLE sender message, opening of R_i, pk_i, Γ^u, Γ^v, ψ. */
export interface SignS2ToPeer {
  readonly view: Uint8Array;
  readonly rvole: Uint8Array;
  readonly R: Point;
  readonly salt: Uint8Array;
  readonly pk: Point;
  readonly gammaU: Point;
  readonly gammaV: Point;
  readonly psi: bigint;
}

/** Round 3, broadcast: the partial values (u_i, w_i). */
export interface SignS3Broadcast {
  readonly view: Uint8Array;
  readonly u: bigint;
  readonly w: bigint;
}

export function encodeSignS0(m: SignS0Broadcast): Uint8Array {
  return messageWriter(SIGN_MSG_TYPE.s0)
    .raw(m.vaultId)
    .u32(m.epoch)
    .raw(m.digest)
    .raw(m.setHash)
    .raw(m.contribution)
    .raw(m.commitR)
    .finish();
}

export function decodeSignS0(b: Uint8Array): SignS0Broadcast {
  const r = messageReader(b, SIGN_MSG_TYPE.s0, 'sign.s0');
  const m = {
    vaultId: r.raw(32),
    epoch: r.u32(),
    digest: r.raw(32),
    setHash: r.raw(32),
    contribution: r.raw(32),
    commitR: r.raw(32),
  };
  r.end();
  return m;
}

export function encodeSignS1(m: SignS1ToPeer): Uint8Array {
  return messageWriter(SIGN_MSG_TYPE.s1).raw(m.view).bytes(m.rvole).finish();
}

export function decodeSignS1(b: Uint8Array): SignS1ToPeer {
  const r = messageReader(b, SIGN_MSG_TYPE.s1, 'sign.s1');
  const m = { view: r.raw(32), rvole: r.bytes(MAX_RVOLE) };
  r.end();
  return m;
}

export function encodeSignS2(m: SignS2ToPeer): Uint8Array {
  return messageWriter(SIGN_MSG_TYPE.s2)
    .raw(m.view)
    .bytes(m.rvole)
    .point(m.R)
    .raw(m.salt)
    .point(m.pk)
    .point(m.gammaU)
    .point(m.gammaV)
    .scalar(m.psi)
    .finish();
}

export function decodeSignS2(b: Uint8Array): SignS2ToPeer {
  const r = messageReader(b, SIGN_MSG_TYPE.s2, 'sign.s2');
  const m = {
    view: r.raw(32),
    rvole: r.bytes(MAX_RVOLE),
    R: r.point('R'),
    salt: r.raw(32),
    pk: r.point('pk'),
    gammaU: r.point('gammaU'),
    gammaV: r.point('gammaV'),
    psi: r.scalar('psi'),
  };
  r.end();
  return m;
}

export function encodeSignS3(m: SignS3Broadcast): Uint8Array {
  return messageWriter(SIGN_MSG_TYPE.s3).raw(m.view).scalar(m.u).scalar(m.w).finish();
}

export function decodeSignS3(b: Uint8Array): SignS3Broadcast {
  const r = messageReader(b, SIGN_MSG_TYPE.s3, 'sign.s3');
  const m = { view: r.raw(32), u: r.scalar('u'), w: r.scalar('w') };
  r.end();
  return m;
}
