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
 * Work is batched per event-loop turn (see `endTurn`): sends and acks checked in a turn are
 * committed in one store transaction at its end and then answered in frame order, and each
 * connection's outbound frames from that turn leave in one socket write. Any frame other than
 * send/ack commits the pending ones first, so nothing observable reorders.
 *
 * Logs carry sid/device prefixes, sizes and codes; never `ct`, signatures, keys or IPs.
 */
import { createPublicKey, hash, type KeyObject, randomBytes, verify } from 'node:crypto';
import type { Logger } from 'pino';
import type WebSocket from 'ws';
import { authMessage, CHALLENGE_BYTES } from '../protocol/auth.ts';
import { b64uDecode, b64uEncode } from '../protocol/base64url.ts';
import { ERROR_CODES, type ErrorCode, type QuotaLimit } from '../protocol/codes.ts';
import {
  type ClientFrame,
  PROTOCOL_VERSION,
  parseClientFrame,
  type SendFrame,
  type SessionInfo,
} from '../protocol/frames.ts';
import type { ClusterLink } from './cluster-link.ts';
import type { BridgeLimits } from './config.ts';
import type { BridgeMetrics } from './metrics.ts';
import { KeyedBuckets } from './rate-limit.ts';
import {
  type AckBatch,
  type Awaitable,
  after,
  type MailboxStore,
  type PutInput,
  type PutLimits,
  type PutResult,
  type SessionRecord,
  type SessionView,
  type StoredMessage,
  StoreUnavailableError,
} from './store/types.ts';

const ED25519_SPKI_PREFIX = Uint8Array.from([
  0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00,
]);

/**
 * `JSON.stringify` of a `deliver` frame, built by concatenation: the generic stringify (object
 * walk plus an escape scan over the whole ciphertext) was ~5% of the relay's CPU under load.
 * Exact because every string field was validated on the way in (`send` schema) to a charset with
 * no character JSON escapes (base64url, and the tag/msgId alphabets), and seq/ts are safe
 * integers; a test compares it with `JSON.stringify` and the client parses it with the schema.
 */
export function deliverJson(m: StoredMessage): string {
  return `{"t":"deliver","sid":"${m.sid}","from":"${m.sender}","to":"${m.recipient}","tag":"${m.tag}","msgId":"${m.msgId}","seq":${m.seq},"ts":${m.ts},"ct":"${m.ct}"}`;
}

/** Short, non-identifying prefixes for logs. */
const p8 = (s: string | undefined) => (s === undefined ? undefined : s.slice(0, 8));
const p6 = (s: string | undefined) => (s === undefined ? undefined : s.slice(0, 6));

export interface RelayDeps {
  store: MailboxStore;
  limits: BridgeLimits;
  /** The origin clients bind into their auth signature, e.g. `ws://127.0.0.1:8787`. */
  origin: string;
  log: Logger;
  metrics: BridgeMetrics;
  now?: () => number;
  randomBytes?: (n: number) => Uint8Array;
  /** Several relay nodes on one shared store (cluster.ts); absent for a single node. */
  cluster?: ClusterLink;
}

/** Frames a connection may have waiting behind an unfinished asynchronous one. */
const MAX_QUEUED_FRAMES = 4096;

type State = 'await_auth' | 'ready' | 'closed';

interface PendingPut {
  c: Connection;
  f: SendFrame;
  input: PutInput;
}

/** The upgraded TCP socket under a `ws` connection (the `socket` of the HTTP `upgrade` event). */
export interface Corkable {
  cork(): void;
  uncork(): void;
}

class Connection {
  state: State = 'await_auth';
  deviceId: string | undefined;
  challenge: { bytes: Uint8Array; expiresAt: number } | undefined;
  invalidFrames = 0;
  strikes = 0;
  alive = true;
  /** seq → time of (re)delivery, for redelivery and ack latency. */
  readonly inflight = new Map<number, number>();
  authTimer: ReturnType<typeof setTimeout> | undefined;
  /** True while `sock` is corked by us, until the end-of-turn flush. */
  corked = false;
  /**
   * Frames received while one of this connection's frames waits on the store (only with an
   * asynchronous store): handled in order once it is done, so replies keep frame order.
   */
  queue: ClientFrame[] | undefined;
  /** Displaced by a connection of the same device on another node: it must not announce offline. */
  displacedRemotely = false;
  /** Cluster generation of this connection (see cluster.ts); 0 on a single node. */
  generation = 0;
  constructor(
    readonly id: number,
    readonly ws: WebSocket,
    readonly ip: string,
    readonly sock: Corkable | undefined,
  ) {}
}

