/**
 * The approved layout of a reshare request and the checks that tie the protocol's result to it
 * (PROTOCOL reshare phase 2; THREATS A23/A24): a new party signs the certificate only over a
 * descriptor equal to what the members approved (same vault, group key and address, next epoch,
 * exactly the approved members with their powers, the approved threshold), and the vault record a
 * device keeps after activating is built from the *certified* descriptor, never from the request's
 * own fields. Pure: no storage, no network, no clock.
 */

import type { ReshareBody } from '@concord/bridge-server/vault';
import { decodeDescriptor, type VaultDescriptor } from '@concord/tss';
import { equalBytes, toHex } from '@concord/tss/bytes';
import { pointToBytes } from '@concord/tss/curve';
import type { VaultRecord } from '../../storage/records.ts';
import { encodePublicIdentity } from './identity-api.ts';

/** Abort code of a reshare whose protocol result is not the approved layout. */
export const DESCRIPTOR_MISMATCH = 'DESCRIPTOR_MISMATCH';

/** A protocol result that is not the approved layout; `message` names the first difference. */
export class LayoutMismatchError extends Error {
  override readonly name = 'LayoutMismatchError';
  readonly code = DESCRIPTOR_MISMATCH;
}

/** What the approved request fixes about the new epoch. */
export interface ApprovedLayout {
  vaultId: Uint8Array;
  dkgSessionId: Uint8Array;
  epoch: number;
  /** Hex of the compressed group public key. */
  groupKey: string;
  address: string;
  threshold: number;
  /** Sorted by hex device id. */
  members: { deviceId: string; power: number }[];
}

/** The layout an approved reshare body fixes: the current descriptor's key, the body's committee. */
export function approvedLayout(body: ReshareBody): ApprovedLayout {
  const old = decodeDescriptor(body.descriptor);
  return {
    vaultId: old.vaultId,
    dkgSessionId: old.dkgSessionId,
    epoch: old.epoch + 1,
    groupKey: toHex(pointToBytes(old.groupPublicKey)),
    address: old.address,
    threshold: body.threshold,
    members: body.members
      .map((m) => ({ deviceId: m.deviceId, power: m.power }))
      .sort((a, b) => a.deviceId.localeCompare(b.deviceId)),
  };
}

/** The first difference between `d` and the approved layout, or null when they are equal. */
export function layoutMismatch(d: VaultDescriptor, want: ApprovedLayout): string | null {
  if (!equalBytes(d.vaultId, want.vaultId) || !equalBytes(d.dkgSessionId, want.dkgSessionId)) {
    return 'the descriptor is for another vault';
  }
  if (d.epoch !== want.epoch) return `the descriptor is for epoch ${d.epoch}, not ${want.epoch}`;
  if (toHex(pointToBytes(d.groupPublicKey)) !== want.groupKey) return 'the descriptor has another group key';
  if (d.address.toLowerCase() !== want.address.toLowerCase()) return 'the descriptor has another address';
  if (d.threshold !== want.threshold) {
    return `the descriptor's threshold is ${d.threshold}, not the approved ${want.threshold}`;
  }
  const got = d.parties.map((p) => ({ deviceId: toHex(p.id), power: p.power }));
  got.sort((a, b) => a.deviceId.localeCompare(b.deviceId));
  if (got.length !== want.members.length) {
    return `the descriptor has ${got.length} members, not the approved ${want.members.length}`;
  }
  for (let i = 0; i < got.length; i++) {
    const g = got[i]!;
    const w = want.members[i]!;
    if (g.deviceId !== w.deviceId) return 'the descriptor has other members than the approved ones';
    if (g.power !== w.power) return `member ${g.deviceId.slice(0, 8)} has power ${g.power}, not ${w.power}`;
  }
  return null;
}

/** Throws `LayoutMismatchError` unless `d` is the approved layout of `body`. */
export function assertApprovedLayout(d: VaultDescriptor, body: ReshareBody): void {
  const problem = layoutMismatch(d, approvedLayout(body));
  if (problem !== null) throw new LayoutMismatchError(problem);
}

/**
 * The vault record after activating the certified descriptor `d`: epoch, threshold, group key,
 * address and every member's power come from `d`; only what a descriptor does not hold (labels,
 * agreement keys, the name) from the request, whose committee must be exactly `d`'s parties.
 */
export function vaultRecordFromCertified(
  d: VaultDescriptor,
  body: ReshareBody,
  prior: Pick<VaultRecord, 'id' | 'name' | 'createdAt'> | undefined,
  id: string,
  stays: boolean,
  now: number,
): VaultRecord {
  assertApprovedLayout(d, body);
  const byId = new Map(body.members.map((m) => [m.deviceId, m]));
  return {
    id,
    name: prior?.name ?? body.name,
    epoch: d.epoch,
    threshold: d.threshold,
    members: d.parties.map((p) => {
      const deviceId = toHex(p.id);
      const m = byId.get(deviceId)!; // present: assertApprovedLayout compared the member sets
      return {
        deviceId,
        label: m.label,
        weight: p.power,
        publicIdentity: encodePublicIdentity(m.identity),
      };
    }),
    publicKey: toHex(pointToBytes(d.groupPublicKey)),
    address: d.address,
    status: stays ? 'active' : 'retired',
    createdAt: prior?.createdAt ?? now,
    updatedAt: now,
  };
}
