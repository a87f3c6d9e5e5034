/**
 * The bridge client (BRIDGE.md §5, §11, §12, §15), used by the extension's service worker and by
 * Node (the co-signer, tests, the load generator). No Node built-ins: the WebSocket constructor is
 * injected (the browser's own `WebSocket`, or `ws`'s), and so is the signer (e.g.
 * `DeviceIdentity.sign` from `tss/src/transport/identity.ts`).
 *
 * It carries **sealed bytes**: `send` takes an envelope already sealed for one recipient and
 * `message` events hand out the envelope bytes plus the relay's routing fields. Sealing/opening
 * lives in `tss/src/transport/envelope.ts`; `secure-session.ts` glues the two for one session and
 * checks the outer routing fields against the signed inner header.
 *
 * Reliability:
 * - auth by signed challenge, bound to the origin of the URL this client dialed;
 * - reconnect with exponential backoff and jitter (not after DISPLACED: another instance of this
 *   device took over, and fighting it would make both flap);
 * - outbox: every `send` stays queued until `accepted` and is re-sent after each reconnect (the
 *   relay treats same msgId + same body as a no-op returning the original seq);
 * - catch-up: after every auth, `fetch {afterSeq: 0}` pages through everything still pending in
 *   the mailbox (acknowledged messages are gone, so this is exactly the unacknowledged set);
 * - dedupe: a TTL'd LRU of (sid, from, msgId) drops redeliveries before the application sees
 *   them (duplicates are re-acked so the relay can forget them);
 * - acks are batched (one `ack` frame per few milliseconds);
 * - app-level `ping` every 20 s while a session is known, which keeps an MV3 worker alive.
 */
import { authMessage, originOf } from '../protocol/auth.ts';
import { b64uDecode, b64uEncode } from '../protocol/base64url.ts';
import { ERROR_CODES, type ErrorCode, errorCodeForClose } from '../protocol/codes.ts';
import {
  type BatchMessage,
  type ClientFrame,
  PROTOCOL_VERSION,
  parseServerFrame,
  type ServerFrame,
  type SessionInfo,
  type SessionKind,
  SUBPROTOCOL,
} from '../protocol/frames.ts';

/** The slice of the WebSocket API we use; satisfied by the browser's WebSocket and by `ws`. */
export interface WebSocketLike {
  readonly readyState: number;
  onopen: ((ev: unknown) => void) | null;
  onmessage: ((ev: { data: unknown }) => void) | null;
  onclose: ((ev: { code: number; reason: string }) => void) | null;
  onerror: ((ev: unknown) => void) | null;
  send(data: string): void;
  close(code?: number, reason?: string): void;
}
export type WebSocketCtor = new (url: string, protocols?: string | string[]) => WebSocketLike;

export type ClientState = 'idle' | 'connecting' | 'authenticating' | 'ready' | 'reconnecting' | 'closed';

/** A message as the application receives it. `envelope` is the sealed bytes; open it with the session. */
export interface DeliveredMessage {
  sid: string;
  from: string;
  to: string;
  tag: string;
  msgId: string;
  /** Relay-assigned, per recipient; not authenticated. */
  seq: number;
  ts: number;
  envelope: Uint8Array;
}

export class BridgeClientError extends Error {
  override readonly name = 'BridgeClientError';
  constructor(
    readonly code: ErrorCode | 'DISCONNECTED' | 'TIMEOUT' | 'CLOSED' | 'BAD_FRAME',
    message: string,
    readonly extra: { retryAfterMs?: number; limit?: string } = {},
  ) {
    super(`${code}: ${message}`);
  }
}

export interface ClientEvents {
  message: DeliveredMessage;
  presence: { sid: string; deviceId: string; online: boolean };
  session: SessionInfo;
  closed: { sid: string };
  state: ClientState;
  error: BridgeClientError;
}

