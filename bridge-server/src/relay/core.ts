/**
 * The relay's shared state and outbound path (BRIDGE.md §3–§17; THREATS B39): dependencies,
 * connected devices, rate-limit buckets, and the primitives every frame handler uses to answer —
 * send, error, close, deliver, send-to-a-device-anywhere — with per-turn write coalescing (cork on
 * the first frame of an event-loop turn, uncork at its end after the group commit).
 *
 * Logs carry sid/device prefixes, sizes and codes; never `ct`, signatures, keys or IPs.
 */
import { type KeyObject, randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import { ERROR_CODES, type ErrorCode, type QuotaLimit } from '../protocol/codes.ts';
import type { ClusterLink } from './cluster-link.ts';
import type { BridgeLimits } from './config.ts';
import type { Connection } from './connection.ts';
import { p8 } from './connection.ts';
import { GroupCommit } from './group-commit.ts';
import type { BridgeMetrics } from './metrics.ts';
import { KeyedBuckets } from './rate-limit.ts';
import type { Awaitable, MailboxStore, StoredMessage } from './store/types.ts';

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

export class RelayCore {
  readonly store: MailboxStore;
  readonly limits: BridgeLimits;
  readonly log: Logger;
  readonly metrics: BridgeMetrics;
  readonly origin: string;
  readonly now: () => number;
  readonly rand: (n: number) => Uint8Array;
  readonly conns = new Set<Connection>();
  readonly devices = new Map<string, Connection>();
  readonly ipBuckets: KeyedBuckets;
  readonly deviceBuckets: KeyedBuckets;
  /** Device keys by id; null for a key refused by the strict point check. */
  readonly keyCache = new Map<string, KeyObject | null>();
  draining = false;
  /** Cached because `log.debug(...)` still builds its argument object at level `warn`. */
  readonly debugLog: boolean;
  readonly cluster: ClusterLink | undefined;
  /** Sends and acks of this turn, committed together at its end. */
  readonly commit: GroupCommit;
  /** Connections corked during this event-loop turn; uncorked together by `endTurn`. */
  private readonly corked: Connection[] = [];
  private turnEndScheduled = false;

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
    this.commit = new GroupCommit(this);
  }

  /** False while the store (or the cluster link) cannot be reached, or while draining. */
  get ready(): boolean {
    return !this.draining && this.store.ready?.() !== false && this.cluster?.ready() !== false;
  }

  /** Serialize and send; closes slow consumers instead of buffering without bound (THREATS B39). */
  send(c: Connection, frame: object): void {
    this.sendRaw(c, JSON.stringify(frame));
  }

  sendRaw(c: Connection, text: string): void {
    if (c.ws.readyState !== 1) return;
    // Checked with this frame included (its JSON is ASCII: chars = bytes), so a paused reader never
    // gets a whole page queued past the limit; fetch pages are capped well below it (config.ts).
    if (c.ws.bufferedAmount + text.length > this.limits.maxBufferedBytes) {
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

  error(
    c: Connection,
    code: ErrorCode,
    message: string,
    rid?: string,
    extra: { retryAfterMs?: number; limit?: QuotaLimit } = {},
  ): void {
    this.metrics.errors.inc({ code });
    this.send(c, { t: 'error', ...(rid === undefined ? {} : { rid }), code, message, ...extra });
  }

  close(c: Connection, code: ErrorCode, message: string): void {
    if (c.ws.readyState === 1) c.ws.close(ERROR_CODES[code].close, code);
    this.log.info({ conn: c.id, device: p8(c.deviceId), code, message }, 'closing connection');
  }

  /** Report an error and close with its close code. */
  fail(c: Connection, code: ErrorCode, message: string, rid?: string): void {
    this.error(c, code, message, rid);
    this.close(c, code, message);
  }

  /** The store is unreachable: a specific, retryable refusal (nothing was stored or changed). */
  storeUnavailable(c: Connection, rid: string | undefined, err: unknown): void {
    this.log.warn({ conn: c.id, err: (err as Error).message }, 'store unavailable');
    this.error(c, 'STORE_UNAVAILABLE', 'store unavailable, retry later', rid, { retryAfterMs: 1000 });
  }

  /** Log a failed background task (timers, presence) instead of an unhandled rejection. */
  guard(r: Awaitable<unknown>, what: string): void {
    if (r instanceof Promise) {
      r.catch((err: unknown) => this.log.warn({ err: (err as Error).message }, `${what} failed`));
    }
  }

  /** Counted as a plain number; folded into the prom-client counter at scrape time. */
  countFrame(type: string): void {
    const frames = this.metrics.hot.frames;
    frames.set(type, (frames.get(type) ?? 0) + 1);
  }

  /** Send to a device wherever it is connected: here, or through the cluster. */
  sendTo(device: string, frame: object): void {
    const dc = this.devices.get(device);
    if (dc !== undefined) this.send(dc, frame);
    else this.cluster?.push(device, JSON.stringify(frame));
  }

  /**
   * `fresh`: `m` was built from a `send` frame validated in this turn, so `deliverJson` applies;
   * rows read back from the store (redelivery) go through `JSON.stringify`, which does not depend
   * on what is in the database file.
   */
  deliver(c: Connection, m: StoredMessage, fresh: boolean): void {
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

  scheduleTurnEnd(): void {
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
      this.guard(this.commit.commitPending(), 'commit');
    } finally {
      const list = this.corked.splice(0);
      for (const c of list) {
        c.corked = false;
        c.sock?.uncork();
      }
    }
  };
}
