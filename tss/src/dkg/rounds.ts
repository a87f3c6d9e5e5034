/**
 * The weighted DKG, one pure function per round (PROTOCOL.md 3.1, after Silence Labs' DKLs23 DKG
 * and FROST's part1/part2/part3 shape; Feldman VSS with weights as several points per party, §5):
 *
 *  1. commit    broadcast a random contribution and H(params, id, contribution, F_i, salt)
 *  2. open      to each peer: echo of round 1, F_i (exactly t points), salt, t Schnorr proofs,
 *               base-OT receiver message
 *  3. share     to each peer: echo of round 2's openings, f_i(x) for each of the peer's points,
 *               zero-share seed contribution, base-OT sender reply + all-but-one conversion
 *  4. confirm   broadcast the transcript hash, a proof of each own public share and, per peer, a
 *               confirmation of the pair's combined zero-share seed (zero-seed.ts)
 *  finalize     every transcript hash equal, every proof valid, both ends of every pair confirmed
 *               the same zero-share seed → KeyShare + VaultDescriptor
 *
 * Echo checks come first in rounds 3 and 4 so that a party who equivocated on a broadcast causes a
 * blameless `retry` everywhere, never honest parties blaming each other (TOB-SILA-8).
 */
import { concatBytes, equalBytes, u32be } from '../bytes.ts';
import { banError, TssError } from '../errors.ts';
import { taggedHash } from '../hash.ts';
import {
  addCommitments,
  commitPolynomial,
  evaluate,
  evaluateCommitment,
  randomPolynomial,
} from '../math/polynomial.ts';
import { add, mulG, Point, pointToBytes } from '../math/scalar.ts';
import type { WeightedParty } from '../math/weighted.ts';
import {
  type OtSetupReceiverKeep,
  otSetupReceiverFinish,
  otSetupReceiverStart,
  otSetupSenderRespond,
} from '../ot/setup.ts';
import type { AboFullSeeds, AboPuncturedSeeds } from '../ot/types.ts';
import { commit, SALT_BYTES, verifyCommitment } from '../proofs/commitment.ts';
import { schnorrProve, schnorrVerify } from '../proofs/schnorr.ts';
import type { RandomBytes } from '../random.ts';
import { TAGS } from '../tags.ts';
import { checkZeroSeedConfirmations, zeroSeedConfirmation } from '../zero-seed.ts';
import type { DkgR1Broadcast, DkgR2ToPeer, DkgR3ToPeer, DkgR4Broadcast } from './messages.ts';
import { type DkgContext, dkgSessionId, hexId, pairSessionId } from './params.ts';

/** Received messages of one round, keyed by sender hex id. */
export type Inbox<T> = ReadonlyMap<string, T>;

// ---------------------------------------------------------------------------------------------
// Kept state (secret; never sent). Each has destroy() to drop secrets as soon as a round is done.

export interface KeepR1 {
  readonly coeffs: bigint[];
  readonly feldman: readonly Point[];
  readonly salt: Uint8Array;
  readonly own: DkgR1Broadcast;
}

export interface KeepR2 {
  readonly sessionId: Uint8Array;
  readonly echo1: Uint8Array;
  readonly coeffs: bigint[];
  readonly feldman: readonly Point[];
  readonly salt: Uint8Array;
  readonly r1: Inbox<DkgR1Broadcast>;
  readonly otReceivers: Map<string, OtSetupReceiverKeep>;
}

export interface PeerSetup {
  readonly peer: WeightedParty;
  /** This party was base-OT sender toward `peer` (it will be RVOLE receiver). */
  readonly full: AboFullSeeds;
  /** `peer` was base-OT sender toward this party (this party will be RVOLE sender). */
  punctured?: AboPuncturedSeeds;
  readonly zeroOut: Uint8Array;
  zeroSeed?: Uint8Array;
}

export interface KeepR3 {
  readonly sessionId: Uint8Array;
  readonly echo1: Uint8Array;
  readonly echo2: Uint8Array;
  /** f_self(x) for each own point x. */
  readonly selfShares: bigint[];
  /** Every party's Feldman vector, in party order. */
  readonly feldmans: readonly (readonly Point[])[];
  readonly otReceivers: Map<string, OtSetupReceiverKeep>;
  readonly peers: Map<string, PeerSetup>;
}

export interface KeepR4 {
  readonly sessionId: Uint8Array;
  readonly transcript: Uint8Array;
  readonly groupKey: Point;
  /** P(x) for every point x = 1..Σw, index x−1. */
  readonly publicShares: readonly Point[];
  /** s(x) for each own point. */
  readonly shares: bigint[];
  readonly peers: Map<string, PeerSetup>;
  /** This party's published zero-seed confirmations, one per peer in id order (public). */
  readonly zeroSeedConfirmations: readonly Uint8Array[];
}