export interface BridgeClientOptions {
  /** `ws(s)://host[:port]/v1`. */
  url: string;
  /** This device's Ed25519 public key. */
  deviceId: Uint8Array;
  /** Ed25519 signature with the device key. */
  sign: (message: Uint8Array) => Uint8Array | Promise<Uint8Array>;
  WebSocket: WebSocketCtor;
  backoff?: { initialMs?: number; maxMs?: number; factor?: number; jitter?: number };
  /** App-level ping while a session is active; default 20 s. */
  pingIntervalMs?: number;
  requestTimeoutMs?: number;
  /** Acks are sent this long after the first unacked delivery; default 5 ms. */
  ackDelayMs?: number;
  dedupe?: { maxEntries?: number; ttlMs?: number };
  /** Ack automatically once `message` handlers have run (default true). */
  autoAck?: boolean;
  /** [0, 1) source for backoff jitter; default Math.random. */
  random?: () => number;
  now?: () => number;
}

export interface SendParams {
  sid: string;
  /** Recipient device id (base64url). */
  to: string;
  tag: string;
  msgId: string;
  ttlMs?: number;
  /** Sealed envelope bytes. */
  envelope: Uint8Array;
}

interface Pending {
  resolve: (f: ServerFrame) => void;
  reject: (e: BridgeClientError) => void;
  timer: ReturnType<typeof setTimeout> | undefined;
}

interface OutboxEntry {
  frame: Extract<ClientFrame, { t: 'send' }>;
  resolve: (r: { seq: number; duplicate: boolean }) => void;
  reject: (e: BridgeClientError) => void;
}

/** A small TTL'd LRU of seen keys (Map insertion order = age). */
export class SeenCache {
  private readonly map = new Map<string, number>();
  constructor(
    private readonly maxEntries: number,
    private readonly ttlMs: number,
    private readonly now: () => number,
  ) {}

  /** True if `key` was seen and has not expired; otherwise records it and returns false. */
  checkAndAdd(key: string): boolean {
    const now = this.now();
    const exp = this.map.get(key);
    if (exp !== undefined && exp > now) return true;
    this.map.delete(key);
    this.map.set(key, now + this.ttlMs);
    while (this.map.size > this.maxEntries) {
      const oldest = this.map.keys().next().value;
      if (oldest === undefined) break;
      this.map.delete(oldest);
    }
    return false;
  }

  get size(): number {
    return this.map.size;
  }
}

const FATAL_CLOSES = new Set<number>([ERROR_CODES.DISPLACED.close]);

export class BridgeClient {
  readonly deviceId: string;
  private readonly opts: BridgeClientOptions;
  private readonly origin: string;
  private ws: WebSocketLike | undefined;
  private _state: ClientState = 'idle';
  private readonly handlers: { [K in keyof ClientEvents]?: Set<(e: ClientEvents[K]) => void> } = {};
  private readonly pending = new Map<string, Pending>();
  private readonly outbox = new Map<string, OutboxEntry>();
  private readonly sessions = new Map<string, SessionInfo>();
  private readonly seen: SeenCache;
  private ackQueue: number[] = [];
  private ackTimer: ReturnType<typeof setTimeout> | undefined;
  private pingTimer: ReturnType<typeof setInterval> | undefined;
  private reconnectTimer: ReturnType<typeof setTimeout> | undefined;
  private attempt = 0;
  private ridCounter = 0;
  private stopped = false;
  private readyWaiters: { resolve: () => void; reject: (e: Error) => void }[] = [];
  private readonly now: () => number;

  constructor(opts: BridgeClientOptions) {
    if (opts.deviceId.length !== 32) throw new RangeError('deviceId must be 32 bytes');
    this.opts = opts;
    this.deviceId = b64uEncode(opts.deviceId);
    this.origin = originOf(opts.url);
    this.now = opts.now ?? Date.now;
    this.seen = new SeenCache(
      opts.dedupe?.maxEntries ?? 20_000,
      opts.dedupe?.ttlMs ?? 24 * 3600_000,
      this.now,
    );
  }

  get state(): ClientState {
    return this._state;
  }

  /** Sessions this device is known to be a member of (from welcome, creation and pushes). */
  knownSessions(): SessionInfo[] {
    return [...this.sessions.values()];
  }

