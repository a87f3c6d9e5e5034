/**
 * Disaster recovery: rebuild a vault's private key from opened backups (THREATS D66–D70, D76).
 *
 * Steps, each refusing rather than guessing, and all before any interpolation:
 * 1. Validate every backup's structure (`validateSource`): lengths, the weighted point map, x ≠ 0,
 *    x < n and within the vault's points, shares in [1, n).
 * 2. Group by vault id and group public key; each vault is handled on its own.
 * 3. Within a vault, split by epoch; backups of one epoch must agree on threshold and parties.
 * 4. Refuse duplicates within an epoch: the same party's backup twice (same file or not), or one
 *    point claimed by two files. Done before counting power, so a file given twice is reported as a
 *    duplicate rather than as missing power.
 * 5. Pick the newest epoch whose backups reach the threshold by themselves (power = number of
 *    distinct points). Other epochs' files are listed as ignored, with why. Shares from different
 *    epochs lie on different polynomials: mixing them gives a wrong key, so it is never done; when no
 *    epoch suffices alone and several are present the error is EPOCH_MISMATCH, otherwise
 *    BELOW_THRESHOLD with the missing power.
 * 6. Check each share against its recorded public share (share·G == P), naming the file.
 * 7. Interpolate exactly t points at zero (Lagrange; lowest x first), and check key·G equals the
 *    recorded group public key before returning anything.
 *
 * Messages name files by their caller-given label, epochs, ids and powers; never a share.
 */

import type { BackupSource, ValidatedSource } from '../backup/source.ts';
import { validateSource } from '../backup/source.ts';
import { compareBytes, equalBytes, fromHex, toHex } from '../bytes.ts';
import { TssError } from '../errors.ts';
import { lagrangeCoefficients } from '../math/lagrange.ts';
import { add, mul, mulG, pointFromBytes, scalarToBytes } from '../math/scalar.ts';
import { RecoveredKey } from './key.ts';

export interface RecoveryInput {
  /** How messages name this backup, e.g. `#2 (alice.json)`. Public. */
  label: string;
  source: BackupSource;
}

export interface IgnoredBackup {
  label: string;
  epoch: number;
  reason: string;
}

export interface EpochPower {
  epoch: number;
  threshold: number;
  /** Distinct points present. */
  power: number;
  /** Points still needed (0 when the epoch reaches its threshold). */
  missing: number;
  labels: string[];
}

interface VaultBase {
  vaultId: string;
  groupPublicKey: string;
  /** Files not used, with the reason. */
  ignored: IgnoredBackup[];
  epochs: EpochPower[];
  warnings: string[];
}

export interface VaultRecovered extends VaultBase {
  ok: true;
  epoch: number;
  threshold: number;
  /** Labels of the files whose points were interpolated. */
  used: string[];
  /** The exactly-t points interpolated. */
  usedPoints: number[];
  address: string;
  key: RecoveredKey;
}

export interface VaultFailed extends VaultBase {
  ok: false;
  error: TssError;
}

export type VaultRecovery = VaultRecovered | VaultFailed;

interface Entry {
  label: string;
  v: ValidatedSource;
}

const short = (hex: string): string => `${hex.slice(0, 12)}…`;

function sameParties(a: BackupSource, b: BackupSource): boolean {
  return (
    a.threshold === b.threshold &&
    a.parties.length === b.parties.length &&
    a.parties.every((p, i) => equalBytes(p.id, b.parties[i]!.id) && p.power === b.parties[i]!.power)
  );
}

function sameSecretContent(a: BackupSource, b: BackupSource): boolean {
  return (
    a.pointShares.length === b.pointShares.length &&
    a.pointShares.every((s, i) => s.x === b.pointShares[i]!.x && s.share === b.pointShares[i]!.share)
  );
}

