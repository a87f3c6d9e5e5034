/**
 * The bridge from a live `KeyShare` to the backup format: only the point shares and public data go
 * into a backup — never the OT seeds or zero seeds, which a restored device rebuilds by a refresh.
 */
import type { BackupSource } from './backup/source.ts';
import type { KeyShare } from './keyshare.ts';
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
