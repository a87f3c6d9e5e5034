/**
 * Wire format between the service worker's ceremony proxies (background/services/remote-engine.ts),
 * the offscreen document (offscreen.ts, a relay) and the ceremony Worker (ceremony-worker.ts, which
 * runs the protocol sessions). The heavy DKG and reshare rounds run there so they never block the
 * service worker's message loop. A session is opened as one kind (`dkg.open`, `reshare.open`);
 * every later op (`start`, `receive`, `output`, `dispose`) is the same for both.
 *
 * `chrome.runtime` messaging serialises as JSON, so every byte string travels as base64url and every
 * message is a plain object. The channel name differs from the UI's (`concord/ui/v1`): the
 * background router only answers that one, and the offscreen page only this one. Errors carry the
 * public fields of a `TssError` (`code`, `message`, `culprits`), never secret data.
 */

import type { ProtocolMessage } from '@concord/tss';
import { TssError } from '@concord/tss';
import { fromBase64url, toBase64url } from '@concord/tss/transport';

export const CRYPTO_CHANNEL = 'concord/crypto/v1';

/** The offscreen page's path inside the package (see vite.config.ts). */
export const OFFSCREEN_PATH = 'offscreen.html';

/** A protocol message with its byte strings in base64url (`to: null` is a broadcast). */
export interface WireMessage {
  from: string;
  to: string | null;
  round: number;
  payload: string;
}

/** The public part of an abort or refusal: what a `TssError` may show (no stack, no cause). */
export interface EngineFailure {
  readonly code: string;
  readonly message: string;
  readonly culprits: readonly string[];
}

/** Mirrors the tss engine's `Progress`. */
export interface WireProgress {
  round: number;
  rounds: number;
  received: number;
  expected: number;
  state: 'idle' | 'running' | 'done' | 'aborted';
}

/** What the service worker's proxy mirrors after every call. */
export interface EngineSnapshot {
  progress: WireProgress;
  finished: boolean;
  abortError: EngineFailure | null;
}

/** The DKG's result as the service worker needs it: `keyShare.encode()` and the descriptor encoding. */
export interface WireDkgOutput {
  keyShare: string;
  descriptor: string;
}

/**
 * A finished reshare as the service worker needs it: the new epoch's descriptor encoding, the public
 * record the certificate signs, and `pending.encode()` when this device is in the new committee
 * (null for a dealer that leaves). There is no signature: the Worker never holds the identity key,
 * the service worker signs the certificate message itself (tss `deferSignature`).
 */
export interface WireReshareOutput {
  descriptor: string;
  pending: string | null;
  sessionId: string;
  transcript: string;
}

export type CryptoOp =
  | {
      op: 'dkg.open';
      parties: { id: string; power: number }[];
      threshold: number;
      selfId: string;
    }
  | {
      op: 'reshare.open';
      /** `encodeDescriptor` of the epoch being replaced. */
      oldDescriptor: string;
      /**
       * This device's old point shares s(x) (32-byte scalars, in the order of its points in the old
       * descriptor), only when it is an old party. Dealing needs nothing else: no OT seeds and no
       * zero-share seeds ever cross (the Worker rebuilds a share without pairwise state, like a
       * restored one). Secret, and a JS string cannot be wiped: the same tradeoff as the DKG's
       * output share, for the smallest secret that can deal.
       */
      oldPointShares?: string[];
      oldParties: string[];
      newParties: { id: string; power: number }[];
      newThreshold: number;
      selfId: string;
      /** Always true: the Worker has no identity key, the service worker signs the certificate. */
      deferSignature: true;
    }
  | { op: 'start' }
  | { op: 'receive'; message: WireMessage }
  | { op: 'output' }
  | { op: 'dispose' };

/** One call on one session; `id` is unique per service-worker lifetime. */
export type CryptoCall = CryptoOp & { id: string; session: string };

export type CryptoReply =
  | {
      id: string;
      ok: true;
      snapshot: EngineSnapshot | null;
      messages?: WireMessage[];
      /** `WireDkgOutput` for a DKG session, `WireReshareOutput` for a reshare. */
      output?: WireDkgOutput | WireReshareOutput;
    }
  | {
      id: string;
      ok: false;
      /** Present when the session exists: a refusal leaves it usable, an abort is visible here. */
      snapshot: EngineSnapshot | null;
      error: EngineFailure;
    };

/** The envelope the service worker sends with `chrome.runtime.sendMessage`. */
export interface CryptoRequest {
  channel: typeof CRYPTO_CHANNEL;
  call: CryptoCall;
}

/** The ops that create a session in the Worker (the host and the document's lifetime count them). */
export function isOpenOp(op: string): op is 'dkg.open' | 'reshare.open' {
  return op === 'dkg.open' || op === 'reshare.open';
}

export function isCryptoRequest(m: unknown): m is CryptoRequest {
  if (typeof m !== 'object' || m === null) return false;
  const r = m as { channel?: unknown; call?: unknown };
  if (r.channel !== CRYPTO_CHANNEL || typeof r.call !== 'object' || r.call === null) return false;
  const c = r.call as { id?: unknown; session?: unknown; op?: unknown };
  return typeof c.id === 'string' && typeof c.session === 'string' && typeof c.op === 'string';
}

/** A reply for `id` when something outside the session failed (worker crash, no such session). */
export function failureReply(id: string, code: string, message: string): CryptoReply {
  return { id, ok: false, snapshot: null, error: { code, message, culprits: [] } };
}

export function toWire(m: ProtocolMessage): WireMessage {
  return {
    from: toBase64url(m.from),
    to: m.to === null ? null : toBase64url(m.to),
    round: m.round,
    payload: toBase64url(m.payload),
  };
}

/** Strict inverse of `toWire`; anything malformed is a `DECODE_FAILED` refusal. */
export function fromWire(m: WireMessage): ProtocolMessage {
  if (typeof m !== 'object' || m === null || !Number.isInteger(m.round) || m.round < 0 || m.round > 255) {
    throw new TssError('DECODE_FAILED', 'malformed protocol message');
  }
  return {
    from: fromBase64url(m.from, 'from'),
    to: m.to === null ? null : fromBase64url(m.to, 'to'),
    round: m.round,
    payload: fromBase64url(m.payload, 'payload'),
  };
}
