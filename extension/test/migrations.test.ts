/** Schema migrations: from an empty database, from version 1, and re-opening is idempotent. */
// Must precede Dexie: it captures the IndexedDB globals when it loads.
import 'fake-indexeddb/auto';
import { Dexie } from 'dexie';
import { describe, expect, it } from 'vitest';
import { DAPP_SITES_MIGRATION } from '../src/storage/dapp-sites-migration.ts';
import { ConcordDb } from '../src/storage/db.ts';
import { MIGRATIONS, SCHEMA_VERSION } from '../src/storage/migrations.ts';
import { TOKENS_MIGRATION, tokenId } from '../src/storage/tokens-migration.ts';
import { freshDbName } from './helpers.ts';

const TABLES = [
  'approvals',
  'bans',
  'ceremonies',
  'dappSites',
  'envelopeKeys',
  'identity',
  'meta',
  'proposals',
  'restores',
  'settings',
  'shares',
  'tokens',
  'transactions',
  'vaults',
];

describe('storage migrations', () => {
  it('are numbered 1, 2, 3… without gaps and each has a description', () => {
    MIGRATIONS.forEach((m, i) => {
      expect(m.version).toBe(i + 1);
      expect(m.description.length).toBeGreaterThan(0);
    });
    expect(SCHEMA_VERSION).toBe(MIGRATIONS.length);
  });

  it('create every v1 table with its indexes in an empty database', async () => {
    const db = new ConcordDb(freshDbName());
    await db.open();
    expect(db.verno).toBe(SCHEMA_VERSION);
    expect(db.tables.map((t) => t.name).sort()).toEqual(TABLES);
    const shares = db.table('shares').schema;
    expect(shares.primKey.name).toBe('id');
    expect(shares.indexes.map((i) => i.name).sort()).toEqual([
      '[vaultId+epoch]',
      '[vaultId+status]',
      'status',
      'vaultId',
    ]);
    db.close();
  });

  it('re-opening an up-to-date database changes nothing and keeps the data', async () => {
    const name = freshDbName();
    const first = new ConcordDb(name);
    await first.open();
    await first.settings.put({ key: 'general', value: { autoLockMinutes: 5 } });
    await first.meta.put({ key: 'x', value: 1 });
    first.close();

    for (let i = 0; i < 2; i++) {
      const again = new ConcordDb(name);
      await again.open();
      expect(again.verno).toBe(SCHEMA_VERSION);
      expect(await again.settings.get('general')).toEqual({ key: 'general', value: { autoLockMinutes: 5 } });
      expect(await again.meta.count()).toBe(1);
      again.close();
    }
  });

  it('a version-1 database (with a vault and an open proposal) upgrades to the current schema intact', async () => {
    const name = freshDbName();
    const v1 = new Dexie(name);
    v1.version(1).stores(MIGRATIONS[0]!.stores);
    await v1.open();
    await v1.table('vaults').put({ id: 'v', name: 'Old vault', epoch: 0, createdAt: 1, status: 'active' });
    await v1.table('proposals').put({ id: 'p', kind: 'sign', status: 'open', createdAt: 1, expiresAt: 2 });
    v1.close();

    const db = new ConcordDb(name);
    await db.open();
    expect(db.verno).toBe(SCHEMA_VERSION);
    expect((await db.vaults.get('v'))?.name).toBe('Old vault');
    expect((await db.proposals.get('p'))?.status).toBe('open');
    expect(await db.transactions.count()).toBe(0);
    expect(db.transactions.schema.indexes.map((i) => i.name).sort()).toEqual([
      'status',
      'updatedAt',
      'vaultId',
    ]);
    db.close();
  });

  it('a version-2 database (vault, share, transaction) upgrades to version 3 with every row intact', async () => {
    const name = freshDbName();
    const v2 = new Dexie(name);
    v2.version(1).stores(MIGRATIONS[0]!.stores);
    v2.version(2).stores(MIGRATIONS[1]!.stores);
    await v2.open();
    const vault = {
      id: 'v',
      name: 'Old vault',
      epoch: 2,
      threshold: 2,
      members: [],
      status: 'active',
      createdAt: 1,
    };
    const share = { id: 'v:2', vaultId: 'v', epoch: 2, status: 'active', sealed: { v: 1 }, createdAt: 1 };
    await v2.table('vaults').put(vault);
    await v2.table('shares').put(share);
    await v2.table('transactions').put({ id: 't', vaultId: 'v', status: 'pending', updatedAt: 1 });
    v2.close();

    const db = new ConcordDb(name);
    await db.open();
    expect(db.verno).toBe(SCHEMA_VERSION);
    expect(SCHEMA_VERSION).toBeGreaterThanOrEqual(3);
    // Rows are authenticated at the first unlock (record-auth.ts), not by the schema upgrade.
    expect(await db.vaults.get('v')).toEqual(vault);
    expect(await db.shares.get('v:2')).toEqual(share);
    expect((await db.transactions.get('t'))?.status).toBe('pending');
    db.close();
  });

  it('the raw IndexedDB version matches what Dexie declares (no silent re-versioning)', async () => {
    const name = freshDbName();
    const db = new ConcordDb(name);
    await db.open();
    db.close();
    const raw = new Dexie(name);
    await raw.open(); // dynamic mode: reads whatever is on disk
    expect(raw.verno).toBe(SCHEMA_VERSION);
    expect(raw.tables.map((t) => t.name).sort()).toEqual(TABLES);
    raw.close();
  });

  it('the dApp sites step adds its table to an existing database and keeps the rows', async () => {
    const name = freshDbName();
    const before = new Dexie(name);
    for (const m of MIGRATIONS.filter((x) => x.version < DAPP_SITES_MIGRATION.version)) {
      before.version(m.version).stores(m.stores);
    }
    await before.open();
    await before.table('meta').put({ key: 'kept', value: 7 });
    before.close();
    const db = new ConcordDb(name);
    await db.open();
    expect(db.verno).toBe(SCHEMA_VERSION);
    expect((await db.meta.get('kept'))?.value).toBe(7);
    await db.dappSites.put({
      origin: 'https://a.test',
      vaultIds: [],
      chainId: 1,
      connectedAt: null,
      updatedAt: 1,
    });
    expect(await db.dappSites.orderBy('updatedAt').primaryKeys()).toEqual(['https://a.test']);
    db.close();
  });

  it('the tokens step adds its table to an existing database and keeps the rows', async () => {
    const name = freshDbName();
    const before = new Dexie(name);
    for (const m of MIGRATIONS.filter((x) => x.version < TOKENS_MIGRATION.version)) {
      before.version(m.version).stores(m.stores);
    }
    await before.open();
    await before.table('dappSites').put({
      origin: 'https://kept.test',
      vaultIds: [],
      chainId: 1,
      connectedAt: null,
      updatedAt: 1,
    });
    before.close();
    const db = new ConcordDb(name);
    await db.open();
    expect(db.verno).toBe(SCHEMA_VERSION);
    expect((await db.dappSites.get('https://kept.test'))?.chainId).toBe(1);
    const address = '0x5FbDB2315678afecb367f032d93F642f64180aa3';
    await db.tokens.put({
      id: tokenId(31337, address),
      chainId: 31337,
      address,
      name: 'Test USD',
      symbol: 'TUSD',
      decimals: 6,
      addedAt: 1,
    });
    expect(tokenId(31337, address)).toBe('31337:0x5fbdb2315678afecb367f032d93f642f64180aa3');
    expect(await db.tokens.where('chainId').equals(31337).primaryKeys()).toEqual([tokenId(31337, address)]);
    expect(await db.tokens.where('chainId').equals(1).count()).toBe(0);
    db.close();
  });
});
