/**
 * The approved layout of a reshare and what is checked against it (reshare-layout.ts): a descriptor
 * that differs from the approved request in any field is named, and the vault record after
 * activation is the certified descriptor's, refusing a request body that disagrees with it.
 */

import type { ReshareBody } from '@concord/bridge-server/vault';
import { encodeDescriptor, type VaultDescriptor } from '@concord/tss';
import { toHex } from '@concord/tss/bytes';
import { pointToBytes } from '@concord/tss/curve';
import { expectAllOk, runDkg } from '@concord/tss/testing';
import { generateDeviceIdentity, publicIdentity } from '@concord/tss/transport';
import { describe, expect, it } from 'vitest';
import {
  approvedLayout,
  LayoutMismatchError,
  layoutMismatch,
  vaultRecordFromCertified,
} from '../src/background/services/reshare-layout.ts';

const ids = [generateDeviceIdentity(), generateDeviceIdentity(), generateDeviceIdentity()];
const dkg = expectAllOk(runDkg({ powers: [1, 1, 1], threshold: 2, ids: ids.map((i) => i.deviceId) }));
const old = dkg[0]!.descriptor;
const other = expectAllOk(runDkg({ powers: [1, 1, 1], threshold: 2, ids: ids.map((i) => i.deviceId) }))[0]!
  .descriptor;
const members = ids
  .map((i, k) => ({
    identity: publicIdentity(i),
    deviceId: toHex(i.deviceId),
    power: 1,
    label: `M${k}`,
  }))
  .sort((a, b) => a.deviceId.localeCompare(b.deviceId));
const body: ReshareBody = {
  kind: 'reshare',
  name: 'Ops',
  threshold: 2,
  members,
  current: members,
  descriptor: encodeDescriptor(old),
};
/** What a refresh of `old` certifies (the shares differ; the layout is the same). */
const next: VaultDescriptor = { ...old, epoch: old.epoch + 1 };

describe('approved reshare layout', () => {
  it('the refreshed descriptor matches; every other difference is named', () => {
    const want = approvedLayout(body);
    expect(layoutMismatch(next, want)).toBeNull();
    expect(layoutMismatch(old, want)).toMatch(/epoch 0, not 1/);
    expect(layoutMismatch({ ...next, threshold: 3 }, want)).toMatch(/threshold is 3, not the approved 2/);
    expect(
      layoutMismatch(
        { ...next, parties: next.parties.map((p, i) => (i === 0 ? { ...p, power: 2 } : p)) },
        want,
      ),
    ).toMatch(/has power 2, not 1/);
    expect(layoutMismatch({ ...next, parties: next.parties.slice(1) }, want)).toMatch(
      /2 members, not the approved 3/,
    );
    const stranger = generateDeviceIdentity().deviceId;
    expect(
      layoutMismatch(
        { ...next, parties: next.parties.map((p, i) => (i === 0 ? { ...p, id: stranger } : p)) },
        want,
      ),
    ).toMatch(/other members/);
    expect(layoutMismatch({ ...next, groupPublicKey: other.groupPublicKey }, want)).toMatch(/group key/);
    expect(layoutMismatch({ ...next, address: other.address }, want)).toMatch(/address/);
    expect(layoutMismatch({ ...other, epoch: 1 }, want)).toMatch(/another vault/);
  });
});

describe('vault record after activation', () => {
  it('comes from the certified descriptor; labels and agreement keys from the request', () => {
    const prior = { id: 'v', name: 'Old name', createdAt: 5 };
    const rec = vaultRecordFromCertified(next, body, prior, 'v', true, 99);
    expect(rec).toMatchObject({
      id: 'v',
      name: 'Old name',
      epoch: next.epoch,
      threshold: next.threshold,
      publicKey: toHex(pointToBytes(next.groupPublicKey)),
      address: next.address,
      status: 'active',
      createdAt: 5,
      updatedAt: 99,
    });
    expect(rec.members.map((m) => [m.deviceId, m.weight])).toEqual(
      next.parties.map((p) => [toHex(p.id), p.power]),
    );
    expect(rec.members.map((m) => m.label).sort()).toEqual(['M0', 'M1', 'M2']);
    expect(vaultRecordFromCertified(next, body, undefined, 'v', false, 99)).toMatchObject({
      name: 'Ops',
      status: 'retired',
      createdAt: 99,
    });
  });

  it('refuses a request whose layout is not the certified one instead of copying it', () => {
    // The request body says threshold 3 and other powers; the certificate covers [1,1,1] t=2.
    const skewed: ReshareBody = { ...body, threshold: 3 };
    expect(() => vaultRecordFromCertified(next, skewed, undefined, 'v', true, 1)).toThrow(
      LayoutMismatchError,
    );
    const heavier: ReshareBody = {
      ...body,
      members: members.map((m, i) => (i === 0 ? { ...m, power: 2 } : m)),
    };
    expect(() => vaultRecordFromCertified(next, heavier, undefined, 'v', true, 1)).toThrow(
      /has power 1, not 2/,
    );
  });
});
