/**
 * Backups made from real DKG output rebuild the vault key offline: encrypt each party's shares,
 * verify without rebuilding, then recover from a threshold of backups by power and compare the
 * address with the vault descriptor's. Also: a below-threshold set is refused by power.
 */
import { describe, expect, it } from 'vitest';
import { createBackup, openBackup, verifyBackup } from '../../src/backup/index.ts';
import { keyShareToBackupSource } from '../../src/keyshare-backup.ts';
import { recoverKey, recoverVaults } from '../../src/recovery/index.ts';
import { seededRandom } from '../../src/testing/rng.ts';
import { loadFixture } from '../fixtures/index.ts';

const PASS = 'correct horse battery staple of concord';
// Reduced scrypt cost for tests only (the floor is tested in tss/test/backup).
const fast = { kdf: { N: 2 ** 10, r: 8, p: 1 }, insecureTestKdf: true } as const;

describe('backups of a real [2,1,1] t=3 vault', () => {
  it('verify, open and recover the vault address from the heavy party plus one other', async () => {
    const f = loadFixture('2-1-1_t3');
    const d = f.shares[0]!.descriptor;
    const files = await Promise.all(
      f.shares.map((ks, i) =>
        createBackup(keyShareToBackupSource(ks), PASS, { ...fast, rng: seededRandom(`b${i}`) }),
      ),
    );
    for (const file of files) {
      expect(file).not.toContain(f.shares[0]!.shares[0]!.toString(16));
      const summary = await verifyBackup(file, PASS, { insecureTestKdf: true });
      expect(summary.verified).toBe(true);
    }
    const sources = await Promise.all(files.map((file) => openBackup(file, PASS, { insecureTestKdf: true })));
    const heavy = f.shares.findIndex((ks) => ks.shares.length === 2);
    const other = heavy === 0 ? 1 : 0;
    const rec = recoverKey([
      { label: 'heavy', source: sources[heavy]! },
      { label: 'other', source: sources[other]! },
    ]);
    expect(rec.address).toBe(d.address);
    expect(rec.key.ethereumAddress()).toBe(d.address);
    rec.key.destroy();
  });

  it('refuses two power-1 backups (power 2 of 3) and says how much is missing', async () => {
    const f = loadFixture('2-1-1_t3');
    const light = f.shares.filter((ks) => ks.shares.length === 1);
    const sources = light.map((ks, i) => ({ label: `light${i}`, source: keyShareToBackupSource(ks) }));
    const [result] = recoverVaults(sources);
    expect(result!.ok).toBe(false);
    expect(result!.epochs[0]!.missing).toBe(1);
  });
});
