/**
 * Device backup bundles (`src/backup/bundle.ts`): the extension's backup file wraps a tss backup's
 * exact text in `share`; every tss reader accepts it like the bare file, with the same errors for a
 * damaged share, and its own errors for an unknown bundle version or a `share` that is not text.
 */
import { describe, expect, it } from 'vitest';
import { inspectBackup, openBackup, verifyBackup } from '../../src/backup/backup.ts';
import { DEVICE_BACKUP_FORMAT, shareBackupText } from '../../src/backup/bundle.ts';
import { BackupError } from '../../src/backup/errors.ts';
import * as backupEntry from '../../src/backup/index.ts';
import { toHex } from '../../src/bytes.ts';
import { recoverKey } from '../../src/recovery/recover.ts';
import { dealVault, open, PASS, seal } from './helpers.ts';

const OPTS = { insecureTestKdf: true } as const;

/** What the extension writes: the tss backup text verbatim, plus its opaque device identity. */
function bundle(share: unknown, extra: Record<string, unknown> = {}): string {
  return `${JSON.stringify(
    {
      format: DEVICE_BACKUP_FORMAT,
      version: 1,
      share,
      device: { sealed: 'ab'.repeat(40), kdf: { name: 'anything', n: 1 }, note: 'opaque to tss' },
      ...extra,
    },
    null,
    2,
  )}\n`;
}

async function codeOf(p: Promise<unknown> | (() => unknown)): Promise<string> {
  try {
    await (typeof p === 'function' ? p() : p);
  } catch (e) {
    if (e instanceof BackupError) return e.reason ? `${e.code}/${e.reason}` : e.code;
    throw e;
  }
  return 'OK';
}

function flipHexChar(s: string, i: number): string {
  return s.slice(0, i) + (s[i] === '0' ? '1' : '0') + s.slice(i + 1);
}

