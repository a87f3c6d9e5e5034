/**
 * Authentication at rest of vault and share rows (storage/record-auth.ts, schema v3): a profile of
 * schema v2 (keyring, identity, a vault, its share) opens, upgrades and unlocks with everything
 * intact and authenticated; afterwards a row changed outside Concord (threshold, a member's key, a
 * share's status, a removed `auth`) is refused on read with RECORD_TAMPERED and stays stored as it
 * is; writes by Concord itself stay readable; a locked profile refuses writes.
 */
import 'fake-indexeddb/auto';
import { Dexie } from 'dexie';
import { afterEach, describe, expect, it } from 'vitest';
import { DeviceService } from '../src/background/services/device.ts';
import { createKeyring, type KeyringHeader } from '../src/crypto/keyring-header.ts';
import { toHex } from '../src/shared/bytes.ts';
import type { WireError } from '../src/shared/errors.ts';
import { type Request, type ResponseEnvelope, UI_CHANNEL, type VaultView } from '../src/shared/messages.ts';
import { ConcordDb } from '../src/storage/db.ts';
import { MIGRATIONS, SCHEMA_VERSION } from '../src/storage/migrations.ts';
import type { ShareRecord, VaultRecord } from '../src/storage/records.ts';
import { repositories } from '../src/storage/repositories/index.ts';
import { SharesRepository } from '../src/storage/repositories/shares.ts';
import { FAST_KDF, freshDbName, GOOD_PASSPHRASE, PAGE_SENDER, startBackground } from './helpers.ts';

type Bg = ReturnType<typeof startBackground>;
const VAULT = 'a1'.repeat(16);
const SECRET = new Uint8Array([7, 7, 7, 7]);

async function send(bg: Bg, request: Request): Promise<ResponseEnvelope> {
  const r = bg.route({ channel: UI_CHANNEL, request }, PAGE_SENDER);
  if (r === undefined) throw new Error('router ignored a page request');
  return r;
}
async function ok<T>(bg: Bg, request: Request): Promise<T> {
  const r = await send(bg, request);
  if (!r.ok) throw new Error(`${r.error.code}: ${r.error.message}`);
  return r.result as T;
}
async function fail(bg: Bg, request: Request): Promise<WireError> {
  const r = await send(bg, request);
  if (r.ok) throw new Error('expected failure');
  return r.error;
}

/** A database exactly as schema v2 wrote it: no `auth` on any row, a header without `records`. */
async function legacyProfile(name: string): Promise<{ vault: VaultRecord; share: ShareRecord }> {
  const v2 = new Dexie(name);
  v2.version(1).stores(MIGRATIONS[0]!.stores);
  v2.version(2).stores(MIGRATIONS[1]!.stores);
  await v2.open();
  const now = Date.now();
  const { header, dek } = await createKeyring(GOOD_PASSPHRASE, FAST_KDF, now, undefined, false);
  expect(header.records).toBeUndefined();
  // An identity record sealed under that key, as onboarding writes it.
  const scratch = new ConcordDb(freshDbName());
  const identity = new DeviceService(repositories(scratch).identity, (n) =>
    crypto.getRandomValues(new Uint8Array(n)),
  ).createRecord(dek, now);
  scratch.close();
  const vault: VaultRecord = {
    id: VAULT,
    name: 'Before the upgrade',
    epoch: 0,
    threshold: 3,
    members: [
      { deviceId: 'aa'.repeat(32), label: 'A', weight: 2, publicIdentity: new Uint8Array([1, 2, 3]) },
      { deviceId: 'bb'.repeat(32), label: 'B', weight: 1, publicIdentity: new Uint8Array([4, 5, 6]) },
      { deviceId: 'cc'.repeat(32), label: 'C', weight: 1, publicIdentity: new Uint8Array([7, 8, 9]) },
    ],
    publicKey: `02${'33'.repeat(32)}`,
    address: `0x${'44'.repeat(20)}`,
    status: 'active',
    createdAt: now,
    updatedAt: now,
  };
  const share = SharesRepository.build(
    { vaultId: VAULT, epoch: 0, status: 'active', secret: SECRET, createdAt: now },
    dek,
  );
  await v2.table('meta').put({ key: 'keyring', value: header });
  await v2.table('meta').put({ key: 'unlockThrottle', value: { failures: 0, notBefore: 0 } });
  await v2.table('identity').put(identity);
  await v2.table('vaults').put(vault);
  await v2.table('shares').put(share);
  v2.close();
  return { vault, share };
}

