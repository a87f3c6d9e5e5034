/**
 * Co-approval requests on an existing vault ("send this transaction", "reshare to this layout", and
 * whatever kinds/index.ts adds): the request envelope, the hashes every signature covers, the signed
 * decisions, the coordinator's signed "start" (which signers run the ceremony, attempt number) and
 * the power tally. Pure: no storage, no network; the co-approval machine (co-approval.ts) decides
 * with it and the runtime's adapters drive it.
 *
 * - Encoding: canonical JSON (fixed key order, built here only), UTF-8. Every signature covers
 *   SHA-256(domain tag ‖ exact received bytes), so no re-serialisation is ever trusted.
 * - The request binds the vault's local id, its tss vault id and group key, and the epoch: a
 *   decision for one vault or epoch can never count for another.
 * - A send request carries the *raw unsigned transaction* (EIP-1559 bytes); each device decodes it
 *   itself (kinds/eip1559.ts) and never sees a summary written by the initiator (THREATS C, "no blind
 *   signing"). The digest the ceremony signs is recomputed from those bytes on every device.
 * - Decision: Ed25519 by the member's device key over SHA-256(tag ‖ request hash ‖ decision). The
 *   initiator's request signature *is* its `approve` decision. Replaying a decision into another
 *   request fails (different hash); flipping it fails (decision is signed); a second decision by the
 *   same device is ignored by the service (first one wins, stored).
 * - Quorum: `tally` counts only verified decisions of members of the current epoch, each once, and
 *   reports `rejected` as soon as the remaining power can no longer reach the threshold.
 */

import { fromBase64url, type PublicDeviceIdentity, toBase64url } from '@concord/tss/transport';
import { ed25519 } from '@noble/curves/ed25519.js';
import { sha256 } from '@noble/hashes/sha2.js';
import * as v from 'valibot';
import { concatBytes, u32be, utf8 } from './bytes.ts';
import { RequestError } from './errors.ts';
import { BodySchema, decodeBody, encodeBody, type RequestBody } from './kinds/index.ts';
import type { ReshareBody } from './kinds/reshare.ts';
import { reshareSafetyCode as kindSafetyCode } from './kinds/reshare.ts';
import { B64, Hex } from './members.ts';

export { RequestError } from './errors.ts';
export type { ReshareBody } from './kinds/reshare.ts';
export { MAX_TX_BYTES, type SendBody } from './kinds/send.ts';
export { memberIdentityBytes, type RequestMember } from './members.ts';

export const REQUEST_VERSION = 1;
const REQUEST_TAG = utf8('concord/vault-request/v1');
const DECISION_TAG = utf8('concord/vault-request/decision/v1');
const START_TAG = utf8('concord/vault-request/start/v1');
/** A reshare's start also names its dealers (a separate tag: a send's start can never pass for one). */
const RESHARE_START_TAG = utf8('concord/vault-request/start-reshare/v1');
/**
 * Life of a request, and the most any request may claim: the relay is untrusted, so its 24 h
 * session cap is not what bounds it — every device refuses a longer one on receipt.
 */
export const REQUEST_TTL_MS = 24 * 60 * 60_000;
/**
 * How far ahead of the receiving device's clock a request's `createdAt` may be. With the 24 h bound
 * on `expiresAt − createdAt` this keeps a request from living longer than 24 h + this skew by any
 * receiver's clock (a post-dated request would otherwise stretch its life). A `createdAt` in the
 * past is fine: a device that was offline receives requests late from its mailbox, and `expiresAt`
 * already ends them.
 */
export const MAX_CLOCK_SKEW_MS = 10 * 60_000;

export type Decision = 'approve' | 'reject';

export interface VaultRequest {
  /** 16 random bytes, hex. */
  id: string;
  /** The vault's local id (the creation ceremony id, the same on every member device). */
  vaultId: string;
  /** The tss vault id (hex) and compressed group key (hex) the request is for. */
  keyId: string;
  groupKey: string;
  epoch: number;
  /** Bridge session (kind `sign` or `reshare`) with every member and joiner. */
  sid: string;
  /** Lowercase hex device id of the initiator. */
  initiator: string;
  createdAt: number;
  expiresAt: number;
  body: RequestBody;
}

