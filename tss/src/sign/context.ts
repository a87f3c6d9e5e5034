/**
 * Who signs with which points (PROTOCOL.md 5): the signer set S (Σ power ≥ t), the deterministic
 * point set T (exactly t points: the t smallest points held by members of S, so every member derives
 * the same T and the same Lagrange coefficients), each party's additive share
 * sk_i = Σ_{x∈T∩X_i} λ_x^T·s(x) + ζ_i, and the pairwise zero shares ζ that sum to 0 over S.
 */
import { compareBytes, concatBytes, equalBytes, toHex, u32be } from '../bytes.ts';
import type { DescriptorParty } from '../descriptor.ts';
import { TssError } from '../errors.ts';
import { hashToScalar, taggedHash } from '../hash.ts';
import type { KeyShare } from '../keyshare.ts';
import { lagrangeAtZero } from '../math/lagrange.ts';
import { add, mul, sub } from '../math/scalar.ts';
import { TAGS } from '../tags.ts';

export interface SignContext {
  readonly keyShare: KeyShare;
  /** Signers sorted by id, self included. */
  readonly signers: readonly DescriptorParty[];
  readonly self: DescriptorParty;
  readonly peers: readonly DescriptorParty[];
  /** The t evaluation points used, ascending. */
  readonly points: readonly bigint[];
  readonly digest: Uint8Array;
  /** Hash of (S, T): every party must agree on it. */
  readonly setHash: Uint8Array;
}

export function signContext(
  keyShare: KeyShare,
  signerIds: readonly Uint8Array[],
  digest: Uint8Array,
  banned: ReadonlySet<string> = new Set(),
): SignContext {
  if (!(digest instanceof Uint8Array) || digest.length !== 32) {
    throw new TssError('INVALID_PARAMETERS', 'digest must be 32 bytes');
  }
  if (keyShare.restored) {
    throw new TssError(
      'REFRESH_REQUIRED',
      'this share was restored from a backup and has no OT state: run a refresh with the other signers first',
    );
  }
  const d = keyShare.descriptor;
  const signers: DescriptorParty[] = [];
  for (const id of signerIds) {
    const p = d.parties.find((q) => equalBytes(q.id, id));
    if (!p)
      throw new TssError('INVALID_PARAMETERS', `signer ${toHex(id).slice(0, 16)}… is not a vault party`);
    if (signers.some((q) => equalBytes(q.id, id))) {
      throw new TssError('INVALID_PARAMETERS', `signer ${toHex(id).slice(0, 16)}… listed twice`);
    }
    signers.push(p);
  }
  signers.sort((a, b) => compareBytes(a.id, b.id));
  const self = signers.find((p) => equalBytes(p.id, keyShare.selfId));
  if (!self) throw new TssError('INVALID_PARAMETERS', 'this party is not in the signer set');
  const power = signers.reduce((s, p) => s + p.power, 0);
  if (power < d.threshold) {
    throw new TssError('BELOW_THRESHOLD', `signers hold ${power} of the ${d.threshold} power needed`);
  }
  const bannedHere = signers.filter((p) => banned.has(toHex(p.id)));
  if (bannedHere.length > 0) {
    throw new TssError('BANNED_PARTY', 'a signer is banned until the vault is refreshed', {
      culprits: bannedHere.map((p) => toHex(p.id)),
    });
  }
  const points = signers
    .flatMap((p) => [...p.points])
    .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))
    .slice(0, d.threshold);
  const setHash = taggedHash(
    TAGS.signSession,
    new TextEncoder().encode('set'),
    concatBytes(...signers.map((p) => p.id)),
    concatBytes(...points.map((x) => u32be(Number(x)))),
  );
  return {
    keyShare,
    signers,
    self,
    peers: signers.filter((p) => p !== self),
    points,
    digest: digest.slice(),
    setHash,
  };
}

/** The signing session id: vault, epoch, DKG session, S, T, digest and every contribution. */
export function signSessionId(ctx: SignContext, contributions: readonly Uint8Array[]): Uint8Array {
  const d = ctx.keyShare.descriptor;
  return taggedHash(
    TAGS.signSession,
    d.vaultId,
    u32be(d.epoch),
    d.dkgSessionId,
    ctx.setHash,
    ctx.digest,
    concatBytes(...contributions),
  );
}

/** Σ_{x∈T∩X_self} λ_x^T·s(x) + ζ_self. */
export function additiveShare(ctx: SignContext, sessionId: Uint8Array): bigint {
  const ks = ctx.keyShare;
  let sk = 0n;
  ks.selfPoints.forEach((x, k) => {
    if (ctx.points.includes(x)) sk = add(sk, mul(lagrangeAtZero(x, ctx.points), ks.shares[k]!));
  });
  for (const peer of ctx.peers) {
    const seed = ks.peer(peer.id)?.zeroSeed;
    if (!seed) throw new TssError('INVALID_PARAMETERS', 'no pairwise state for a signer');
    const z = hashToScalar(TAGS.zeroShare, seed, sessionId);
    // The lower id adds, the higher subtracts: the pair's terms cancel in Σ over S.
    sk = compareBytes(ctx.self.id, peer.id) < 0 ? add(sk, z) : sub(sk, z);
  }
  return sk;
}

/** Instance id of the RVOLE in which `receiver` holds the random scalar and `sender` the inputs. */
export function rvoleInstanceId(sessionId: Uint8Array, receiver: Uint8Array, sender: Uint8Array): Uint8Array {
  return taggedHash(TAGS.rvoleSession, sessionId, receiver, sender);
}

export const digestScalar = (digest: Uint8Array): bigint => {
  // bits2int for a 256-bit hash then mod n (SEC1 4.1.3 step 5).
  let m = 0n;
  for (const b of digest) m = (m << 8n) | BigInt(b);
  return add(m, 0n);
};