  on<K extends keyof ClientEvents>(event: K, handler: (e: ClientEvents[K]) => void): () => void {
    let set = this.handlers[event] as Set<(e: ClientEvents[K]) => void> | undefined;
    if (set === undefined) {
      set = new Set();
      (this.handlers as Record<string, Set<unknown>>)[event] = set;
    }
    set.add(handler);
    return () => set.delete(handler);
  }

  private emit<K extends keyof ClientEvents>(event: K, e: ClientEvents[K]): void {
    const set = this.handlers[event] as Set<(e: ClientEvents[K]) => void> | undefined;
    if (set === undefined) return;
    for (const h of set) {
      try {
        h(e);
      } catch (err) {
        if (event !== 'error')
          this.emit('error', new BridgeClientError('INTERNAL', `handler failed: ${String(err)}`));
      }
    }
  }

  private setState(s: ClientState): void {
    if (this._state === s) return;
    this._state = s;
    this.emit('state', s);
  }

  /** Connect (and keep reconnecting) until `close()`. Resolves once authenticated the first time. */
  connect(): Promise<void> {
    this.stopped = false;
    const p = this.waitReady();
    if (this.ws === undefined && this.reconnectTimer === undefined) this.open();
    return p;
  }

  /** Resolves when the client is (or next becomes) ready. */
  waitReady(): Promise<void> {
    if (this._state === 'ready') return Promise.resolve();
    return new Promise((resolve, reject) => this.readyWaiters.push({ resolve, reject }));
  }

  private open(): void {
    this.setState(this.attempt === 0 ? 'connecting' : 'reconnecting');
    let ws: WebSocketLike;
    try {
      ws = new this.opts.WebSocket(this.opts.url, SUBPROTOCOL);
    } catch (err) {
      this.emit('error', new BridgeClientError('DISCONNECTED', `cannot open socket: ${String(err)}`));
      this.scheduleReconnect();
      return;
    }
    this.ws = ws;
    ws.onopen = () => this.setState('authenticating');
    ws.onmessage = (ev) => {
      if (this.ws !== ws) return;
      if (typeof ev.data !== 'string') {
        this.emit('error', new BridgeClientError('BAD_FRAME', 'binary frame from relay'));
        return;
      }
      const r = parseServerFrame(ev.data);
      if (!r.ok) {
        this.emit('error', new BridgeClientError('BAD_FRAME', r.reason));
        return;
      }
      void this.onFrame(ws, r.frame);
    };
    ws.onerror = () => {
      // onclose follows; nothing to do here (the event carries no useful detail in browsers).
    };
    ws.onclose = (ev) => {
      if (this.ws !== ws) return;
      this.ws = undefined;
      this.onDisconnect(ev.code, ev.reason);
    };
  }

  private onDisconnect(code: number, reason: string): void {
    this.stopPing();
    for (const [rid, p] of this.pending) {
      if (p.timer) clearTimeout(p.timer);
      p.reject(new BridgeClientError('DISCONNECTED', `connection closed (${code})`));
      this.pending.delete(rid);
    }
    const ec = errorCodeForClose(code);
    if (this.stopped) {
      this.setState('closed');
      return;
    }
    if (FATAL_CLOSES.has(code)) {
      this.stopped = true;
      this.setState('closed');
      const err = new BridgeClientError(ec ?? 'CLOSED', `closed by relay: ${reason || code}`);
      this.emit('error', err);
      for (const w of this.readyWaiters.splice(0)) w.reject(err);
      return;
    }
    if (ec !== undefined && ec !== 'SHUTTING_DOWN') {
      this.emit('error', new BridgeClientError(ec, `connection closed by relay (${code})`));
    }
    this.scheduleReconnect();
  }

