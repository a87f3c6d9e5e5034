/**
 * Threshold ECDSA signing, one pure function per round (DKLs23 Protocol 3.6, as laid out in
 * PROTOCOL.md 4, with Silence Labs' session-agreement flight in front):
 *
 *  0. agree     broadcast (vault, epoch, digest, S/T hash, contribution, commit(R_i))
 *  1. rvole-in  to each peer: view hash + RVOLE receiver message (random χ_ij)
 *  2. rvole-out to each peer: view hash + RVOLE sender message on (r_i, sk_i), opening of R_i, pk_i,
 *               Γ^u = c^u·G, Γ^v = c^v·G, ψ_ij = φ_i − χ_ij
 *  3. partial   broadcast (u_i, w_i) after the commitment, RVOLE and Γ checks
 *  combine      s = Σw / Σu, low-s, recovery id, verified with plain secp256k1.verify
 *
 * The view hash is checked before any OT work, so inconsistent flight-0 views end in a blameless
 * retry and honest parties never ban each other (TOB-SILA-8). RVOLE and Γ failures ban the
 * counterparty (selective-abort defence, PROTOCOL 8.1).
 */
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { concatBytes, equalBytes, toHex } from '../bytes.ts';
import { banError, blameError, TssError } from '../errors.ts';
import { taggedHash } from '../hash.ts';
import {
  add,
  Fn,
  inv,
  mul,
  mulG,
  N,
  Point,
  pointToBytes,
  randomScalar,
  scalarToBytes,
  sub,
} from '../math/scalar.ts';
import {
  type RvoleReceiverKeep,
  rvoleReceiverRound1,
  rvoleReceiverRound3,
  rvoleSenderRound2,
} from '../mul/rvole.ts';
import { commit, SALT_BYTES, verifyCommitment } from '../proofs/commitment.ts';
import type { RandomBytes } from '../random.ts';
import { TAGS } from '../tags.ts';
import { additiveShare, digestScalar, rvoleInstanceId, type SignContext, signSessionId } from './context.ts';
import type { SignS0Broadcast, SignS1ToPeer, SignS2ToPeer, SignS3Broadcast } from './messages.ts';

export type Inbox<T> = ReadonlyMap<string, T>;

export interface Signature {
  readonly r: bigint;
  readonly s: bigint;
  /** 0 or 1: parity of R.y after low-s normalisation (R.x ≥ n has negligible probability and is refused). */
  readonly recovery: number;
  /** r‖s, 64 bytes. */
  readonly compact: Uint8Array;
}

export interface KeepS0 {
  readonly r: bigint;
  readonly R: Point;
  readonly salt: Uint8Array;
  readonly phi: bigint;
  readonly own: SignS0Broadcast;
}

export interface KeepS1 extends KeepS0 {
  readonly sessionId: Uint8Array;
  readonly view: Uint8Array;
  readonly sk: bigint;
  readonly pk: Point;
  readonly chi: Map<string, bigint>;
  readonly receivers: Map<string, RvoleReceiverKeep>;
  readonly commitments: Map<string, Uint8Array>;
}

export interface KeepS2 extends KeepS1 {
  readonly cU: Map<string, bigint>;
  readonly cV: Map<string, bigint>;
}

export interface KeepS3 {
  readonly view: Uint8Array;
  readonly R: Point;
  readonly rx: bigint;
  readonly own: SignS3Broadcast;
}

function commitFields(ctx: SignContext, id: Uint8Array, R: Point): Uint8Array[] {
  return [ctx.keyShare.vaultId, ctx.digest, id, pointToBytes(R)];
}

/** Flight 0: sample the instance key r_i and inversion mask φ_i, commit to R_i. */
export function signRound0(ctx: SignContext, rng: RandomBytes): { keep: KeepS0; broadcast: SignS0Broadcast } {
  const r = randomScalar(rng);
  const phi = randomScalar(rng);
  const R = mulG(r);
  const salt = rng(SALT_BYTES);
  const own: SignS0Broadcast = {
    vaultId: ctx.keyShare.vaultId,
    epoch: ctx.keyShare.epoch,
    digest: ctx.digest,
    setHash: ctx.setHash,
    contribution: rng(32),
    commitR: commit(TAGS.signCommitR, commitFields(ctx, ctx.self.id, R), salt),
  };
  return { keep: { r, R, salt, phi, own }, broadcast: own };
}

