/**
 * The relay core: one state machine per connection (BRIDGE.md §3–§17; THREATS B31–B41).
 *
 *   connect ──challenge──► AWAIT_AUTH ──auth ok──► READY ──close/displace──► CLOSED
 *                │  (only `hello`/`auth`; 10 s timeout; single-use 32-byte challenge)
 *
 * Every inbound frame is parsed and schema-validated before any logic. The relay enforces only
 * authentication, session membership, sizes, quotas, rate limits and TTLs; it never sees plaintext
 * (the `ct` it stores is a sealed envelope, see `tss/src/transport/envelope.ts`). Delivery is
 * at-least-once: persist, then `accepted`, then `deliver` if the recipient is online; the recipient
 * acks by seq and the row is dropped; unacked deliveries are re-sent after `redeliverAfterMs` and
 * can always be re-read with `fetch`.
 *
 * This module is the connection lifecycle and frame dispatch; the parts live beside it:
 * `core.ts` (shared state, outbound writes, per-turn write coalescing), `auth.ts` (AWAIT_AUTH),
 * `group-commit.ts` (send/ack batched per event-loop turn, answered in frame order),
 * `sessions.ts` (session frames, fetch, presence), `cluster-events.ts` (events from other nodes),
 * `maintenance.ts` (heartbeat, redelivery, sweep).
 *
 * Logs carry sid/device prefixes, sizes and codes; never `ct`, signatures, keys or IPs.
 */
import type WebSocket from 'ws';
import type { ErrorCode } from '../protocol/codes.ts';
import { ERROR_CODES } from '../protocol/codes.ts';
import { type ClientFrame, parseClientFrame } from '../protocol/frames.ts';
import { onPreAuth, sendChallenge } from './auth.ts';
import { deliverFromCluster, displacedFromCluster, pushFromCluster, resync } from './cluster-events.ts';
import { Connection, type Corkable, MAX_QUEUED_FRAMES, p8 } from './connection.ts';
import { RelayCore, type RelayDeps } from './core.ts';
import { heartbeat, redeliver, sweep } from './maintenance.ts';
import {
  broadcastPresence,
  onCloseSession,
  onCreate,
  onFetch,
  onJoin,
  onLeave,
  onListSessions,
} from './sessions.ts';
import { type Awaitable, after, StoreUnavailableError } from './store/types.ts';

export type { Corkable } from './connection.ts';
export { deliverJson, type RelayDeps } from './core.ts';

/** Tokens an `ack` of `n` seqs costs: one per started hundred. */
export const ackCost = (n: number): number => Math.max(1, Math.ceil(n / 100));

export class Relay {
  private readonly r: RelayCore;
  /** Every open connection (the same set as the core's; tests reach it to cut sockets). */
  private readonly conns: Set<Connection>;
  private nextId = 1;
  /** Open connections by client IP (the per-IP cap). */
  private readonly perIp = new Map<string, number>();
  private timers: ReturnType<typeof setInterval>[] = [];

  constructor(deps: RelayDeps) {
    this.r = new RelayCore(deps);
    this.conns = this.r.conns;
    this.r.metrics.source.inflight = () => {
      let n = 0;
      for (const c of this.conns) n += c.inflight.size;
      return n;
    };
  }

  /** Start heartbeat, redelivery and sweeper timers. */
  start(): void {
    const every = (ms: number, f: () => void) => {
      const t = setInterval(() => {
        try {
          f();
        } catch (err) {
          this.r.log.error({ err: (err as Error).message }, 'timer task failed');
        }
      }, ms);
      t.unref();
      this.timers.push(t);
    };
    const limits = this.r.limits;
    every(limits.heartbeatMs, () => heartbeat(this.r));
    every(Math.max(50, Math.floor(limits.redeliverAfterMs / 2)), () => this.redeliver());
    every(limits.sweepIntervalMs, () => this.sweep());
  }

