/**
 * Request kind `reshare` (also a refresh: the same committee, fresh shares): a new committee and
 * threshold for the same key. The body lists the new members and the current committee with their
 * identities and the current tss descriptor, so a joining device (no vault record yet) can
 * authenticate everyone. Nothing is signed with the group key: the ceremony is a tss reshare whose
 * certificate covers the new epoch, so the kind has no signing digest.
 */
import { decodeDescriptor } from '@concord/tss';
import { fromBase64url, safetyCode, toBase64url } from '@concord/tss/transport';
import * as v from 'valibot';
import { toHex } from '../bytes.ts';
import { RequestError } from '../errors.ts';
import {
  B64,
  MemberSchema,
  memberJson,
  parseMembers,
  type RequestMember,
  sortedMembers,
} from '../members.ts';
import { layoutProblem } from '../quorum.ts';

export interface ReshareBody {
  kind: 'reshare';
  /** The vault's name, for a joining device's records. */
  name: string;
  threshold: number;
  /** The new committee, sorted by device id. */
  members: RequestMember[];
  /**
   * The current committee with identities (sorted), so a joining device — which has no vault record —
   * can authenticate the current members' messages and decisions. Must match the descriptor.
   */
  current: RequestMember[];
  /** Encoded tss descriptor of the current epoch (public): what a joining device needs. */
  descriptor: Uint8Array;
}

/** What a person approves for a reshare: old and new layout, and the code to compare out of band. */
export interface ReshareDescription {
  kind: 'reshare';
  oldThreshold: number;
  newThreshold: number;
  current: RequestMember[];
  members: RequestMember[];
  /** Device ids that join (in the new committee, not in the current one). */
  joiners: string[];
  /** Device ids that leave. */
  leavers: string[];
}

export const reshareWire = v.strictObject({
  kind: v.literal('reshare'),
  name: v.pipe(v.string(), v.minLength(1), v.maxLength(64)),
  threshold: v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(256)),
  members: v.pipe(v.array(MemberSchema), v.minLength(2), v.maxLength(16)),
  current: v.pipe(v.array(MemberSchema), v.minLength(1), v.maxLength(16)),
  descriptor: B64(64 * 1024),
});

export const reshare = {
  kind: 'reshare',
  session: 'reshare',
  wire: reshareWire,
  encode(b: ReshareBody) {
    return {
      kind: 'reshare',
      name: b.name,
      threshold: b.threshold,
      members: sortedMembers(b.members).map(memberJson),
      current: sortedMembers(b.current).map(memberJson),
      descriptor: toBase64url(b.descriptor),
    };
  },
  decode(w: v.InferOutput<typeof reshareWire>): ReshareBody {
    const members = parseMembers(w.members);
    const current = parseMembers(w.current);
    const descriptor = fromBase64url(w.descriptor, 'descriptor');
    let d: ReturnType<typeof decodeDescriptor>;
    try {
      d = decodeDescriptor(descriptor);
    } catch {
      throw new RequestError('reshare descriptor does not decode');
    }
    // The current committee must be exactly the descriptor's parties with their powers.
    if (
      current.length !== d.parties.length ||
      !d.parties.every((p) => current.some((c) => c.deviceId === toHex(p.id) && c.power === p.power))
    ) {
      throw new RequestError('current members do not match the vault descriptor');
    }
    const problem = layoutProblem(members, w.threshold);
    if (problem !== null) throw new RequestError(problem);
    return { kind: 'reshare', name: w.name, threshold: w.threshold, members, current, descriptor };
  },
  digests(_b: ReshareBody): Uint8Array[] {
    return [];
  },
  describe(b: ReshareBody): ReshareDescription {
    const d = decodeDescriptor(b.descriptor);
    const cur = new Set(b.current.map((m) => m.deviceId));
    const next = new Set(b.members.map((m) => m.deviceId));
    return {
      kind: 'reshare',
      oldThreshold: d.threshold,
      newThreshold: b.threshold,
      current: b.current,
      members: b.members,
      joiners: b.members.filter((m) => !cur.has(m.deviceId)).map((m) => m.deviceId),
      leavers: b.current.filter((m) => !next.has(m.deviceId)).map((m) => m.deviceId),
    };
  },
} as const;

/** Safety code of a reshare: request id, new threshold and the new (identity, power) list. */
export function reshareSafetyCode(requestId: string, b: ReshareBody): string {
  return safetyCode({
    ceremonyId: requestId,
    threshold: b.threshold,
    members: b.members.map((m) => ({ identity: m.identity, power: m.power })),
  });
}
