/**
 * Bans at the app level (PROTOCOL §8.1 of the design survey; tss README "Errors": an `abortKind:
 * 'ban'` names a counterparty that failed an OT, RVOLE or Γ check, which may leak OT choice bits, so
 * the victim must never run another session with it until a refresh replaces the OT state). Pure:
 * what the request service decides when a ban happens, or is reported to it.
 *
 *  - The victim persists the ban before it acknowledges the abort (the request service writes the
 *    ban row, then the aborted attempt), so a worker that dies in between still refuses the culprit.
 *  - The victim stops every other signing session it is running with the culprit in the same vault
 *    (`sessionsWith`): each more message it answers is another probe of its choice bits.
 *  - The victim asks the coordinator for the next attempt and names the culprit as the *reason*
 *    (`retry.banned`). The coordinator cannot check the victim's evidence (the tampered message was
 *    sealed to the victim), so it treats the report as a reason, not proof: it bans no one itself and
 *    only leaves the reported signers out of this request's later attempts (`withReport`,
 *    `excludedFor`). A false report costs the reporter's own request an approver, nothing more — a
 *    reporter could as well refuse to sign.
 *  - A victim chosen again with a signer it banned (a coordinator that restarted, or a stand-in that
 *    never got the report) refuses the session (`BANNED_PARTY`) and reports again, instead of
 *    stalling the attempt until its deadline.
 */
import type { CeremonyRecord } from '../../storage/records.ts';

/** Most signers a report may name (a committee has at most 16 members). */
export const MAX_REPORTED = 16;

/** The culprits a ban-kind abort names (hex ids), never this device itself. */
export function banCulprits(
  abort: { abortKind?: string; culprits: readonly string[] } | undefined,
  self: string,
): string[] {
  if (abort?.abortKind !== 'ban') return [];
  return [...new Set(abort.culprits)].filter((c) => c !== self).sort();
}

/**
 * The ceremony record with `reporter`'s report of `banned` signers added (persisted by the caller).
 * Only current signers of the attempt other than the reporter are taken; the rest is ignored.
 */
export function withReport(
  c: CeremonyRecord,
  reporter: string,
  banned: readonly string[],
  members: ReadonlySet<string>,
): CeremonyRecord {
  const taken = banned.filter((b) => b !== reporter && members.has(b)).slice(0, MAX_REPORTED);
  if (taken.length === 0) return c;
  const excluded = new Set([...(c.excluded ?? []), ...taken]);
  return { ...c, excluded: [...excluded].sort() };
}

/** Signers this request leaves out of its next attempts: local bans and reported ones. */
export function excludedFor(c: CeremonyRecord | undefined, bans: Iterable<string>): Set<string> {
  return new Set([...bans, ...(c?.excluded ?? [])]);
}

/** What `sessionsWith` reads of one live request. */
export interface RunningAttempt {
  id: string;
  vaultId: string;
  /** The attempt this device is running a session of (undefined: none). */
  attempt: number | undefined;
  signers: readonly string[];
}

/** The requests of `vaultId` whose session on this device includes one of `culprits`. */
export function sessionsWith(
  running: readonly RunningAttempt[],
  vaultId: string,
  culprits: readonly string[],
): RunningAttempt[] {
  const bad = new Set(culprits);
  return running.filter(
    (r) => r.vaultId === vaultId && r.attempt !== undefined && r.signers.some((s) => bad.has(s)),
  );
}