const WireSchema = v.strictObject({
  v: v.literal(REQUEST_VERSION),
  id: Hex(32),
  vaultId: Hex(32),
  keyId: Hex(64),
  groupKey: Hex(66),
  epoch: v.pipe(v.number(), v.integer(), v.minValue(0), v.maxValue(0xffffffff)),
  sid: v.pipe(v.string(), v.minLength(1), v.maxLength(64)),
  initiator: Hex(64),
  createdAt: v.pipe(v.number(), v.integer(), v.minValue(0)),
  expiresAt: v.pipe(v.number(), v.integer(), v.minValue(0)),
  body: BodySchema,
});

/** Canonical bytes of a request. */
export function encodeRequest(r: VaultRequest): Uint8Array {
  const body = encodeBody(r.body);
  return utf8(
    JSON.stringify({
      v: REQUEST_VERSION,
      id: r.id,
      vaultId: r.vaultId,
      keyId: r.keyId,
      groupKey: r.groupKey,
      epoch: r.epoch,
      sid: r.sid,
      initiator: r.initiator,
      createdAt: r.createdAt,
      expiresAt: r.expiresAt,
      body,
    }),
  );
}

function parseJson(bytes: Uint8Array, what: string): unknown {
  try {
    return JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch {
    throw new RequestError(`${what} is not JSON`);
  }
}

/** Parses and validates request bytes (schema, identities, layout of a reshare); refuses non-canonical input. */
export function decodeRequest(bytes: Uint8Array): VaultRequest {
  const r = v.safeParse(WireSchema, parseJson(bytes, 'request'));
  if (!r.success) throw new RequestError('request does not match the schema');
  const w = r.output;
  const body = decodeBody(w.body);
  if (w.expiresAt <= w.createdAt) throw new RequestError('request expires before it was made');
  if (w.expiresAt - w.createdAt > REQUEST_TTL_MS) throw new RequestError('request lives longer than 24 h');
  const out: VaultRequest = {
    id: w.id,
    vaultId: w.vaultId,
    keyId: w.keyId,
    groupKey: w.groupKey,
    epoch: w.epoch,
    sid: w.sid,
    initiator: w.initiator,
    createdAt: w.createdAt,
    expiresAt: w.expiresAt,
    body,
  };
  // One byte string per request: hashes (and so signatures) can never differ for "the same" request.
  const again = encodeRequest(out);
  if (again.length !== bytes.length || again.some((b, i) => b !== bytes[i])) {
    throw new RequestError('request is not in canonical form');
  }
  return out;
}

/**
 * Why a request just received cannot be taken by the receiver's clock `now` — expired, or made in
 * the future beyond the allowed skew — or null. `decodeRequest` has already bounded its life to 24 h.
 */
export function requestTimeProblem(
  r: Pick<VaultRequest, 'createdAt' | 'expiresAt'>,
  now: number,
): string | null {
  if (now >= r.expiresAt) return 'request expired';
  if (r.createdAt > now + MAX_CLOCK_SKEW_MS) return 'request made in the future (clocks too far apart)';
  return null;
}

/** A request may lead to a signature only before it expires (every path checks this). */
export function isLive(r: Pick<VaultRequest, 'expiresAt'>, now: number): boolean {
  return now < r.expiresAt;
}

export function requestHash(bytes: Uint8Array): Uint8Array {
  return sha256(concatBytes(REQUEST_TAG, bytes));
}

export function decisionMessage(hash: Uint8Array, decision: Decision): Uint8Array {
  return sha256(concatBytes(DECISION_TAG, hash, utf8(decision)));
}

function verifyEd25519(sig: Uint8Array, msg: Uint8Array, key: Uint8Array): boolean {
  try {
    return ed25519.verify(sig, msg, key, { zip215: false });
  } catch {
    return false;
  }
}

export function verifyDecision(
  signer: PublicDeviceIdentity,
  hash: Uint8Array,
  decision: Decision,
  sig: Uint8Array,
): boolean {
  return verifyEd25519(sig, decisionMessage(hash, decision), signer.deviceId);
}

// ------------------------------------------------------------------ control messages

/** The plaintext of a control message (tags without `/` on the request's bridge session). */
export type Control =
  /** First message: the request and the initiator's approve signature. */
  | { t: 'request'; request: Uint8Array; sig: Uint8Array }
  | { t: 'decision'; hash: Uint8Array; decision: Decision; sig: Uint8Array }
  /**
   * Coordinator (the initiator): these signers run attempt `attempt`. A reshare's start also names
   * its dealers (current members who re-deal their shares; each must have approved).
   */
  | {
      t: 'start';
      hash: Uint8Array;
      attempt: number;
      signers: string[];
      dealers?: string[];
      sig: Uint8Array;
    }
  /**
   * A signer lost its ceremony state (worker restart, abort) and asks for a new attempt; `banned`
   * names signers it banned, as a reason for leaving them out (not proof: ban-reports.ts).
   */
  | { t: 'retry'; hash: Uint8Array; attempt: number; banned?: string[] }
  /** A signed transaction that went to the chain (send), or a reshare certificate part. */
  | { t: 'broadcast'; hash: Uint8Array; raw: Uint8Array }
  | { t: 'certificate'; hash: Uint8Array; sig: Uint8Array; attempt: number };

const ControlSchema = v.variant('t', [
  v.strictObject({ t: v.literal('request'), request: B64(256 * 1024), sig: B64(128) }),
  v.strictObject({
    t: v.literal('decision'),
    hash: B64(64),
    decision: v.picklist(['approve', 'reject']),
    sig: B64(128),
  }),
  v.strictObject({
    t: v.literal('start'),
    hash: B64(64),
    attempt: v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(1000)),
    signers: v.pipe(v.array(Hex(64)), v.minLength(1), v.maxLength(16)),
    dealers: v.optional(v.pipe(v.array(Hex(64)), v.minLength(1), v.maxLength(16))),
    sig: B64(128),
  }),
  v.strictObject({
    t: v.literal('retry'),
    hash: B64(64),
    attempt: v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(1000)),
    banned: v.optional(v.pipe(v.array(Hex(64)), v.minLength(1), v.maxLength(16))),
  }),
  v.strictObject({ t: v.literal('broadcast'), hash: B64(64), raw: B64(256 * 1024) }),
  v.strictObject({
    t: v.literal('certificate'),
    hash: B64(64),
    sig: B64(260), // a signature and the signer's new envelope identity (envelope-rotation.ts)
    attempt: v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(1000)),
  }),
]);

