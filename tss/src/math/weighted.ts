/**
 * Weighted Shamir sharing: a party with signing power w holds w consecutive evaluation points
 * (Silence Labs dwtss §2; PROTOCOL.md 5). Parties are ordered by their 32-byte ids, so every party
 * derives the same point map: the first party holds 1..w₁, the next w₁+1..w₁+w₂, and so on.
 */
import { compareBytes, equalBytes, toHex } from '../bytes.ts';
import { TssError } from '../errors.ts';

export const PARTY_ID_BYTES = 32;
/** Upper bounds keep every count a small, validated integer (THREATS A40-style caps). */
export const MAX_PARTIES = 64;
export const MAX_TOTAL_POWER = 256;

export interface PartySpec {
  /** Opaque 32-byte id (the device's identity public key in the wallet). */
  readonly id: Uint8Array;
  /** Signing power w ≥ 1: the number of evaluation points this party holds. */
  readonly power: number;
}

export interface WeightedParty extends PartySpec {
  /** Index in the id-sorted party list. */
  readonly index: number;
  /** The party's evaluation points, consecutive, 1-based. */
  readonly points: readonly bigint[];
}

export interface WeightedParams {
  /** Parties sorted by id. */
  readonly parties: readonly WeightedParty[];
  readonly threshold: number;
  readonly totalPower: number;
}

/**
 * Validate and normalise (sort, assign points). Rejects t = 0, t > Σw, w = 0, non-integer values,
 * ids that are not 32 bytes, duplicate ids, and sizes beyond the caps.
 */
export function weightedParams(parties: readonly PartySpec[], threshold: number): WeightedParams {
  if (!Array.isArray(parties) || parties.length === 0) {
    throw new TssError('INVALID_PARAMETERS', 'at least one party is required');
  }
  if (parties.length > MAX_PARTIES)
    throw new TssError('INVALID_PARAMETERS', `at most ${MAX_PARTIES} parties`);
  for (const p of parties) {
    if (!(p.id instanceof Uint8Array) || p.id.length !== PARTY_ID_BYTES) {
      throw new TssError('INVALID_PARAMETERS', `party id must be ${PARTY_ID_BYTES} bytes`);
    }
    if (!Number.isSafeInteger(p.power) || p.power < 1) {
      throw new TssError('INVALID_PARAMETERS', `party ${toHex(p.id)} has invalid power ${p.power}`, {
        culprits: [toHex(p.id)],
      });
    }
  }
  const sorted = [...parties].sort((a, b) => compareBytes(a.id, b.id));
  for (let i = 1; i < sorted.length; i++) {
    if (equalBytes(sorted[i]!.id, sorted[i - 1]!.id)) {
      throw new TssError('INVALID_PARAMETERS', `duplicate party id ${toHex(sorted[i]!.id)}`);
    }
  }
  const totalPower = sorted.reduce((s, p) => s + p.power, 0);
  if (totalPower > MAX_TOTAL_POWER) {
    throw new TssError('INVALID_PARAMETERS', `total power ${totalPower} exceeds ${MAX_TOTAL_POWER}`);
  }
  if (!Number.isSafeInteger(threshold) || threshold < 1 || threshold > totalPower) {
    throw new TssError('INVALID_PARAMETERS', `threshold must be between 1 and total power ${totalPower}`);
  }
  let next = 1n;
  const out: WeightedParty[] = sorted.map((p, index) => {
    const points: bigint[] = [];
    for (let k = 0; k < p.power; k++) points.push(next++);
    return { id: p.id.slice(), power: p.power, index, points };
  });
  return { parties: out, threshold, totalPower };
}

export function findParty(params: WeightedParams, id: Uint8Array): WeightedParty | undefined {
  return params.parties.find((p) => equalBytes(p.id, id));
}

export function allPoints(params: WeightedParams): bigint[] {
  return params.parties.flatMap((p) => [...p.points]);
}
