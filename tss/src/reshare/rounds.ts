/**
 * Reshare and refresh, one pure function per round. Follows Silence Labs' dwtss §3 "dynamic refresh
 * for weighted TSS" and SL-dkls23 `quorum_change.rs` (PROTOCOL.md 6), with the DKG's round shape
 * (dkg/rounds.ts: commit → open → share → confirm, echo digests before any blame) and DKLs23's
 * pairwise OT setup among the new committee (PROTOCOL.md 3.4).
 *
 * Construction. Old descriptor: degree-(t_old−1) sharing s(·) of the key s, public shares P(x).
 * Dealers O and points T_old (|T_old| = t_old) are fixed deterministically (params.ts). Each dealer
 * i ∈ O holds a_i = Σ_{x∈T_old∩X_i} λ_x^{T_old}·s(x) (so Σ_i a_i = s) and deals one fresh random
 * polynomial g_i of degree t_new−1 with g_i(0) = a_i, Feldman commitment G_i = (g_i,k·G)_k.
 *
 *  1. commit   every participant: contribution ρ_j, C_j = H(params, j, ρ_j, G_j, salt) (G_j = ()
 *              for a non-dealer). sid = H(params digest, ρ_1…ρ_m): binds vault id, old epoch, old
 *              descriptor hash, T_old, new ids/powers/threshold, new epoch and every contribution.
 *  2. open     to each peer: echo(round 1), G_j, salt, t_new Schnorr proofs of g_j,k bound to sid;
 *              between new parties also the base-OT receiver message (ot/setup.ts).
 *  3. share    after echo, decommitment, G_i,0 = A_i := Σ λ_x·P_old(x) (else PUBLIC_KEY_MISMATCH
 *              naming i), Σ_i G_i,0 = PK and proof checks: to each new party g_i(y) for each of its
 *              new points y; between new parties the base-OT reply and a zero-seed contribution;
 *              to everyone echo(all G_i).
 *  4. confirm  after echo and a Feldman check of every share (else FELDMAN_CHECK_FAILED naming the
 *              dealer): s'(y) = Σ_i g_i(y), P'(y) = Σ_i G_i(y), transcript hash over (sid, echoes,
 *              new epoch, PK, every P'(y)); broadcast it with a proof of each own s'(y) and, from
 *              a new party, a confirmation of each new pair's zero-share seed (zero-seed.ts).
 *  finalize    equal transcripts, valid proofs and matching zero-seed confirmations of every new
 *              pair (else ZERO_SEED_MISMATCH, retry, no culprit) → new descriptor (same vault id
 *              and DKG sid, epoch + 1), a *pending* KeyShare and the party's identity signature
 *              over the transcript (certificate.ts: nothing is activated before all new parties
 *              signed, and nobody signs before every pair confirmed its seed).
 *
 * Security argument (sketch).
 *  - Key preserved: s'(0) = Σ_i g_i(0) = Σ_i a_i = Σ_{x∈T_old} λ_x·s(x) = s. Every participant checks
 *    each G_i,0 against A_i, a value computed from the old descriptor alone, and Σ A_i = PK; a
 *    dealer cannot shift the key, and a dealer that dealt from a wrong share is named.
 *  - Consistency: G_i is committed before anyone sees other dealers' vectors (no adaptive choice of
 *    higher coefficients, e.g. to cancel the top degree), echoes make every participant use the same
 *    {G_i} before blame, and each received share is Feldman-checked against G_i; so every honest new
 *    party's s'(y) lies on the one polynomial committed by Σ G_i, of degree t_new−1.
 *  - Secrecy: each g_i has t_new−1 fresh uniform coefficients. A coalition holding fewer than t_new
 *    new points (plus fewer than t_old old points) sees, of every honest dealer's g_h, fewer than
 *    t_new evaluations, which are independent of a_h; the honest a_h jointly hide s exactly as the
 *    old sharing did. New shares are independent of the old ones given s, so mixing epochs gives
 *    nothing (and signing refuses mixed epochs). As TOB-SILA-4 cautions, a party corrupted during
 *    the reshare counts against both epochs' thresholds.
 *  - Binding: proofs are bound to sid (and public-share proofs to the transcript), so nothing from
 *    the DKG or another reshare replays. Pairwise OT sids are derived from sid, so the new OT state
 *    (and zero seeds) are fresh; a refresh therefore also ends any ban tied to the old OT state.
 *  - Two-phase finish (THREATS A23/A24): see certificate.ts.
 */
