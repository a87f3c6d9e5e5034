/**
 * The protocol sessions behind the ceremony Worker: one tss `DkgSession` or `ReshareSession` per
 * session id, driven by `CryptoCall`s (protocol.ts) and answered with `CryptoReply`s. Plain
 * synchronous code with no Worker or chrome API, so the unit tests run exactly this behind a fake
 * transport and the Worker (ceremony-worker.ts) is only `onmessage → handle → postMessage`.
 *
 * Secret hygiene: the session's round state never leaves this object; `output` hands out the new
 * share's encoding once (base64url, the service worker seals it) and destroys the share here. A
 * reshare's old share (decoded from the open call) is destroyed as soon as the session finished or
 * aborted, as the in-process runner does; it is rebuilt from the point shares alone (no OT state
 * crosses to the Worker). A reshare never signs here: the Worker has no identity
 * key, so sessions are opened with `deferSignature` and the service worker signs the certificate.
 * Sessions nobody talks to any more (the service worker restarted, and with it the proxy that owned
 * them) are dropped after `idleMs`, so a stale ceremony's state does not sit in the document forever.
 */

import type { RoundEngine } from '@concord/tss';
import { DkgSession, decodeDescriptor, encodeDescriptor, isTssError, KeyShare, TssError } from '@concord/tss';
import { zeroize } from '@concord/tss/bytes';
import { scalarFromBytes } from '@concord/tss/curve';
import { ReshareSession } from '@concord/tss/reshare';
import { fromBase64url, toBase64url } from '@concord/tss/transport';
import {
  type CryptoCall,
  type CryptoReply,
  type EngineFailure,
  type EngineSnapshot,
  failureReply,
  fromWire,
  toWire,
  type WireDkgOutput,
  type WireMessage,
  type WireReshareOutput,
} from './protocol.ts';

/** A session that has seen no call for this long belongs to a proxy that is gone (stall watchdog: 10 min). */
export const DEFAULT_IDLE_MS = 15 * 60_000;
/** Concurrent sessions one host keeps: a device runs one ceremony at a time in practice. */
const MAX_SESSIONS = 8;

type Entry = { lastUsed: number } & (
  | { kind: 'dkg'; session: DkgSession }
  | {
      kind: 'reshare';
      session: ReshareSession;
      /** This device's old share while the session may still need it; destroyed once it is over. */
      oldShare: KeyShare | undefined;
    }
);

export interface CeremonyHostOptions {
  now?: () => number;
  idleMs?: number;
}

export function toFailure(e: unknown): EngineFailure {
  // Only a TssError's public fields: its message names codes, rounds and public ids, never bytes.
  if (isTssError(e)) return { code: e.code, message: e.message, culprits: [...e.culprits] };
  return { code: 'INTERNAL', message: 'internal failure in the ceremony worker', culprits: [] };
}

function snapshot(engine: RoundEngine<unknown>): EngineSnapshot {
  const p = engine.progress;
  const abort = engine.abortError;
  return {
    progress: {
      round: p.round,
      rounds: p.rounds,
      received: p.received,
      expected: p.expected,
      state: p.state,
    },
    finished: engine.finished,
    abortError: abort === undefined ? null : toFailure(abort),
  };
}

export class CeremonyHost {
  private readonly sessions = new Map<string, Entry>();
  private readonly now: () => number;
  private readonly idleMs: number;

  constructor(opts: CeremonyHostOptions = {}) {
    this.now = opts.now ?? (() => Date.now());
    this.idleMs = opts.idleMs ?? DEFAULT_IDLE_MS;
  }

  /** Number of live sessions (tests, and the Worker's idle check). */
  get size(): number {
    return this.sessions.size;
  }

  /** Drops sessions idle for longer than `idleMs`. */
  sweep(): void {
    const limit = this.now() - this.idleMs;
    for (const [sid, e] of this.sessions) if (e.lastUsed < limit) this.drop(sid);
  }

  handle(raw: unknown): CryptoReply {
    const call = raw as Partial<CryptoCall> | null;
    const id = typeof call?.id === 'string' ? call.id : '';
    if (call === null || typeof call !== 'object' || typeof call.session !== 'string') {
      return failureReply(id, 'INVALID_REQUEST', 'malformed call');
    }
    this.sweep();
    const c = call as CryptoCall;
    if (c.op === 'dkg.open' || c.op === 'reshare.open') return this.open(c);
    const entry = this.sessions.get(c.session);
    if (entry === undefined) {
      // A dispose of a session that is already gone (output taken, idle sweep) is fine.
      if (c.op === 'dispose') return { id, ok: true, snapshot: null };
      return failureReply(id, 'SESSION_STATE', 'no such ceremony session in the worker');
    }
    entry.lastUsed = this.now();
    const engine: RoundEngine<unknown> = entry.session;
    try {
      switch (c.op) {
        case 'start':
          return this.stepped(entry, { id, ok: true, messages: engine.start().map(toWire) });
        case 'receive':
          // A malformed message is refused (DECODE_FAILED) and leaves the session as it was.
          return this.stepped(entry, {
            id,
            ok: true,
            messages: engine.receive(fromWire(c.message)).map(toWire),
          });
        case 'output': {
          const output = entry.kind === 'dkg' ? dkgOutput(entry.session) : reshareOutput(entry.session);
          const snap = snapshot(engine);
          this.sessions.delete(c.session);
          return { id, ok: true, snapshot: snap, output };
        }
        case 'dispose':
          this.drop(c.session);
          return { id, ok: true, snapshot: null };
        default:
          return failureReply(id, 'INVALID_REQUEST', 'unknown operation');
      }
    } catch (e) {
      this.retireOldShare(entry);
      return { id, ok: false, snapshot: snapshot(engine), error: toFailure(e) };
    }
  }

