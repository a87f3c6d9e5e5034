/**
 * Restarting a vault's DKG cut by a worker restart (or a lock), with the same accepted proposal and
 * without a second acceptance. The DKG's round state lives only in the memory of the worker that ran
 * it, so a cut party cannot resume; instead every member runs the DKG again, as a new *attempt* of the
 * same proposal. Pure wire format and decisions (`@concord/bridge-server/vault/dkg-restart`); the
 * extension's ceremonies.ts and the headless member's member/vault-creation.ts do the I/O.
 *
 * What members must agree on, and how:
 * - the proposal: a restart names the proposal's hash, so it applies only to the exact proposal every
 *   member signed; it is acted on only where the device holds an `approve` from every member (no
 *   restart counts as, or replaces, an acceptance);
 * - the attempt number `n` (0 = the first run): announced by the member that lost its party, signed
 *   by its device key over (tag, proposal hash, n) and sent to every member. A member moves to the
 *   highest attempt it has seen (`nextAttempt`), so two members restarting at once converge;
 * - the protocol session of attempt `n`: its own message label (`dkgLabel`), hence its own tags and
 *   message ids on the relay, so no message of an earlier attempt can feed it (the tss DKG derives a
 *   fresh session id from the round-1 contributions of each run anyway);
 * - a bound: at most `MAX_DKG_ATTEMPTS` runs per proposal, and only before the proposal's bridge
 *   session expires (its `expiresAt`); past either the DKG stops as `INTERRUPTED` as before.
 */

import type { PublicDeviceIdentity } from '@concord/tss/transport';
import { ed25519 } from '@noble/curves/ed25519.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { concatBytes, u32be, utf8 } from './bytes.ts';

/** Runs of one proposal's DKG, the first included. */
export const MAX_DKG_ATTEMPTS = 4;

/** Control tag of a restart announcement (no `/`: a control message, ceremony-runner.ts). */
export const RESTART_TAG = 'restart';

const LABEL = 'dkg';
const RESTART_DOMAIN = utf8('concord/vault/dkg-restart/v1');
const ENCODING_VERSION = 1;
const HASH_BYTES = 32;
const SIG_BYTES = 64;

/** The message label of attempt `n`: `dkg` for the first run (as before), `dkg.<n>` after. */
export function dkgLabel(attempt: number): string {
  return attempt === 0 ? LABEL : `${LABEL}.${attempt}`;
}

/** Whether a relay tag belongs to some attempt's DKG messages (`dkg/r1`, `dkg.2/r3`). */
export function isDkgTag(tag: string): boolean {
  return tag.startsWith(`${LABEL}/`) || /^dkg\.[1-9][0-9]?\//.test(tag);
}

/** What a member signs to announce attempt `attempt` of the proposal with hash `hash`. */
export function restartMessage(hash: Uint8Array, attempt: number): Uint8Array {
  return sha256(concatBytes(RESTART_DOMAIN, hash, u32be(attempt)));
}

/** Whether `sig` is `signer`'s device-key signature of the announcement of `attempt` for `hash`. */
export function verifyRestart(
  signer: PublicDeviceIdentity,
  hash: Uint8Array,
  attempt: number,
  sig: Uint8Array,
): boolean {
  try {
    return ed25519.verify(sig, restartMessage(hash, attempt), signer.deviceId, { zip215: false });
  } catch {
    return false;
  }
}

export interface RestartAnnouncement {
  hash: Uint8Array;
  attempt: number;
  sig: Uint8Array;
}

/** `[v=1][attempt u32][hash 32][sig 64]`. */
export function encodeRestart(r: RestartAnnouncement): Uint8Array {
  return concatBytes(new Uint8Array([ENCODING_VERSION]), u32be(r.attempt), r.hash, r.sig);
}

export function decodeRestart(b: Uint8Array): RestartAnnouncement {
  if (b.length !== 1 + 4 + HASH_BYTES + SIG_BYTES || b[0] !== ENCODING_VERSION) {
    throw new Error('malformed restart announcement');
  }
  const attempt = new DataView(b.buffer, b.byteOffset + 1, 4).getUint32(0);
  return {
    attempt,
    hash: b.slice(5, 5 + HASH_BYTES),
    sig: b.slice(5 + HASH_BYTES),
  };
}

/** Why a restart is not made or followed (null: go ahead). */
export type RestartRefusal = 'EXHAUSTED' | 'EXPIRED' | 'NOT_NEWER';

/** The attempt a device whose own party was cut starts next, or why it cannot. */
export function ownRestart(current: number, now: number, expiresAt: number): number | RestartRefusal {
  if (now >= expiresAt) return 'EXPIRED';
  const next = current + 1;
  return next >= MAX_DKG_ATTEMPTS ? 'EXHAUSTED' : next;
}

/** Whether to follow a member's announcement of `announced` while at attempt `current`. */
export function nextAttempt(
  current: number,
  announced: number,
  now: number,
  expiresAt: number,
): RestartRefusal | null {
  if (!Number.isInteger(announced) || announced <= current) return 'NOT_NEWER';
  if (announced >= MAX_DKG_ATTEMPTS) return 'EXHAUSTED';
  if (now >= expiresAt) return 'EXPIRED';
  return null;
}