import { ethereumAddress } from '../address.ts';
import { compareBytes, concatBytes, equalBytes, u32be, utf8 } from '../bytes.ts';
import { DESCRIPTOR_VERSION, type VaultDescriptor } from '../descriptor.ts';
import { pairSessionId } from '../dkg/params.ts';
import { banError, TssError } from '../errors.ts';
import { taggedHash } from '../hash.ts';
import { KeyShare, type PeerState } from '../keyshare.ts';
import {
  addCommitments,
  commitPolynomial,
  evaluate,
  evaluateCommitment,
  randomPolynomial,
} from '../math/polynomial.ts';
import { add, mul, mulG, Point, pointToBytes } from '../math/scalar.ts';
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
import { certificateMessage, type IdentitySigner } from './certificate.ts';
import type { ReshareR1Broadcast, ReshareR2ToPeer, ReshareR3ToPeer, ReshareR4Broadcast } from './messages.ts';
import { type Member, type ReshareContext, reshareSessionId } from './params.ts';

/** Received messages of one round, keyed by sender hex id. */
export type Inbox<T> = ReadonlyMap<string, T>;

/** The public record of a finished reshare (kept next to the new epoch's share). */
export interface ReshareRecord {
  readonly sessionId: Uint8Array;
  readonly oldEpoch: number;
  readonly oldDescriptorHash: Uint8Array;
  readonly transcript: Uint8Array;
}

/**
 * A party's result. A new party gets a *pending* share for epoch + 1 and its identity signature
 * over the transcript; a leaving dealer gets only the public parts (it needs the certificate to
 * know when to delete its old share).
 */
export interface ReshareOutcome {
  readonly descriptor: VaultDescriptor;
  readonly record: ReshareRecord;
  readonly transcript: Uint8Array;
  readonly pending: KeyShare | undefined;
  readonly ownSignature: Uint8Array | undefined;
}

// ---------------------------------------------------------------------------------------------
// Kept state (secret; never sent). Each has destroy() to drop secrets when a round is done.

interface Destroyable {
  destroy(): void;
}

export interface KeepR1 extends Destroyable {
  readonly coeffs: bigint[];
  readonly feldman: readonly Point[];
  readonly salt: Uint8Array;
  readonly own: ReshareR1Broadcast;
}

export interface KeepR2 extends Destroyable {
  readonly sessionId: Uint8Array;
  readonly echo1: Uint8Array;
  readonly coeffs: bigint[];
  readonly feldman: readonly Point[];
  readonly r1: Inbox<ReshareR1Broadcast>;
  readonly otReceivers: Map<string, OtSetupReceiverKeep>;
}

/** One new–new pair's fresh setup. */
export interface PairSetup {
  readonly peer: Member;
  /** Self was base-OT sender toward `peer` (RVOLE receiver seeds). */
  readonly full: AboFullSeeds;
  punctured?: AboPuncturedSeeds;
  readonly zeroOut: Uint8Array;
  zeroSeed?: Uint8Array;
}

export interface KeepR3 extends Destroyable {
  readonly sessionId: Uint8Array;
  readonly echo1: Uint8Array;
  readonly echo2: Uint8Array;
  /** g_self(y) for each own new point (dealer and new party), else empty. */
  readonly selfShares: bigint[];
  /** Every dealer's Feldman vector, in dealer (id) order. */
  readonly feldmans: readonly (readonly Point[])[];
  readonly otReceivers: Map<string, OtSetupReceiverKeep>;
  readonly pairs: Map<string, PairSetup>;
}

