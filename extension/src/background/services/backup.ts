/**
 * Backups of this device's share of a vault: export a passphrase-sealed backup file and check one
 * against this device without rebuilding the key. The file format, KDF (scrypt, OWASP parameters)
 * and AEAD are tss's (tss/src/backup/format.ts, README.md there); this service adds the extension's
 * rules around it:
 *
 * - both operations need the wallet unlocked (the share is sealed under the DEK) and only read
 *   storage: no failure path (or success path) writes anything;
 * - an export also needs the wallet passphrase again (`confirmPassphrase`): the file carries the
 *   share *and* the device identity, so an unlocked session left open must not be enough to take
 *   both away. It is checked before the share is opened;
 * - the backup passphrase must meet the same strength policy as onboarding (shared/passphrase.ts);
 * - every decrypted copy of the share (sealed-record plaintext, the decoded `KeyShare`, the backup
 *   source) is destroyed in a `finally`, whatever happens;
 * - tss `BackupError`s become `ExtensionError('BACKUP_INVALID')` with a plain-language message per
 *   cause (wrong passphrase, damaged/modified file, unknown version, KDF bounds), and messages never
 *   carry passphrases or share bytes (THREATS 64).
 *
 * Two vault ids are in play: the extension's local vault id (the record key, a random id chosen at
 * proposal time) and tss's vault id (`descriptor.vaultId`, derived from the DKG session), which is
 * what a backup file records. Comparisons with a file always use the latter, read from the active
 * share's descriptor.
 */

import { cryptoRandomBytes, isTssError, KeyShare, type RandomBytes } from '@concord/tss';
import type { BackupSource, ScryptParams } from '@concord/tss/backup';
import {
  BackupError,
  type BackupSummary,
  createBackup,
  inspectBackup,
  keyShareToBackupSource,
  parseEnvelope,
  verifyBackup as tssVerifyBackup,
} from '@concord/tss/backup';
import { toHex, zeroize } from '../../shared/bytes.ts';
import { ExtensionError } from '../../shared/errors.ts';
import type { BackupCheckView, BackupFileView } from '../../shared/messages.ts';
import { assessPassphrase } from '../../shared/passphrase.ts';
import type { ShareRecord, VaultRecord } from '../../storage/records.ts';
import type { Repositories } from '../../storage/repositories/index.ts';
import { SharesRepository } from '../../storage/repositories/shares.ts';
import type { Unlocked } from './ceremonies.ts';
import {
  DEVICE_KDF,
  type DeviceKdf,
  openDeviceIdentity,
  parseDeviceBackup,
  sealDeviceBackup,
} from './device-backup.ts';
import { decodeDeviceIdentity, encodeDeviceIdentity } from './identity-api.ts';

/** The test KDF of the share part, reused for the device part (tests only). */
function deviceKdfOf(p: ScryptParams): DeviceKdf {
  return { N: p.N, r: p.r, p: p.p };
}

/**
 * TEST ONLY: seal backups with scrypt parameters below the production floor and accept such files
 * (tss `insecureTestKdf`). Product code never sets it: without it, new backups use tss
 * `DEFAULT_SCRYPT` (N = 2^17, r = 8, p = 1) and files below that floor are refused.
 */
export interface InsecureTestKdf {
  insecureTestKdf: true;
  scrypt: ScryptParams;
}

export interface BackupServiceDeps {
  repos: Repositories;
  /** The loaded identity and data key, or null while locked. */
  unlocked: () => Promise<Unlocked | null>;
  /**
   * Re-verifies the wallet passphrase against the keyring (WalletService.confirmPassphrase); throws
   * `WRONG_PASSPHRASE` for a wrong one.
   */
  confirmPassphrase: (walletPassphrase: string) => Promise<void>;
  /** Randomness for the backup's salt and nonce; defaults to WebCrypto. */
  rng?: RandomBytes;
  kdf?: InsecureTestKdf;
}

export class BackupService {
  constructor(private readonly d: BackupServiceDeps) {}

