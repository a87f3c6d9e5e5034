/**
 * Members as requests carry them: a device's self-authenticating public identity (tss identity.ts),
 * its hex id, its signing power and a label. Canonical JSON form (sorted by device id, identity in
 * base64url) and its strict parse, shared by every request kind that lists members.
 */
import {
  decodePublicIdentity,
  encodePublicIdentity,
  fromBase64url,
  type PublicDeviceIdentity,
  toBase64url,
} from '@concord/tss/transport';
import * as v from 'valibot';
import { toHex } from './bytes.ts';
import { RequestError } from './errors.ts';

export interface RequestMember {
  identity: PublicDeviceIdentity;
  /** Lowercase hex device id. */
  deviceId: string;
  power: number;
  label: string;
}

/** Schema pieces every wire format of the runtime uses. */
export const Hex = (len: number) => v.pipe(v.string(), v.regex(new RegExp(`^[0-9a-f]{${len}}$`)));
export const B64 = (max: number) => v.pipe(v.string(), v.maxLength(max), v.regex(/^[A-Za-z0-9_-]*$/));

export const MemberSchema = v.strictObject({
  identity: B64(256),
  power: v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(16)),
  label: v.pipe(v.string(), v.maxLength(64)),
});

export function sortedMembers(ms: readonly RequestMember[]): RequestMember[] {
  return [...ms].sort((a, b) => a.deviceId.localeCompare(b.deviceId));
}

export function memberJson(m: RequestMember) {
  return { identity: toBase64url(encodePublicIdentity(m.identity)), power: m.power, label: m.label };
}

/** Parses a member list; refuses duplicates and any order but ascending device id. */
export function parseMembers(
  list: readonly { identity: string; power: number; label: string }[],
): RequestMember[] {
  const members: RequestMember[] = list.map((m) => {
    const identity = decodePublicIdentity(fromBase64url(m.identity, 'member identity'));
    return { identity, deviceId: toHex(identity.deviceId), power: m.power, label: m.label };
  });
  const ids = members.map((m) => m.deviceId);
  if (new Set(ids).size !== ids.length) throw new RequestError('duplicate member');
  if (ids.some((id, i) => i > 0 && ids[i - 1]! > id)) throw new RequestError('members not sorted');
  return members;
}

/** The identity bytes of a member (for stores that keep encoded identities). */
export function memberIdentityBytes(m: RequestMember): Uint8Array {
  return encodePublicIdentity(m.identity);
}
