/**
 * Disaster recovery: rebuild a vault key from backups, check it against the group public key, and
 * export it as hex, an Ethereum keystore V3, or a Bitcoin WIF with its P2WPKH address.
 */
export { type BitcoinNetwork, hash160, p2wpkhAddress, toWif } from './bitcoin.ts';
export { ethereumAddress, toChecksumAddress } from './ethereum.ts';
export { RecoveredKey } from './key.ts';
export {
  decryptKeystoreV3,
  encryptKeystoreV3,
  KEYSTORE_DEFAULT_SCRYPT,
  type KeystoreScrypt,
  type KeystoreV3,
  type KeystoreWriteOptions,
} from './keystore.ts';
export {
  type EpochPower,
  type IgnoredBackup,
  type RecoveryInput,
  recoverKey,
  recoverVaults,
  type VaultFailed,
  type VaultRecovered,
  type VaultRecovery,
} from './recover.ts';
export {
  describeBackup,
  openedText,
  type ReportLine,
  recoveryErrorText,
  vaultReport,
} from './report.ts';