  get connectionCount(): number {
    return this.conns.size;
  }

  /** Pre-upgrade admission: per-IP rate and the global connection cap. */
  admit(ip: string): { ok: true } | { ok: false; status: number; code: ErrorCode; retryAfterMs?: number } {
    const r = this.r;
    if (r.draining) return { ok: false, status: 503, code: 'SHUTTING_DOWN' };
    // Without its store a node can do nothing useful: refuse, so clients back off and retry (and
    // catch up once it is back) instead of holding a socket that answers every send with an error.
    if (!this.ready) return { ok: false, status: 503, code: 'STORE_UNAVAILABLE' };
    if (this.conns.size >= r.limits.maxConnections) return { ok: false, status: 503, code: 'MAILBOX_FULL' };
    // Concurrent connections per IP: without it one host could hold every socket (and every
    // device it invents) at once; the rate below only bounds how fast it opens them.
    if ((this.perIp.get(ip) ?? 0) >= r.limits.maxConnectionsPerIp) {
      r.metrics.rateLimited.inc({ scope: 'ip_connections' });
      return { ok: false, status: 429, code: 'RATE_LIMITED' };
    }
    const wait = r.ipBuckets.take(ip, r.now());
    if (wait > 0) {
      r.metrics.rateLimited.inc({ scope: 'ip' });
      return { ok: false, status: 429, code: 'RATE_LIMITED', retryAfterMs: wait };
    }
    return { ok: true };
  }

  /** False while the store (or the cluster link) cannot be reached, or while draining. */
  get ready(): boolean {
    return this.r.ready;
  }

  get isDraining(): boolean {
    return this.r.draining;
  }

  // ---------------------------------------------------------------- connection lifecycle

  /**
   * Take over an upgraded socket. `sock` is the TCP socket under `ws`; when given, outbound frames
   * are coalesced per event-loop turn (see `RelayCore.sendRaw`).
   */
  attach(ws: WebSocket, ip: string, sock?: Corkable): void {
    const c = new Connection(this.nextId++, ws, ip, sock);
    this.conns.add(c);
    this.perIp.set(ip, (this.perIp.get(ip) ?? 0) + 1);
    this.r.metrics.connections.inc();
    ws.on('message', (data, isBinary) => this.onMessage(c, data, isBinary));
    ws.on('pong', () => {
      c.alive = true;
    });
    ws.on('close', () => this.onClose(c));
    ws.on('error', (err) => this.r.log.debug({ conn: c.id, err: err.message }, 'socket error'));
    c.authTimer = setTimeout(() => {
      if (c.state === 'await_auth') this.r.fail(c, 'AUTH_TIMEOUT', 'not authenticated in time');
    }, this.r.limits.authTimeoutMs);
    c.authTimer.unref();
    sendChallenge(this.r, c, undefined);
  }

  private onClose(c: Connection): void {
    const r = this.r;
    if (c.state === 'closed') return;
    c.state = 'closed';
    if (c.authTimer) clearTimeout(c.authTimer);
    this.conns.delete(c);
    const n = (this.perIp.get(c.ip) ?? 1) - 1;
    if (n <= 0) this.perIp.delete(c.ip);
    else this.perIp.set(c.ip, n);
    r.metrics.connections.dec();
    const dev = c.deviceId;
    if (dev !== undefined && r.devices.get(dev) === c) {
      r.devices.delete(dev);
      r.metrics.authenticated.dec();
      if (r.cluster !== undefined) r.cluster.leave(dev, r.deviceBuckets.export(dev));
      if (!c.displacedRemotely) broadcastPresence(r, dev, false);
    }
    r.log.debug({ conn: c.id, device: p8(dev) }, 'closed');
  }

  // ---------------------------------------------------------------- inbound frames

