/**
 * Liveness of a co-approval signing run (requests.ts), as pure decisions: when a running attempt
 * counts as stalled, and what this device does then. No storage, no network, no clock of its own.
 *
 * The rule (following ARCHITECTURE rule 12, state that must survive a worker restart lives in
 * IndexedDB — here: a wait's deadline): every device that holds a running attempt — the coordinator, each chosen signer, and the other members
 * who only watch — keeps a stall deadline persisted in the ceremony row and armed as a
 * `chrome.alarms` alarm, so a worker that dies wakes up again at the deadline. At the deadline:
 *  - the coordinator starts the next attempt with the approvers it sees online;
 *  - a signer asks the coordinator for one (`q.retry`), or, when the relay shows the coordinator
 *    away, the online approver with the smallest id stands in (as `maybeFallback` does for the first
 *    attempt);
 *  - after `MAX_ATTEMPTS` attempts every device gives up: the request ends as "could not sign" and
 *    any member can propose it again (a new request, new approvals). The bound keeps one approver
 *    from making the others run an unbounded number of OT-extension sessions.
 */

/** Attempts per request before it ends as "could not sign". */
export const MAX_ATTEMPTS = 8;

/** Abort code of a request whose attempts ran out (shown as "could not sign"). */
export const COULD_NOT_SIGN = 'COULD_NOT_SIGN';

/** `chrome.alarms` names of requests: one alarm per request, at its next deadline. */
export const REQUEST_ALARM_PREFIX = 'concord.request.';

export function requestAlarm(id: string): string {
  return `${REQUEST_ALARM_PREFIX}${id}`;
}

/** The request id of one of our alarms, or null for any other alarm. */
export function requestOfAlarm(name: string): string | null {
  if (!name.startsWith(REQUEST_ALARM_PREFIX)) return null;
  const id = name.slice(REQUEST_ALARM_PREFIX.length);
  return /^[0-9a-f]{32}$/.test(id) ? id : null;
}

/**
 * When attempt `k` stalls: the persisted deadline, pushed back while this worker's own protocol
 * session for the attempt keeps making progress (`lastProgress`, in memory; after a restart there is
 * none and the persisted deadline alone counts).
 */
export function stallDeadline(persisted: number, lastProgress: number | undefined, stallMs: number): number {
  return lastProgress === undefined ? persisted : Math.max(persisted, lastProgress + stallMs);
}

export type StallAction =
  /** Attempts are used up: end the request as "could not sign". */
  | { kind: 'give-up' }
  /** Start attempt `attempt + 1` as its coordinator (the coordinator, or a stand-in). */
  | { kind: 'next-attempt' }
  /** Ask the coordinator for a new attempt, then wait another period. */
  | { kind: 'ask-retry' }
  /** Nothing to do but wait another period (a member that neither coordinates nor signs). */
  | { kind: 'wait' };

export interface StallInput {
  attempt: number;
  self: string;
  coordinator: string;
  signers: readonly string[];
  /** Members whose approval this device verified (hex ids). */
  approvers: readonly string[];
  /** Devices the relay shows online in the request's session (hex ids, self not needed). */
  online: ReadonlySet<string>;
}

/** What a device does when the running attempt stalled. */
export function stallAction(s: StallInput): StallAction {
  if (s.attempt >= MAX_ATTEMPTS) return { kind: 'give-up' };
  if (s.self === s.coordinator) return { kind: 'next-attempt' };
  const signing = s.signers.includes(s.self);
  if (s.online.has(s.coordinator)) return signing ? { kind: 'ask-retry' } : { kind: 'wait' };
  // The coordinator is away: the online approver with the smallest id stands in.
  const standIn = s.approvers.filter((d) => d === s.self || s.online.has(d)).sort()[0];
  if (standIn === s.self) return { kind: 'next-attempt' };
  return signing ? { kind: 'ask-retry' } : { kind: 'wait' };
}