function recoverOne(vaultId: string, groupKey: string, entries: Entry[], warnings: string[]): VaultRecovery {
  const base = {
    vaultId,
    groupPublicKey: groupKey,
    ignored: [] as IgnoredBackup[],
    epochs: [] as EpochPower[],
    warnings,
  };
  const fail = (error: TssError): VaultFailed => ({ ok: false, ...base, error });

  // 3. Split by epoch; one epoch's files must describe the same vault configuration.
  const byEpoch = new Map<number, Entry[]>();
  for (const e of entries) {
    const list = byEpoch.get(e.v.source.epoch) ?? [];
    list.push(e);
    byEpoch.set(e.v.source.epoch, list);
  }
  for (const [epoch, list] of byEpoch) {
    const first = list[0]!;
    for (const e of list.slice(1)) {
      if (!sameParties(first.v.source, e.v.source)) {
        return fail(
          new TssError(
            'VAULT_MISMATCH',
            `${first.label} and ${e.label} both claim epoch ${epoch} of vault ${short(vaultId)} but disagree on the parties or the threshold`,
          ),
        );
      }
    }
  }
  // 4. Duplicates in any epoch: the same party twice, or one point in two files.
  for (const [epoch, used] of byEpoch) {
    const byParty = new Map<string, Entry>();
    const byPoint = new Map<bigint, Entry>();
    for (const e of used) {
      const pid = toHex(e.v.source.partyId);
      const prev = byParty.get(pid);
      if (prev) {
        const what = sameSecretContent(prev.v.source, e.v.source)
          ? 'are the same backup given twice'
          : 'are two different backups of the same party';
        return fail(
          new TssError(
            'CONFLICTING_DUPLICATE',
            `duplicate backup: ${prev.label} and ${e.label} ${what} (party ${short(pid)}, epoch ${epoch}); remove one`,
          ),
        );
      }
      byParty.set(pid, e);
      for (const x of e.v.points) {
        const owner = byPoint.get(x);
        if (owner) {
          return fail(
            new TssError(
              'CONFLICTING_DUPLICATE',
              `duplicate point: evaluation point x = ${x} appears in both ${owner.label} and ${e.label}`,
            ),
          );
        }
        byPoint.set(x, e);
      }
    }
  }
  base.epochs = [...byEpoch.entries()]
    .sort((a, b) => b[0] - a[0])
    .map(([epoch, list]) => {
      const threshold = list[0]!.v.source.threshold;
      const power = new Set(list.flatMap((e) => e.v.points)).size;
      return {
        epoch,
        threshold,
        power,
        missing: Math.max(0, threshold - power),
        labels: list.map((e) => e.label),
      };
    });

  // 5. The newest epoch that reaches its threshold alone.
  const chosen = base.epochs.find((e) => e.missing === 0);
  if (!chosen) {
    const detail = base.epochs
      .map(
        (e) =>
          `epoch ${e.epoch}: power ${e.power} of ${e.threshold} (${e.missing} missing; ${e.labels.join(', ')})`,
      )
      .join('; ');
    if (base.epochs.length > 1) {
      return fail(
        new TssError(
          'EPOCH_MISMATCH',
          `epoch mismatch: vault ${short(vaultId)} has backups from ${base.epochs.length} epochs and none reaches its threshold by itself; shares of different epochs cannot be combined (${detail}). Add backups of one epoch, preferably the newest.`,
        ),
      );
    }
    const e = base.epochs[0]!;
    return fail(
      new TssError(
        'BELOW_THRESHOLD',
        `vault ${short(vaultId)} epoch ${e.epoch} needs signing power ${e.threshold}, these backups hold ${e.power}; ${e.missing} more point${e.missing === 1 ? '' : 's'} of signing power missing (${e.labels.join(', ')})`,
      ),
    );
  }
  for (const e of base.epochs) {
    if (e.epoch === chosen.epoch) continue;
    const why =
      e.epoch < chosen.epoch
        ? `older epoch ${e.epoch}; epoch ${chosen.epoch} reaches the threshold and is used. Destroy backups older than the latest reshare.`
        : `newer epoch ${e.epoch} has only power ${e.power} of ${e.threshold} (${e.missing} missing), not enough by itself; using epoch ${chosen.epoch}`;
    for (const label of e.labels) base.ignored.push({ label, epoch: e.epoch, reason: why });
  }
  const used = byEpoch.get(chosen.epoch)!;

  // 6. Every share must match its recorded public share (blames the file, not the set).
  for (const e of used) {
    const s = e.v.source;
    for (let i = 0; i < s.pointShares.length; i++) {
      const P = pointFromBytes(s.publicShares[i]!.point, `${e.label} public share`);
      if (!mulG(s.pointShares[i]!.share).equals(P)) {
        return fail(
          new TssError(
            'PUBLIC_KEY_MISMATCH',
            `${e.label}: share for x = ${s.pointShares[i]!.x} does not match its recorded public share`,
          ),
        );
      }
    }
  }

  // 7. Exactly t points, lowest x first (deterministic), Lagrange at zero.
  const points = used
    .flatMap((e) => e.v.source.pointShares.map((s) => ({ ...s, label: e.label })))
    .sort((a, b) => (a.x < b.x ? -1 : a.x > b.x ? 1 : 0))
    .slice(0, chosen.threshold);
  const lambdas = lagrangeCoefficients(points.map((p) => p.x));
  let secret = 0n;
  points.forEach((p, i) => {
    secret = add(secret, mul(lambdas[i]!, p.share));
  });
  const groupPoint = pointFromBytes(fromHex(groupKey), 'group public key');
  if (secret === 0n || !mulG(secret).equals(groupPoint)) {
    return fail(
      new TssError(
        'PUBLIC_KEY_MISMATCH',
        `the rebuilt key does not match vault ${short(vaultId)}'s group public key; no key is output`,
      ),
    );
  }
  const key = new RecoveredKey(scalarToBytes(secret), groupPoint.toBytes(true), vaultId, chosen.epoch);
  secret = 0n;
  return {
    ok: true,
    ...base,
    epoch: chosen.epoch,
    threshold: chosen.threshold,
    used: [...new Set(points.map((p) => p.label))],
    usedPoints: points.map((p) => Number(p.x)),
    address: key.ethereumAddress(),
    key,
  };
}