export interface KeepR4 extends Destroyable {
  readonly sessionId: Uint8Array;
  readonly transcript: Uint8Array;
  readonly groupKey: Point;
  /** P'(y) for every new point y = 1..Σw', index y−1. */
  readonly publicShares: readonly Point[];
  /** s'(y) for each own new point (empty for a leaving dealer). */
  readonly shares: bigint[];
  readonly pairs: Map<string, PairSetup>;
  /** This party's published zero-seed confirmations, one per other new party in id order (public). */
  readonly zeroSeedConfirmations: readonly Uint8Array[];
}

function destroyPairs(pairs: Map<string, PairSetup>): void {
  for (const p of pairs.values()) {
    p.full.leaves.fill(0);
    p.punctured?.leaves.fill(0);
    p.punctured?.delta.fill(0);
    p.zeroOut.fill(0);
    p.zeroSeed?.fill(0);
  }
  pairs.clear();
}

function destroyReceivers(r: Map<string, OtSetupReceiverKeep>): void {
  for (const k of r.values()) k.destroy();
  r.clear();
}

// ---------------------------------------------------------------------------------------------

const feldmanBytes = (F: readonly Point[]): Uint8Array => concatBytes(...F.map(pointToBytes));

function commitmentFields(
  ctx: ReshareContext,
  id: Uint8Array,
  contribution: Uint8Array,
  F: readonly Point[],
) {
  return [ctx.paramsDigest, id, contribution, feldmanBytes(F)];
}

const isPair = (a: Member, b: Member): boolean => a.next !== undefined && b.next !== undefined;

/**
 * The dealer's constant term a_i = Σ_{x∈T_old∩X_i} λ_x·s(x), read from its old share. Only
 * computed, never stored beyond the polynomial. The old KeyShare is read, never modified: the old
 * epoch must stay usable whatever happens to this session.
 */
function dealtConstant(ctx: ReshareContext, oldShare: KeyShare | undefined): bigint | undefined {
  const dealer = ctx.self.dealer;
  if (!dealer) return undefined;
  if (!oldShare || !equalBytes(oldShare.selfId, ctx.self.id)) {
    throw new TssError('INVALID_PARAMETERS', 'a dealer needs its own old key share');
  }
  if (!equalBytes(oldShare.vaultId, ctx.old.vaultId) || oldShare.epoch !== ctx.old.epoch) {
    throw new TssError('EPOCH_MISMATCH', 'the old key share is not of the epoch being reshared');
  }
  let a = 0n;
  dealer.points.forEach((x, k) => {
    const idx = oldShare.selfPoints.indexOf(x);
    if (idx < 0) throw new TssError('INVALID_PARAMETERS', `old share lacks point ${x}`);
    a = add(a, mul(dealer.lambdas[k]!, oldShare.shares[idx]!));
  });
  return a;
}

/** Round 1: a dealer fixes g_i (constant term a_i) and commits to G_i; everyone contributes to sid. */
export function reshareRound1(
  ctx: ReshareContext,
  oldShare: KeyShare | undefined,
  rng: RandomBytes,
): { keep: KeepR1; broadcast: ReshareR1Broadcast } {
  const a = dealtConstant(ctx, oldShare);
  const coeffs = a === undefined ? [] : randomPolynomial(ctx.next.threshold, rng, a);
  const feldman = commitPolynomial(coeffs);
  const salt = rng(SALT_BYTES);
  const contribution = rng(32);
  const commitment = commit(
    TAGS.reshareCommit,
    commitmentFields(ctx, ctx.self.id, contribution, feldman),
    salt,
  );
  const own = { contribution, commitment };
  return {
    keep: { coeffs, feldman, salt, own, destroy: () => coeffs.fill(0n) },
    broadcast: own,
  };
}

function echoRound1(ctx: ReshareContext, sessionId: Uint8Array, all: Inbox<ReshareR1Broadcast>): Uint8Array {
  const fields: Uint8Array[] = [utf8('r1'), sessionId];
  for (const m of ctx.members) {
    const b = all.get(m.hex)!;
    fields.push(m.id, b.contribution, b.commitment);
  }
  return taggedHash(TAGS.reshareEcho, ...fields);
}