export function destroyKeep(k: { coeffs?: bigint[]; shares?: bigint[]; selfShares?: bigint[] }): void {
  // bigints are immutable; dropping references is the best JS allows. Arrays are emptied.
  k.coeffs?.fill(0n);
  k.shares?.fill(0n);
  k.selfShares?.fill(0n);
}

// ---------------------------------------------------------------------------------------------

function feldmanBytes(F: readonly Point[]): Uint8Array {
  return concatBytes(...F.map(pointToBytes));
}

function commitmentFields(ctx: DkgContext, id: Uint8Array, contribution: Uint8Array, F: readonly Point[]) {
  return [ctx.paramsDigest, id, contribution, feldmanBytes(F)];
}

/** Round 1: sample f_i, commit to its Feldman vector, and contribute to the session id. */
export function dkgRound1(ctx: DkgContext, rng: RandomBytes): { keep: KeepR1; broadcast: DkgR1Broadcast } {
  const coeffs = randomPolynomial(ctx.params.threshold, rng);
  const feldman = commitPolynomial(coeffs);
  const salt = rng(SALT_BYTES);
  const contribution = rng(32);
  const commitment = commit(TAGS.dkgCommit, commitmentFields(ctx, ctx.self.id, contribution, feldman), salt);
  const own = { contribution, commitment };
  return { keep: { coeffs, feldman, salt, own }, broadcast: own };
}

function echoRound1(ctx: DkgContext, sessionId: Uint8Array, all: Inbox<DkgR1Broadcast>): Uint8Array {
  const fields: Uint8Array[] = [utf8Tag('r1'), sessionId];
  for (const p of ctx.params.parties) {
    const m = all.get(hexId(p))!;
    fields.push(p.id, m.contribution, m.commitment);
  }
  return taggedHash(TAGS.dkgEcho, ...fields);
}

const utf8Tag = (s: string): Uint8Array => new TextEncoder().encode(s);

/** Round 2: fix the session id, open the commitment, prove the coefficients, start base OTs. */
export function dkgRound2(
  ctx: DkgContext,
  keep: KeepR1,
  r1: Inbox<DkgR1Broadcast>,
  rng: RandomBytes,
): { keep: KeepR2; toPeer: Map<string, DkgR2ToPeer> } {
  const all = new Map(r1);
  all.set(hexId(ctx.self), keep.own);
  const sessionId = dkgSessionId(
    ctx,
    ctx.params.parties.map((p) => all.get(hexId(p))!.contribution),
  );
  const echo1 = echoRound1(ctx, sessionId, all);
  const proofs = keep.coeffs.map((c, k) =>
    schnorrProve(
      { kind: TAGS.dkgPokCoefficient, sessionId, prover: ctx.self.id, label: u32be(k) },
      c,
      keep.feldman[k]!,
      rng,
    ),
  );
  const otReceivers = new Map<string, OtSetupReceiverKeep>();
  const toPeer = new Map<string, DkgR2ToPeer>();
  for (const peer of ctx.peers) {
    // This party is the base-OT receiver in the direction peer → self.
    const { message, keep: otKeep } = otSetupReceiverStart(
      pairSessionId(sessionId, peer.id, ctx.self.id),
      rng,
    );
    otReceivers.set(hexId(peer), otKeep);
    toPeer.set(hexId(peer), { echo: echo1, feldman: keep.feldman, salt: keep.salt, proofs, ot: message });
  }
  return {
    keep: {
      sessionId,
      echo1,
      coeffs: keep.coeffs,
      feldman: keep.feldman,
      salt: keep.salt,
      r1: all,
      otReceivers,
    },
    toPeer,
  };
}

function echoRound2(
  ctx: DkgContext,
  sessionId: Uint8Array,
  feldmans: readonly (readonly Point[])[],
): Uint8Array {
  const fields: Uint8Array[] = [utf8Tag('r2'), sessionId];
  ctx.params.parties.forEach((p, i) => {
    fields.push(p.id, feldmanBytes(feldmans[i]!));
  });
  return taggedHash(TAGS.dkgEcho, ...fields);
}

