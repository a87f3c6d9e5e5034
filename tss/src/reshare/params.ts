/**
 * Reshare parameters (PROTOCOL.md 5 and 6; Silence Labs dwtss §3 "dynamic refresh", SL-dkls23
 * `quorum_change.rs`): who deals, with which old points, who receives which new points, and the
 * digest every participant binds into commitments, proofs and the session id.
 *
 * The dealing set is chosen exactly like signing's point set T (sign/context.ts): from the old
 * parties taking part, the t_old smallest old points; a dealer is a party owning at least one of
 * them. Every participant derives the same T_old, so every participant expects the same
 * constant-term commitment A_i = Σ_{x∈T_old∩X_i} λ_x·P_old(x) from each dealer i, computed from
 * the old descriptor alone.
 */
import { compareBytes, concatBytes, equalBytes, toHex, u32be } from '../bytes.ts';
import { type DescriptorParty, encodeDescriptor, type VaultDescriptor } from '../descriptor.ts';
import { paramsDigest as newParamsDigest } from '../dkg/params.ts';
import { TssError } from '../errors.ts';
import { taggedHash } from '../hash.ts';
import { lagrangeAtZero } from '../math/lagrange.ts';
import { Point } from '../math/scalar.ts';
import { type PartySpec, type WeightedParams, type WeightedParty, weightedParams } from '../math/weighted.ts';
import { TAGS } from '../tags.ts';

export interface Dealer {
  readonly id: Uint8Array;
  /** The dealer's old points that are in T_old, ascending. */
  readonly points: readonly bigint[];
  /** λ_x^{T_old} for each of `points`. */
  readonly lambdas: readonly bigint[];
  /** A_i = Σ λ_x·P_old(x): the only constant-term commitment this dealer may send. */
  readonly expectedConstant: Point;
}

/** One participant of the reshare session: a dealer, a new party, or both. */
export interface Member {
  readonly id: Uint8Array;
  readonly hex: string;
  readonly dealer: Dealer | undefined;
  /** The party's place in the new committee (points consecutive in new id order). */
  readonly next: WeightedParty | undefined;
}

export interface ReshareParams {
  /** The descriptor of the epoch being replaced. */
  readonly oldDescriptor: VaultDescriptor;
  /** Old parties taking part (their power must reach the old threshold). */
  readonly oldParties: readonly Uint8Array[];
  readonly newParties: readonly PartySpec[];
  readonly newThreshold: number;
}

export interface ReshareContext {
  readonly old: VaultDescriptor;
  readonly oldDescriptorHash: Uint8Array;
  /** T_old: the t_old old points whose Lagrange-weighted shares are re-dealt, ascending. */
  readonly oldPoints: readonly bigint[];
  readonly dealers: readonly Dealer[];
  readonly next: WeightedParams;
  readonly newEpoch: number;
  /** Binds vault, old epoch, old descriptor, T_old, dealers, new parameters and new epoch. */
  readonly paramsDigest: Uint8Array;
  /** Every participant (dealers ∪ new parties), sorted by id. */
  readonly members: readonly Member[];
  readonly self: Member;
  /** `members` without self. */
  readonly peers: readonly Member[];
}

export function descriptorHash(d: VaultDescriptor): Uint8Array {
  return taggedHash(TAGS.reshareDescriptor, encodeDescriptor(d));
}

