/**
 * Wire format and decisions of reshare certificate delivery (certificate-delivery.ts): one message,
 * a device's *status* for one finished reshare session — which certificate signatures it holds for
 * the attempt and whether it has activated the new epoch. Pure: no storage, no network.
 *
 * A status is both the re-send (it carries every signature the sender holds) and the confirmation
 * (`activated: true`). Certificate signatures are self-authenticating (Ed25519 by the new party over
 * tss `certificateMessage`, PROTOCOL reshare phase 2), so a relayed signature is checked on arrival
 * and a device can pass on signatures of others; a confirmation counts only from the device itself
 * (the envelope authenticates the sender).
 *
 * Encoding: canonical JSON (fixed key order, built here only), UTF-8, bounded sizes.
 */

import { fromBase64url, toBase64url } from '@concord/tss/transport';
import * as v from 'valibot';
import { utf8 } from './bytes.ts';

/** Bridge tag of a status (outside `q.`, so the request service's early buffer never holds it). */
export const CERT_STATUS_TAG = 'certificate.status';
const STATUS_VERSION = 1;
/** A committee has at most this many new parties (the relay caps session members at 256). */
const MAX_SIGS = 256;

export interface CertSignature {
  /** Hex device id of the new party that signed. */
  from: string;
  sig: Uint8Array;
}

export interface CertStatus {
  /** The reshare request's id (hex). */
  request: string;
  attempt: number;
  activated: boolean;
  sigs: CertSignature[];
}

export class CertStatusError extends Error {
  override readonly name = 'CertStatusError';
  readonly code = 'CERT_STATUS_INVALID';
}

const Schema = v.strictObject({
  v: v.literal(STATUS_VERSION),
  request: v.pipe(v.string(), v.regex(/^[0-9a-f]{32}$/)),
  attempt: v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(0xffff)),
  activated: v.boolean(),
  sigs: v.pipe(
    v.array(
      v.strictObject({
        from: v.pipe(v.string(), v.regex(/^[0-9a-f]{64}$/)),
        // 64 + 130 bytes, base64url without padding: a signature bound to the signer's new
        // envelope identity, which follows it (envelope-rotation.ts)
        sig: v.pipe(v.string(), v.length(259)),
      }),
    ),
    v.maxLength(MAX_SIGS),
  ),
});

export function encodeCertStatus(s: CertStatus): Uint8Array {
  return utf8(
    JSON.stringify({
      v: STATUS_VERSION,
      request: s.request,
      attempt: s.attempt,
      activated: s.activated,
      sigs: s.sigs.map((x) => ({ from: x.from, sig: toBase64url(x.sig) })),
    }),
  );
}

export function decodeCertStatus(bytes: Uint8Array): CertStatus {
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch {
    throw new CertStatusError('certificate status is not JSON');
  }
  const r = v.safeParse(Schema, json);
  if (!r.success) throw new CertStatusError('certificate status does not match the schema');
  const w = r.output;
  const sigs = w.sigs.map((x) => ({ from: x.from, sig: fromBase64url(x.sig, 'certificate signature') }));
  if (new Set(sigs.map((x) => x.from)).size !== sigs.length) {
    throw new CertStatusError('certificate status lists a signer twice');
  }
  return { request: w.request, attempt: w.attempt, activated: w.activated, sigs };
}

/** What a device knows of one finished reshare session (from its ceremony record and request). */
export interface DeliveryState {
  self: string;
  /** Every party of the attempt: the new committee and the dealers (hex ids). */
  participants: readonly string[];
  /** The new committee (hex ids): the devices that must activate. */
  newMembers: readonly string[];
  /** New members known to have activated (their own confirmation, or this device). */
  confirmed: readonly string[];
  /** This device holds the complete certificate and has moved to the new epoch. */
  activated: boolean;
}

/**
 * Whom a device sends its status on (re)connect. Still waiting: every other participant (any of
 * them may hold the signatures it missed). Activated: the new members that have not confirmed yet
 * (they may have missed signatures and still run on the old share). Nobody once all confirmed.
 */
export function announceTargets(s: DeliveryState): string[] {
  const others = (ids: readonly string[]) => ids.filter((id) => id !== s.self);
  if (!s.activated) return others(s.participants);
  const done = new Set(s.confirmed);
  return others(s.newMembers).filter((id) => !done.has(id));
}

/**
 * Whether a received status gets this device's status back: only from a device that activated (its
 * signatures complete a waiting sender's certificate, its `activated` confirms it to a sender that
 * still counts it as unconfirmed), and never in answer to an answer, so two devices never loop.
 */
export function shouldAnswer(selfActivated: boolean, receivedIsAnswer: boolean): boolean {
  return selfActivated && !receivedIsAnswer;
}

/** Message id of a status: `ask` (announce, confirmation) or `ans` (answer); unique per session. */
export function statusMsgId(kind: 'ask' | 'ans', attempt: number, recipient: string): string {
  return `${CERT_STATUS_TAG}:${kind}${attempt}:${recipient.slice(0, 16)}`;
}

/** Whether a status's (authenticated) message id marks it as an answer. */
export function isAnswer(msgId: string): boolean {
  return msgId.startsWith(`${CERT_STATUS_TAG}:ans`);
}