export function encodeControl(c: Control): Uint8Array {
  const b = (x: Uint8Array) => toBase64url(x);
  switch (c.t) {
    case 'request':
      return utf8(JSON.stringify({ t: c.t, request: b(c.request), sig: b(c.sig) }));
    case 'decision':
      return utf8(JSON.stringify({ t: c.t, hash: b(c.hash), decision: c.decision, sig: b(c.sig) }));
    case 'start':
      return utf8(
        JSON.stringify({
          t: c.t,
          hash: b(c.hash),
          attempt: c.attempt,
          signers: c.signers,
          ...(c.dealers === undefined ? {} : { dealers: c.dealers }),
          sig: b(c.sig),
        }),
      );
    case 'retry':
      return utf8(
        JSON.stringify({
          t: c.t,
          hash: b(c.hash),
          attempt: c.attempt,
          ...(c.banned === undefined ? {} : { banned: c.banned }),
        }),
      );
    case 'broadcast':
      return utf8(JSON.stringify({ t: c.t, hash: b(c.hash), raw: b(c.raw) }));
    case 'certificate':
      return utf8(JSON.stringify({ t: c.t, hash: b(c.hash), sig: b(c.sig), attempt: c.attempt }));
  }
}

export function decodeControl(bytes: Uint8Array): Control {
  const r = v.safeParse(ControlSchema, parseJson(bytes, 'control message'));
  if (!r.success) throw new RequestError('control message does not match the schema');
  const w = r.output;
  const f = (s: string, what: string) => fromBase64url(s, what);
  switch (w.t) {
    case 'request':
      return { t: 'request', request: f(w.request, 'request'), sig: f(w.sig, 'sig') };
    case 'decision':
      return { t: 'decision', hash: f(w.hash, 'hash'), decision: w.decision, sig: f(w.sig, 'sig') };
    case 'start':
      return {
        t: 'start',
        hash: f(w.hash, 'hash'),
        attempt: w.attempt,
        signers: w.signers,
        ...(w.dealers === undefined ? {} : { dealers: w.dealers }),
        sig: f(w.sig, 'sig'),
      };
    case 'retry':
      return {
        t: 'retry',
        hash: f(w.hash, 'hash'),
        attempt: w.attempt,
        ...(w.banned === undefined ? {} : { banned: w.banned }),
      };
    case 'broadcast':
      return { t: 'broadcast', hash: f(w.hash, 'hash'), raw: f(w.raw, 'raw') };
    case 'certificate':
      return { t: 'certificate', hash: f(w.hash, 'hash'), sig: f(w.sig, 'sig'), attempt: w.attempt };
  }
}