describe('device backup bundle', () => {
  const dealt = dealVault('bundle');
  const heavy = dealt.sources.find((s) => s.pointShares.length === 2)!;
  const light = dealt.sources.filter((s) => s.pointShares.length === 1);

  it('is exported from the backup entry point', () => {
    expect(backupEntry.DEVICE_BACKUP_FORMAT).toBe('concord-device-backup');
    expect(backupEntry.shareBackupText).toBe(shareBackupText);
  });

  it('shareBackupText returns the inner text byte for byte, and anything else unchanged', async () => {
    const file = await seal(heavy);
    expect(shareBackupText(bundle(file))).toBe(file);
    expect(shareBackupText(file)).toBe(file);
    for (const other of ['not json', '', '[1,2]', '"concord-device-backup"', '{"format":"x"}']) {
      expect(shareBackupText(other)).toBe(other);
    }
  });

  it('opens, verifies and inspects like the bare file; device is not interpreted', async () => {
    const file = await seal(heavy);
    const b = bundle(file);
    const bare = await open(file);
    const wrapped = await openBackup(b, PASS, OPTS);
    expect(wrapped.pointShares).toEqual(bare.pointShares);
    expect(toHex(wrapped.vaultId)).toBe(toHex(bare.vaultId));
    expect(inspectBackup(b)).toEqual(inspectBackup(file));
    expect(await verifyBackup(b, PASS, OPTS)).toEqual(await verifyBackup(file, PASS, OPTS));
    // Whatever the device member holds (or extra members), tss reads only `share`.
    const odd = bundle(file, { device: null, futureField: [1, 2, 3] });
    expect(inspectBackup(odd)).toEqual(inspectBackup(file));
    // A wrong passphrase is reported as for the bare file.
    expect(await codeOf(openBackup(b, 'definitely-not-the-passphrase', OPTS))).toBe('WRONG_PASSPHRASE');
  });

  it('the recovery core rebuilds the key from bundles mixed with bare files', async () => {
    const [f0, f1, f2] = await Promise.all([seal(heavy), seal(light[0]!), seal(light[1]!)]);
    const texts = [bundle(f0), f1, bundle(f2)];
    const inputs = await Promise.all(
      texts.map(async (t, i) => ({ label: `#${i + 1}`, source: await openBackup(t, PASS, OPTS) })),
    );
    const r = recoverKey(inputs);
    try {
      expect(BigInt(r.key.privateKeyHex())).toBe(dealt.secret);
    } finally {
      r.key.destroy();
    }
  });

  it('bundle version 2 → UNSUPPORTED_BACKUP_VERSION (from every reader)', async () => {
    const file = await seal(heavy);
    for (const version of [2, 0, '1', null]) {
      const b = bundle(file, { version });
      expect(await codeOf(() => shareBackupText(b))).toBe('UNSUPPORTED_BACKUP_VERSION');
      expect(await codeOf(() => inspectBackup(b))).toBe('UNSUPPORTED_BACKUP_VERSION');
      expect(await codeOf(openBackup(b, PASS, OPTS))).toBe('UNSUPPORTED_BACKUP_VERSION');
      expect(await codeOf(verifyBackup(b, PASS, OPTS))).toBe('UNSUPPORTED_BACKUP_VERSION');
    }
    expect(() => shareBackupText(bundle(file, { version: 2 }))).toThrow(/bundle version 2 is not supported/);
  });

  it('share not a string → CORRUPT_BACKUP', async () => {
    const file = await seal(heavy);
    for (const share of [JSON.parse(file), null, 42, [file]]) {
      const b = bundle(share);
      expect(await codeOf(() => inspectBackup(b))).toBe('CORRUPT_BACKUP/field');
      expect(await codeOf(openBackup(b, PASS, OPTS))).toBe('CORRUPT_BACKUP/field');
    }
    const missing = JSON.stringify({ format: DEVICE_BACKUP_FORMAT, version: 1, device: {} });
    expect(await codeOf(() => inspectBackup(missing))).toBe('CORRUPT_BACKUP/field');
    expect(await codeOf(() => inspectBackup(bundle('')))).toBe('CORRUPT_BACKUP/length');
    // A bundle inside a bundle is refused, not unwrapped twice.
    expect(await codeOf(() => shareBackupText(bundle(bundle(file))))).toBe('CORRUPT_BACKUP/field');
    expect(await codeOf(() => inspectBackup(bundle(bundle(file))))).toBe('CORRUPT_BACKUP/field');
  });

  it('a modified inner share gives the same error as the same edit to a bare file', async () => {
    const file = await seal(heavy);
    const j = JSON.parse(file) as { ciphertext: string; header: { epoch: number } };
    const flipped = JSON.stringify({ ...j, ciphertext: flipHexChar(j.ciphertext, 10) });
    expect(await codeOf(open(flipped))).toBe('CORRUPT_BACKUP/authentication');
    expect(await codeOf(openBackup(bundle(flipped), PASS, OPTS))).toBe('CORRUPT_BACKUP/authentication');
    const epoch = JSON.stringify({ ...j, header: { ...j.header, epoch: 7 } });
    expect(await codeOf(() => inspectBackup(epoch))).toBe('CORRUPT_BACKUP/header-digest');
    expect(await codeOf(() => inspectBackup(bundle(epoch)))).toBe('CORRUPT_BACKUP/header-digest');
    // A truncated inner text is a JSON error, as for a bare file.
    const cut = file.slice(0, file.length / 2);
    expect(await codeOf(() => inspectBackup(cut))).toBe('CORRUPT_BACKUP/json');
    expect(await codeOf(() => inspectBackup(bundle(cut)))).toBe('CORRUPT_BACKUP/json');
  });

  it('non-JSON, non-bundle and oversized text keep the strict parser errors', async () => {
    const file = await seal(heavy);
    expect(await codeOf(() => inspectBackup('not json'))).toBe('CORRUPT_BACKUP/json');
    expect(() => inspectBackup('not json')).toThrow(/backup is not valid JSON/);
    expect(await codeOf(() => inspectBackup('{"format": "concord-device-backup", '))).toBe(
      'CORRUPT_BACKUP/json',
    );
    expect(() => inspectBackup('{"format":"something-else"}')).toThrow(/not a Concord backup/);
    const huge = bundle(file, { device: 'x'.repeat(1 << 20) });
    expect(await codeOf(() => inspectBackup(huge))).toBe('CORRUPT_BACKUP/json');
    expect(() => inspectBackup(huge)).toThrow(/larger than/);
  });
});
