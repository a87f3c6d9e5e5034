/**
 * Backups of one party's key shares: passphrase-sealed, versioned JSON files.
 * The passphrase-strength check is a separate entry (`backup/strength.ts`): it pulls zxcvbn.
 */

export { keyShareToBackupSource, restoreKeyShare } from '../keyshare-backup.ts';
export {
  type BackupSummary,
  type CreateBackupOptions,
  createBackup,
  inspectBackup,
  MAX_PASSPHRASE_LENGTH,
  MIN_PASSPHRASE_LENGTH,
  type OpenBackupOptions,
  openBackup,
  verifyBackup,
} from './backup.ts';
export { DEVICE_BACKUP_FORMAT, shareBackupText } from './bundle.ts';
export { BackupError, type BackupErrorCode, type CorruptReason, isBackupError } from './errors.ts';
export { BACKUP_FORMAT, BACKUP_VERSION, parseEnvelope } from './format.ts';
export { checkScryptParams, DEFAULT_SCRYPT, KDF_POLICY, type KdfPolicy, type ScryptParams } from './kdf.ts';
export { type BackupParty, type BackupSource, validateSource } from './source.ts';
