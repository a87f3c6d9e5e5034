/**
 * The bridge from a live `KeyShare` to the backup format: only the point shares and public data go
 * into a backup — never the OT seeds or zero seeds, which a restored device rebuilds by a refresh.
 * And back: a device restored from its backup gets a `KeyShare` with no pairwise state, which can
 * deal in a refresh (reshare to the same committee) but refuses to sign until then.
 */
import type { BackupSource } from './backup/source.ts';
import { equalBytes, toHex } from './bytes.ts';
import type { VaultDescriptor } from './descriptor.ts';
import { TssError } from './errors.ts';
import { KeyShare } from './keyshare.ts';
import { pointToBytes } from './math/scalar.ts';

export function keyShareToBackupSource(ks: KeyShare): BackupSource {
  const d = ks.descriptor;
  return {
    vaultId: d.vaultId.slice(),
    epoch: d.epoch,
    groupPublicKey: pointToBytes(d.groupPublicKey),
    threshold: d.threshold,
    parties: d.parties.map((p) => ({ id: p.id.slice(), power: p.power, points: [...p.points] })),
    partyId: ks.selfId.slice(),
    pointShares: ks.selfPoints.map((x, k) => ({ x, share: ks.shares[k]! })),
    publicShares: ks.selfPoints.map((x) => ({ x, point: pointToBytes(d.publicShares[Number(x) - 1]!) })),
  };
}

/**
 * Rebuild this device's share from its opened backup and the vault's current public descriptor
 * (public data any member can hand over). Every field the backup records must match the
 * descriptor, and each share must match its public share; otherwise nothing is restored.
 */
export function restoreKeyShare(backup: BackupSource, descriptor: VaultDescriptor): KeyShare {
  const mismatch = (what: string) =>
    new TssError('VAULT_MISMATCH', `backup and vault descriptor disagree on ${what}`);
  if (!equalBytes(backup.vaultId, descriptor.vaultId)) throw mismatch('the vault id');
  if (backup.epoch !== descriptor.epoch) {
    throw new TssError(
      'EPOCH_MISMATCH',
      `backup is from epoch ${backup.epoch}, the vault is at epoch ${descriptor.epoch}`,
    );
  }
  if (!equalBytes(backup.groupPublicKey, pointToBytes(descriptor.groupPublicKey)))
    throw mismatch('the group key');
  if (backup.threshold !== descriptor.threshold) throw mismatch('the threshold');
  const sameParties =
    backup.parties.length === descriptor.parties.length &&
    backup.parties.every((p) => {
      const q = descriptor.parties.find((d) => equalBytes(d.id, p.id));
      return q !== undefined && q.power === p.power && q.points.join() === p.points.join();
    });
  if (!sameParties) throw mismatch('the parties');
  const self = descriptor.parties.find((p) => equalBytes(p.id, backup.partyId));
  if (!self) throw mismatch(`party ${toHex(backup.partyId).slice(0, 16)}…`);
  const shares = self.points.map((x) => {
    const entry = backup.pointShares.find((e) => e.x === x);
    if (!entry) throw mismatch(`the share for point ${x}`);
    return entry.share;
  });
  const ks = new KeyShare(descriptor, backup.partyId.slice(), shares, []);
  ks.verify(); // each share against the descriptor's public share
  return ks;
}
