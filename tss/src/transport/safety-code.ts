/**
 * Ceremony safety code (THREATS B42): a short code every participant compares, out of band, before
 * a DKG or reshare. It commits to the ceremony id, the threshold and the sorted list of members
 * (device id, agreement key, power). A relay that substitutes a member's identity, drops or adds a
 * member, or changes powers or threshold makes the codes differ on the devices it lied to.
 *
 * Format: 6 groups of 5 decimal digits (≈ 99.6 bits), in the style of Signal's safety numbers:
 * each group is 5 bytes of a tagged SHA-256 digest taken modulo 100000.
 */
import { compareBytes, concatBytes, equalBytes, u32be, utf8 } from '../bytes.ts';
import { TssError } from '../errors.ts';
import { taggedHash } from '../hash.ts';
import { TAGS } from '../tags.ts';
import type { PublicDeviceIdentity } from './identity.ts';

export interface SafetyMember {
  identity: PublicDeviceIdentity;
  /** Weight (number of shares) of this member; a positive integer. */
  power: number;
}

export interface SafetyCodeInput {
  /** The ceremony (DKG/reshare/session) id, bytes or text. */
  ceremonyId: Uint8Array | string;
  threshold: number;
  members: readonly SafetyMember[];
}

/** The digest behind the code (32 bytes), for storage or machine comparison. */
export function safetyDigest(input: SafetyCodeInput): Uint8Array {
  const { threshold, members } = input;
  if (!Number.isInteger(threshold) || threshold < 1) throw new TssError('INVALID_PARAMETERS', 'threshold');
  if (members.length === 0) throw new TssError('INVALID_PARAMETERS', 'no members');
  const sorted = [...members].sort((a, b) => compareBytes(a.identity.deviceId, b.identity.deviceId));
  const fields: Uint8Array[] = [];
  for (let i = 0; i < sorted.length; i++) {
    const m = sorted[i]!;
    if (i > 0 && equalBytes(sorted[i - 1]!.identity.deviceId, m.identity.deviceId)) {
      throw new TssError('INVALID_PARAMETERS', 'duplicate member');
    }
    if (!Number.isInteger(m.power) || m.power < 1) throw new TssError('INVALID_PARAMETERS', 'member power');
    fields.push(concatBytes(m.identity.deviceId, m.identity.agreementKey, u32be(m.power)));
  }
  const id = typeof input.ceremonyId === 'string' ? utf8(input.ceremonyId) : input.ceremonyId;
  return taggedHash(TAGS.safetyCode, id, u32be(threshold), u32be(sorted.length), ...fields);
}

/** `12345 67890 12345 67890 12345 67890`. Same inputs in any member order → same code. */
export function safetyCode(input: SafetyCodeInput): string {
  const d = safetyDigest(input);
  const groups: string[] = [];
  for (let g = 0; g < 6; g++) {
    let n = 0;
    // 5 bytes → 40-bit integer; exact in a double.
    for (let i = 0; i < 5; i++) n = n * 256 + d[g * 5 + i]!;
    groups.push(String(n % 100000).padStart(5, '0'));
  }
  return groups.join(' ');
}