/** Round 1: agree on the session, compute the additive share, start one RVOLE per peer as receiver. */
export function signRound1(
  ctx: SignContext,
  keep: KeepS0,
  s0: Inbox<SignS0Broadcast>,
  rng: RandomBytes,
): { keep: KeepS1; toPeer: Map<string, SignS1ToPeer> } {
  // Named checks first: these are honest disagreements, never grounds for blame.
  for (const peer of ctx.peers) {
    const m = s0.get(toHex(peer.id))!;
    if (!equalBytes(m.vaultId, keep.own.vaultId)) {
      throw new TssError('VAULT_MISMATCH', 'signers hold shares of different vaults', { round: 'sign.1' });
    }
    if (m.epoch !== keep.own.epoch) {
      throw new TssError('EPOCH_MISMATCH', `signers hold shares of epochs ${keep.own.epoch} and ${m.epoch}`, {
        round: 'sign.1',
      });
    }
    if (!equalBytes(m.digest, keep.own.digest) || !equalBytes(m.setHash, keep.own.setHash)) {
      throw new TssError('SESSION_MISMATCH', 'signers disagree on the digest or the signer set', {
        round: 'sign.1',
      });
    }
  }
  const all = (id: Uint8Array) => (equalBytes(id, ctx.self.id) ? keep.own : s0.get(toHex(id))!);
  const sessionId = signSessionId(
    ctx,
    ctx.signers.map((p) => all(p.id).contribution),
  );
  const view = taggedHash(
    TAGS.signView,
    sessionId,
    concatBytes(...ctx.signers.map((p) => concatBytes(p.id, all(p.id).contribution, all(p.id).commitR))),
  );
  const sk = additiveShare(ctx, sessionId);
  const pk = mulG(sk);
  const chi = new Map<string, bigint>();
  const receivers = new Map<string, RvoleReceiverKeep>();
  const commitments = new Map<string, Uint8Array>();
  const toPeer = new Map<string, SignS1ToPeer>();
  for (const peer of ctx.peers) {
    const hex = toHex(peer.id);
    const seeds = ctx.keyShare.peer(peer.id)!.full;
    const c = randomScalar(rng);
    const { message, keep: rk } = rvoleReceiverRound1({
      instanceId: rvoleInstanceId(sessionId, ctx.self.id, peer.id),
      seeds,
      b: c,
      rng,
    });
    chi.set(hex, c);
    receivers.set(hex, rk);
    commitments.set(hex, s0.get(hex)!.commitR);
    toPeer.set(hex, { view, rvole: message });
  }
  return { keep: { ...keep, sessionId, view, sk, pk, chi, receivers, commitments }, toPeer };
}

function checkViews(
  ctx: SignContext,
  view: Uint8Array,
  inbox: Inbox<{ view: Uint8Array }>,
  round: string,
): void {
  for (const peer of ctx.peers) {
    if (!equalBytes(inbox.get(toHex(peer.id))!.view, view)) {
      throw new TssError('SESSION_MISMATCH', 'a signer saw a different flight 0', { round });
    }
  }
}

/** Round 2: answer each peer's RVOLE as sender with (r_i, sk_i); open R_i; send pk_i, Γ's, ψ. */
export function signRound2(
  ctx: SignContext,
  keep: KeepS1,
  s1: Inbox<SignS1ToPeer>,
  rng: RandomBytes,
): { keep: KeepS2; toPeer: Map<string, SignS2ToPeer> } {
  checkViews(ctx, keep.view, s1, 'sign.2');
  const cU = new Map<string, bigint>();
  const cV = new Map<string, bigint>();
  const toPeer = new Map<string, SignS2ToPeer>();
  for (const peer of ctx.peers) {
    const hex = toHex(peer.id);
    const { message, shares } = rvoleSenderRound2({
      instanceId: rvoleInstanceId(keep.sessionId, peer.id, ctx.self.id),
      seeds: ctx.keyShare.peer(peer.id)!.punctured,
      inputs: [keep.r, keep.sk],
      receiverMessage: s1.get(hex)!.rvole,
      rng,
      peer: hex,
    });
    cU.set(hex, shares[0]);
    cV.set(hex, shares[1]);
    toPeer.set(hex, {
      view: keep.view,
      rvole: message,
      R: keep.R,
      salt: keep.salt,
      pk: keep.pk,
      gammaU: mulG(shares[0]),
      gammaV: mulG(shares[1]),
      psi: sub(keep.phi, keep.chi.get(hex)!),
    });
  }
  return { keep: { ...keep, cU, cV }, toPeer };
}