  /** Adds the snapshot after a step, and wipes a reshare's old share once the session is over. */
  private stepped(entry: Entry, reply: { id: string; ok: true; messages: WireMessage[] }): CryptoReply {
    this.retireOldShare(entry);
    return { ...reply, snapshot: snapshot(entry.session) };
  }

  private retireOldShare(entry: Entry): void {
    if (entry.kind !== 'reshare' || entry.oldShare === undefined) return;
    const s = entry.session;
    if (!s.finished && s.abortError === undefined) return;
    entry.oldShare.destroy();
    entry.oldShare = undefined;
  }

  private open(c: Extract<CryptoCall, { op: 'dkg.open' | 'reshare.open' }>): CryptoReply {
    if (this.sessions.has(c.session)) return failureReply(c.id, 'SESSION_STATE', 'session already open');
    if (this.sessions.size >= MAX_SESSIONS) return failureReply(c.id, 'SESSION_STATE', 'too many sessions');
    try {
      const entry: Entry = c.op === 'dkg.open' ? openDkg(c, this.now()) : openReshare(c, this.now());
      this.sessions.set(c.session, entry);
      return { id: c.id, ok: true, snapshot: snapshot(entry.session) };
    } catch (e) {
      return { id: c.id, ok: false, snapshot: null, error: toFailure(e) };
    }
  }

  /** Forgets a session; a finished one's new share and a reshare's old share are destroyed first. */
  private drop(sid: string): void {
    const e = this.sessions.get(sid);
    if (e === undefined) return;
    this.sessions.delete(sid);
    if (e.kind === 'reshare') {
      e.oldShare?.destroy();
      e.oldShare = undefined;
    }
    // A running session's round state is wiped on GC only (the engine has no public wipe).
    if (!e.session.finished) return;
    try {
      if (e.kind === 'dkg') e.session.output().keyShare.destroy();
      else e.session.output().pending?.destroy();
    } catch {
      // Already destroyed by `output`; nothing left to wipe.
    }
  }
}

const ids = (xs: unknown, what: string): Uint8Array[] => {
  if (!Array.isArray(xs)) throw new TssError('INVALID_PARAMETERS', `${what}: not a list`);
  return xs.map((x) => fromBase64url(x as string, what));
};

const specs = (xs: unknown, what: string): { id: Uint8Array; power: number }[] => {
  if (!Array.isArray(xs)) throw new TssError('INVALID_PARAMETERS', `${what}: not a list`);
  return xs.map((p: { id: string; power: number }) => ({ id: fromBase64url(p.id, what), power: p.power }));
};

function openDkg(c: Extract<CryptoCall, { op: 'dkg.open' }>, now: number): Entry {
  const session = new DkgSession({
    parties: specs(c.parties, 'parties'),
    threshold: c.threshold,
    selfId: fromBase64url(c.selfId, 'self id'),
  });
  return { kind: 'dkg', session, lastUsed: now };
}

function openReshare(c: Extract<CryptoCall, { op: 'reshare.open' }>, now: number): Entry {
  // There is no identity key here to sign with: a call that does not defer cannot be served.
  if (c.deferSignature !== true) throw new TssError('INVALID_PARAMETERS', 'the worker cannot sign');
  const oldDescriptor = decodeDescriptor(fromBase64url(c.oldDescriptor, 'old descriptor'));
  const selfId = fromBase64url(c.selfId, 'self id');
  let oldShare: KeyShare | undefined;
  if (c.oldPointShares !== undefined) {
    if (!Array.isArray(c.oldPointShares))
      throw new TssError('INVALID_PARAMETERS', 'old point shares: not a list');
    const bytes = c.oldPointShares.map((x, i) => fromBase64url(x as string, `old point share ${i}`));
    try {
      // Only the point shares crossed: a share without pairwise state (like one restored from a
      // backup) deals exactly like the full one. Each must match its public share.
      const shares = bytes.map((b, i) => scalarFromBytes(b, `old point share ${i}`));
      oldShare = new KeyShare(oldDescriptor, selfId, shares, []);
      oldShare.verify();
    } catch (e) {
      oldShare?.destroy();
      throw e;
    } finally {
      zeroize(...bytes);
    }
  }
  try {
    const session = new ReshareSession({
      oldDescriptor,
      ...(oldShare === undefined ? {} : { oldShare }),
      oldParties: ids(c.oldParties, 'old parties'),
      newParties: specs(c.newParties, 'new parties'),
      newThreshold: c.newThreshold,
      selfId,
      deferSignature: true,
    });
    return { kind: 'reshare', session, oldShare, lastUsed: now };
  } catch (e) {
    oldShare?.destroy();
    throw e;
  }
}

/** `keyShare.encode()` once, then the share is destroyed here. */
function dkgOutput(dkg: DkgSession): WireDkgOutput {
  const { keyShare, descriptor } = dkg.output();
  const secret = keyShare.encode();
  const out = { keyShare: toBase64url(secret), descriptor: toBase64url(encodeDescriptor(descriptor)) };
  zeroize(secret);
  keyShare.destroy();
  return out;
}

/** The public record, and `pending.encode()` once for a new party, then the pending share is destroyed. */
function reshareOutput(reshare: ReshareSession): WireReshareOutput {
  const { descriptor, record, pending } = reshare.output();
  let secret: Uint8Array | undefined;
  try {
    secret = pending?.encode();
    return {
      descriptor: toBase64url(encodeDescriptor(descriptor)),
      pending: secret === undefined ? null : toBase64url(secret),
      sessionId: toBase64url(record.sessionId),
      transcript: toBase64url(record.transcript),
    };
  } finally {
    if (secret !== undefined) zeroize(secret);
    pending?.destroy();
  }
}