export class Relay {
  private readonly store: MailboxStore;
  private readonly limits: BridgeLimits;
  private readonly log: Logger;
  private readonly metrics: BridgeMetrics;
  private readonly origin: string;
  private readonly now: () => number;
  private readonly rand: (n: number) => Uint8Array;
  private readonly conns = new Set<Connection>();
  private readonly devices = new Map<string, Connection>();
  private readonly ipBuckets: KeyedBuckets;
  private readonly deviceBuckets: KeyedBuckets;
  private readonly keyCache = new Map<string, KeyObject>();
  private nextId = 1;
  private timers: ReturnType<typeof setInterval>[] = [];
  private draining = false;
  /** Connections corked during this event-loop turn; uncorked together by `flushWrites`. */
  private readonly corked: Connection[] = [];
  private turnEndScheduled = false;
  /** Sends checked this turn, stored together at its end (group commit). */
  private pendingPuts: PendingPut[] = [];
  private pendingAcks: AckBatch[] = [];
  private readonly putLimits: PutLimits;
  /** Cached because `log.debug(...)` still builds its argument object at level `warn`. */
  private readonly debugLog: boolean;
  private readonly cluster: ClusterLink | undefined;
  /**
   * With an asynchronous store: settles once every commit issued so far has been answered. Frames
   * other than send/ack wait for it, as they wait for the synchronous commit otherwise.
   */
  private lastCommit: Promise<void> | undefined;