/** Round 3: check echoes, openings and proofs; deal point shares; answer base OTs. */
export function dkgRound3(
  ctx: DkgContext,
  keep: KeepR2,
  r2: Inbox<DkgR2ToPeer>,
  rng: RandomBytes,
): { keep: KeepR3; toPeer: Map<string, DkgR3ToPeer> } {
  // Echo first: a mismatch means someone equivocated in round 1; nobody can be blamed yet.
  for (const peer of ctx.peers) {
    if (!equalBytes(r2.get(hexId(peer))!.echo, keep.echo1)) {
      throw new TssError('ECHO_MISMATCH', 'round-1 broadcasts were not seen identically by all parties', {
        round: 'dkg.r3',
      });
    }
  }
  for (const peer of ctx.peers) {
    const id = hexId(peer);
    const m = r2.get(id)!;
    const c = keep.r1.get(id)!;
    if (
      !verifyCommitment(
        TAGS.dkgCommit,
        commitmentFields(ctx, peer.id, c.contribution, m.feldman),
        m.salt,
        c.commitment,
      )
    ) {
      throw banError(
        'DECOMMIT_MISMATCH',
        id,
        'Feldman vector does not open the round-1 commitment',
        'dkg.r3',
      );
    }
    m.proofs.forEach((proof, k) => {
      const ok = schnorrVerify(
        { kind: TAGS.dkgPokCoefficient, sessionId: keep.sessionId, prover: peer.id, label: u32be(k) },
        m.feldman[k]!,
        proof,
      );
      if (!ok)
        throw banError('BAD_PROOF', id, `proof of knowledge for coefficient ${k} is invalid`, 'dkg.r3');
    });
  }
  const feldmans = ctx.params.parties.map((p) =>
    p.index === ctx.self.index ? keep.feldman : r2.get(hexId(p))!.feldman,
  );
  const echo2 = echoRound2(ctx, keep.sessionId, feldmans);
  const peers = new Map<string, PeerSetup>();
  const toPeer = new Map<string, DkgR3ToPeer>();
  for (const peer of ctx.peers) {
    const id = hexId(peer);
    // This party is the base-OT sender in the direction self → peer.
    const { message, seeds } = otSetupSenderRespond(
      pairSessionId(keep.sessionId, ctx.self.id, peer.id),
      r2.get(id)!.ot,
      rng,
      id,
    );
    const zeroOut = rng(32);
    peers.set(id, { peer, full: seeds, zeroOut });
    toPeer.set(id, {
      echo: echo2,
      shares: peer.points.map((x) => evaluate(keep.coeffs, x)),
      zeroSeed: zeroOut,
      ot: message,
    });
  }
  const selfShares = ctx.self.points.map((x) => evaluate(keep.coeffs, x));
  destroyKeep(keep);
  return {
    keep: {
      sessionId: keep.sessionId,
      echo1: keep.echo1,
      echo2,
      selfShares,
      feldmans,
      otReceivers: keep.otReceivers,
      peers,
    },
    toPeer,
  };
}

function zeroSeed(
  sessionId: Uint8Array,
  a: WeightedParty,
  aOut: Uint8Array,
  b: WeightedParty,
  bOut: Uint8Array,
) {
  // Order by party index so both ends hash the same bytes; each end contributes half the entropy.
  const [lo, loOut, hi, hiOut] = a.index < b.index ? [a, aOut, b, bOut] : [b, bOut, a, aOut];
  return taggedHash(TAGS.zeroSeed, sessionId, lo.id, hi.id, loOut, hiOut);
}

export function transcriptHash(
  ctx: DkgContext,
  sessionId: Uint8Array,
  echo1: Uint8Array,
  echo2: Uint8Array,
  groupKey: Point,
  publicShares: readonly Point[],
): Uint8Array {
  return taggedHash(
    TAGS.dkgTranscript,
    sessionId,
    ctx.paramsDigest,
    echo1,
    echo2,
    pointToBytes(groupKey),
    concatBytes(...publicShares.map(pointToBytes)),
  );
}

