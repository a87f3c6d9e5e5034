/**
 * Locks the public API of every entry point (viem `index.test.ts` style): adding or removing an
 * export is a deliberate change that updates this list.
 */
import { describe, expect, it } from 'vitest';
import * as backup from '../src/backup/index.ts';
import * as eth from '../src/eth/index.ts';
import * as core from '../src/index.ts';

describe('public exports', () => {
  it('core entry point', () => {
    expect(Object.keys(core).sort()).toEqual([
      'DKG_ROUNDS',
      'DkgSession',
      'KeyShare',
      'SIGN_ROUNDS',
      'SignSession',
      'TssError',
      'cryptoRandomBytes',
      'decodeDescriptor',
      'descriptorToJSON',
      'encodeDescriptor',
      'ethereumAddress',
      'fromHex',
      'isTssError',
      'paramsFingerprint',
      'toChecksumAddress',
      'toHex',
      'vaultIdFromSession',
    ]);
  });

  it('backup entry point', () => {
    expect(Object.keys(backup).sort()).toEqual([
      'BACKUP_FORMAT',
      'BACKUP_VERSION',
      'BackupError',
      'DEFAULT_SCRYPT',
      'DEVICE_BACKUP_FORMAT',
      'KDF_POLICY',
      'MAX_PASSPHRASE_LENGTH',
      'MIN_PASSPHRASE_LENGTH',
      'checkScryptParams',
      'createBackup',
      'inspectBackup',
      'isBackupError',
      'keyShareToBackupSource',
      'openBackup',
      'parseEnvelope',
      'restoreKeyShare',
      'shareBackupText',
      'validateSource',
      'verifyBackup',
    ]);
  });

  it('eth entry point', () => {
    expect(Object.keys(eth).sort()).toEqual([
      'signPersonalMessage',
      'signTransaction',
      'signTypedData',
      'toRsv',
    ]);
  });
});