  private onMessage(c: Connection, data: WebSocket.RawData, isBinary: boolean): void {
    if (c.state === 'closed' || c.closing) return;
    if (isBinary) {
      this.invalid(c, 'binary frames are not supported');
      return;
    }
    const text = Array.isArray(data) ? Buffer.concat(data).toString('utf8') : data.toString();
    const parsed = parseClientFrame(text);
    if (!parsed.ok) {
      this.invalid(c, parsed.reason, parsed.rid);
      return;
    }
    const f = parsed.frame;
    this.r.countFrame(f.t);
    if (c.queue !== undefined) {
      if (c.queue.length >= MAX_QUEUED_FRAMES) {
        this.r.fail(c, 'RATE_LIMITED', 'too many frames waiting');
        return;
      }
      c.queue.push(f);
      return;
    }
    this.dispatch(c, f);
  }

  /**
   * Handle one frame; if it has to wait for the store, hold this connection's next frames until
   * it is done (`drain`). With the in-process stores nothing ever waits and no queue forms.
   */
  private dispatch(c: Connection, f: ClientFrame): void {
    let r: Awaitable<void>;
    try {
      r = c.state === 'await_auth' ? onPreAuth(this.r, c, f) : this.onReady(c, f);
    } catch (err) {
      this.handlerFailed(c, f, err);
      return;
    }
    if (r instanceof Promise) {
      c.queue ??= [];
      r.catch((err: unknown) => this.handlerFailed(c, f, err)).finally(() => this.drain(c));
    }
  }

  private drain(c: Connection): void {
    const q = c.queue;
    c.queue = undefined;
    while (q !== undefined && q.length > 0 && c.state !== 'closed' && !c.closing) {
      this.dispatch(c, q.shift()!);
      const waiting = c.queue as ClientFrame[] | undefined; // set again by dispatch if it waits
      if (waiting !== undefined) {
        // Waiting again: keep the rest behind it.
        waiting.push(...q);
        return;
      }
    }
  }

  private handlerFailed(c: Connection, f: ClientFrame, err: unknown): void {
    const rid = 'rid' in f ? f.rid : undefined;
    if (err instanceof StoreUnavailableError) {
      this.r.storeUnavailable(c, rid, err);
      // An auth that could not finish leaves nothing to serve: close, the client retries later.
      if (f.t === 'auth') this.r.close(c, 'STORE_UNAVAILABLE', 'store unavailable');
      return;
    }
    this.r.log.error({ conn: c.id, type: f.t, err: (err as Error).message }, 'frame handler failed');
    this.r.error(c, 'INTERNAL', 'internal error', rid);
  }

  private invalid(c: Connection, reason: string, rid?: string): void {
    this.r.countFrame('invalid');
    this.r.log.info({ conn: c.id, device: p8(c.deviceId), reason }, 'invalid frame');
    if (c.state !== 'ready') {
      this.r.fail(c, 'INVALID_FRAME', reason, rid);
      return;
    }
    if (++c.invalidFrames > this.r.limits.maxInvalidFrames) {
      this.r.guard(this.failAfterCommit(c, 'INVALID_FRAME', reason, rid), 'commit');
      return;
    }
    this.r.error(c, 'INVALID_FRAME', reason, rid);
  }

  /**
   * Close a ready connection for misbehaviour, but only after the sends it already got stored are
   * answered: they sit in this turn's group commit, and their `accepted` written after the close
   * frame would be dropped, leaving the client to resend messages that were stored (and counted
   * against its quotas). Frames after this one are not read any more.
   */
  private failAfterCommit(c: Connection, code: ErrorCode, message: string, rid?: string): Awaitable<void> {
    if (c.closing) return;
    c.closing = true;
    return after(this.r.commit.commitPending(), () => this.r.fail(c, code, message, rid));
  }

