/**
 * DKG parameters, their digest and their human-comparable fingerprint.
 *
 * The digest binds the sorted ids, powers and threshold; it enters every commitment and the session
 * id, so parties that disagree on parameters can never finish together. The fingerprint is what
 * devices show before a ceremony starts so people can catch a substituted member out of band.
 */
import { concatBytes, equalBytes, toHex, u32be } from '../bytes.ts';
import { TssError } from '../errors.ts';
import { taggedHash } from '../hash.ts';
import {
  findParty,
  type PartySpec,
  type WeightedParams,
  type WeightedParty,
  weightedParams,
} from '../math/weighted.ts';
import { TAGS } from '../tags.ts';

export interface DkgContext {
  readonly params: WeightedParams;
  readonly self: WeightedParty;
  /** Hash of (sorted ids, powers, threshold). */
  readonly paramsDigest: Uint8Array;
  /** Other parties, in id order. */
  readonly peers: readonly WeightedParty[];
}

export function paramsDigest(params: WeightedParams): Uint8Array {
  const fields: Uint8Array[] = [u32be(params.threshold), u32be(params.parties.length)];
  for (const p of params.parties) fields.push(p.id, u32be(p.power));
  return taggedHash(TAGS.dkgParams, ...fields);
}

/**
 * A short code over the parameters: 5 groups of 5 digits (~83 bits), e.g. `04817 55203 …`. Every
 * device derives the same code from the same parameters; any change of member id, power or
 * threshold changes it.
 */
export function paramsFingerprint(parties: readonly PartySpec[], threshold: number): string {
  const d = taggedHash(TAGS.dkgFingerprint, paramsDigest(weightedParams(parties, threshold)));
  const groups: string[] = [];
  for (let g = 0; g < 5; g++) {
    // 4 bytes → a number mod 10^5; bias is < 2^-15 per group, irrelevant for a comparison code.
    const n = ((d[4 * g]! << 24) | (d[4 * g + 1]! << 16) | (d[4 * g + 2]! << 8) | d[4 * g + 3]!) >>> 0;
    groups.push(String(n % 100000).padStart(5, '0'));
  }
  return groups.join(' ');
}

export function dkgContext(parties: readonly PartySpec[], threshold: number, selfId: Uint8Array): DkgContext {
  const params = weightedParams(parties, threshold);
  const self = findParty(params, selfId);
  if (!self) throw new TssError('INVALID_PARAMETERS', 'own id is not among the parties');
  return {
    params,
    self,
    paramsDigest: paramsDigest(params),
    peers: params.parties.filter((p) => !equalBytes(p.id, selfId)),
  };
}

/** The ceremony session id: parameters and every party's random contribution, in id order. */
export function dkgSessionId(ctx: DkgContext, contributions: readonly Uint8Array[]): Uint8Array {
  return taggedHash(TAGS.dkgSession, ctx.paramsDigest, concatBytes(...contributions));
}

/** Pairwise session id for the OT setup in which `sender` is the base-OT sender. */
export function pairSessionId(sessionId: Uint8Array, sender: Uint8Array, receiver: Uint8Array): Uint8Array {
  return taggedHash(TAGS.baseOtSession, sessionId, sender, receiver);
}

export const hexId = (p: { id: Uint8Array }): string => toHex(p.id);