  constructor(deps: RelayDeps) {
    this.store = deps.store;
    this.cluster = deps.cluster;
    this.limits = deps.limits;
    this.log = deps.log;
    this.metrics = deps.metrics;
    this.origin = deps.origin;
    this.now = deps.now ?? Date.now;
    this.rand = deps.randomBytes ?? ((n) => new Uint8Array(randomBytes(n)));
    this.ipBuckets = new KeyedBuckets(this.limits.ipRate);
    this.deviceBuckets = new KeyedBuckets(this.limits.deviceRate);
    this.debugLog = this.log.isLevelEnabled('debug');
    this.putLimits = {
      maxSessionMessages: this.limits.maxMessagesPerSession,
      maxMailboxMessages: this.limits.maxMailboxMessages,
      maxMailboxBytes: this.limits.maxMailboxBytes,
    };
    this.metrics.source.inflight = () => {
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
          this.log.error({ err: (err as Error).message }, 'timer task failed');
        }
      }, ms);
      t.unref();
      this.timers.push(t);
    };
    every(this.limits.heartbeatMs, () => this.heartbeat());
    every(Math.max(50, Math.floor(this.limits.redeliverAfterMs / 2)), () => this.redeliver());
    every(this.limits.sweepIntervalMs, () => this.sweep());
  }

  get connectionCount(): number {
    return this.conns.size;
  }

  /** Pre-upgrade admission: per-IP rate and the global connection cap. */
  admit(ip: string): { ok: true } | { ok: false; status: number; code: ErrorCode; retryAfterMs?: number } {
    if (this.draining) return { ok: false, status: 503, code: 'SHUTTING_DOWN' };
    // Without its store a node can do nothing useful: refuse, so clients back off and retry (and
    // catch up once it is back) instead of holding a socket that answers every send with an error.
    if (!this.ready) return { ok: false, status: 503, code: 'STORE_UNAVAILABLE' };
    if (this.conns.size >= this.limits.maxConnections)
      return { ok: false, status: 503, code: 'MAILBOX_FULL' };
    const wait = this.ipBuckets.take(ip, this.now());
    if (wait > 0) {
      this.metrics.rateLimited.inc({ scope: 'ip' });
      return { ok: false, status: 429, code: 'RATE_LIMITED', retryAfterMs: wait };
    }
    return { ok: true };
  }

  // ---------------------------------------------------------------- connection lifecycle

  /**
   * Take over an upgraded socket. `sock` is the TCP socket under `ws`; when given, outbound frames
   * are coalesced per event-loop turn (see `sendRaw`).
   */
  attach(ws: WebSocket, ip: string, sock?: Corkable): void {
    const c = new Connection(this.nextId++, ws, ip, sock);
    this.conns.add(c);
    this.metrics.connections.inc();
    ws.on('message', (data, isBinary) => this.onMessage(c, data, isBinary));
    ws.on('pong', () => {
      c.alive = true;
    });
    ws.on('close', () => this.onClose(c));
    ws.on('error', (err) => this.log.debug({ conn: c.id, err: err.message }, 'socket error'));
    c.authTimer = setTimeout(() => {
      if (c.state === 'await_auth') this.fail(c, 'AUTH_TIMEOUT', 'not authenticated in time');
    }, this.limits.authTimeoutMs);
    c.authTimer.unref();
    this.sendChallenge(c, undefined);
  }

  private sendChallenge(c: Connection, rid: string | undefined): void {
    const bytes = this.rand(CHALLENGE_BYTES);
    c.challenge = { bytes, expiresAt: this.now() + this.limits.challengeTtlMs };
    this.send(c, {
      t: 'challenge',
      ...(rid === undefined ? {} : { rid }),
      nonce: b64uEncode(bytes),
      origin: this.origin,
      expiresInMs: this.limits.challengeTtlMs,
    });
  }

  private onClose(c: Connection): void {
    if (c.state === 'closed') return;
    c.state = 'closed';
    if (c.authTimer) clearTimeout(c.authTimer);
    this.conns.delete(c);
    this.metrics.connections.dec();
    const dev = c.deviceId;
    if (dev !== undefined && this.devices.get(dev) === c) {
      this.devices.delete(dev);
      this.metrics.authenticated.dec();
      if (this.cluster !== undefined) this.cluster.leave(dev, this.deviceBuckets.export(dev));
      if (!c.displacedRemotely) this.broadcastPresence(dev, false);
    }
    this.log.debug({ conn: c.id, device: p8(dev) }, 'closed');
  }

  /** Serialize and send; closes slow consumers instead of buffering without bound (THREATS B39). */
  private send(c: Connection, frame: object): void {
    this.sendRaw(c, JSON.stringify(frame));
  }

  private sendRaw(c: Connection, text: string): void {
    if (c.ws.readyState !== 1) return;
    if (c.ws.bufferedAmount > this.limits.maxBufferedBytes) {
      this.log.warn(
        { conn: c.id, device: p8(c.deviceId), buffered: c.ws.bufferedAmount },
        'slow consumer closed',
      );
      this.close(c, 'SLOW_CONSUMER', 'send buffer limit exceeded');
      c.ws.terminate();
      return;
    }
    // Coalesce writes: every `ws.send` is otherwise its own writev syscall, which was a third of
    // the relay's CPU under load (profile: `writev` 34% self). The socket is corked on the first
    // frame of this event-loop turn and uncorked in `setImmediate`, i.e. after the poll phase has
    // handled every socket that was readable, so all frames for one connection produced in that
    // turn (accepted + deliveries, a fetch page, presence fan-out) leave in one writev. Frames are
    // never reordered and wait at most one turn; the busier the relay, the larger the batches.
    if (c.sock !== undefined && !c.corked) {
      c.sock.cork();
      c.corked = true;
      this.corked.push(c);
      this.scheduleTurnEnd();
    }
    c.ws.send(text);
  }

  private error(
    c: Connection,
    code: ErrorCode,
    message: string,
    rid?: string,
    extra: { retryAfterMs?: number; limit?: QuotaLimit } = {},
  ): void {
    this.metrics.errors.inc({ code });
    this.send(c, { t: 'error', ...(rid === undefined ? {} : { rid }), code, message, ...extra });
  }

  private close(c: Connection, code: ErrorCode, message: string): void {
    if (c.ws.readyState === 1) c.ws.close(ERROR_CODES[code].close, code);
    this.log.info({ conn: c.id, device: p8(c.deviceId), code, message }, 'closing connection');
  }

  /** Report an error and close with its close code. */
  private fail(c: Connection, code: ErrorCode, message: string, rid?: string): void {
    this.error(c, code, message, rid);
    this.close(c, code, message);
  }

  // ---------------------------------------------------------------- inbound frames

  private onMessage(c: Connection, data: WebSocket.RawData, isBinary: boolean): void {
    if (c.state === 'closed') return;
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
    this.countFrame(f.t);
    if (c.queue !== undefined) {
      if (c.queue.length >= MAX_QUEUED_FRAMES) {
        this.fail(c, 'RATE_LIMITED', 'too many frames waiting');
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
      r = c.state === 'await_auth' ? this.onPreAuth(c, f) : this.onReady(c, f);
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
    while (q !== undefined && q.length > 0 && c.state !== 'closed') {
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
      this.storeUnavailable(c, rid, err);
      // An auth that could not finish leaves nothing to serve: close, the client retries later.
      if (f.t === 'auth') this.close(c, 'STORE_UNAVAILABLE', 'store unavailable');
      return;
    }
    this.log.error({ conn: c.id, type: f.t, err: (err as Error).message }, 'frame handler failed');
    this.error(c, 'INTERNAL', 'internal error', rid);
  }

  /** The store is unreachable: a specific, retryable refusal (nothing was stored or changed). */
  private storeUnavailable(c: Connection, rid: string | undefined, err: unknown): void {
    this.log.warn({ conn: c.id, err: (err as Error).message }, 'store unavailable');
    this.error(c, 'STORE_UNAVAILABLE', 'store unavailable, retry later', rid, { retryAfterMs: 1000 });
  }

  /** Log a failed background task (timers, presence) instead of an unhandled rejection. */
  private guard(r: Awaitable<unknown>, what: string): void {
    if (r instanceof Promise) {
      r.catch((err: unknown) => this.log.warn({ err: (err as Error).message }, `${what} failed`));
    }
  }

  /** False while the store (or the cluster link) cannot be reached, or while draining. */
  get ready(): boolean {
    return !this.draining && this.store.ready?.() !== false && this.cluster?.ready() !== false;
  }

  /** Counted as a plain number; folded into the prom-client counter at scrape time. */
  private countFrame(type: string): void {
    const frames = this.metrics.hot.frames;
    frames.set(type, (frames.get(type) ?? 0) + 1);
  }

  private invalid(c: Connection, reason: string, rid?: string): void {
    this.countFrame('invalid');
    this.log.info({ conn: c.id, device: p8(c.deviceId), reason }, 'invalid frame');
    if (c.state !== 'ready' || ++c.invalidFrames > this.limits.maxInvalidFrames) {
      this.fail(c, 'INVALID_FRAME', reason, rid);
      return;
    }
    this.error(c, 'INVALID_FRAME', reason, rid);
  }

  private onPreAuth(c: Connection, f: ClientFrame): Awaitable<void> {
    if (f.t === 'hello') {
      const wait = this.ipBuckets.take(c.ip, this.now());
      if (wait > 0) {
        this.metrics.rateLimited.inc({ scope: 'ip' });
        this.fail(c, 'RATE_LIMITED', 'too many challenges', f.rid);
        return;
      }
      this.sendChallenge(c, f.rid);
      return;
    }
    if (f.t !== 'auth') {
      this.fail(c, 'UNAUTHORIZED', 'authenticate first', 'rid' in f ? f.rid : undefined);
      return;
    }
    const ch = c.challenge;
    c.challenge = undefined; // single use, whatever the outcome
    if (ch === undefined) {
      this.fail(c, 'UNAUTHORIZED', 'no challenge outstanding', f.rid);
      return;
    }
    if (this.now() > ch.expiresAt) {
      this.fail(c, 'UNAUTHORIZED', 'challenge expired', f.rid);
      return;
    }
    let ok = false;
    try {
      const pub = b64uDecode(f.deviceId);
      const sig = b64uDecode(f.sig);
      ok = verify(null, authMessage(this.origin, ch.bytes, pub), this.publicKey(f.deviceId, pub), sig);
    } catch {
      ok = false;
    }
    if (!ok) {
      this.fail(c, 'UNAUTHORIZED', 'bad auth signature', f.rid);
      return;
    }
    if (c.authTimer) clearTimeout(c.authTimer);
    c.state = 'ready';
    c.deviceId = f.deviceId;
    const old = this.devices.get(f.deviceId);
    this.devices.set(f.deviceId, c);
    if (old !== undefined) {
      // Newer connection wins (Signal ClientPresenceManager); the old one must not announce offline.
      this.fail(old, 'DISPLACED', 'a newer connection of this device took over');
    } else {
      this.metrics.authenticated.inc();
    }
    const dev = f.deviceId;
    // Cluster: subscribe to the device's wake-ups, mark it present, displace a connection of it on
    // another node, and take over its rate-limit bucket; all before `welcome`, so the client's
    // catch-up `fetch` comes after the node listens for new messages (nothing falls in between).
    const joined =
      this.cluster === undefined
        ? undefined
        : after(this.cluster.join(dev), (j) => {
            c.generation = j.generation;
            if (j.bucket !== undefined) this.deviceBuckets.import(dev, j.bucket);
          });
    return after(joined, () =>
      after(this.store.listSessions(dev, this.now()), (sessions) =>
        after(this.infos(sessions), (infos) => {
          this.send(c, { t: 'welcome', rid: f.rid, deviceId: dev, sessions: infos });
          this.broadcastPresence(dev, true, sessions);
          this.log.info({ conn: c.id, device: p8(dev), sessions: sessions.length }, 'authenticated');
        }),
      ),
    );
  }

  private publicKey(id: string, raw: Uint8Array): KeyObject {
    let k = this.keyCache.get(id);
    if (k === undefined) {
      const der = new Uint8Array(ED25519_SPKI_PREFIX.length + 32);
      der.set(ED25519_SPKI_PREFIX);
      der.set(raw, ED25519_SPKI_PREFIX.length);
      k = createPublicKey({ key: Buffer.from(der), format: 'der', type: 'spki' });
      if (this.keyCache.size > 100_000) this.keyCache.clear();
      this.keyCache.set(id, k);
    }
    return k;
  }

  private onReady(c: Connection, f: ClientFrame): Awaitable<void> {
    const dev = c.deviceId!;
    const wait = this.deviceBuckets.take(dev, this.now());
    if (wait > 0) {
      this.metrics.rateLimited.inc({ scope: 'device' });
      c.strikes++;
      if (c.strikes > this.limits.rateLimitStrikes) {
        this.fail(c, 'RATE_LIMITED', 'rate limit exceeded repeatedly');
      } else if (c.strikes === 1) {
        this.error(c, 'RATE_LIMITED', 'slow down', 'rid' in f ? f.rid : undefined, { retryAfterMs: wait });
      }
      return;
    }
    c.strikes = 0;
    // Sends and acks of this turn are committed at its end; any other frame could observe them
    // (fetch, close_session, a reply that must follow `accepted`), so they are committed first
    // and every connection sees its frames answered in order.
    if (f.t === 'send') return this.onSend(c, dev, f);
    if (f.t === 'ack') {
      this.onAck(c, dev, f.seqs);
      return;
    }
    return after(this.commitPending(), () => this.onOther(c, dev, f));
  }

  private onOther(c: Connection, dev: string, f: ClientFrame): Awaitable<void> {
    switch (f.t) {
      case 'fetch':
        return this.onFetch(c, dev, f.rid, f.afterSeq, f.limit, f.sid);
      case 'ping':
        this.send(c, { t: 'pong', rid: f.rid, ts: this.now() });
        return;
      case 'create_session':
        return this.onCreate(c, dev, f);
      case 'join':
        return this.onJoin(c, dev, f.rid, f.sid);
      case 'list_sessions':
        return after(this.store.listSessions(dev, this.now()), (list) =>
          after(this.infos(list), (sessions) => this.send(c, { t: 'sessions', rid: f.rid, sessions })),
        );
      case 'close_session':
        return this.onCloseSession(c, dev, f.rid, f.sid);
      case 'hello':
      case 'auth':
        this.error(c, 'INVALID_FRAME', 'already authenticated', f.rid);
        return;
      case 'send':
      case 'ack':
        return; // handled by onReady
    }
  }

  /** Session lookup with membership and expiry checks; reports the error and returns undefined. */
  private memberSession(
    c: Connection,
    dev: string,
    sid: string,
    rid: string | undefined,
  ): Awaitable<SessionView | undefined> {
    return after(this.store.getSession(sid), (s) => this.checkMember(c, dev, s, rid));
  }

  private checkMember(
    c: Connection,
    dev: string,
    s: SessionView | undefined,
    rid: string | undefined,
  ): SessionView | undefined {
    if (s === undefined) {
      this.error(c, 'SESSION_NOT_FOUND', 'no such session', rid);
      return undefined;
    }
    // Non-members learn nothing beyond "not a member" (THREATS B32).
    if (!s.members.includes(dev)) {
      this.error(c, 'NOT_A_MEMBER', 'not a member of this session', rid);
      return undefined;
    }
    if (s.expiresAt <= this.now()) {
      this.error(c, 'EXPIRED', 'session expired', rid);
      return undefined;
    }
    return s;
  }

  /** Session infos with their online members (cluster-wide when clustered: one lookup for all). */
  private infos(list: readonly SessionView[]): Awaitable<SessionInfo[]> {
    const info = (s: SessionView, on: (m: string) => boolean): SessionInfo => ({
      sid: s.sid,
      kind: s.kind,
      creator: s.creator,
      members: [...s.members],
      expiresAt: s.expiresAt,
      online: s.members.filter(on),
    });
    if (this.cluster === undefined || list.length === 0) {
      return list.map((s) => info(s, (m) => this.devices.has(m)));
    }
    const all = [...new Set(list.flatMap((s) => s.members))].filter((m) => !this.devices.has(m));
    return after(this.cluster.online(all), (remote) =>
      list.map((s) => info(s, (m) => this.devices.has(m) || remote.has(m))),
    );
  }

  /** Send to a device wherever it is connected: here, or through the cluster. */
  private sendTo(device: string, frame: object): void {
    const dc = this.devices.get(device);
    if (dc !== undefined) this.send(dc, frame);
    else this.cluster?.push(device, JSON.stringify(frame));
  }

  private onCreate(
    c: Connection,
    dev: string,
    f: Extract<ClientFrame, { t: 'create_session' }>,
  ): Awaitable<void> {
    const members = f.members.includes(dev) ? f.members : [dev, ...f.members];
    if (new Set(members).size !== members.length) {
      this.error(c, 'INVALID_FRAME', 'duplicate members', f.rid);
      return;
    }
    if (members.length > this.limits.maxMembersPerSession) {
      this.error(c, 'MAILBOX_FULL', 'too many members', f.rid, { limit: 'members_per_session' });
      return;
    }
    const now = this.now();
    return after(this.store.countSessionsCreatedBy(dev, now), (open) => {
      if (open >= this.limits.maxSessionsPerDevice) {
        this.error(c, 'MAILBOX_FULL', 'too many open sessions', f.rid, { limit: 'sessions_per_device' });
        return;
      }
      return this.createSession(c, dev, f, members, now);
    });
  }

  private createSession(
    c: Connection,
    dev: string,
    f: Extract<ClientFrame, { t: 'create_session' }>,
    members: string[],
    now: number,
  ): Awaitable<void> {
    const ttl = Math.min(f.ttlMs ?? this.limits.defaultSessionTtlMs, this.limits.maxSessionTtlMs);
    const rec: SessionRecord = {
      sid: b64uEncode(this.rand(16)), // 128-bit, server-random (THREATS B32)
      kind: f.kind,
      creator: dev,
      members,
      createdAt: now,
      expiresAt: now + ttl,
      messageCount: 0,
    };
    return after(this.store.createSession(rec), () =>
      after(this.infos([rec]), ([info]) => {
        this.send(c, { t: 'session', rid: f.rid, session: info! });
        // Tell the other online members (on any node) they have a new pending session.
        for (const m of members) if (m !== dev) this.sendTo(m, { t: 'session', session: info });
        this.log.info(
          { sid: p6(rec.sid), device: p8(dev), kind: f.kind, members: members.length, ttl },
          'session created',
        );
      }),
    );
  }

  private onJoin(c: Connection, dev: string, rid: string, sid: string): Awaitable<void> {
    return after(this.memberSession(c, dev, sid, rid), (s) => {
      if (s === undefined) return;
      return after(this.infos([s]), ([session]) => this.send(c, { t: 'session', rid, session: session! }));
    });
  }

  private onCloseSession(c: Connection, dev: string, rid: string, sid: string): Awaitable<void> {
    return after(this.memberSession(c, dev, sid, rid), (s) => {
      if (s === undefined) return;
      return after(this.store.purgeSession(sid), () => {
        this.cluster?.purged(sid);
        for (const m of s.members)
          this.sendTo(m, m === dev ? { t: 'closed', rid, sid } : { t: 'closed', sid });
        this.log.info({ sid: p6(sid), device: p8(dev) }, 'session closed');
      });
    });
  }

  private onSend(c: Connection, dev: string, f: SendFrame): Awaitable<void> {
    // Spoofing (THREATS B33): `from` must be the authenticated device. Refused, never re-stamped,
    // so a buggy or malicious client learns immediately.
    if (f.from !== dev) {
      this.log.warn({ conn: c.id, device: p8(dev), claimed: p8(f.from) }, 'sender spoofing refused');
      this.error(c, 'NOT_A_MEMBER', 'from does not match the authenticated device', f.rid);
      return;
    }
    if (f.v !== PROTOCOL_VERSION) {
      this.error(c, 'UNSUPPORTED_VERSION', `envelope v${f.v}`, f.rid);
      return;
    }
    if (f.ct.length > this.limits.maxCiphertextChars) {
      this.error(c, 'PAYLOAD_TOO_LARGE', 'ciphertext too large', f.rid);
      return;
    }
    return after(this.memberSession(c, dev, f.sid, f.rid), (s) => {
      if (s !== undefined) this.queueSend(c, dev, f, s);
    });
  }

  private queueSend(c: Connection, dev: string, f: SendFrame, s: SessionView): void {
    const toIdx = f.to === dev ? -1 : s.members.indexOf(f.to);
    if (toIdx < 0) {
      this.error(c, 'NOT_A_MEMBER', 'recipient is not another member of this session', f.rid);
      return;
    }
    // Stored rows (and tombstones, kept until expiry) reference the session's own sid and member
    // strings rather than this frame's fresh copies: less retained memory per message.
    const sid = s.sid;
    const to = s.members[toIdx]!;
    const now = this.now();
    const ttl = Math.min(f.ttlMs ?? this.limits.maxMessageTtlMs, this.limits.maxMessageTtlMs);
    const expiresAt = Math.min(now + ttl, s.expiresAt);
    // One-shot hash of the same bytes as the former incremental digest (to‖0‖tag‖0‖ct), so stored
    // digests stay comparable across restarts; avoids a Hash object per message.
    const digest = hash('sha256', `${to}\u0000${f.tag}\u0000${f.ct}`, 'base64url');
    this.pendingPuts.push({
      c,
      f,
      input: {
        sid,
        sender: dev,
        recipient: to,
        msgId: f.msgId,
        tag: f.tag,
        ct: f.ct,
        digest,
        ts: now,
        expiresAt,
        // Not connected here: the store wakes the node that holds it (if any), in the same step.
        ...(this.cluster !== undefined && !this.devices.has(to) ? { wake: true } : {}),
      },
    });
    this.scheduleTurnEnd();
  }

  /**
   * Store every `send` checked in this turn in one transaction, then answer each in order
   * (accepted/duplicate/error, then deliver). Still store first, then accept: nothing is
   * acknowledged to a sender before the transaction holding its message has committed.
   */
  private commitPuts(prev?: Promise<void>): Awaitable<void> {
    const batch = this.pendingPuts;
    if (batch.length === 0) return;
    this.pendingPuts = [];
    let results: Awaitable<PutResult[]>;
    try {
      results = this.store.putMany(
        batch.map((p) => p.input),
        this.putLimits,
      );
    } catch (err) {
      this.putsFailed(batch, err);
      return;
    }
    if (results instanceof Promise) {
      // Answer after the earlier commits' answers, so replies leave in the order of the frames.
      const inOrder = (f: () => void) => (prev === undefined ? f() : prev.then(f));
      return results.then(
        (r) => inOrder(() => this.answerPuts(batch, r)),
        (err: unknown) => inOrder(() => this.putsFailed(batch, err)),
      );
    }
    this.answerPuts(batch, results);
  }

  private putsFailed(batch: readonly PendingPut[], err: unknown): void {
    if (err instanceof StoreUnavailableError) {
      for (const p of batch) this.storeUnavailable(p.c, p.f.rid, err);
      return;
    }
    this.log.error({ err: (err as Error).message, frames: batch.length }, 'store failed');
    for (const p of batch) this.error(p.c, 'INTERNAL', 'internal error', p.f.rid);
  }

  private answerPuts(batch: readonly PendingPut[], results: readonly PutResult[]): void {
    for (let i = 0; i < batch.length; i++) {
      const p = batch[i]!;
      // This runs from `setImmediate`, outside onMessage's handler guard: a bug answering one
      // send must not take the process down or skip the others.
      try {
        this.afterPut(p, results[i]!);
      } catch (err) {
        this.log.error({ conn: p.c.id, type: 'send', err: (err as Error).message }, 'frame handler failed');
        this.error(p.c, 'INTERNAL', 'internal error', p.f.rid);
      }
    }
  }

  private afterPut(p: PendingPut, r: PutResult): void {
    const { c, f, input } = p;
    const dev = input.sender;
    const { sid, recipient: to, ts: now, expiresAt } = input;
    switch (r.kind) {
      case 'session_missing':
        this.error(c, 'SESSION_NOT_FOUND', 'no such session', f.rid);
        return;
      case 'conflict':
        // Misbehaviour worth a log line: same id, different body (BRIDGE.md §10).
        this.log.warn({ sid: p6(f.sid), device: p8(dev), msgId: f.msgId.slice(0, 32) }, 'msgId conflict');
        this.error(c, 'DUPLICATE_CONFLICT', 'msgId already used with a different body', f.rid);
        return;
      case 'full':
        this.error(c, 'MAILBOX_FULL', `quota reached: ${r.limit}`, f.rid, { limit: r.limit });
        return;
      case 'duplicate':
        this.metrics.hot.duplicates++;
        this.send(c, {
          t: 'accepted',
          rid: f.rid,
          msgId: f.msgId,
          seq: r.seq,
          ts: r.ts,
          duplicate: true,
        });
        return;
      case 'stored': {
        this.metrics.hot.stored++;
        // Persisted: only now may the sender forget the message.
        this.send(c, { t: 'accepted', rid: f.rid, msgId: f.msgId, seq: r.seq, ts: r.ts });
        if (this.debugLog)
          this.log.debug(
            { sid: p6(f.sid), from: p8(dev), to: p8(f.to), seq: r.seq, size: f.ct.length },
            'stored',
          );
        const rc = this.devices.get(to);
        if (rc !== undefined) {
          this.deliver(
            rc,
            {
              sid,
              sender: dev,
              recipient: to,
              msgId: f.msgId,
              tag: f.tag,
              seq: r.seq,
              ts: now,
              expiresAt,
              ct: f.ct,
            },
            true,
          );
        }
        return;
      }
    }
  }

  /**
   * `fresh`: `m` was built from a `send` frame validated in this turn, so `deliverJson` applies;
   * rows read back from the store (redelivery) go through `JSON.stringify`, which does not depend
   * on what is in the database file.
   */
  private deliver(c: Connection, m: StoredMessage, fresh: boolean): void {
    c.inflight.set(m.seq, this.now());
    this.metrics.hot.delivered++;
    this.sendRaw(
      c,
      fresh
        ? deliverJson(m)
        : JSON.stringify({
            t: 'deliver',
            sid: m.sid,
            from: m.sender,
            to: m.recipient,
            tag: m.tag,
            msgId: m.msgId,
            seq: m.seq,
            ts: m.ts,
            ct: m.ct,
          }),
    );
  }

  private onAck(c: Connection, dev: string, seqs: number[]): void {
    // Committed at the end of the turn with the others (one transaction); the ack sends no
    // reply, and any frame that could observe the mailbox commits pending acks first.
    this.pendingAcks.push({ recipient: dev, seqs });
    this.scheduleTurnEnd();
    const now = this.now();
    for (const seq of seqs) {
      const at = c.inflight.get(seq);
      if (at !== undefined) {
        c.inflight.delete(seq);
        this.metrics.ackLatency.observe((now - at) / 1000);
      }
    }
  }

  private commitAcks(): Awaitable<void> {
    const batch = this.pendingAcks;
    if (batch.length === 0) return;
    this.pendingAcks = [];
    // Not acknowledged means redelivered later: at-least-once holds.
    const failed = (err: unknown) =>
      this.log.error({ err: (err as Error).message, frames: batch.length }, 'ack failed');
    try {
      const n = this.store.ackMany(batch);
      if (!(n instanceof Promise)) {
        this.metrics.hot.acked += n;
        return;
      }
      return n.then((k) => {
        this.metrics.hot.acked += k;
      }, failed);
    } catch (err) {
      failed(err);
    }
  }

  /**
   * Acks first (they can free mailbox quota for this turn's sends), then sends. With an
   * asynchronous store the result settles once this commit *and every earlier one* is answered:
   * a `fetch` or `close_session` waits for the sends before it, as it would synchronously. The
   * store's one connection runs commands in the order issued; chaining the answers keeps the
   * replies in that order too.
   */
  private commitPending(): Awaitable<void> {
    const prev = this.lastCommit;
    const acks = this.commitAcks();
    const puts = this.commitPuts(prev);
    if (!(acks instanceof Promise) && !(puts instanceof Promise)) return prev;
    const done = Promise.all([prev, acks, puts]).then(() => undefined);
    this.lastCommit = done;
    void done.then(() => {
      if (this.lastCommit === done) this.lastCommit = undefined;
    });
    return done;
  }

  private scheduleTurnEnd(): void {
    if (!this.turnEndScheduled) {
      this.turnEndScheduled = true;
      setImmediate(this.endTurn);
    }
  }

  /**
   * End of an event-loop turn (`setImmediate`: after the poll phase has read every readable
   * socket): commit the turn's acks and sends, which produces their replies, then flush every
   * corked socket.
   */
  private readonly endTurn = (): void => {
    this.turnEndScheduled = false;
    try {
      this.guard(this.commitPending(), 'commit');
    } finally {
      const list = this.corked.splice(0);
      for (const c of list) {
        c.corked = false;
        c.sock?.uncork();
      }
    }
  };

  private onFetch(
    c: Connection,
    dev: string,
    rid: string,
    afterSeq: number,
    limit?: number,
    sid?: string,
  ): Awaitable<void> {
    const checked = sid === undefined ? true : this.memberSession(c, dev, sid, rid);
    return after(checked, (ok) => {
      if (ok === undefined) return;
      const page = Math.min(limit ?? this.limits.fetchPageSize, this.limits.fetchPageSize);
      const now = this.now();
      return after(this.store.listAfter(dev, afterSeq, page + 1, now, sid), (rows) =>
        this.sendPage(c, rid, rows, page, now),
      );
    });
  }

  private sendPage(c: Connection, rid: string, rows: StoredMessage[], page: number, now: number): void {
    const hasMore = rows.length > page;
    const messages = rows.slice(0, page).map((m) => {
      c.inflight.set(m.seq, now);
      return {
        sid: m.sid,
        from: m.sender,
        to: m.recipient,
        tag: m.tag,
        msgId: m.msgId,
        seq: m.seq,
        ts: m.ts,
        ct: m.ct,
      };
    });
    this.metrics.hot.delivered += messages.length;
    this.send(c, { t: 'batch', rid, messages, hasMore });
  }

  // ---------------------------------------------------------------- presence and timers

  private broadcastPresence(dev: string, online: boolean, sessions?: SessionRecord[]): void {
    const each = (list: readonly SessionRecord[]) => {
      for (const s of list) {
        for (const m of s.members) {
          if (m !== dev) this.sendTo(m, { t: 'presence', sid: s.sid, deviceId: dev, online });
        }
      }
    };
    if (sessions !== undefined) each(sessions);
    else this.guard(after(this.store.listSessions(dev, this.now()), each), 'presence');
  }

  // ---------------------------------------------------------------- cluster events

  /**
   * A message for `device` was stored by another node (the store's wake-up carries the `deliver`
   * frame). Delivered like a local one: in flight until acked, redelivered from the store if not.
   */
  deliverFromCluster(device: string, seq: number, frame: string): void {
    const c = this.devices.get(device);
    if (c === undefined || c.state !== 'ready' || c.inflight.has(seq)) return;
    c.inflight.set(seq, this.now());
    this.metrics.hot.delivered++;
    this.sendRaw(c, frame);
  }

  /** A frame (presence, session, closed) another node addressed to a device connected here. */
  pushFromCluster(device: string, frame: string): void {
    const c = this.devices.get(device);
    if (c !== undefined && c.state === 'ready') this.sendRaw(c, frame);
  }

  /** The device authenticated on another node: the newer connection wins, silently for presence. */
  displacedFromCluster(device: string, generation: number): void {
    const c = this.devices.get(device);
    // Its own announcement, or an older one arriving late: the connection here is the newest.
    if (c === undefined || c.generation === 0 || c.generation >= generation) return;
    c.displacedRemotely = true;
    this.fail(c, 'DISPLACED', 'a newer connection of this device took over');
  }

  /**
   * Wake-ups may have been missed (the node's pub/sub link to the store was down): deliver what is
   * pending for every device connected here and not already in flight. The mailbox is the source
   * of truth; this is the catch-up a reconnecting client does, run by the node.
   */
  resync(): void {
    const now = this.now();
    for (const c of this.conns) {
      if (c.state !== 'ready') continue;
      const dev = c.deviceId!;
      const page = this.limits.fetchPageSize;
      this.guard(
        after(this.store.listAfter(dev, 0, page, now), (rows) => {
          for (const m of rows) if (!c.inflight.has(m.seq) && c.state === 'ready') this.deliver(c, m, false);
        }),
        'resync',
      );
    }
  }

  private heartbeat(): void {
    for (const c of this.conns) {
      if (!c.alive) {
        this.log.debug({ conn: c.id, device: p8(c.deviceId) }, 'missed pong, terminating');
        c.ws.terminate();
        continue;
      }
      c.alive = false;
      try {
        c.ws.ping();
      } catch {
        c.ws.terminate();
      }
    }
    const now = this.now();
    this.ipBuckets.prune(now);
    this.deviceBuckets.prune(now);
    this.cluster?.refresh([...this.devices.keys()]);
  }

  /** Re-send deliveries not acknowledged within `redeliverAfterMs` (never treated as acknowledged). */
  redeliver(): void {
    this.guard(this.commitPending(), 'commit');
    const now = this.now();
    for (const c of this.conns) {
      if (c.state !== 'ready' || c.inflight.size === 0) continue;
      const due: number[] = [];
      for (const [seq, at] of c.inflight) if (now - at >= this.limits.redeliverAfterMs) due.push(seq);
      if (due.length === 0) continue;
      this.guard(
        after(this.store.getBySeqs(c.deviceId!, due, now), (rows) => {
          const found = new Set(rows.map((r) => r.seq));
          for (const seq of due) if (!found.has(seq)) c.inflight.delete(seq); // acked elsewhere or expired
          if (c.state === 'ready') for (const r of rows) this.deliver(c, r, false);
        }),
        'redelivery',
      );
    }
  }

  sweep(): void {
    this.guard(this.commitPending(), 'commit');
    this.guard(
      after(this.store.sweep(this.now()), (r) => {
        if (r.messages > 0) this.metrics.expired.inc({ what: 'message' }, r.messages);
        if (r.sessions > 0) this.metrics.expired.inc({ what: 'session' }, r.sessions);
        if (r.messages + r.sessions > 0) this.log.info(r, 'swept expired');
      }),
      'sweep',
    );
  }

  /** Stop accepting, close every socket with 1001, wait up to the grace period, then terminate. */
  async shutdown(): Promise<void> {
    this.draining = true;
    try {
      await this.commitPending();
    } catch (err) {
      this.log.warn({ err: (err as Error).message }, 'final commit failed');
    }
    for (const t of this.timers) clearInterval(t);
    this.timers = [];
    for (const c of this.conns) {
      if (c.authTimer) clearTimeout(c.authTimer);
      if (c.ws.readyState === 1) c.ws.close(ERROR_CODES.SHUTTING_DOWN.close, 'SHUTTING_DOWN');
    }
    const deadline = Date.now() + this.limits.shutdownGraceMs;
    while (this.conns.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    for (const c of [...this.conns]) {
      c.ws.terminate();
      this.onClose(c);
    }
  }

  get isDraining(): boolean {
    return this.draining;
  }
}