  private onReady(c: Connection, f: ClientFrame): Awaitable<void> {
    const r = this.r;
    const dev = c.deviceId!;
    // Charged by work: an ack listing up to 1,000 seqs costs one token per 100 (finding: one
    // token for 1,000 store updates let ten devices burn seconds of relay CPU per second).
    const cost = f.t === 'ack' ? ackCost(f.seqs.length) : 1;
    const wait = r.deviceBuckets.take(dev, r.now(), cost);
    if (wait > 0) {
      r.metrics.rateLimited.inc({ scope: 'device' });
      c.strikes++;
      if (c.strikes > r.limits.rateLimitStrikes) {
        return this.failAfterCommit(c, 'RATE_LIMITED', 'rate limit exceeded repeatedly');
      } else if (c.strikes === 1) {
        r.error(c, 'RATE_LIMITED', 'slow down', 'rid' in f ? f.rid : undefined, { retryAfterMs: wait });
      }
      return;
    }
    c.strikes = 0;
    // Sends and acks of this turn are committed at its end; any other frame could observe them
    // (fetch, close_session, a reply that must follow `accepted`), so they are committed first
    // and every connection sees its frames answered in order.
    if (f.t === 'send') return r.commit.onSend(c, dev, f);
    if (f.t === 'ack') {
      r.commit.onAck(c, dev, f.seqs);
      return;
    }
    return after(r.commit.commitPending(), () => this.onOther(c, dev, f));
  }

  private onOther(c: Connection, dev: string, f: ClientFrame): Awaitable<void> {
    const r = this.r;
    switch (f.t) {
      case 'fetch':
        return onFetch(r, c, dev, f.rid, f.afterSeq, f.limit, f.sid);
      case 'ping':
        r.send(c, { t: 'pong', rid: f.rid, ts: r.now() });
        return;
      case 'create_session':
        return onCreate(r, c, dev, f);
      case 'join':
        return onJoin(r, c, dev, f.rid, f.sid);
      case 'leave':
        return onLeave(r, c, dev, f.rid, f.sid);
      case 'list_sessions':
        return onListSessions(r, c, dev, f.rid);
      case 'close_session':
        return onCloseSession(r, c, dev, f.rid, f.sid);
      case 'hello':
      case 'auth':
        r.error(c, 'INVALID_FRAME', 'already authenticated', f.rid);
        return;
      case 'send':
      case 'ack':
        return; // handled by onReady
    }
  }

  // ---------------------------------------------------------------- cluster events and timers

  /** See `cluster-events.ts`. */
  deliverFromCluster(device: string, seq: number, frame: string): void {
    deliverFromCluster(this.r, device, seq, frame);
  }

  pushFromCluster(device: string, frame: string): void {
    pushFromCluster(this.r, device, frame);
  }

  displacedFromCluster(device: string, generation: number): void {
    displacedFromCluster(this.r, device, generation);
  }

  resync(): void {
    resync(this.r);
  }

  /** Re-send deliveries not acknowledged within `redeliverAfterMs` (never treated as acknowledged). */
  redeliver(): void {
    redeliver(this.r);
  }

  sweep(): void {
    sweep(this.r);
  }

  /** Stop accepting, close every socket with 1001, wait up to the grace period, then terminate. */
  async shutdown(): Promise<void> {
    const r = this.r;
    r.draining = true;
    try {
      await r.commit.commitPending();
    } catch (err) {
      r.log.warn({ err: (err as Error).message }, 'final commit failed');
    }
    for (const t of this.timers) clearInterval(t);
    this.timers = [];
    for (const c of this.conns) {
      if (c.authTimer) clearTimeout(c.authTimer);
      if (c.ws.readyState === 1) c.ws.close(ERROR_CODES.SHUTTING_DOWN.close, 'SHUTTING_DOWN');
    }
    const deadline = Date.now() + r.limits.shutdownGraceMs;
    while (this.conns.size > 0 && Date.now() < deadline) await new Promise((res) => setTimeout(res, 20));
    for (const c of [...this.conns]) {
      c.ws.terminate();
      this.onClose(c);
    }
  }
}