/** Round 2: fix sid, open the commitment, prove the coefficients, start base OTs with new peers. */
export function reshareRound2(
  ctx: ReshareContext,
  keep: KeepR1,
  r1: Inbox<ReshareR1Broadcast>,
  rng: RandomBytes,
): { keep: KeepR2; toPeer: Map<string, ReshareR2ToPeer> } {
  const all = new Map(r1);
  all.set(ctx.self.hex, keep.own);
  const sessionId = reshareSessionId(
    ctx,
    ctx.members.map((m) => all.get(m.hex)!.contribution),
  );
  const echo1 = echoRound1(ctx, sessionId, all);
  const proofs = keep.coeffs.map((c, k) =>
    schnorrProve(
      { kind: TAGS.resharePokCoefficient, sessionId, prover: ctx.self.id, label: u32be(k) },
      c,
      keep.feldman[k]!,
      rng,
    ),
  );
  const otReceivers = new Map<string, OtSetupReceiverKeep>();
  const toPeer = new Map<string, ReshareR2ToPeer>();
  for (const peer of ctx.peers) {
    let ot: Uint8Array = new Uint8Array(0);
    if (isPair(ctx.self, peer)) {
      // This party is the base-OT receiver in the direction peer → self.
      const started = otSetupReceiverStart(pairSessionId(sessionId, peer.id, ctx.self.id), rng);
      otReceivers.set(peer.hex, started.keep);
      ot = started.message;
    }
    toPeer.set(peer.hex, { echo: echo1, feldman: keep.feldman, salt: keep.salt, proofs, ot });
  }
  const coeffs = keep.coeffs;
  return {
    keep: {
      sessionId,
      echo1,
      coeffs,
      feldman: keep.feldman,
      r1: all,
      otReceivers,
      destroy: () => {
        coeffs.fill(0n);
        destroyReceivers(otReceivers);
      },
    },
    toPeer,
  };
}

function echoRound2(ctx: ReshareContext, sessionId: Uint8Array, feldmans: readonly (readonly Point[])[]) {
  const fields: Uint8Array[] = [utf8('r2'), sessionId];
  ctx.dealers.forEach((d, i) => {
    fields.push(d.id, feldmanBytes(feldmans[i]!));
  });
  return taggedHash(TAGS.reshareEcho, ...fields);
}

/**
 * Round 3: echo, openings, constant terms and proofs; then deal point shares to new parties and
 * answer base OTs. All checks come before any share leaves this party.
 */
