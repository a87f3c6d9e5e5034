/**
 * Liveness of a reshare attempt (requests.ts, reshare.ts), as pure decisions, following the signing
 * rule of request-liveness.ts: every device that holds a reshare attempt still in its rounds keeps a
 * persisted stall deadline armed as the request's `chrome.alarms` alarm (`concord.request.<id>`), so
 * a reshare cut by a worker death, a lost message or a member that went away wakes up at the
 * deadline and either runs a next attempt (the coordinator, or a stand-in) or asks for one; after
 * `MAX_ATTEMPTS` it ends as "could not reshare" and the vault stays on its current epoch.
 *
 * Differences from signing:
 *  - the period is longer (`RESHARE_STALL_FACTOR` × the signing one): a reshare's rounds cost about a
 *    DKG (fresh OT setup for every new pair), and progress of this device's own session (each
 *    accepted message) pushes the deadline back, as for signing;
 *  - a device whose session of the current attempt finished is not watched here: it has signed the
 *    certificate of that attempt and must not deal again in another one (two pending shares of one
 *    epoch); whether that attempt completes is certificate delivery's job (certificate-delivery.ts).
 */

import { stallDeadline } from '@concord/bridge-server/vault';
import type { CeremonyRecord } from '../../storage/records.ts';

/** A reshare's stall period, in signing stall periods. */
export const RESHARE_STALL_FACTOR = 4;

/** Abort code of a reshare whose attempts ran out (shown as "could not reshare"). */
export const COULD_NOT_RESHARE = 'COULD_NOT_RESHARE';

/** Whether this device watches the reshare's current attempt: running, and not finished here. */
export function reshareInRounds(
  c: Pick<CeremonyRecord, 'status' | 'attempt' | 'signers' | 'reshare'> | undefined,
): boolean {
  if (c?.status !== 'running' || c.attempt === undefined || c.signers === undefined) return false;
  return c.reshare === undefined || c.reshare.attempt < c.attempt;
}

/**
 * When a reshare attempt stalls: the persisted deadline (set at the start with the signing period)
 * stretched to the reshare period, pushed back by this device's own progress.
 */
export function reshareStallDeadline(
  stallAt: number,
  lastProgress: number | undefined,
  stallMs: number,
): number {
  const period = stallMs * RESHARE_STALL_FACTOR;
  return stallDeadline(stallAt + period - stallMs, lastProgress, period);
}