  /**
   * Seals this device's active share of `vaultId` under `passphrase` as a tss backup file, once
   * `walletPassphrase` (the one that unlocks Concord) is confirmed.
   */
  async exportBackup(vaultId: string, walletPassphrase: string, passphrase: string): Promise<BackupFileView> {
    await this.requireUnlocked();
    const { vault, record } = await this.findShare(vaultId);
    // Checked before the share is opened: a refused passphrase never needs the secret.
    const assessment = assessPassphrase(passphrase);
    if (!assessment.acceptable) throw new ExtensionError('WEAK_PASSPHRASE', assessment.message);
    await this.d.confirmPassphrase(walletPassphrase);
    // Read again after the (slow) check: the wallet may have locked meanwhile.
    const u = await this.requireUnlocked();
    return this.withShare(record, u.dek, async (keyShare) => {
      let source: BackupSource | undefined;
      try {
        source = keyShareToBackupSource(keyShare);
        const text = await createBackup(source, passphrase, {
          ...(this.d.rng === undefined ? {} : { rng: this.d.rng }),
          ...(this.d.kdf === undefined ? {} : { kdf: this.d.kdf.scrypt, insecureTestKdf: true }),
        });
        // The device backup bundle: the tss file (what concord-recover reads) plus this device's
        // identity under the same passphrase, so the device can be restored as the same signer.
        const identity = encodeDeviceIdentity(u.identity);
        try {
          const bundle = await sealDeviceBackup(
            text,
            identity,
            passphrase,
            this.d.rng ?? cryptoRandomBytes,
            this.d.kdf === undefined ? DEVICE_KDF : deviceKdfOf(this.d.kdf.scrypt),
          );
          return { filename: backupFilename(vault, keyShare), text: bundle };
        } finally {
          zeroize(identity);
        }
      } catch (e) {
        throw exportError(e);
      } finally {
        // bigints cannot be overwritten; dropping the only references is the best JS allows.
        if (source !== undefined) source.pointShares.length = 0;
      }
    });
  }