export function reshareRound3(
  ctx: ReshareContext,
  keep: KeepR2,
  r2: Inbox<ReshareR2ToPeer>,
  rng: RandomBytes,
): { keep: KeepR3; toPeer: Map<string, ReshareR3ToPeer> } {
  // Echo first: a mismatch means someone equivocated in round 1; nobody can be blamed yet.
  for (const peer of ctx.peers) {
    if (!equalBytes(r2.get(peer.hex)!.echo, keep.echo1)) {
      throw new TssError('ECHO_MISMATCH', 'round-1 broadcasts were not seen identically by all parties', {
        round: 'reshare.r3',
      });
    }
  }
  for (const peer of ctx.peers) {
    const m = r2.get(peer.hex)!;
    const c = keep.r1.get(peer.hex)!;
    if (
      !verifyCommitment(
        TAGS.reshareCommit,
        commitmentFields(ctx, peer.id, c.contribution, m.feldman),
        m.salt,
        c.commitment,
      )
    ) {
      throw banError(
        'DECOMMIT_MISMATCH',
        peer.hex,
        'Feldman vector does not open the round-1 commitment',
        'reshare.r3',
      );
    }
    const dealer = peer.dealer;
    if (!dealer) continue;
    // The dealer may only re-deal its Lagrange-weighted old share: anything else shifts the key.
    if (!m.feldman[0]!.equals(dealer.expectedConstant)) {
      throw banError(
        'PUBLIC_KEY_MISMATCH',
        peer.hex,
        'constant-term commitment differs from the Lagrange-weighted old public shares',
        'reshare.r3',
      );
    }
    m.proofs.forEach((proof, k) => {
      const ok = schnorrVerify(
        { kind: TAGS.resharePokCoefficient, sessionId: keep.sessionId, prover: peer.id, label: u32be(k) },
        m.feldman[k]!,
        proof,
      );
      if (!ok)
        throw banError(
          'BAD_PROOF',
          peer.hex,
          `proof of knowledge for coefficient ${k} is invalid`,
          'reshare.r3',
        );
    });
  }
  const feldmans = ctx.dealers.map((d) =>
    equalBytes(d.id, ctx.self.id)
      ? keep.feldman
      : r2.get(ctx.members.find((m) => m.dealer === d)!.hex)!.feldman,
  );
  const constant = feldmans.reduce((acc, F) => acc.add(F[0]!), Point.ZERO);
  if (!constant.equals(ctx.old.groupPublicKey)) {
    // Unreachable when every A_i check passed and the old descriptor is consistent; kept as the
    // invariant the whole protocol rests on.
    throw new TssError('PUBLIC_KEY_MISMATCH', 'dealt constant terms do not sum to the group key', {
      round: 'reshare.r3',
    });
  }
  const echo2 = echoRound2(ctx, keep.sessionId, feldmans);
  const pairs = new Map<string, PairSetup>();
  const toPeer = new Map<string, ReshareR3ToPeer>();
  const empty: Uint8Array = new Uint8Array(0);
  for (const peer of ctx.peers) {
    let ot = empty;
    let zeroSeed = empty;
    if (isPair(ctx.self, peer)) {
      // This party is the base-OT sender in the direction self → peer.
      const res = otSetupSenderRespond(
        pairSessionId(keep.sessionId, ctx.self.id, peer.id),
        r2.get(peer.hex)!.ot,
        rng,
        peer.hex,
      );
      zeroSeed = rng(32);
      pairs.set(peer.hex, { peer, full: res.seeds, zeroOut: zeroSeed });
      ot = res.message;
    }
    const shares = ctx.self.dealer && peer.next ? peer.next.points.map((y) => evaluate(keep.coeffs, y)) : [];
    toPeer.set(peer.hex, { echo: echo2, shares, zeroSeed, ot });
  }
  const selfShares =
    ctx.self.dealer && ctx.self.next ? ctx.self.next.points.map((y) => evaluate(keep.coeffs, y)) : [];
  keep.coeffs.fill(0n);
  const otReceivers = keep.otReceivers;
  return {
    keep: {
      sessionId: keep.sessionId,
      echo1: keep.echo1,
      echo2,
      selfShares,
      feldmans,
      otReceivers,
      pairs,
      destroy: () => {
        selfShares.fill(0n);
        destroyReceivers(otReceivers);
        destroyPairs(pairs);
      },
    },
    toPeer,
  };
}

function pairZeroSeed(sessionId: Uint8Array, a: Member, aOut: Uint8Array, b: Member, bOut: Uint8Array) {
  // Order by id so both ends hash the same bytes; each end contributes half the entropy.
  const [lo, loOut, hi, hiOut] = compareBytes(a.id, b.id) < 0 ? [a, aOut, b, bOut] : [b, bOut, a, aOut];
  return taggedHash(TAGS.reshareZeroSeed, sessionId, lo.id, hi.id, loOut, hiOut);
}

export function reshareTranscriptHash(
  ctx: ReshareContext,
  sessionId: Uint8Array,
  echo1: Uint8Array,
  echo2: Uint8Array,
  groupKey: Point,
  publicShares: readonly Point[],
): Uint8Array {
  return taggedHash(
    TAGS.reshareTranscript,
    sessionId,
    ctx.paramsDigest,
    u32be(ctx.newEpoch),
    echo1,
    echo2,
    pointToBytes(groupKey),
    concatBytes(...publicShares.map(pointToBytes)),
  );
}

