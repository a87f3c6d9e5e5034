/**
 * Restoring a device from its backup file (device-backup.ts): the identity comes back as it was (same
 * device id), and the share's point shares are kept sealed under the new data key as a `restores`
 * row. A restored share has no pairwise OT state, so it cannot sign (tss `restoreKeyShare` →
 * REFRESH_REQUIRED); it takes part in the vault's next refresh as a dealer — the refresh request
 * carries the vault's public descriptor, from which tss rebuilds the share — and the refreshed share
 * then signs as before (reshare.ts).
 *
 * The stored form of a `BackupSource` is a small canonical JSON (hex for bytes and scalars), sealed
 * with record-bound associated data like every secret row.
 */

import { ethereumAddress } from '@concord/tss';
import type { BackupSource } from '@concord/tss/backup';
import { isBackupError, openBackup } from '@concord/tss/backup';
import { fromHex } from '@concord/tss/bytes';
import { pointFromBytes } from '@concord/tss/curve';
import { open, type RandomBytes, type RecordContext, seal } from '../../crypto/aead.ts';
import { toHex, utf8, zeroize } from '../../shared/bytes.ts';
import { ExtensionError } from '../../shared/errors.ts';
import type { RestoreView } from '../../shared/messages.ts';
import type { RestoreRecord } from '../../storage/records.ts';
import { type DeviceKdf, openDeviceIdentity, parseDeviceBackup } from './device-backup.ts';
import { type DeviceIdentity, decodeDeviceIdentity } from './identity-api.ts';

const h = (n: bigint) => n.toString(16);

export function encodeSource(s: BackupSource): Uint8Array {
  return utf8(
    JSON.stringify({
      vaultId: toHex(s.vaultId),
      epoch: s.epoch,
      groupPublicKey: toHex(s.groupPublicKey),
      threshold: s.threshold,
      parties: s.parties.map((p) => ({ id: toHex(p.id), power: p.power, points: p.points.map(h) })),
      partyId: toHex(s.partyId),
      pointShares: s.pointShares.map((p) => ({ x: h(p.x), share: h(p.share) })),
      publicShares: s.publicShares.map((p) => ({ x: h(p.x), point: toHex(p.point) })),
    }),
  );
}

interface SourceJson {
  vaultId: string;
  epoch: number;
  groupPublicKey: string;
  threshold: number;
  parties: { id: string; power: number; points: string[] }[];
  partyId: string;
  pointShares: { x: string; share: string }[];
  publicShares: { x: string; point: string }[];
}

/** Inverse of `encodeSource`; tss `restoreKeyShare` validates the result against the descriptor. */
export function decodeSource(bytes: Uint8Array): BackupSource {
  const j = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes)) as SourceJson;
  const n = (x: string) => BigInt(`0x${x}`);
  return {
    vaultId: fromHex(j.vaultId),
    epoch: j.epoch,
    groupPublicKey: fromHex(j.groupPublicKey),
    threshold: j.threshold,
    parties: j.parties.map((p) => ({ id: fromHex(p.id), power: p.power, points: p.points.map(n) })),
    partyId: fromHex(j.partyId),
    pointShares: j.pointShares.map((p) => ({ x: n(p.x), share: n(p.share) })),
    publicShares: j.publicShares.map((p) => ({ x: n(p.x), point: fromHex(p.point) })),
  };
}

export function restoreContext(id: string, epoch: number): RecordContext {
  return { type: 'restore', id, version: epoch };
}

export interface PreparedRestore {
  identity: DeviceIdentity;
  source: BackupSource;
}

/**
 * Opens both parts of a backup bundle with its passphrase; the share must be the identity's own.
 * Nothing is stored here (the wallet stores it with the new keyring, in one transaction).
 */
export async function prepareRestore(
  file: string,
  backupPassphrase: string,
  test?: { kdf: DeviceKdf },
): Promise<PreparedRestore> {
  const parsed = parseDeviceBackup(file);
  const secret = await openDeviceIdentity(parsed, backupPassphrase, test?.kdf);
  let identity: DeviceIdentity;
  try {
    identity = decodeDeviceIdentity(secret);
  } catch (cause) {
    throw new ExtensionError('BACKUP_INVALID', 'The device identity in this backup is damaged.', { cause });
  } finally {
    zeroize(secret);
  }
  let source: BackupSource;
  try {
    source = await openBackup(
      parsed.shareText,
      backupPassphrase,
      test === undefined ? {} : { insecureTestKdf: true },
    );
  } catch (e) {
    identity.destroy();
    if (isBackupError(e)) {
      throw new ExtensionError(
        'BACKUP_INVALID',
        'The share in this backup could not be opened: it is damaged or was modified.',
      );
    }
    throw e;
  }
  if (toHex(source.partyId) !== toHex(identity.deviceId)) {
    identity.destroy();
    source.pointShares.length = 0;
    throw new ExtensionError(
      'BACKUP_INVALID',
      'The share and the device identity in this backup do not belong together.',
    );
  }
  return { identity, source };
}

/** The `restores` row for a prepared restore, sealed under `dek`. */
export function restoreRecord(
  source: BackupSource,
  dek: Uint8Array,
  now: number,
  rng?: RandomBytes,
): RestoreRecord {
  const id = toHex(source.vaultId);
  const bytes = encodeSource(source);
  try {
    const self = source.parties.find((p) => toHex(p.id) === toHex(source.partyId));
    return {
      id,
      epoch: source.epoch,
      groupKey: toHex(source.groupPublicKey),
      address: ethereumAddress(pointFromBytes(source.groupPublicKey, 'group key')),
      threshold: source.threshold,
      power: self?.power ?? 0,
      sealed: seal(dek, bytes, restoreContext(id, source.epoch), rng),
      createdAt: now,
    };
  } finally {
    zeroize(bytes);
  }
}

export function openRestore(r: RestoreRecord, dek: Uint8Array): BackupSource {
  const bytes = open(dek, r.sealed, restoreContext(r.id, r.epoch));
  try {
    return decodeSource(bytes);
  } finally {
    zeroize(bytes);
  }
}

export function restoreView(r: RestoreRecord): RestoreView {
  return {
    keyId: r.id,
    address: r.address,
    epoch: r.epoch,
    power: r.power,
    threshold: r.threshold,
    createdAt: r.createdAt,
  };
}