  /**
   * Opens `file` with `passphrase` (tss `verifyBackup`: the key check, the AEAD and share·G against
   * every recorded public share; the key is never rebuilt) and compares it with this device's active
   * share of `vaultId`.
   */
  async verifyBackup(vaultId: string, bundleText: string, passphrase: string): Promise<BackupCheckView> {
    const u = await this.requireUnlocked();
    const parsed = parseDeviceBackup(bundleText);
    const file = parsed.shareText;
    const { record } = await this.findShare(vaultId);
    // Only the public descriptor is needed from here on; the share is wiped before any KDF work.
    const self = await this.withShare(record, u.dek, async (keyShare) => ({
      vaultId: toHex(keyShare.descriptor.vaultId),
      partyId: toHex(keyShare.selfId),
      epoch: keyShare.epoch,
      groupPublicKey: toHex(keyShare.descriptor.groupPublicKey.toBytes(true)),
      threshold: keyShare.descriptor.threshold,
      points: keyShare.selfPoints.map((x) => Number(x)),
      publicShares: keyShare.selfPoints.map((x) =>
        toHex(keyShare.descriptor.publicShares[Number(x) - 1]!.toBytes(true)),
      ),
    }));

    // Public checks first (no passphrase, no scrypt): a file of another vault or device is named as
    // such rather than as a wrong passphrase, and costs no KDF work. Repeated on the verified
    // summary below, since an unauthenticated header could lie.
    let header: BackupSummary;
    try {
      header = inspectBackup(file);
    } catch (e) {
      throw verifyError(e);
    }
    compareIdentity(header, self);

    let summary: BackupSummary;
    try {
      summary = await tssVerifyBackup(
        file,
        passphrase,
        this.d.kdf === undefined ? {} : { insecureTestKdf: true },
      );
    } catch (e) {
      throw verifyError(e);
    }
    compareIdentity(summary, self);

    if (parsed.device !== undefined) {
      // The identity part must open with the same passphrase and be this device's own identity.
      const secret = await openDeviceIdentity(
        parsed,
        passphrase,
        this.d.kdf === undefined ? DEVICE_KDF : deviceKdfOf(this.d.kdf.scrypt),
      );
      try {
        const restored = decodeDeviceIdentity(secret);
        const same = toHex(restored.deviceId) === toHex(u.identity.deviceId);
        restored.destroy();
        if (!same) throw new ExtensionError('BACKUP_INVALID', 'This backup belongs to another device.');
      } finally {
        zeroize(secret);
      }
    }
    const n = summary.epoch;
    const m = self.epoch;
    if (n === m) {
      // Same vault, device and epoch: the file must hold exactly this device's share, not merely a
      // share consistent with a header someone wrote (its public shares are bound by the AEAD).
      const recorded = parseEnvelope(file).header.publicShares.map((s) => toHex(s.point));
      const samePoints = summary.points.join() === self.points.join();
      if (
        !samePoints ||
        summary.threshold !== self.threshold ||
        recorded.length !== self.publicShares.length ||
        recorded.some((p, i) => p !== self.publicShares[i])
      ) {
        throw new ExtensionError(
          'BACKUP_INVALID',
          `This backup claims to be this device's share at epoch ${n}, but its shares do not match the share stored here.`,
        );
      }
      return {
        vaultId,
        epoch: n,
        current: true,
        message: `This backup is valid and matches this device's current share (epoch ${n}).`,
      };
    }
    if (n < m) {
      return {
        vaultId,
        epoch: n,
        current: false,
        message:
          `This backup is valid but from epoch ${n}; the vault is now at epoch ${m}. ` +
          `It still rebuilds the key together with other epoch-${n} backups, so make a new backup ` +
          'now and destroy every copy of the old one.',
      };
    }
    // A newer epoch than the share stored here: this device's storage is behind the vault (e.g. a
    // profile restored from an old copy). The backup itself is fine.
    return {
      vaultId,
      epoch: n,
      current: false,
      message: `This backup is valid and from epoch ${n}, newer than the share stored on this device (epoch ${m}).`,
    };
  }

  private async requireUnlocked(): Promise<Unlocked> {
    const u = await this.d.unlocked();
    if (u === null) throw new ExtensionError('LOCKED', 'Unlock Concord first.');
    return u;
  }

  private async findShare(vaultId: string): Promise<{ vault: VaultRecord; record: ShareRecord }> {
    const vault = await this.d.repos.vaults.get(vaultId);
    if (vault === undefined) throw new ExtensionError('NOT_FOUND', 'There is no such vault on this device.');
    const record = await this.d.repos.shares.active(vaultId);
    if (record === undefined) {
      throw new ExtensionError('NOT_FOUND', 'This device holds no active share of that vault.');
    }
    return { vault, record };
  }

  /** Decrypts and decodes the share, runs `fn`, and wipes the plaintext and the share afterwards. */
  private async withShare<T>(
    record: ShareRecord,
    dek: Uint8Array,
    fn: (keyShare: KeyShare) => Promise<T>,
  ): Promise<T> {
    let secret: Uint8Array | undefined;
    let keyShare: KeyShare | undefined;
    try {
      secret = SharesRepository.openSecret(record, dek);
      try {
        keyShare = KeyShare.decode(secret);
      } catch (cause) {
        throw new ExtensionError('CORRUPT_RECORD', 'The stored share of this vault is invalid.', { cause });
      }
      if (keyShare.epoch !== record.epoch) {
        throw new ExtensionError('CORRUPT_RECORD', 'The stored share does not match its record.');
      }
      return await fn(keyShare);
    } finally {
      keyShare?.destroy();
      zeroize(secret);
    }
  }
}

interface SelfFacts {
  vaultId: string;
  partyId: string;
  epoch: number;
  groupPublicKey: string;
  threshold: number;
  points: number[];
  publicShares: string[];
}