/** A second connection that writes around Concord (no hooks), as a tool with disk access would. */
async function raw(name: string): Promise<Dexie> {
  const r = new Dexie(name);
  await r.open();
  return r;
}

const open: Dexie[] = [];
afterEach(() => {
  for (const d of open.splice(0)) d.close();
});

describe('vault and share records authenticated at rest', () => {
  it('a schema-v2 profile upgrades, unlocks and keeps its vault and share; then tampering is detected and nothing is lost', async () => {
    const name = freshDbName();
    const { vault, share } = await legacyProfile(name);
    const db = new ConcordDb(name);
    open.push(db);
    await db.open();
    expect(db.verno).toBe(SCHEMA_VERSION);
    let bg = startBackground(db);
    await ok(bg, { type: 'unlock', passphrase: GOOD_PASSPHRASE });

    // Everything is still there, now authenticated; the header carries the flag (a new revision).
    const views = await ok<VaultView[]>(bg, { type: 'vault.list' });
    expect(views.map((v) => [v.id, v.name, v.threshold, v.totalPower, v.address])).toEqual([
      [VAULT, vault.name, 3, 4, vault.address],
    ]);
    const header = (await db.meta.get('keyring'))!.value as KeyringHeader;
    expect([header.records, header.revision]).toEqual([1, 2]);
    const dek = (await bg.session.current())!.dek;
    const stored = (await bg.session.current()) && (await repositories(db).shares.active(VAULT));
    expect(toHex(SharesRepository.openSecret(stored!, dek))).toBe(toHex(SECRET));
    expect(stored!.sealed).toEqual(share.sealed);

    const r = await raw(name);
    open.push(r);
    const row = (await r.table('vaults').get(VAULT)) as VaultRecord;
    expect(row.auth).toBeDefined();

    // 1. A lowered threshold.
    await r.table('vaults').put({ ...row, threshold: 1 });
    const e = await fail(bg, { type: 'vault.list' });
    expect(e.code).toBe('RECORD_TAMPERED');
    expect(e.message).toMatch(/vault record .* was changed outside Concord/);
    expect(((await r.table('vaults').get(VAULT)) as VaultRecord).threshold).toBe(1); // kept, not deleted

    // 2. A member's key swapped.
    const members = row.members.map((m, i) =>
      i === 1 ? { ...m, publicIdentity: new Uint8Array([9, 9]) } : m,
    );
    await r.table('vaults').put({ ...row, members });
    expect((await fail(bg, { type: 'vault.list' })).code).toBe('RECORD_TAMPERED');

    // 3. Authentication removed: after the upgrade a row without it is refused, not re-blessed.
    const { auth: _a, ...bare } = row;
    await r.table('vaults').put(bare);
    expect((await fail(bg, { type: 'vault.list' })).code).toBe('RECORD_TAMPERED');
    // ... also after a worker restart and a fresh unlock (the upgrade does not run twice).
    await ok(bg, { type: 'lock' });
    bg = startBackground(db);
    await ok(bg, { type: 'unlock', passphrase: GOOD_PASSPHRASE });
    expect((await fail(bg, { type: 'vault.list' })).code).toBe('RECORD_TAMPERED');

    // 4. The original row put back reads again.
    await r.table('vaults').put(row);
    expect((await ok<VaultView[]>(bg, { type: 'vault.list' })).map((v) => v.threshold)).toEqual([3]);

    // 5. A share's status flipped (an active share marked pending, or the reverse).
    const shareRow = (await r.table('shares').get(`${VAULT}:0`)) as ShareRecord;
    await r.table('shares').put({ ...shareRow, status: 'pending' });
    const repos = repositories(db);
    await expect(repos.shares.get(`${VAULT}:0`)).rejects.toMatchObject({ code: 'RECORD_TAMPERED' });
    await expect(repos.shares.listForVault(VAULT)).rejects.toMatchObject({ code: 'RECORD_TAMPERED' });
    // An update of a tampered row does not bless it.
    await expect(db.shares.update(`${VAULT}:0`, { createdAt: 1 })).rejects.toMatchObject({
      code: 'RECORD_TAMPERED',
    });
    expect(((await r.table('shares').get(`${VAULT}:0`)) as ShareRecord).status).toBe('pending');
    await r.table('shares').put(shareRow);
    expect((await repos.shares.active(VAULT))?.id).toBe(`${VAULT}:0`);
  });

  it("Concord's own writes stay readable; a locked profile refuses to write these rows", async () => {
    const db = new ConcordDb(freshDbName());
    open.push(db);
    await db.open();
    const bg = startBackground(db);
    await ok(bg, { type: 'onboarding.create', passphrase: GOOD_PASSPHRASE });
    expect(((await db.meta.get('keyring'))!.value as KeyringHeader).records).toBe(1);
    const repos = repositories(db);
    const dek = (await bg.session.current())!.dek;
    const now = Date.now();
    const vault: VaultRecord = {
      id: VAULT,
      name: 'New',
      epoch: 0,
      threshold: 2,
      members: [],
      publicKey: null,
      address: null,
      status: 'active',
      createdAt: now,
      updatedAt: now,
    };
    await repos.vaults.create(vault);
    await repos.shares.addFirst(
      SharesRepository.build(
        { vaultId: VAULT, epoch: 1, status: 'pending', secret: SECRET, createdAt: now },
        dek,
      ),
    );
    // Updates by key path and by object both re-authenticate.
    await db.shares.update(`${VAULT}:1`, { status: 'active' });
    await db.vaults.update(VAULT, { name: 'Renamed', threshold: 3 });
    await db.vaults.put({ ...(await repos.vaults.get(VAULT))!, status: 'resharing' });
    expect((await repos.shares.active(VAULT))?.epoch).toBe(1);
    const v = (await repos.vaults.get(VAULT))!;
    expect([v.name, v.threshold, v.status]).toEqual(['Renamed', 3, 'resharing']);

    await ok(bg, { type: 'lock' });
    await expect(db.vaults.put({ ...v, threshold: 1 })).rejects.toMatchObject({ code: 'LOCKED' });
    await expect(db.shares.update(`${VAULT}:1`, { status: 'pending' })).rejects.toMatchObject({
      code: 'LOCKED',
    });
    await ok(bg, { type: 'unlock', passphrase: GOOD_PASSPHRASE });
    const after = (await repos.vaults.get(VAULT))!;
    expect([after.threshold, (await repos.shares.active(VAULT))?.status]).toEqual([3, 'active']);
  });

  it('the header flag is bound to the keyring: removing it makes the header unusable, not legacy', async () => {
    const db = new ConcordDb(freshDbName());
    open.push(db);
    await db.open();
    const bg = startBackground(db);
    await ok(bg, { type: 'onboarding.create', passphrase: GOOD_PASSPHRASE });
    await ok(bg, { type: 'lock' });
    const header = (await db.meta.get('keyring'))!.value as KeyringHeader;
    const { records: _r, ...stripped } = header;
    await db.meta.put({ key: 'keyring', value: stripped });
    expect((await fail(bg, { type: 'unlock', passphrase: GOOD_PASSPHRASE })).code).toBe('WRONG_PASSPHRASE');
    await db.meta.put({ key: 'keyring', value: header });
    await ok(bg, { type: 'unlock', passphrase: GOOD_PASSPHRASE });
  });
});
