/**
 * How recovery results are told to a person: one wording shared by the `concord-recover` CLI and the
 * offline recovery page (tss/recovery-kit), so both say exactly the same thing about the same files
 * (THREATS D76: refusals must be clear and specific). Pure functions over public data only: labels,
 * ids, epochs, powers, error messages. Nothing here reads a share or the rebuilt key beyond its
 * public address.
 */
import type { BackupSummary } from '../backup/backup.ts';
import { BackupError } from '../backup/errors.ts';
import { TssError } from '../errors.ts';
import type { VaultRecovery } from './recover.ts';

const short = (hex: string): string => hex.slice(0, 16);

/** The message of a backup or recovery error, as shown to the user (codes only for foreign errors). */
export function recoveryErrorText(e: unknown): string {
  if (e instanceof BackupError || e instanceof TssError) return e.message;
  if (e instanceof Error && 'code' in e && typeof e.code === 'string') return `${e.code}: ${e.message}`;
  return e instanceof Error ? e.message : String(e);
}

/** The public description of one backup file, e.g. `vault 1a2b…, epoch 0, party 3c4d…, power 2`. */
export function describeBackup(h: Pick<BackupSummary, 'vaultId' | 'epoch' | 'partyId' | 'power'>): string {
  return `vault ${short(h.vaultId)}, epoch ${h.epoch}, party ${short(h.partyId)}, power ${h.power}`;
}

/** The line printed once a backup opened and every share matched its public share. */
export function openedText(h: BackupSummary): string {
  return `opened and verified [${describeBackup(h)}; points ${h.points.join(',')}]`;
}

/**
 * One line of a vault's report. `kind` lets a user interface hold back the lines that disclose the
 * key's public identity (`group-key`, `address`) until the user asks for them.
 */
export interface ReportLine {
  kind: 'group-key' | 'epoch' | 'warning' | 'ignored' | 'failed' | 'recovered' | 'matches' | 'address';
  text: string;
}

/** The report of one vault's recovery, in the order the CLI prints it. */
export function vaultReport(r: VaultRecovery): ReportLine[] {
  const lines: ReportLine[] = [{ kind: 'group-key', text: `group public key ${r.groupPublicKey}` }];
  for (const e of r.epochs) {
    lines.push({
      kind: 'epoch',
      text: `epoch ${e.epoch}: power ${e.power} of threshold ${e.threshold} from ${e.labels.join(', ')}`,
    });
  }
  for (const w of r.warnings) lines.push({ kind: 'warning', text: `warning: ${w}` });
  for (const ig of r.ignored) lines.push({ kind: 'ignored', text: `ignored ${ig.label}: ${ig.reason}` });
  if (!r.ok) {
    lines.push({ kind: 'failed', text: `FAILED: ${r.error.message}` });
    return lines;
  }
  lines.push({
    kind: 'recovered',
    text: `recovered from epoch ${r.epoch} using ${r.used.join(', ')} (points ${r.usedPoints.join(',')})`,
  });
  lines.push({ kind: 'matches', text: 'key matches the group public key' });
  lines.push({ kind: 'address', text: `Ethereum address (EIP-55): ${r.address}` });
  return lines;
}
