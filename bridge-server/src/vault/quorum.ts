/**
 * Weighted-threshold arithmetic the vault-setup screens show: total power, whether a set of signers
 * reaches the threshold, and the minimal signing groups (sets that reach it and stop reaching it if
 * any one member leaves). Pure, shared by the UI and the background, which re-validates proposals.
 */

export interface QuorumMember {
  /** Stable key (device id hex). */
  id: string;
  label: string;
  power: number;
}

/** Largest member count for which every subset is enumerated (2^12 = 4096 subsets). */
export const MAX_ENUMERATED_MEMBERS = 12;
/** Largest signing power of one member, and largest total (bounded by tss' point budget too). */
export const MAX_MEMBER_POWER = 16;

export function totalPower(members: readonly Pick<QuorumMember, 'power'>[]): number {
  return members.reduce((s, m) => s + m.power, 0);
}

/** Why a (threshold, powers) layout is unusable, or null when it is fine. */
export function layoutProblem(
  members: readonly Pick<QuorumMember, 'power'>[],
  threshold: number,
): string | null {
  if (members.length < 2) return 'A vault needs at least two devices.';
  if (members.length > MAX_ENUMERATED_MEMBERS) return `At most ${MAX_ENUMERATED_MEMBERS} devices per vault.`;
  for (const m of members) {
    if (!Number.isInteger(m.power) || m.power < 1 || m.power > MAX_MEMBER_POWER) {
      return `Each device's power must be a whole number from 1 to ${MAX_MEMBER_POWER}.`;
    }
  }
  const total = totalPower(members);
  if (!Number.isInteger(threshold) || threshold < 1 || threshold > total) {
    return `The threshold must be between 1 and the total power (${total}).`;
  }
  // A threshold one device reaches alone is a single point of failure: the wallet's whole point.
  if (members.some((m) => m.power >= threshold)) {
    return 'No single device may reach the threshold on its own.';
  }
  return null;
}

/**
 * Minimal signing groups, largest power first within a group, groups ordered by size then by
 * position. Members are referred to by index into `members`.
 */
export function minimalSigningGroups(
  members: readonly Pick<QuorumMember, 'power'>[],
  threshold: number,
): number[][] {
  const n = members.length;
  if (n === 0 || n > MAX_ENUMERATED_MEMBERS) return [];
  const groups: number[][] = [];
  for (let mask = 1; mask < 1 << n; mask++) {
    const idx: number[] = [];
    for (let i = 0; i < n; i++) if (mask & (1 << i)) idx.push(i);
    const sum = idx.reduce((s, i) => s + members[i]!.power, 0);
    if (sum < threshold) continue;
    // Minimal: dropping any one member falls below the threshold.
    if (idx.every((i) => sum - members[i]!.power < threshold)) groups.push(idx);
  }
  return groups.sort((a, b) => a.length - b.length || a.join(',').localeCompare(b.join(',')));
}