/** Round 4: check echoes and every received share (Feldman); finish base OTs; prove own public shares. */
export function dkgRound4(
  ctx: DkgContext,
  keep: KeepR3,
  r3: Inbox<DkgR3ToPeer>,
  rng: RandomBytes,
): { keep: KeepR4; broadcast: DkgR4Broadcast } {
  for (const peer of ctx.peers) {
    if (!equalBytes(r3.get(hexId(peer))!.echo, keep.echo2)) {
      throw new TssError('ECHO_MISMATCH', 'round-2 openings were not seen identically by all parties', {
        round: 'dkg.r4',
      });
    }
  }
  const shares = [...keep.selfShares];
  for (const peer of ctx.peers) {
    const id = hexId(peer);
    const m = r3.get(id)!;
    const F = keep.feldmans[peer.index]!;
    ctx.self.points.forEach((x, k) => {
      const s = m.shares[k]!;
      if (!mulG(s).equals(evaluateCommitment(F, x))) {
        throw banError('FELDMAN_CHECK_FAILED', id, `share for point ${x} fails its Feldman check`, 'dkg.r4');
      }
      shares[k] = add(shares[k]!, s);
    });
  }
  const peers = keep.peers;
  for (const peer of ctx.peers) {
    const id = hexId(peer);
    const m = r3.get(id)!;
    const setup = peers.get(id)!;
    setup.punctured = otSetupReceiverFinish(
      pairSessionId(keep.sessionId, peer.id, ctx.self.id),
      keep.otReceivers.get(id)!,
      m.ot,
      id,
    );
    setup.zeroSeed = zeroSeed(keep.sessionId, ctx.self, setup.zeroOut, peer, m.zeroSeed);
  }
  // Confirm the seed this party keeps (not the half it sent): that is what signing will use.
  const zeroSeedConfirmations = ctx.peers.map((peer) =>
    zeroSeedConfirmation(
      TAGS.dkgZeroSeedConfirm,
      keep.sessionId,
      ctx.self.id,
      peer.id,
      peers.get(hexId(peer))!.zeroSeed!,
    ),
  );
  let aggregate = keep.feldmans[0]!;
  for (let i = 1; i < keep.feldmans.length; i++) aggregate = addCommitments(aggregate, keep.feldmans[i]!);
  const groupKey = aggregate[0]!;
  if (groupKey.equals(Point.ZERO)) {
    throw new TssError('PUBLIC_KEY_MISMATCH', 'group public key is the identity', { round: 'dkg.r4' });
  }
  const publicShares: Point[] = [];
  for (let x = 1n; x <= BigInt(ctx.params.totalPower); x++)
    publicShares.push(evaluateCommitment(aggregate, x));
  ctx.self.points.forEach((x, k) => {
    if (!mulG(shares[k]!).equals(publicShares[Number(x) - 1]!)) {
      throw new TssError('FELDMAN_CHECK_FAILED', `own share for point ${x} is inconsistent`, {
        round: 'dkg.r4',
      });
    }
  });
  const transcript = transcriptHash(ctx, keep.sessionId, keep.echo1, keep.echo2, groupKey, publicShares);
  const proofs = ctx.self.points.map((x, k) =>
    schnorrProve(
      { kind: TAGS.dkgPokShare, sessionId: transcript, prover: ctx.self.id, label: u32be(Number(x)) },
      shares[k]!,
      publicShares[Number(x) - 1]!,
      rng,
    ),
  );
  for (const k of keep.otReceivers.values()) k.destroy();
  keep.otReceivers.clear();
  destroyKeep(keep);
  return {
    keep: {
      sessionId: keep.sessionId,
      transcript,
      groupKey,
      publicShares,
      shares,
      peers,
      zeroSeedConfirmations,
    },
    broadcast: { transcript, proofs, zeroSeedConfirmations },
  };
}

/**
 * Finalize: everyone must report the same transcript and prove every public share, and both ends
 * of every pair must have confirmed the same zero-share seed. Every party checks every pair from
 * the broadcasts, so a mismatch stops all honest parties, not only the two concerned; it comes
 * after the proofs so that a provable culprit is still named when there is one.
 */
export function dkgFinalize(ctx: DkgContext, keep: KeepR4, r4: Inbox<DkgR4Broadcast>): KeepR4 {
  for (const peer of ctx.peers) {
    if (!equalBytes(r4.get(hexId(peer))!.transcript, keep.transcript)) {
      throw new TssError('TRANSCRIPT_MISMATCH', 'parties ended with different transcripts', {
        round: 'dkg.final',
      });
    }
  }
  for (const peer of ctx.peers) {
    const m = r4.get(hexId(peer))!;
    peer.points.forEach((x, k) => {
      const ok = schnorrVerify(
        { kind: TAGS.dkgPokShare, sessionId: keep.transcript, prover: peer.id, label: u32be(Number(x)) },
        keep.publicShares[Number(x) - 1]!,
        m.proofs[k]!,
      );
      if (!ok)
        throw banError('BAD_PROOF', hexId(peer), `public share proof for point ${x} is invalid`, 'dkg.final');
    });
  }
  const lists = new Map<string, readonly Uint8Array[]>([[hexId(ctx.self), keep.zeroSeedConfirmations]]);
  for (const [hex, m] of r4) lists.set(hex, m.zeroSeedConfirmations);
  checkZeroSeedConfirmations(
    ctx.params.parties.map((p) => p.id),
    lists,
    'dkg.final',
  );
  return keep;
}
