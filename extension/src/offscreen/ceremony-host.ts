/**
 * The protocol sessions behind the ceremony Worker: one tss `DkgSession` per session id, driven by
 * `CryptoCall`s (protocol.ts) and answered with `CryptoReply`s. Plain synchronous code with no
 * Worker or chrome API, so the unit tests run exactly this behind a fake transport and the Worker
 * (ceremony-worker.ts) is only `onmessage → handle → postMessage`.
 *
 * Secret hygiene: the session's round state never leaves this object; `output` hands out
 * `keyShare.encode()` once (base64url, the service worker seals it) and destroys the share here.
 * Sessions nobody talks to any more (the service worker restarted, and with it the proxy that owned
 * them) are dropped after `idleMs`, so a stale DKG's state does not sit in the document forever.
 */
import { zeroize } from '../../../tss/src/bytes.ts';
import { encodeDescriptor } from '../../../tss/src/descriptor.ts';
import { DkgSession } from '../../../tss/src/dkg/session.ts';
import { isTssError } from '../../../tss/src/errors.ts';
import { fromBase64url, toBase64url } from '../../../tss/src/transport/base64url.ts';
import {
  type CryptoCall,
  type CryptoReply,
  type EngineFailure,
  type EngineSnapshot,
  failureReply,
  fromWire,
  toWire,
} from './protocol.ts';

/** A DKG that has seen no call for this long belongs to a proxy that is gone (stall watchdog: 10 min). */
export const DEFAULT_IDLE_MS = 15 * 60_000;
/** Concurrent sessions one host keeps: a device runs one DKG at a time in practice. */
const MAX_SESSIONS = 8;

interface Entry {
  dkg: DkgSession;
  lastUsed: number;
}

export interface CeremonyHostOptions {
  now?: () => number;
  idleMs?: number;
}

export function toFailure(e: unknown): EngineFailure {
  // Only a TssError's public fields: its message names codes, rounds and public ids, never bytes.
  if (isTssError(e)) return { code: e.code, message: e.message, culprits: [...e.culprits] };
  return { code: 'INTERNAL', message: 'internal failure in the ceremony worker', culprits: [] };
}

function snapshot(dkg: DkgSession): EngineSnapshot {
  const p = dkg.progress;
  const abort = dkg.abortError;
  return {
    progress: {
      round: p.round,
      rounds: p.rounds,
      received: p.received,
      expected: p.expected,
      state: p.state,
    },
    finished: dkg.finished,
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
    if (c.op === 'dkg.open') return this.open(c);
    const entry = this.sessions.get(c.session);
    if (entry === undefined) {
      // A dispose of a session that is already gone (output taken, idle sweep) is fine.
      if (c.op === 'dispose') return { id, ok: true, snapshot: null };
      return failureReply(id, 'SESSION_STATE', 'no such ceremony session in the worker');
    }
    entry.lastUsed = this.now();
    const dkg = entry.dkg;
    try {
      switch (c.op) {
        case 'start':
          return { id, ok: true, messages: dkg.start().map(toWire), snapshot: snapshot(dkg) };
        case 'receive':
          // A malformed message is refused (DECODE_FAILED) and leaves the session as it was.
          return {
            id,
            ok: true,
            messages: dkg.receive(fromWire(c.message)).map(toWire),
            snapshot: snapshot(dkg),
          };
        case 'output': {
          const { keyShare, descriptor } = dkg.output();
          const secret = keyShare.encode();
          const out = {
            keyShare: toBase64url(secret),
            descriptor: toBase64url(encodeDescriptor(descriptor)),
          };
          zeroize(secret);
          keyShare.destroy();
          const snap = snapshot(dkg);
          this.sessions.delete(c.session);
          return { id, ok: true, snapshot: snap, output: out };
        }
        case 'dispose':
          this.drop(c.session);
          return { id, ok: true, snapshot: null };
        default:
          return failureReply(id, 'INVALID_REQUEST', 'unknown operation');
      }
    } catch (e) {
      return { id, ok: false, snapshot: snapshot(dkg), error: toFailure(e) };
    }
  }

  private open(c: Extract<CryptoCall, { op: 'dkg.open' }>): CryptoReply {
    if (this.sessions.has(c.session)) return failureReply(c.id, 'SESSION_STATE', 'session already open');
    if (this.sessions.size >= MAX_SESSIONS) return failureReply(c.id, 'SESSION_STATE', 'too many sessions');
    try {
      if (!Array.isArray(c.parties)) throw new TypeError('parties');
      const dkg = new DkgSession({
        parties: c.parties.map((p) => ({ id: fromBase64url(p.id, 'party id'), power: p.power })),
        threshold: c.threshold,
        selfId: fromBase64url(c.selfId, 'self id'),
      });
      this.sessions.set(c.session, { dkg, lastUsed: this.now() });
      return { id: c.id, ok: true, snapshot: snapshot(dkg) };
    } catch (e) {
      return { id: c.id, ok: false, snapshot: null, error: toFailure(e) };
    }
  }

  /** Forgets a session; a finished one's key share is destroyed first (a running one wipes on GC only). */
  private drop(sid: string): void {
    const e = this.sessions.get(sid);
    if (e === undefined) return;
    this.sessions.delete(sid);
    if (e.dkg.finished) {
      try {
        e.dkg.output().keyShare.destroy();
      } catch {
        // Already destroyed by `output`; nothing left to wipe.
      }
    }
  }
}
