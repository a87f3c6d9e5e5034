/**
 * Errors of the backup file format and the recovery tool's decryption steps.
 *
 * A separate class from `TssError` because these codes describe a file and a passphrase, not a
 * protocol abort: nobody is banned or blamed. Codes are stable (the CLI and the extension's backup
 * UI switch on them). Messages name fields, lengths and parameters, never passphrases or shares.
 */

export type BackupErrorCode =
  /** The passphrase does not open this backup (the key-check value does not match). */
  | 'WRONG_PASSPHRASE'
  /** The file is damaged or was modified: bad JSON, bad field, bad length, header or ciphertext altered. */
  | 'CORRUPT_BACKUP'
  /** The file's format version is not one this code reads. */
  | 'UNSUPPORTED_BACKUP_VERSION'
  /** KDF parameters below the security floor or above the resource ceiling (THREATS D72). */
  | 'KDF_PARAMS_REJECTED'
  /** Passphrase too short or too guessable (THREATS D74). */
  | 'WEAK_PASSPHRASE'
  /** A decrypted share does not match its recorded public share (THREATS D75). */
  | 'SHARE_MISMATCH'
  /** The caller passed an inconsistent `BackupSource` to `createBackup`. */
  | 'INVALID_SOURCE';

/** Which check found a corrupt file: lets tests and support tell the kinds apart. */
export type CorruptReason =
  | 'json' // not JSON, not an object
  | 'field' // a field is missing, unknown, of the wrong type or out of range
  | 'length' // a hex field has the wrong length
  | 'header-digest' // the header no longer matches its digest (accidental damage or naive tampering)
  | 'authentication'; // passphrase right, but the AEAD tag rejects the ciphertext or the header it binds

export class BackupError extends Error {
  override readonly name = 'BackupError';
  readonly code: BackupErrorCode;
  readonly reason: CorruptReason | undefined;
  /** Extra public detail for UIs (e.g. zxcvbn feedback); never secret. */
  readonly details: readonly string[];

  constructor(
    code: BackupErrorCode,
    message: string,
    opts: { reason?: CorruptReason; details?: readonly string[]; cause?: unknown } = {},
  ) {
    super(`${code}: ${message}`, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.code = code;
    this.reason = opts.reason;
    this.details = Object.freeze([...(opts.details ?? [])]);
  }

  toJSON(): {
    name: string;
    code: BackupErrorCode;
    reason?: CorruptReason;
    message: string;
    details: string[];
  } {
    return {
      name: this.name,
      code: this.code,
      ...(this.reason === undefined ? {} : { reason: this.reason }),
      message: this.message,
      details: [...this.details],
    };
  }
}

export function isBackupError(e: unknown): e is BackupError {
  return e instanceof BackupError;
}

/** Shorthand for a corrupt-file error. */
export function corrupt(reason: CorruptReason, message: string, cause?: unknown): BackupError {
  return new BackupError('CORRUPT_BACKUP', message, { reason, cause });
}