  private scheduleReconnect(): void {
    if (this.stopped) return;
    this.setState('reconnecting');
    const b = this.opts.backoff ?? {};
    const initial = b.initialMs ?? 250;
    const max = b.maxMs ?? 30_000;
    const factor = b.factor ?? 2;
    const jitter = b.jitter ?? 0.5;
    const base = Math.min(max, initial * factor ** this.attempt);
    // "Equal jitter": keep at least (1 - jitter) of the delay, randomise the rest.
    const delay = Math.round(base * (1 - jitter * (this.opts.random ?? Math.random)()));
    this.attempt++;
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = undefined;
      if (!this.stopped) this.open();
    }, delay);
  }

  private async onFrame(ws: WebSocketLike, f: ServerFrame): Promise<void> {
    switch (f.t) {
      case 'challenge': {
        if (f.rid !== undefined && this.resolvePending(f.rid, f)) return;
        let sig: Uint8Array;
        try {
          const nonce = b64uDecode(f.nonce);
          sig = await this.opts.sign(authMessage(this.origin, nonce, this.opts.deviceId));
        } catch (err) {
          this.emit('error', new BridgeClientError('UNAUTHORIZED', `signing failed: ${String(err)}`));
          ws.close(1000);
          return;
        }
        if (this.ws !== ws) return;
        this.rawSend({ t: 'auth', rid: this.rid('a'), deviceId: this.deviceId, sig: b64uEncode(sig) });
        return;
      }
      case 'welcome':
        this.attempt = 0;
        for (const s of f.sessions) this.sessions.set(s.sid, s);
        this.setState('ready');
        this.updatePing();
        for (const w of this.readyWaiters.splice(0)) w.resolve();
        // Resend everything not yet accepted, then catch up on anything pending for us.
        for (const e of this.outbox.values()) this.rawSend(e.frame);
        void this.catchUp().catch((err: unknown) => {
          if (err instanceof BridgeClientError && err.code !== 'DISCONNECTED') this.emit('error', err);
        });
        return;
      case 'deliver':
        this.onDeliver(f);
        return;
      case 'accepted': {
        const key = this.outboxKeyByRid.get(f.rid);
        if (key !== undefined) {
          const e = this.outbox.get(key);
          this.outbox.delete(key);
          this.outboxKeyByRid.delete(f.rid);
          e?.resolve({ seq: f.seq, duplicate: f.duplicate === true });
        }
        return;
      }
      case 'presence':
        this.emit('presence', { sid: f.sid, deviceId: f.deviceId, online: f.online });
        return;
      case 'session':
        this.sessions.set(f.session.sid, f.session);
        this.updatePing();
        if (f.rid === undefined || !this.resolvePending(f.rid, f)) this.emit('session', f.session);
        return;
      case 'closed':
        this.sessions.delete(f.sid);
        this.updatePing();
        if (f.rid === undefined || !this.resolvePending(f.rid, f)) this.emit('closed', { sid: f.sid });
        return;
      case 'error': {
        const err = new BridgeClientError(f.code, f.message, {
          ...(f.retryAfterMs === undefined ? {} : { retryAfterMs: f.retryAfterMs }),
          ...(f.limit === undefined ? {} : { limit: f.limit }),
        });
        if (f.rid !== undefined) {
          const key = this.outboxKeyByRid.get(f.rid);
          if (key !== undefined) {
            this.onSendError(key, f.rid, err);
            return;
          }
          if (this.rejectPending(f.rid, err)) return;
        }
        this.emit('error', err);
        return;
      }
      default:
        if ('rid' in f && f.rid !== undefined) this.resolvePending(f.rid, f);
    }
  }

  private onSendError(key: string, rid: string, err: BridgeClientError): void {
    const e = this.outbox.get(key);
    if (e === undefined) return;
    if (err.code === 'RATE_LIMITED' || err.code === 'INTERNAL' || err.code === 'STORE_UNAVAILABLE') {
      // Transient: retry the same frame later (idempotent on the relay).
      setTimeout(() => {
        if (this.outbox.has(key) && this._state === 'ready') this.rawSend(e.frame);
      }, err.extra.retryAfterMs ?? 1000);
      return;
    }
    this.outbox.delete(key);
    this.outboxKeyByRid.delete(rid);
    e.reject(err);
  }

  private onDeliver(m: BatchMessage): void {
    const dup = this.seen.checkAndAdd(`${m.sid}|${m.from}|${m.msgId}`);
    const autoAck = this.opts.autoAck ?? true;
    if (dup) {
      if (autoAck) this.queueAck(m.seq);
      return;
    }
    let envelope: Uint8Array;
    try {
      envelope = b64uDecode(m.ct);
    } catch {
      this.emit('error', new BridgeClientError('BAD_FRAME', 'ciphertext is not base64url'));
      if (autoAck) this.queueAck(m.seq);
      return;
    }
    this.emit('message', {
      sid: m.sid,
      from: m.from,
      to: m.to,
      tag: m.tag,
      msgId: m.msgId,
      seq: m.seq,
      ts: m.ts,
      envelope,
    });
    if (autoAck) this.queueAck(m.seq);
  }

  /** Acknowledge a delivered message (only needed with `autoAck: false`). */
  ack(seq: number): void {
    this.queueAck(seq);
  }

  private queueAck(seq: number): void {
    this.ackQueue.push(seq);
    if (this.ackQueue.length >= 500) {
      this.flushAcks();
      return;
    }
    this.ackTimer ??= setTimeout(() => this.flushAcks(), this.opts.ackDelayMs ?? 5);
  }

  private flushAcks(): void {
    if (this.ackTimer) clearTimeout(this.ackTimer);
    this.ackTimer = undefined;
    if (this.ackQueue.length === 0 || this._state !== 'ready') return;
    const seqs = this.ackQueue.splice(0, 1000);
    this.rawSend({ t: 'ack', seqs });
    if (this.ackQueue.length > 0) this.flushAcks();
  }

  /** Page through everything still pending in our mailbox (optionally for one session). */
  async catchUp(sid?: string): Promise<number> {
    let afterSeq = 0;
    let n = 0;
    for (let page = 0; page < 10_000; page++) {
      const f = (await this.request({
        t: 'fetch',
        rid: this.rid('f'),
        afterSeq,
        ...(sid === undefined ? {} : { sid }),
      })) as Extract<ServerFrame, { t: 'batch' }>;
      for (const m of f.messages) {
        this.onDeliver(m);
        afterSeq = Math.max(afterSeq, m.seq);
      }
      n += f.messages.length;
      if (!f.hasMore) break;
    }
    return n;
  }

  private readonly outboxKeyByRid = new Map<string, string>();

  /**
   * Send a sealed envelope. Resolves with the recipient-side seq once the relay has persisted it;
   * survives reconnects (re-sent automatically). Rejects on a definitive refusal (not a member,
   * conflict, quota...).
   */
  send(p: SendParams): Promise<{ seq: number; duplicate: boolean }> {
    const key = `${p.sid}|${p.msgId}`;
    if (this.outbox.has(key))
      return Promise.reject(new BridgeClientError('INVALID_FRAME', 'msgId already queued'));
    const rid = this.rid('s');
    const frame: Extract<ClientFrame, { t: 'send' }> = {
      t: 'send',
      rid,
      v: PROTOCOL_VERSION,
      sid: p.sid,
      from: this.deviceId,
      to: p.to,
      tag: p.tag,
      msgId: p.msgId,
      ...(p.ttlMs === undefined ? {} : { ttlMs: p.ttlMs }),
      ct: b64uEncode(p.envelope),
    };
    return new Promise((resolve, reject) => {
      this.outbox.set(key, { frame, resolve, reject });
      this.outboxKeyByRid.set(rid, key);
      if (this._state === 'ready') this.rawSend(frame);
    });
  }

  /** Number of sends not yet accepted by the relay. */
  get unacknowledgedSends(): number {
    return this.outbox.size;
  }

  async createSession(kind: SessionKind, members: string[], ttlMs?: number): Promise<SessionInfo> {
    const f = await this.request({
      t: 'create_session',
      rid: this.rid('c'),
      kind,
      members,
      ...(ttlMs === undefined ? {} : { ttlMs }),
    });
    return (f as Extract<ServerFrame, { t: 'session' }>).session;
  }

  async join(sid: string): Promise<SessionInfo> {
    const f = await this.request({ t: 'join', rid: this.rid('j'), sid });
    return (f as Extract<ServerFrame, { t: 'session' }>).session;
  }

  /**
   * Leave (or refuse) a session this device was added to: it is no longer a member, and what the
   * session put in its mailbox is dropped by the relay. `join` is the opposite: consent, after
   * which the session's messages are no longer limited to the mailbox's share for unjoined ones.
   */
  async leave(sid: string): Promise<void> {
    await this.request({ t: 'leave', rid: this.rid('v'), sid });
    this.sessions.delete(sid);
    this.updatePing();
  }

  async listSessions(): Promise<SessionInfo[]> {
    const f = await this.request({ t: 'list_sessions', rid: this.rid('l') });
    return (f as Extract<ServerFrame, { t: 'sessions' }>).sessions;
  }

  async closeSession(sid: string): Promise<void> {
    await this.request({ t: 'close_session', rid: this.rid('x'), sid });
    this.sessions.delete(sid);
    this.updatePing();
  }

  async ping(): Promise<number> {
    const f = await this.request({ t: 'ping', rid: this.rid('p') });
    return (f as Extract<ServerFrame, { t: 'pong' }>).ts;
  }

  private rid(prefix: string): string {
    this.ridCounter = (this.ridCounter + 1) % Number.MAX_SAFE_INTEGER;
    return `${prefix}${this.ridCounter.toString(36)}`;
  }

  private request(frame: ClientFrame & { rid: string }): Promise<ServerFrame> {
    if (this._state !== 'ready')
      return Promise.reject(new BridgeClientError('DISCONNECTED', 'not connected'));
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(frame.rid);
        reject(new BridgeClientError('TIMEOUT', `${frame.t} timed out`));
      }, this.opts.requestTimeoutMs ?? 15_000);
      this.pending.set(frame.rid, { resolve, reject, timer });
      this.rawSend(frame);
    });
  }

  private resolvePending(rid: string, f: ServerFrame): boolean {
    const p = this.pending.get(rid);
    if (p === undefined) return false;
    this.pending.delete(rid);
    if (p.timer) clearTimeout(p.timer);
    p.resolve(f);
    return true;
  }

  private rejectPending(rid: string, e: BridgeClientError): boolean {
    const p = this.pending.get(rid);
    if (p === undefined) return false;
    this.pending.delete(rid);
    if (p.timer) clearTimeout(p.timer);
    p.reject(e);
    return true;
  }

  private rawSend(frame: ClientFrame): void {
    const ws = this.ws;
    if (ws === undefined || ws.readyState !== 1) return;
    ws.send(JSON.stringify(frame));
  }

  private updatePing(): void {
    const now = this.now();
    for (const [sid, s] of this.sessions) if (s.expiresAt <= now) this.sessions.delete(sid);
    const want = this._state === 'ready' && this.sessions.size > 0;
    if (want && this.pingTimer === undefined) {
      this.pingTimer = setInterval(() => {
        this.ping().catch(() => {
          // A failed ping surfaces as a disconnect; nothing else to do.
        });
        this.updatePing();
      }, this.opts.pingIntervalMs ?? 20_000);
    } else if (!want) {
      this.stopPing();
    }
  }

  private stopPing(): void {
    if (this.pingTimer !== undefined) clearInterval(this.pingTimer);
    this.pingTimer = undefined;
  }

  /** Close for good (no reconnect). Pending sends are rejected. */
  close(): void {
    this.stopped = true;
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    this.reconnectTimer = undefined;
    this.flushAcks();
    this.stopPing();
    if (this.ackTimer) clearTimeout(this.ackTimer);
    const ws = this.ws;
    this.ws = undefined;
    if (ws !== undefined) ws.close(1000, 'bye');
    for (const e of this.outbox.values()) e.reject(new BridgeClientError('CLOSED', 'client closed'));
    this.outbox.clear();
    this.outboxKeyByRid.clear();
    for (const [, p] of this.pending) {
      if (p.timer) clearTimeout(p.timer);
      p.reject(new BridgeClientError('CLOSED', 'client closed'));
    }
    this.pending.clear();
    for (const w of this.readyWaiters.splice(0)) w.reject(new BridgeClientError('CLOSED', 'client closed'));
    this.setState('closed');
  }
}
