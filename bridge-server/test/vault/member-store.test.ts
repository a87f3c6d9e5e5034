/**
 * The headless member's SQLite store (src/vault/member/sqlite-store.ts) on real files in a temp
 * directory: identity and shares round-trip sealed; a wrong passphrase is `WRONG_PASSPHRASE` and
 * leaves the file byte for byte as it was (and the right one still opens it); a file that is not a
 * member store, or of a newer schema, is `STORE_VERSION` and untouched; a sealed share moved to
 * another row does not open (`STORE_CORRUPT`); decisions keep the first one per device.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { isMemberError, SCHEMA_VERSION, SqliteVaultStore } from '../../src/vault/member/index.ts';
import type { VaultRecord } from '../../src/vault/member/store.ts';

const dir = mkdtempSync(join(tmpdir(), 'concord-member-store-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const KDF = { N: 2 ** 10, r: 8, p: 1 };
const PASS = 'velvet quarry 8812 lantern osprey';
let n = 0;
const fresh = () => join(dir, `store-${++n}.sqlite`);
const digest = (p: string) => createHash('sha256').update(readFileSync(p)).digest('hex');

const vault = (id: string): VaultRecord => ({
  id,
  name: 'V',
  epoch: 0,
  threshold: 2,
  members: [],
  publicKey: `02${'11'.repeat(32)}`,
  address: '0x0000000000000000000000000000000000000001',
  keyId: 'ab'.repeat(32),
  createdAt: 1,
});

async function populated(path: string): Promise<void> {
  const s = SqliteVaultStore.open({ path, passphrase: PASS, create: true, kdf: KDF });
  await s.setIdentity(new Uint8Array([1, 2, 3, 4]));
  await s.putDkg({ id: 'a'.repeat(32), status: 'running', attempt: 0, abortCode: null, updatedAt: 1 });
  await s.completeDkg(vault('a'.repeat(32)), { epoch: 0, secret: new Uint8Array([9, 9, 9]) }, 2);
  s.close();
}

describe('SqliteVaultStore', () => {
  it('keeps the identity and a share sealed, and opens them again with the passphrase', async () => {
    const path = fresh();
    await populated(path);
    const raw = readFileSync(path);
    // The secrets are not in the file in clear.
    expect(raw.includes(Buffer.from([9, 9, 9]))).toBe(false);
    const s = SqliteVaultStore.open({ path, passphrase: PASS });
    expect(await s.identity()).toEqual(new Uint8Array([1, 2, 3, 4]));
    expect(await s.share('a'.repeat(32))).toEqual({ epoch: 0, secret: new Uint8Array([9, 9, 9]) });
    expect((await s.dkg('a'.repeat(32)))?.status).toBe('done');
    expect((await s.vaults()).map((v) => v.id)).toEqual(['a'.repeat(32)]);
    s.close();
  });

  it('a wrong passphrase is WRONG_PASSPHRASE and leaves the file intact', async () => {
    const path = fresh();
    await populated(path);
    const before = digest(path);
    let err: unknown;
    try {
      SqliteVaultStore.open({ path, passphrase: 'not the passphrase at all 12' });
    } catch (e) {
      err = e;
    }
    expect(isMemberError(err, 'WRONG_PASSPHRASE')).toBe(true);
    expect((err as Error).message).toMatch(/Wrong passphrase/);
    expect(digest(path)).toBe(before);
    const s = SqliteVaultStore.open({ path, passphrase: PASS });
    expect(await s.identity()).toEqual(new Uint8Array([1, 2, 3, 4]));
    s.close();
  });

  it('refuses a file that is not a member store, or of a newer schema, and does not touch it', () => {
    const foreign = fresh();
    const db = new Database(foreign);
    db.exec('CREATE TABLE t (x)');
    db.close();
    const before = digest(foreign);
    expect(() => SqliteVaultStore.open({ path: foreign, passphrase: PASS, create: true })).toThrowError(
      expect.objectContaining({ code: 'STORE_VERSION' }),
    );
    expect(digest(foreign)).toBe(before);

    const newer = fresh();
    const db2 = new Database(newer);
    db2.pragma(`user_version = ${SCHEMA_VERSION + 1}`);
    db2.close();
    expect(() => SqliteVaultStore.open({ path: newer, passphrase: PASS })).toThrowError(
      expect.objectContaining({ code: 'STORE_VERSION', message: expect.stringMatching(/version 2/) }),
    );
    expect(() => SqliteVaultStore.open({ path: fresh(), passphrase: PASS })).toThrowError(
      expect.objectContaining({ code: 'NOT_FOUND' }),
    );
  });

  it('a sealed share moved to another vault does not open (STORE_CORRUPT)', async () => {
    const path = fresh();
    await populated(path);
    const db = new Database(path);
    db.prepare('UPDATE shares SET vault_id = ? WHERE vault_id = ?').run('b'.repeat(32), 'a'.repeat(32));
    db.close();
    const s = SqliteVaultStore.open({ path, passphrase: PASS });
    await expect(s.share('b'.repeat(32))).rejects.toMatchObject({ code: 'STORE_CORRUPT' });
    s.close();
  });

  it('keeps the first decision of a device and refuses a second vault under the same id', async () => {
    const path = fresh();
    await populated(path);
    const s = SqliteVaultStore.open({ path, passphrase: PASS });
    const d = { subject: 'r'.repeat(32), deviceId: 'd'.repeat(64), sig: new Uint8Array(64), createdAt: 1 };
    expect(await s.addDecision({ ...d, decision: 'approve' })).toBe(true);
    expect(await s.addDecision({ ...d, decision: 'reject' })).toBe(false);
    expect((await s.decisions('r'.repeat(32))).map((x) => x.decision)).toEqual(['approve']);
    await expect(
      s.completeDkg(vault('a'.repeat(32)), { epoch: 0, secret: new Uint8Array([1]) }, 3),
    ).rejects.toMatchObject({ code: 'VAULT_EXISTS' });
    expect(await s.share('a'.repeat(32))).toEqual({ epoch: 0, secret: new Uint8Array([9, 9, 9]) });
    s.close();
  });
});