/** The participants of a reshare (dealers ∪ new parties, sorted by id); no self needed. */
export function reshareMembers(p: ReshareParams): {
  members: Member[];
  dealers: Dealer[];
  oldPoints: bigint[];
  next: WeightedParams;
} {
  const old = p.oldDescriptor;
  if (old.epoch >= 0xffffffff) throw new TssError('INVALID_PARAMETERS', 'epoch counter exhausted');
  const taking: DescriptorParty[] = [];
  for (const id of p.oldParties) {
    const q = old.parties.find((x) => equalBytes(x.id, id));
    if (!q)
      throw new TssError('INVALID_PARAMETERS', `old party ${toHex(id).slice(0, 16)}… is not in the vault`);
    if (taking.some((x) => equalBytes(x.id, id)))
      throw new TssError('INVALID_PARAMETERS', `old party ${toHex(id).slice(0, 16)}… listed twice`);
    taking.push(q);
  }
  const power = taking.reduce((s, q) => s + q.power, 0);
  if (power < old.threshold) {
    throw new TssError('BELOW_THRESHOLD', `old parties hold ${power} of the ${old.threshold} power needed`);
  }
  // Same rule as signing's T: the t_old smallest points held by the participating old parties.
  const oldPoints = taking
    .flatMap((q) => [...q.points])
    .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))
    .slice(0, old.threshold);
  const dealers: Dealer[] = [];
  for (const q of [...taking].sort((a, b) => compareBytes(a.id, b.id))) {
    const points = q.points.filter((x) => oldPoints.includes(x));
    if (points.length === 0) continue;
    const lambdas = points.map((x) => lagrangeAtZero(x, oldPoints));
    let expectedConstant = Point.ZERO;
    points.forEach((x, k) => {
      // Public values only (old public shares, Lagrange coefficients): variable-time is fine.
      expectedConstant = expectedConstant.add(old.publicShares[Number(x) - 1]!.multiplyUnsafe(lambdas[k]!));
    });
    dealers.push({ id: q.id, points, lambdas, expectedConstant });
  }
  // Σ A_i = Σ_{x∈T_old} λ_x·P(x) = PK for a consistent descriptor; checked once here so a
  // corrupted descriptor fails before anyone deals.
  const sum = dealers.reduce((acc, d) => acc.add(d.expectedConstant), Point.ZERO);
  if (!sum.equals(old.groupPublicKey)) {
    throw new TssError('PUBLIC_KEY_MISMATCH', 'old public shares do not interpolate to the group key');
  }
  const next = weightedParams(p.newParties, p.newThreshold);
  const ids = [...dealers.map((d) => d.id), ...next.parties.map((q) => q.id)];
  const unique: Uint8Array[] = [];
  for (const id of ids) if (!unique.some((u) => equalBytes(u, id))) unique.push(id);
  unique.sort(compareBytes);
  const members = unique.map((id) => ({
    id,
    hex: toHex(id),
    dealer: dealers.find((d) => equalBytes(d.id, id)),
    next: next.parties.find((q) => equalBytes(q.id, id)),
  }));
  return { members, dealers, oldPoints, next };
}

export function reshareContext(p: ReshareParams, selfId: Uint8Array): ReshareContext {
  const { members, dealers, oldPoints, next } = reshareMembers(p);
  const self = members.find((m) => equalBytes(m.id, selfId));
  if (!self) {
    throw new TssError('INVALID_PARAMETERS', 'this party neither deals nor joins the new committee');
  }
  const old = p.oldDescriptor;
  const oldDescriptorHash = descriptorHash(old);
  const newEpoch = old.epoch + 1;
  const dealerFields: Uint8Array[] = [];
  for (const d of dealers) dealerFields.push(d.id, concatBytes(...d.points.map((x) => u32be(Number(x)))));
  const digest = taggedHash(
    TAGS.reshareParams,
    old.vaultId,
    u32be(old.epoch),
    oldDescriptorHash,
    concatBytes(...oldPoints.map((x) => u32be(Number(x)))),
    ...dealerFields,
    newParamsDigest(next),
    u32be(newEpoch),
  );
  return {
    old,
    oldDescriptorHash,
    oldPoints,
    dealers,
    next,
    newEpoch,
    paramsDigest: digest,
    members,
    self,
    peers: members.filter((m) => m !== self),
  };
}

/**
 * The reshare session id: the parameter digest and every participant's random contribution in
 * member order. It differs from the DKG session id and from every other reshare's, so proofs and
 * pairwise OT sids of this session cannot be replayed elsewhere.
 */
export function reshareSessionId(ctx: ReshareContext, contributions: readonly Uint8Array[]): Uint8Array {
  return taggedHash(TAGS.reshareSession, ctx.paramsDigest, concatBytes(...contributions));
}
