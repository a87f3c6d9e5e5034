/**
 * Shared test setup: an in-memory IndexedDB (fake-indexeddb), fresh database names, and a fast KDF
 * policy (the real OWASP parameters are exercised in their own test and in e2e).
 */
import 'fake-indexeddb/auto';
import { type BackgroundOptions, createBackground } from '../src/background/app.ts';
import type { InsecureTestKdf } from '../src/background/services/backup.ts';
import type { KdfPolicy } from '../src/crypto/kdf.ts';
import { ConcordDb } from '../src/storage/db.ts';
import { type FakePlatform, fakePlatform } from './fakes/platform.ts';

export const FAST_KDF: KdfPolicy = {
  current: { alg: 'scrypt', N: 2 ** 10, r: 8, p: 1, dkLen: 32 },
  floor: { N: 2 ** 8, r: 8, p: 1 },
};

/** Fast scrypt for backup files in tests (the production parameters have their own test). */
export const TEST_BACKUP_KDF: InsecureTestKdf = { insecureTestKdf: true, scrypt: { N: 2 ** 10, r: 8, p: 1 } };

export const RUNTIME_ID = 'abcdefghijklmnopabcdefghijklmnop';
export const ORIGIN = `chrome-extension://${RUNTIME_ID}`;
export const PAGE_SENDER = { id: RUNTIME_ID, url: `${ORIGIN}/app.html` };
export const GOOD_PASSPHRASE = 'orbit lantern velvet cascade 1987';

let counter = 0;
export function freshDbName(): string {
  counter += 1;
  return `concord-test-${process.pid}-${counter}-${Math.random().toString(36).slice(2)}`;
}

export async function openFreshDb(name = freshDbName()): Promise<ConcordDb> {
  const db = new ConcordDb(name);
  await db.open();
  return db;
}

/** Test-only background options (shorter timeouts, fast backup KDF). */
export type BackgroundExtra = Pick<
  BackgroundOptions,
  'dkgStallMs' | 'backupKdf' | 'fallbackMs' | 'logError' | 'requestStallMs'
>;

/** A background over `db` and `platform`: a new call with the same arguments models a worker restart. */
export function startBackground(
  db: ConcordDb,
  platform: FakePlatform = fakePlatform(),
  extra: BackgroundExtra = {},
) {
  return {
    platform,
    ...createBackground({
      db,
      platform,
      runtimeId: RUNTIME_ID,
      extensionOrigin: ORIGIN,
      kdf: FAST_KDF,
      // CONCORD_DEBUG=1 shows the background's logged errors (codes and messages, never secrets).
      ...(process.env.CONCORD_DEBUG
        ? { logError: (code: string, e: unknown) => console.error(code, e) }
        : {}),
      ...extra,
    }),
  };
}