/** Round 4: echo, Feldman check of every received share, finish base OTs, prove own public shares. */
export function reshareRound4(
  ctx: ReshareContext,
  keep: KeepR3,
  r3: Inbox<ReshareR3ToPeer>,
  rng: RandomBytes,
): { keep: KeepR4; broadcast: ReshareR4Broadcast } {
  for (const peer of ctx.peers) {
    if (!equalBytes(r3.get(peer.hex)!.echo, keep.echo2)) {
      throw new TssError('ECHO_MISMATCH', 'round-2 openings were not seen identically by all parties', {
        round: 'reshare.r4',
      });
    }
  }
  const self = ctx.self;
  const ownPoints = self.next?.points ?? [];
  const shares = ownPoints.map((_, k) => keep.selfShares[k] ?? 0n);
  ctx.dealers.forEach((d, i) => {
    if (!self.next || equalBytes(d.id, self.id)) return;
    const hex = ctx.members.find((m) => m.dealer === d)!.hex;
    const m = r3.get(hex)!;
    const F = keep.feldmans[i]!;
    ownPoints.forEach((y, k) => {
      const s = m.shares[k]!;
      if (!mulG(s).equals(evaluateCommitment(F, y))) {
        throw banError(
          'FELDMAN_CHECK_FAILED',
          hex,
          `share for new point ${y} fails its Feldman check`,
          'reshare.r4',
        );
      }
      shares[k] = add(shares[k]!, s);
    });
  });
  const pairs = keep.pairs;
  for (const peer of ctx.peers) {
    if (!isPair(self, peer)) continue;
    const m = r3.get(peer.hex)!;
    const setup = pairs.get(peer.hex)!;
    setup.punctured = otSetupReceiverFinish(
      pairSessionId(keep.sessionId, peer.id, self.id),
      keep.otReceivers.get(peer.hex)!,
      m.ot,
      peer.hex,
    );
    setup.zeroSeed = pairZeroSeed(keep.sessionId, self, setup.zeroOut, peer, m.zeroSeed);
  }
  // Confirm the seed this party keeps (not the half it sent): that is what signing will use.
  const zeroSeedConfirmations = ctx.peers
    .filter((peer) => isPair(self, peer))
    .map((peer) =>
      zeroSeedConfirmation(
        TAGS.reshareZeroSeedConfirm,
        keep.sessionId,
        self.id,
        peer.id,
        pairs.get(peer.hex)!.zeroSeed!,
      ),
    );
  destroyReceivers(keep.otReceivers);
  let aggregate = keep.feldmans[0]!;
  for (let i = 1; i < keep.feldmans.length; i++) aggregate = addCommitments(aggregate, keep.feldmans[i]!);
  const groupKey = aggregate[0]!;
  const publicShares: Point[] = [];
  for (let y = 1n; y <= BigInt(ctx.next.totalPower); y++) publicShares.push(evaluateCommitment(aggregate, y));
  ownPoints.forEach((y, k) => {
    if (!mulG(shares[k]!).equals(publicShares[Number(y) - 1]!)) {
      throw new TssError('FELDMAN_CHECK_FAILED', `own share for new point ${y} is inconsistent`, {
        round: 'reshare.r4',
      });
    }
  });
  const transcript = reshareTranscriptHash(
    ctx,
    keep.sessionId,
    keep.echo1,
    keep.echo2,
    groupKey,
    publicShares,
  );
  const proofs = ownPoints.map((y, k) =>
    schnorrProve(
      { kind: TAGS.resharePokShare, sessionId: transcript, prover: self.id, label: u32be(Number(y)) },
      shares[k]!,
      publicShares[Number(y) - 1]!,
      rng,
    ),
  );
  keep.selfShares.fill(0n);
  return {
    keep: {
      sessionId: keep.sessionId,
      transcript,
      groupKey,
      publicShares,
      shares,
      pairs,
      zeroSeedConfirmations,
      destroy: () => {
        shares.fill(0n);
        destroyPairs(pairs);
      },
    },
    broadcast: { transcript, proofs, zeroSeedConfirmations },
  };
}