/** Same vault (tss vault id and group key) and same party as this device's share, or BACKUP_INVALID. */
function compareIdentity(
  b: { vaultId: string; groupPublicKey: string; partyId: string },
  self: SelfFacts,
): void {
  if (b.vaultId !== self.vaultId) {
    throw new ExtensionError('BACKUP_INVALID', 'This backup belongs to another vault.');
  }
  if (b.groupPublicKey !== self.groupPublicKey) {
    // Same vault id with another key cannot come from this vault's ceremonies.
    throw new ExtensionError('BACKUP_INVALID', "This backup's key does not match this vault's key.");
  }
  if (b.partyId !== self.partyId) {
    // The party id is the device id: the DKG runs with each member's device id as its party id.
    throw new ExtensionError(
      'BACKUP_INVALID',
      "This backup belongs to another device of this vault, not to this device's share.",
    );
  }
}

/**
 * `concord-backup-<vault>-epoch<N>-<party>.json`: the first 8 characters of the vault name's slug
 * (or of the local vault id when the name has no usable characters) and of the party id in hex, so
 * files of several vaults, epochs and devices sort apart and say what they are.
 */
export function backupFilename(vault: Pick<VaultRecord, 'id' | 'name'>, keyShare: KeyShare): string {
  const slug = slugify(vault.name).slice(0, 8).replace(/-+$/, '');
  const label = slug === '' ? vault.id.slice(0, 8) : slug;
  return `concord-backup-${label}-epoch${keyShare.epoch}-${toHex(keyShare.selfId).slice(0, 8)}.json`;
}

function slugify(name: string): string {
  return name
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '') // drop combining marks: "Café" → "cafe"
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '');
}

/** Errors of `createBackup`. Its input was just decoded from storage, so most mean a bad record. */
function exportError(e: unknown): unknown {
  if (e instanceof ExtensionError) return e;
  if (e instanceof BackupError) {
    switch (e.code) {
      case 'WEAK_PASSPHRASE':
        // The core's own length rule (after NFKC normalisation) can refuse what the policy accepted.
        return new ExtensionError('WEAK_PASSPHRASE', 'Use a longer passphrase (at least 12 characters).', {
          cause: e,
        });
      case 'INVALID_SOURCE':
        return new ExtensionError('CORRUPT_RECORD', 'The stored share of this vault is inconsistent.', {
          cause: e,
        });
      default:
        return new ExtensionError('INTERNAL', 'The backup could not be created.', { cause: e });
    }
  }
  if (isTssError(e)) {
    return new ExtensionError('CORRUPT_RECORD', 'The stored share of this vault is inconsistent.', {
      cause: e,
    });
  }
  return e;
}

/** Every tss `BackupError` of reading a file, as BACKUP_INVALID with a message for people. */
function verifyError(e: unknown): unknown {
  if (!(e instanceof BackupError)) return e;
  const invalid = (message: string) => new ExtensionError('BACKUP_INVALID', message, { cause: e });
  switch (e.code) {
    case 'WRONG_PASSPHRASE':
      return invalid('Wrong passphrase: it does not open this backup.');
    case 'UNSUPPORTED_BACKUP_VERSION':
      return invalid(
        'This backup uses a file format version this version of Concord cannot read. Update Concord and try again.',
      );
    case 'KDF_PARAMS_REJECTED':
      return invalid(
        "This backup's key-derivation settings are outside the accepted bounds (too weak to be safe, or too costly to open); it was not opened.",
      );
    case 'SHARE_MISMATCH':
      return invalid(
        'This backup is corrupt: the passphrase opens it, but its share does not match its recorded public share.',
      );
    case 'CORRUPT_BACKUP':
      switch (e.reason) {
        case 'json':
          return invalid('This file is not a Concord backup, or it is damaged (it is not readable JSON).');
        case 'authentication':
          return invalid(
            'This backup is corrupt or was modified: the passphrase is right, but the encrypted share or the data bound to it was changed.',
          );
        default:
          return invalid('This backup is corrupt or was modified, or it is not a Concord backup file.');
      }
    default:
      return invalid('This file is not a valid Concord backup.');
  }
}
