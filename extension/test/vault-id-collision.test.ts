/**
 * A vault's local id is chosen by its proposer. An id already used on a device (a vault joined
 * through a reshare has no proposal row there) must never let a DKG write into that vault: the
 * invitation is refused on receipt, and the final write refuses an id that became taken since.
 * Devices are whole backgrounds over fake-indexeddb talking through a real in-process bridge.
 */

import { type RunningBridge, startBridge } from '@concord/bridge-server/relay';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isExtensionError } from '../src/shared/errors.ts';
import type { VaultRecord } from '../src/storage/records.ts';
import { repositories } from '../src/storage/repositories/index.ts';
import { SharesRepository } from '../src/storage/repositories/shares.ts';
import { type Device, device, until } from './devices.ts';
import { openFreshDb } from './helpers.ts';

/** A vault this device holds at epoch 1 under `id`, with its active share (as a reshare leaves it). */
async function plantVault(d: Device, id: string): Promise<void> {
  const dek = (await d.bg.session.current())!.dek;
  const now = Date.now();
  const vault: VaultRecord = {
    id,
    name: 'Existing',
    epoch: 1,
    threshold: 2,
    members: [],
    publicKey: `02${'11'.repeat(32)}`,
    address: `0x${'22'.repeat(20)}`,
    status: 'active',
    createdAt: now,
    updatedAt: now,
  };
  await d.db.vaults.put(vault);
  await d.db.shares.put(
    SharesRepository.build(
      { vaultId: id, epoch: 1, status: 'active', secret: new Uint8Array([1, 2, 3]), createdAt: now },
      dek,
    ),
  );
}

async function stored(d: Device, id: string) {
  return {
    vault: await d.db.vaults.get(id),
    shares: await d.db.shares.where('vaultId').equals(id).toArray(),
  };
}

describe('vault ids that collide', () => {
  let bridge: RunningBridge;
  let base: string;
  const logs: { code: string; error: unknown }[] = [];
  let A: Device;
  let B: Device;

  beforeAll(async () => {
    bridge = await startBridge({ port: 0, store: 'memory', logLevel: 'silent', defaultMetrics: false });
    base = bridge.url.replace(/\/v1$/, '');
    [A, B] = await Promise.all([
      device(base),
      device(base, { logError: (code, error) => logs.push({ code, error }) }),
    ]);
  });

  afterAll(async () => {
    for (const d of [A, B]) d?.bg.bridge.stop();
    await bridge?.close();
  });

  it('an invitation naming the id of a vault already on the device is refused on receipt; nothing changes', async () => {
    B.bg.bridge.stop(); // B is offline: the invitation waits in its relay mailbox
    const p = await A.call({
      type: 'vault.propose',
      name: 'Collides',
      selfLabel: 'A',
      selfPower: 1,
      threshold: 2,
      invitees: [{ code: B.info.deviceCode, label: 'B', power: 1 }],
    });
    await plantVault(B, p.id);
    const before = await stored(B, p.id);
    await B.restart(); // back online: the invitation is delivered now
    const refused = await until(
      async () =>
        logs.find((l) => l.code === 'INVITATION' && isExtensionError(l.error, 'VAULT_ID_COLLISION')),
      20_000,
      'B to refuse the invitation',
    );
    expect((refused.error as Error).message).toMatch(/id of a vault already on this device/);
    expect(await B.db.proposals.get(p.id)).toBeUndefined();
    expect((await B.call({ type: 'ceremony.list' })).find((c) => c.id === p.id)).toBeUndefined();
    expect(await stored(B, p.id)).toEqual(before);
    expect((await B.db.shares.where('[vaultId+status]').equals([p.id, 'active']).toArray()).length).toBe(1);
  }, 60_000);

  it('an id taken after the invitation was accepted: the DKG result is not stored over it', async () => {
    const p = await A.call({
      type: 'vault.propose',
      name: 'Taken later',
      selfLabel: 'A',
      selfPower: 1,
      threshold: 2,
      invitees: [{ code: B.info.deviceCode, label: 'B', power: 1 }],
    });
    await until(
      async () => (await B.call({ type: 'ceremony.list' })).find((c) => c.id === p.id),
      20_000,
      'B to see the invitation',
    );
    // Accepted on receipt; a vault with that id arrives before the DKG finishes.
    await plantVault(B, p.id);
    const before = await stored(B, p.id);
    await B.call({ type: 'ceremony.respond', id: p.id, accept: true });
    const v = await until(
      async () => {
        const x = (await B.call({ type: 'ceremony.list' })).find((c) => c.id === p.id);
        return x?.phase === 'failed' || x?.phase === 'done' ? x : undefined;
      },
      60_000,
      'B to finish',
    );
    expect([v.phase, v.error]).toEqual(['failed', 'VAULT_ID_COLLISION']);
    expect(await stored(B, p.id)).toEqual(before);
    expect((await B.db.shares.where('[vaultId+status]').equals([p.id, 'active']).toArray()).length).toBe(1);
    // A, where the id is free, created the vault.
    const a = await until(
      async () => {
        const x = (await A.call({ type: 'ceremony.list' })).find((c) => c.id === p.id);
        return x?.phase === 'done' ? x : undefined;
      },
      60_000,
      'A to finish',
    );
    expect(a.address).toMatch(/^0x[0-9a-fA-F]{40}$/);
  }, 120_000);

  it('the repositories refuse a new vault or first share under a taken id and keep the stored rows', async () => {
    const db = await openFreshDb();
    const repos = repositories(db);
    const id = 'ab'.repeat(16);
    const now = Date.now();
    const vault: VaultRecord = {
      id,
      name: 'First',
      epoch: 0,
      threshold: 2,
      members: [],
      publicKey: null,
      address: null,
      status: 'active',
      createdAt: now,
      updatedAt: now,
    };
    const dek = crypto.getRandomValues(new Uint8Array(32));
    const share = (epoch: number) =>
      SharesRepository.build(
        { vaultId: id, epoch, status: 'active', secret: new Uint8Array([epoch]), createdAt: now },
        dek,
      );
    await repos.vaults.create(vault);
    await repos.shares.addFirst(share(2));
    await expect(repos.vaults.create({ ...vault, name: 'Second', threshold: 1 })).rejects.toMatchObject({
      code: 'VAULT_ID_COLLISION',
    });
    await expect(repos.shares.addFirst(share(0))).rejects.toMatchObject({ code: 'VAULT_ID_COLLISION' });
    expect(await db.vaults.get(id)).toEqual(vault);
    expect((await db.shares.toArray()).map((s) => s.epoch)).toEqual([2]);
    expect(await repos.vaults.idTaken(id)).toBe(true);
    expect(await repos.vaults.idTaken('cd'.repeat(16))).toBe(false);
    db.close();
  });
});