/**
 * Finalize: equal transcripts (checked before any blame), every new public share proven and every
 * new pair's zero-seed confirmations equal (checked by every member, leaving dealers included, so
 * all stop together; after the proofs so a provable culprit is still named); then
 * the new descriptor, the pending KeyShare and this party's identity signature over the transcript.
 * The KeyShare takes copies of the secrets, so the caller may destroy `keep` afterwards.
 *
 * With `deferSignature` nothing is signed here (`ownSignature` is undefined): the session runs where
 * the identity key must not be (the wallet's ceremony Worker), and the caller signs
 * `certificateMessage(descriptor, record.sessionId, record.transcript)` itself, after this returned.
 */
export function reshareFinalize(
  ctx: ReshareContext,
  keep: KeepR4,
  r4: Inbox<ReshareR4Broadcast>,
  signer: IdentitySigner | undefined,
  deferSignature = false,
): ReshareOutcome {
  for (const peer of ctx.peers) {
    if (!equalBytes(r4.get(peer.hex)!.transcript, keep.transcript)) {
      throw new TssError('TRANSCRIPT_MISMATCH', 'parties ended with different transcripts', {
        round: 'reshare.final',
      });
    }
  }
  for (const peer of ctx.peers) {
    const m = r4.get(peer.hex)!;
    (peer.next?.points ?? []).forEach((y, k) => {
      const ok = schnorrVerify(
        { kind: TAGS.resharePokShare, sessionId: keep.transcript, prover: peer.id, label: u32be(Number(y)) },
        keep.publicShares[Number(y) - 1]!,
        m.proofs[k]!,
      );
      if (!ok)
        throw banError(
          'BAD_PROOF',
          peer.hex,
          `public share proof for new point ${y} is invalid`,
          'reshare.final',
        );
    });
  }
  // Before any pending share or signature exists: a certificate must never activate an epoch in
  // which some pair's zero shares would not cancel (every signing with that pair would fail).
  const lists = new Map<string, readonly Uint8Array[]>();
  if (ctx.self.next) lists.set(ctx.self.hex, keep.zeroSeedConfirmations);
  for (const [hex, m] of r4)
    if (ctx.peers.find((p) => p.hex === hex)?.next) lists.set(hex, m.zeroSeedConfirmations);
  checkZeroSeedConfirmations(
    ctx.members.filter((m) => m.next !== undefined).map((m) => m.id),
    lists,
    'reshare.final',
  );
  const old = ctx.old;
  const descriptor: VaultDescriptor = {
    version: DESCRIPTOR_VERSION,
    vaultId: old.vaultId,
    dkgSessionId: old.dkgSessionId,
    epoch: ctx.newEpoch,
    groupPublicKey: keep.groupKey,
    address: ethereumAddress(keep.groupKey),
    parties: ctx.next.parties.map((p) => ({ id: p.id, power: p.power, points: p.points })),
    threshold: ctx.next.threshold,
    publicShares: keep.publicShares,
  };
  const record: ReshareRecord = {
    sessionId: keep.sessionId,
    oldEpoch: old.epoch,
    oldDescriptorHash: ctx.oldDescriptorHash,
    transcript: keep.transcript,
  };
  if (!ctx.self.next) {
    return { descriptor, record, transcript: keep.transcript, pending: undefined, ownSignature: undefined };
  }
  if (!signer && !deferSignature)
    throw new TssError('INVALID_PARAMETERS', 'a new party needs an identity signer');
  const peers: PeerState[] = ctx.peers
    .filter((p) => p.next !== undefined)
    .map((p) => {
      const s = keep.pairs.get(p.hex)!;
      return {
        id: p.id,
        full: { kind: 'abo-full', leaves: s.full.leaves.slice() },
        punctured: {
          kind: 'abo-punctured',
          delta: s.punctured!.delta.slice(),
          leaves: s.punctured!.leaves.slice(),
        },
        zeroSeed: s.zeroSeed!.slice(),
      };
    });
  const pending = new KeyShare(descriptor, ctx.self.id, [...keep.shares], peers);
  // Sign only after every check above: the signature says "I hold a share consistent with this
  // transcript", which is what makes a complete certificate safe to act on.
  const ownSignature =
    signer && !deferSignature
      ? signer(certificateMessage(descriptor, keep.sessionId, keep.transcript))
      : undefined;
  return { descriptor, record, transcript: keep.transcript, pending, ownSignature };
}
