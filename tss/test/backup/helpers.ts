/**
 * Shared fixtures for backup and recovery tests: a dealt weighted vault and backups sealed with
 * reduced scrypt costs (explicit `insecureTestKdf`), so the suite stays fast on shared CI cores.
 */

import { createBackup, openBackup } from '../../src/backup/backup.ts';
import type { ScryptParams } from '../../src/backup/kdf.ts';
import type { BackupSource } from '../../src/backup/source.ts';
import { seededRandom } from '../../src/testing/rng.ts';
import { type Dealt, dealBackups } from '../../src/testing/shamir-dealer.ts';

/** N = 2^4 costs microseconds; only the floor test and the CLI use real parameters. */
export const TEST_KDF: ScryptParams = { N: 2 ** 4, r: 8, p: 1 };
export const PASS = 'violet-anchor-harbor-quilt-93';

/** Powers 2, 1, 1 (points 1..4 in id order), threshold 3. */
export function dealVault(seed: string, extra: Partial<Parameters<typeof dealBackups>[0]> = {}): Dealt {
  return dealBackups({
    parties: [{ power: 2 }, { power: 1 }, { power: 1 }],
    threshold: 3,
    rng: seededRandom(seed),
    ...extra,
  });
}

export function seal(src: BackupSource, passphrase = PASS, seed = 'seal'): Promise<string> {
  return createBackup(src, passphrase, { kdf: TEST_KDF, insecureTestKdf: true, rng: seededRandom(seed) });
}

export function open(file: string, passphrase = PASS): Promise<BackupSource> {
  return openBackup(file, passphrase, { insecureTestKdf: true });
}