/**
 * Recover every vault present in `inputs`. Never throws for a vault-level problem: each vault gets
 * its own result. Throws `TssError` only for an input that names no readable vault at all.
 */
export function recoverVaults(inputs: readonly RecoveryInput[]): VaultRecovery[] {
  const groups = new Map<
    string,
    { vaultId: string; groupKey: string; entries: Entry[]; invalid?: TssError }
  >();
  for (const input of inputs) {
    const s = input.source;
    if (
      !(s?.vaultId instanceof Uint8Array) ||
      s.vaultId.length !== 32 ||
      !(s.groupPublicKey instanceof Uint8Array) ||
      s.groupPublicKey.length !== 33
    ) {
      throw new TssError('INVALID_PARAMETERS', `${input.label}: no readable vault id and group public key`);
    }
    const vaultId = toHex(s.vaultId);
    const groupKey = toHex(s.groupPublicKey);
    const k = `${vaultId}:${groupKey}`;
    const g = groups.get(k) ?? { vaultId, groupKey, entries: [] };
    groups.set(k, g);
    try {
      g.entries.push({ label: input.label, v: validateSource(s, input.label) });
    } catch (e) {
      g.invalid ??=
        e instanceof TssError ? e : new TssError('INVALID_PARAMETERS', `${input.label}: invalid backup`);
    }
  }
  const out: VaultRecovery[] = [];
  const sorted = [...groups.values()].sort(
    (a, b) => compareBytes(fromHex(a.vaultId), fromHex(b.vaultId)) || a.groupKey.localeCompare(b.groupKey),
  );
  for (const g of sorted) {
    const warnings: string[] = [];
    const others = sorted.filter((o) => o.vaultId === g.vaultId && o.groupKey !== g.groupKey);
    if (others.length > 0) {
      warnings.push(
        `vault ${short(g.vaultId)} appears with ${others.length + 1} different group public keys; they are treated as separate vaults and only a set whose key matches its own group key is output`,
      );
    }
    if (g.invalid) {
      out.push({
        ok: false,
        vaultId: g.vaultId,
        groupPublicKey: g.groupKey,
        ignored: [],
        epochs: [],
        warnings,
        error: g.invalid,
      });
      continue;
    }
    out.push(recoverOne(g.vaultId, g.groupKey, g.entries, warnings));
  }
  return out;
}

/**
 * Convenience for one vault: returns the key or throws the vault's `TssError`
 * (`VAULT_MISMATCH` when the inputs name more than one vault).
 */
export function recoverKey(inputs: readonly RecoveryInput[]): VaultRecovered {
  const results = recoverVaults(inputs);
  if (results.length !== 1) {
    for (const r of results) if (r.ok) r.key.destroy();
    throw new TssError(
      'VAULT_MISMATCH',
      `these backups belong to ${results.length} different vaults (${results.map((r) => short(r.vaultId)).join(', ')}); recover them separately`,
    );
  }
  const r = results[0]!;
  if (!r.ok) throw r.error;
  return r;
}