/**
 * What the coordinator signs to start attempt `attempt` with `signers` (sorted hex ids) and, for a
 * reshare, its `dealers` (under its own tag, so the dealer list is never ambiguous with a send's).
 */
export function startMessage(
  hash: Uint8Array,
  attempt: number,
  signers: readonly string[],
  dealers?: readonly string[],
): Uint8Array {
  const list = (ids: readonly string[]) => utf8([...ids].sort().join(','));
  if (dealers === undefined) return sha256(concatBytes(START_TAG, hash, u32be(attempt), list(signers)));
  const s = list(signers);
  return sha256(concatBytes(RESHARE_START_TAG, hash, u32be(attempt), u32be(s.length), s, list(dealers)));
}

export function verifyStart(
  coordinator: PublicDeviceIdentity,
  hash: Uint8Array,
  attempt: number,
  signers: readonly string[],
  sig: Uint8Array,
  dealers?: readonly string[],
): boolean {
  return verifyEd25519(sig, startMessage(hash, attempt, signers, dealers), coordinator.deviceId);
}

/**
 * Why a reshare's start must be refused, or null. Its dealers re-deal their shares of the current
 * epoch, so each must be a current member whose approval this device verified itself (`approvers`)
 * — a coordinator cannot make a device deal for a layout it did not approve — and together they
 * must reach the current threshold. The participants are exactly the new committee and the dealers.
 */
export function reshareStartProblem(
  body: ReshareBody,
  signers: readonly string[],
  dealers: readonly string[] | undefined,
  approvers: ReadonlySet<string>,
  oldThreshold: number,
): string | null {
  if (dealers === undefined) return 'the start of a reshare names no dealers';
  const short = (id: string) => id.slice(0, 16);
  const current = new Map(body.current.map((m) => [m.deviceId, m.power]));
  if (new Set(dealers).size !== dealers.length) return 'the start names a dealer twice';
  let power = 0;
  for (const d of dealers) {
    const p = current.get(d);
    if (p === undefined) return `dealer ${short(d)} is not a member of the current committee`;
    if (!approvers.has(d)) return `dealer ${short(d)} has not approved this reshare`;
    power += p;
  }
  if (power < oldThreshold) return "the dealers' power is below the current threshold";
  const expected = new Set([...body.members.map((m) => m.deviceId), ...dealers]);
  if (new Set(signers).size !== signers.length || signers.length !== expected.size) {
    return 'the participants are not the new committee and the dealers';
  }
  if (signers.some((s) => !expected.has(s)))
    return 'the participants are not the new committee and the dealers';
  return null;
}