/** Round 3: verify openings, finish each RVOLE, run the Γ checks, compute (u_i, w_i). */
export function signRound3(
  ctx: SignContext,
  keep: KeepS2,
  s2: Inbox<SignS2ToPeer>,
): { keep: KeepS3; broadcast: SignS3Broadcast } {
  checkViews(ctx, keep.view, s2, 'sign.3');
  let R = keep.R;
  let pkSum = keep.pk;
  let psiSum = keep.phi;
  let u = 0n;
  let v = 0n;
  for (const peer of ctx.peers) {
    const hex = toHex(peer.id);
    const m = s2.get(hex)!;
    if (
      !verifyCommitment(TAGS.signCommitR, commitFields(ctx, peer.id, m.R), m.salt, keep.commitments.get(hex)!)
    ) {
      throw blameError('COMMITMENT_MISMATCH', hex, 'R_j does not open its flight-0 commitment', 'sign.3');
    }
    const [dU, dV] = rvoleReceiverRound3({
      instanceId: rvoleInstanceId(keep.sessionId, ctx.self.id, peer.id),
      keep: keep.receivers.get(hex)!,
      senderMessage: m.rvole,
      peer: hex,
    });
    const chi = keep.chi.get(hex)!;
    // χ is secret: constant-time multiply on the received points.
    if (!m.R.multiply(chi).equals(mulG(dU).add(m.gammaU))) {
      throw banError('GAMMA_CHECK_FAILED', hex, 'Γ^u check failed', 'sign.3');
    }
    if (!m.pk.multiply(chi).equals(mulG(dV).add(m.gammaV))) {
      throw banError('GAMMA_CHECK_FAILED', hex, 'Γ^v check failed', 'sign.3');
    }
    R = R.add(m.R);
    pkSum = pkSum.add(m.pk);
    psiSum = add(psiSum, m.psi);
    u = add(u, add(keep.cU.get(hex)!, dU));
    v = add(v, add(keep.cV.get(hex)!, dV));
  }
  if (!pkSum.equals(ctx.keyShare.descriptor.groupPublicKey)) {
    throw new TssError('PUBLIC_KEY_MISMATCH', 'the signers’ key shares do not add up to the vault key', {
      round: 'sign.3',
    });
  }
  if (R.equals(Point.ZERO)) throw new TssError('SIGNATURE_INVALID', 'R is the identity', { round: 'sign.3' });
  const Rx = R.toAffine().x;
  const rx = Fn.create(Rx);
  if (rx === 0n || Rx >= N) {
    // R.x ≥ n happens with probability ~2^-128; refusing keeps the recovery id in {0, 1}.
    throw new TssError('SIGNATURE_INVALID', 'degenerate R; retry', { round: 'sign.3' });
  }
  const ui = add(mul(keep.r, psiSum), u);
  const vi = add(mul(keep.sk, psiSum), v);
  const wi = add(mul(digestScalar(ctx.digest), keep.phi), mul(rx, vi));
  const own = { view: keep.view, u: ui, w: wi };
  for (const rk of keep.receivers.values()) rk.destroy();
  return { keep: { view: keep.view, R, rx, own }, broadcast: own };
}

/** Combine: s = Σw/Σu, low-s, and verify with plain secp256k1.verify before releasing anything. */
export function signCombine(ctx: SignContext, keep: KeepS3, s3: Inbox<SignS3Broadcast>): Signature {
  checkViews(ctx, keep.view, s3, 'sign.final');
  let u = keep.own.u;
  let w = keep.own.w;
  for (const peer of ctx.peers) {
    const m = s3.get(toHex(peer.id))!;
    u = add(u, m.u);
    w = add(w, m.w);
  }
  const fail = () =>
    new TssError('SIGNATURE_INVALID', 'the combined signature does not verify', {
      // With two signers the other one is the only possible culprit; with more, nobody is named.
      culprits: ctx.peers.length === 1 ? [toHex(ctx.peers[0]!.id)] : [],
      abortKind: 'retry',
      round: 'sign.final',
    });
  if (u === 0n) throw fail();
  let s = mul(w, inv(u));
  let recovery = keep.R.toAffine().y & 1n ? 1 : 0;
  if (s > N >> 1n) {
    s = Fn.neg(s);
    recovery ^= 1;
  }
  if (s === 0n) throw fail();
  const compact = concatBytes(scalarToBytes(keep.rx), scalarToBytes(s));
  const pk = ctx.keyShare.descriptor.groupPublicKey.toBytes(true);
  if (!secp256k1.verify(compact, ctx.digest, pk, { prehash: false, lowS: true, format: 'compact' }))
    throw fail();
  return { r: keep.rx, s, recovery, compact };
}
