/**
 * Hash commitments: C = H(tag, context…, value, salt) with a 32-byte random salt. Hiding by the
 * salt, binding by collision resistance. Commit-then-open stops a party from choosing its
 * contribution after seeing others' (the DKG rogue-key attack, THREATS A5).
 */
import { equalBytes } from '../bytes.ts';
import { taggedHash } from '../hash.ts';

export const SALT_BYTES = 32;

export function commit(tag: string, fields: readonly Uint8Array[], salt: Uint8Array): Uint8Array {
  return taggedHash(tag, ...fields, salt);
}

export function verifyCommitment(
  tag: string,
  fields: readonly Uint8Array[],
  salt: Uint8Array,
  commitment: Uint8Array,
): boolean {
  return equalBytes(commit(tag, fields, salt), commitment);
}