// ------------------------------------------------------------------ tally

export interface TallyMember {
  deviceId: string;
  power: number;
}

export interface Tally {
  approvedPower: number;
  rejectedPower: number;
  undecidedPower: number;
  approvers: string[];
  state: 'pending' | 'approved' | 'rejected';
}

/**
 * Power of the decisions of `members` (the current epoch's parties) against `threshold`. Decisions
 * from anyone else are ignored; each member counts once. The caller passes only decisions whose
 * signatures it verified itself.
 */
export function tally(
  members: readonly TallyMember[],
  threshold: number,
  decisions: ReadonlyMap<string, Decision>,
): Tally {
  let approvedPower = 0;
  let rejectedPower = 0;
  const approvers: string[] = [];
  for (const m of members) {
    const d = decisions.get(m.deviceId);
    if (d === 'approve') {
      approvedPower += m.power;
      approvers.push(m.deviceId);
    } else if (d === 'reject') rejectedPower += m.power;
  }
  const total = members.reduce((s, m) => s + m.power, 0);
  const undecidedPower = total - approvedPower - rejectedPower;
  const state =
    approvedPower >= threshold
      ? 'approved'
      : approvedPower + undecidedPower < threshold
        ? 'rejected'
        : 'pending';
  return { approvedPower, rejectedPower, undecidedPower, approvers: approvers.sort(), state };
}

/**
 * The signers for a ceremony: the approvers the coordinator sees online first (heaviest first, then
 * by id), then offline approvers (their mailbox holds the start until they return), until the
 * threshold is reached. The coordinator itself is always included (it initiated and approved).
 */
export function chooseSigners(
  approvers: readonly TallyMember[],
  threshold: number,
  online: ReadonlySet<string>,
  coordinator: string,
  excluded: ReadonlySet<string> = new Set(),
): string[] | null {
  const pool = approvers.filter((a) => !excluded.has(a.deviceId));
  const order = [...pool].sort((a, b) => {
    const rank = (m: TallyMember) => (m.deviceId === coordinator ? 0 : online.has(m.deviceId) ? 1 : 2);
    return rank(a) - rank(b) || b.power - a.power || a.deviceId.localeCompare(b.deviceId);
  });
  const chosen: string[] = [];
  let power = 0;
  for (const m of order) {
    if (power >= threshold) break;
    chosen.push(m.deviceId);
    power += m.power;
  }
  return power >= threshold ? chosen.sort() : null;
}

/** Safety code of a reshare request: request id, new threshold and the new (identity, power) list. */
export function reshareSafetyCode(r: VaultRequest): string {
  if (r.body.kind !== 'reshare') throw new RequestError('not a reshare request');
  return kindSafetyCode(r.id, r.body);
}

/** The fields of an unsigned transaction that `reviewedSendProblem` compares. */
export interface SendFacts {
  chainId: number;
  nonce: number;
  to: string;
  value: bigint;
  data: string;
}

/**
 * Why the initiator may not propose the unsigned transaction it reviewed (`reviewed`, the preview's
 * exact bytes, decoded), or null. `current` is the same send built again now. The initiator proposes
 * the reviewed bytes — fee, gas and nonce it saw, never values picked after the preview — so what it
 * says must still be the send that was asked for, and its nonce must not be used already.
 */
export function reviewedSendProblem(reviewed: SendFacts, current: SendFacts): string | null {
  if (
    reviewed.chainId !== current.chainId ||
    reviewed.to.toLowerCase() !== current.to.toLowerCase() ||
    reviewed.value !== current.value ||
    reviewed.data.toLowerCase() !== current.data.toLowerCase()
  ) {
    return 'The reviewed transaction is not this send; review again.';
  }
  if (reviewed.nonce < current.nonce) {
    return 'The vault sent another transaction since the preview; review again.';
  }
  return null;
}
