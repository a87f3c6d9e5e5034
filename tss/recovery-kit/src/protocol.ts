/**
 * Messages between the recovery page (main thread, user interface only) and its Worker, which holds
 * every secret: opened backups, rebuilt keys and the exports made from them. The page sends file
 * text and passphrases in; only public facts come back, except the one export the user asked for.
 * Keeping scrypt (N = 2^17 per backup, 2^18 for a keystore) in the Worker keeps the page responsive.
 */
import type { BackupSummary } from '@concord/tss/backup';
import type { BitcoinNetwork, EpochPower, ReportLine } from '@concord/tss/recovery';

export type ExportRequest =
  | { kind: 'hex' }
  | { kind: 'keystore'; password: string }
  | { kind: 'wif'; network: BitcoinNetwork };

export type Request =
  /** Open one backup with its passphrase and keep it for recovery under `fileId`. */
  | { op: 'open'; fileId: number; label: string; text: string; passphrase: string }
  | { op: 'remove'; fileId: number }
  /** Verify one backup against its recorded public shares; nothing is kept, no key is rebuilt. */
  | { op: 'verify'; text: string; passphrase: string }
  /** Rebuild every vault the kept backups describe (the CLI's `recoverVaults`). */
  | { op: 'recover' }
  | ({ op: 'export'; vault: number } & ExportRequest)
  /** Destroy every rebuilt key and drop every opened backup. */
  | { op: 'clear' };

/** What the page may know about one vault's recovery: public data only. */
export interface VaultView {
  vaultId: string;
  groupPublicKey: string;
  ok: boolean;
  /** The CLI's report lines (`vaultReport`), including the held-back `group-key` and `address`. */
  lines: ReportLine[];
  epochs: EpochPower[];
  /** Error code of a refused vault, e.g. BELOW_THRESHOLD. */
  code?: string;
  address?: string;
}

export type ExportResult =
  | { kind: 'hex'; text: string }
  | { kind: 'keystore'; text: string; address: string }
  | { kind: 'wif'; wif: string; address: string; network: BitcoinNetwork };

export interface Replies {
  open: BackupSummary;
  remove: null;
  verify: BackupSummary;
  recover: VaultView[];
  export: ExportResult;
  clear: null;
}

export type RequestMessage = Request & { id: number };

export type ReplyMessage =
  | { id: number; ok: true; value: unknown }
  | { id: number; ok: false; message: string; code?: string };
