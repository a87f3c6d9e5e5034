/**
 * Device backup bundles: the browser extension's exported backup file, which wraps a tss backup.
 *
 * ```json
 * { "format": "concord-device-backup", "version": 1, "share": "<a concord-tss-backup file's text>", "device": { ... } }
 * ```
 *
 * `share` is a JSON string holding the exact text of a `concord-tss-backup` file, byte for byte, so
 * the strict parser (`format.ts`) reads it unchanged and its digest and AEAD still authenticate
 * everything tss uses. `device` (the device identity the extension seals) and any other member are
 * the extension's: tss neither reads nor checks them.
 *
 * `shareBackupText` is applied where backup text enters (`inspectBackup`, `openBackup`,
 * `verifyBackup`, the recovery tool), so every reader accepts a bundle or a bare tss backup alike.
 * Anything that is not a bundle is returned unchanged, so bare files, non-JSON and oversized text
 * keep the strict parser's errors.
 */
import { BackupError, corrupt } from './errors.ts';
import { MAX_FILE_CHARS } from './format.ts';

export const DEVICE_BACKUP_FORMAT = 'concord-device-backup';
/** The only bundle version this code reads. */
export const DEVICE_BACKUP_VERSION = 1;

function bundleObject(text: string): Record<string, unknown> | undefined {
  // A tss backup never contains the bundle's format name (its only strings are fixed names and hex),
  // so this skips a second JSON parse of every bare file.
  if (!text.includes(DEVICE_BACKUP_FORMAT)) return undefined;
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return undefined;
  const obj = raw as Record<string, unknown>;
  return obj.format === DEVICE_BACKUP_FORMAT ? obj : undefined;
}

/**
 * The tss backup text inside a device backup bundle, or `text` itself when it is not a bundle.
 * Throws `BackupError` `UNSUPPORTED_BACKUP_VERSION` for a bundle version other than 1, and
 * `CORRUPT_BACKUP` (reason `field` or `length`) when `share` is not a string, is too large, or is
 * itself a bundle. The share's own contents are checked later by the strict parser.
 */
export function shareBackupText(text: string): string {
  // Oversized or non-string input: left to the strict parser, which reports it as it always has.
  if (typeof text !== 'string' || text.length > MAX_FILE_CHARS) return text;
  const bundle = bundleObject(text);
  if (bundle === undefined) return text;
  if (bundle.version !== DEVICE_BACKUP_VERSION) {
    throw new BackupError(
      'UNSUPPORTED_BACKUP_VERSION',
      `device backup bundle version ${JSON.stringify(bundle.version)} is not supported (this tool reads version ${DEVICE_BACKUP_VERSION})`,
    );
  }
  const share = bundle.share;
  if (typeof share !== 'string') {
    throw corrupt('field', 'device backup bundle: share must be the text of a Concord backup (a string)');
  }
  if (share.length === 0 || share.length > MAX_FILE_CHARS) {
    throw corrupt('length', `device backup bundle: share must be 1..${MAX_FILE_CHARS} characters`);
  }
  if (bundleObject(share) !== undefined) {
    throw corrupt('field', 'device backup bundle: share is another bundle, not a Concord backup');
  }
  return share;
}
