/**
 * A device restored from its own backup gets its point shares back but no OT state (backups never
 * hold it): it refuses to sign with REFRESH_REQUIRED, deals in a refresh with the others, and after
 * the certificate activates the new epoch it signs again for the same address.
 */
import { keccak_256 } from '@noble/hashes/sha3.js';
import { describe, expect, it } from 'vitest';
import { createBackup, openBackup } from '../../src/backup/index.ts';
import { equalBytes, toHex, utf8 } from '../../src/bytes.ts';
import { keyShareToBackupSource, restoreKeyShare } from '../../src/keyshare-backup.ts';
import { activate } from '../../src/reshare/certificate.ts';
import { SignSession } from '../../src/sign/session.ts';
import { expectAllOk, runReshare, runSign } from '../../src/testing/driver.ts';
import { loadFixture } from '../fixtures/index.ts';

const PASS = 'restore me from the ashes, concord';
const fast = { kdf: { N: 2 ** 10, r: 8, p: 1 }, insecureTestKdf: true } as const;

describe('restore a device from its backup, then refresh', () => {
  it('refuses to sign until a refresh, then signs for the same address on the new epoch', async () => {
    const [a, b, c] = loadFixture('1-1-1_t2').shares;
    const d = a!.descriptor;
    const file = await createBackup(keyShareToBackupSource(a!), PASS, fast);
    // The device is wiped; it gets the public descriptor back from a teammate.
    const restored = restoreKeyShare(await openBackup(file, PASS, { insecureTestKdf: true }), b!.descriptor);
    expect(restored.restored).toBe(true);
    expect(restored.shares).toEqual(a!.shares);
    expect(
      () =>
        new SignSession({
          keyShare: restored,
          signers: [restored.selfId, b!.selfId],
          digest: new Uint8Array(32),
        }),
    ).toThrowError(expect.objectContaining({ code: 'REFRESH_REQUIRED' }));

    // Refresh: the restored share deals together with b; the committee stays [1,1,1] t=2.
    const committee = d.parties.map((p) => ({ id: p.id, power: p.power }));
    const run = runReshare({
      oldShares: [restored, b!],
      newParties: committee,
      newThreshold: 2,
      seed: 'restore',
    });
    const outs = expectAllOk(run);
    expect(run.certificate).toBeDefined();
    const active = outs.map((o) => activate(o.pending!, run.certificate!, run.identityKeys).active);
    for (const k of active) {
      expect(k.epoch).toBe(d.epoch + 1);
      expect(k.descriptor.address).toBe(d.address);
      expect(k.restored).toBe(false);
    }
    const newA = active.find((k) => equalBytes(k.selfId, a!.selfId))!;
    const newC = active.find((k) => equalBytes(k.selfId, c!.selfId))!;
    const digest = keccak_256(utf8('after restore'));
    const [sig] = expectAllOk(runSign({ keyShares: [newA, newC], digest, seed: 'after-restore' }));
    expect(sig!.compact.length).toBe(64);
    // The pre-refresh share of c cannot be mixed with the new epoch.
    const mixed = runSign({ keyShares: [newA, c!], digest });
    expect(mixed.outcomes.every((o) => !o.ok)).toBe(true);
    expect(mixed.outcomes.some((o) => !o.ok && o.error.code === 'EPOCH_MISMATCH')).toBe(true);
  });

  it('refuses a backup that does not match the descriptor it is restored against', async () => {
    const a = loadFixture('1-1-1_t2').shares[0]!;
    const other = loadFixture('2-1-1_t3').shares[0]!;
    const source = keyShareToBackupSource(a);
    expect(() => restoreKeyShare(source, other.descriptor)).toThrowError(
      expect.objectContaining({ code: 'VAULT_MISMATCH' }),
    );
    expect(() => restoreKeyShare({ ...source, epoch: 3 }, a.descriptor)).toThrowError(
      expect.objectContaining({ code: 'EPOCH_MISMATCH' }),
    );
    const tampered = {
      ...source,
      pointShares: source.pointShares.map((e) => ({ ...e, share: e.share + 1n })),
    };
    expect(() => restoreKeyShare(tampered, a.descriptor)).toThrowError(
      expect.objectContaining({ code: 'PUBLIC_KEY_MISMATCH' }),
    );
    expect(toHex(a.selfId)).toBe(toHex(source.partyId));
  });
});
