/**
 * Redis `MailboxStore` (BRIDGE.md §18–§19): the shared store that lets several relay nodes serve
 * one set of mailboxes, so a node can die or be upgraded without losing anything acknowledged.
 * Speaks plain Redis (Debian's redis-server ≥ 7.0, Valkey, managed Redis) through `ioredis`.
 *
 * **Sorted sets, not Streams.** A mailbox is a sorted set of pending entries scored by the
 * recipient's own seq, plus one hash per message (layout in redis-scripts.ts), as in Signal's
 * `MessagesCache`. Streams were considered and rejected: their ids are (ms, n) pairs that must
 * grow per stream, while a seq here is per recipient and shared by all its sessions; acks remove
 * arbitrary entries (XDEL leaves holes in the stream's radix nodes, a sorted set just shrinks);
 * and listing one session's messages, per-message expiry and the byte quota need per-entry data
 * that a consumer group does not give. Consumer groups also solve a problem we do not have:
 * delivery state (in flight, acked) is per device connection, kept by the relay node.
 *
 * **Atomicity.** Every operation that must not interleave with another node's (put with its
 * idempotency check, quotas and seq; ack; purge; sweep) is one Lua script, which Redis runs with
 * nothing in between. A batch (`putMany`) is one script: the group commit of a relay turn is one
 * round trip. Script failures are bugs (a script never fails halfway on valid input); a lost
 * connection fails the whole call before or after the script ran, and a retried `send` is then
 * recognised by its msgId.
 *
 * **Durability** is Redis's: run it with `appendonly yes` (`appendfsync everysec` loses nothing
 * acknowledged when the Redis process dies, since the AOF is written before replies go out; use
 * `always` to survive power loss too).
 *
 * **Sessions** are cached in this process (they are immutable apart from their message count,
 * which the put script checks itself); a purge on another node is announced on a pub/sub channel
 * (cluster.ts) and, until it arrives, a stale entry only lets a send reach the put script, which
 * answers `session_missing`.
 *
 * Keys are built inside the scripts, so this runs on one Redis primary (with replicas/Sentinel),
 * not on Redis Cluster, which would need every key of a script in one hash slot.
 */
import { createHash } from 'node:crypto';
import { Redis, ReplyError } from 'ioredis';
import type { SessionKind } from '../../protocol/frames.ts';
import * as S from './redis-scripts.ts';
import type {
  AckBatch,
  MailboxStats,
  MailboxStore,
  PutInput,
  PutLimits,
  PutResult,
  SessionRecord,
  SessionView,
  StoredMessage,
  SweepResult,
} from './types.ts';
import { FULL_LIMITS, type FullLimit, StoreUnavailableError } from './types.ts';

export { StoreUnavailableError };

export interface RedisStoreOptions {
  client: Redis;
  /** Namespace for every key and channel, e.g. `concord:`. */
  prefix?: string;
  /** Close the client in `close()` (true when the store opened it). */
  ownsClient?: boolean;
  /** Redis keeps a key this long past its logical expiry (the sweeper's margin). Default 1 h. */
  graceMs?: number;
  /** Sessions kept in this process's cache. Default 50,000. */
  sessionCacheSize?: number;
  /** Told the duration of every command or script, and the kind of error if it failed (metrics). */
  observe?: RedisObserver;
}

/** Kinds of Redis failure: no connection, no answer in time, or an error reply from Redis. */
export type RedisErrorKind = 'unavailable' | 'timeout' | 'reply';

export type RedisObserver = (op: string, seconds: number, error?: RedisErrorKind) => void;

function errorKind(err: unknown): RedisErrorKind {
  if (err instanceof ReplyError) return 'reply';
  return /timed out/i.test((err as Error).message ?? '') ? 'timeout' : 'unavailable';
}

/**
 * A client set up to fail fast: no offline queue and no silent resend after a reconnect, so a
 * command issued while Redis is away rejects at once (the relay answers `STORE_UNAVAILABLE` and
 * the client retries) instead of hanging or running twice later; reconnects forever with a capped
 * backoff, so the node recovers by itself when Redis returns.
 */
export function connectRedis(url: string, extra: { lazyConnect?: boolean } = {}): Redis {
  return new Redis(url, {
    enableOfflineQueue: false,
    autoResendUnfulfilledCommands: false,
    maxRetriesPerRequest: 0,
    commandTimeout: 5_000,
    connectTimeout: 2_000,
    retryStrategy: (n) => Math.min(50 * 2 ** Math.min(n, 6), 1_000),
    ...extra,
  });
}

/** A Lua script run by EVALSHA (keys built from ARGV; see redis-scripts.ts). */
export class Script {
  private readonly sha: string;
  constructor(private readonly lua: string) {
    this.sha = createHash('sha1').update(lua).digest('hex');
  }
  /** EVALSHA, falling back to EVAL once if the server does not know the script (after a restart). */
  async run(client: Redis, args: (string | number)[]): Promise<unknown> {
    try {
      return await client.evalsha(this.sha, 0, ...args);
    } catch (err) {
      if (err instanceof ReplyError && (err as Error).message.startsWith('NOSCRIPT'))
        return await client.eval(this.lua, 0, ...args);
      throw err;
    }
  }
}

const SCRIPTS = {
  createSession: new Script(S.CREATE_SESSION),
  putMany: new Script(S.PUT_MANY),
  ackMany: new Script(S.ACK_MANY),
  listAfter: new Script(S.LIST_AFTER),
  getBySeqs: new Script(S.GET_BY_SEQS),
  listSessions: new Script(S.LIST_SESSIONS),
  purge: new Script(S.PURGE_SESSION),
  sweep: new Script(S.SWEEP),
  join: new Script(S.JOIN_SESSION),
  leave: new Script(S.LEAVE_SESSION),
  close: new Script(S.CLOSE_SESSION),
};

/** Seq counters outlive their last message by this much, so a seq is not reused soon after. */
const COUNTER_KEEP_MS = 7 * 24 * 3600_000;

function toMessages(recipient: string, flat: string[]): StoredMessage[] {
  const out: StoredMessage[] = [];
  for (let i = 0; i + 7 < flat.length; i += 8) {
    out.push({
      seq: Number(flat[i]),
      sid: flat[i + 1]!,
      sender: flat[i + 2]!,
      recipient,
      msgId: flat[i + 3]!,
      tag: flat[i + 4]!,
      ts: Number(flat[i + 5]),
      expiresAt: Number(flat[i + 6]),
      ct: flat[i + 7]!,
    });
  }
  return out;
}

function toPutResult(r: string): PutResult {
  const f = r.split(' ');
  switch (f[0]) {
    case 's':
      return { kind: 'stored', seq: Number(f[1]), ts: Number(f[2]) };
    case 'd':
      return { kind: 'duplicate', seq: Number(f[1]), ts: Number(f[2]) };
    case 'c':
      return { kind: 'conflict' };
    case 'm':
      return { kind: 'session_missing' };
    case 'n':
      return { kind: 'not_member' };
    case 'f':
      if ((FULL_LIMITS as readonly string[]).includes(f[1]!))
        return { kind: 'full', limit: f[1] as FullLimit };
  }
  throw new Error(`unexpected put result from Redis: ${r.slice(0, 40)}`);
}

export class RedisStore implements MailboxStore {
  readonly kind = 'redis' as const;
  readonly client: Redis;
  readonly prefix: string;
  private readonly ownsClient: boolean;
  private readonly graceMs: number;
  private readonly cacheSize: number;
  private readonly sessions = new Map<string, SessionRecord>();
  private readonly observe: RedisObserver | undefined;
  private closed = false;

  constructor(opts: RedisStoreOptions) {
    this.client = opts.client;
    this.prefix = opts.prefix ?? 'concord:';
    this.ownsClient = opts.ownsClient ?? false;
    this.graceMs = opts.graceMs ?? 3600_000;
    this.cacheSize = opts.sessionCacheSize ?? 50_000;
    this.observe = opts.observe;
  }

  /** True while commands can be sent (the `/readyz` answer). */
  ready(): boolean {
    // The socket can be gone (Redis died) a moment before ioredis's status leaves 'ready': its
    // 'close' comes after the stream ended, and commands already fail in between.
    return this.client.status === 'ready' && this.client.stream?.writable === true;
  }

  /** The pub/sub channel that wakes the node holding `device` (cluster.ts subscribes to it). */
  wakeChannel(device: string): string {
    return `${this.prefix}w:${device}`;
  }

  private run(op: keyof typeof SCRIPTS, args: (string | number)[]): Promise<unknown> {
    const script = SCRIPTS[op];
    return this.command(op, () => script.run(this.client, [this.prefix, ...args]));
  }

  /**
   * Run a command (or script) named `op` for the metrics; a lost connection becomes
   * `StoreUnavailableError`.
   */
  async command<T>(op: string, f: () => Promise<T>): Promise<T> {
    const t0 = performance.now();
    try {
      const v = await f();
      this.observe?.(op, (performance.now() - t0) / 1000);
      return v;
    } catch (err) {
      this.observe?.(op, (performance.now() - t0) / 1000, errorKind(err));
      throw err instanceof ReplyError
        ? err
        : new StoreUnavailableError(`Redis unavailable: ${(err as Error).message}`);
    }
  }

  private cache(s: SessionRecord): void {
    if (this.sessions.size >= this.cacheSize) {
      // Oldest first (Map insertion order): a bounded cache, refilled from Redis on a miss.
      const first = this.sessions.keys().next();
      if (!first.done) this.sessions.delete(first.value);
    }
    this.sessions.set(s.sid, s);
  }

  /** Forget a cached session (it was purged, here or on another node). */
  forget(sid: string): void {
    this.sessions.delete(sid);
  }

  async createSession(s: SessionRecord): Promise<void> {
    const ok = await this.run('createSession', [
      s.sid,
      s.kind,
      s.creator,
      JSON.stringify(s.members),
      s.createdAt,
      s.expiresAt,
      Math.max(s.expiresAt - s.createdAt, 1) + this.graceMs,
      ...s.members,
    ]);
    if (ok !== 1) throw new Error('session id collision');
    this.cache({ ...s, members: [...s.members] });
  }

  getSession(sid: string): SessionView | undefined | Promise<SessionView | undefined> {
    const hit = this.sessions.get(sid);
    if (hit !== undefined) return hit;
    return this.command('hmget', () =>
      this.client.hmget(
        `${this.prefix}s:${sid}`,
        'kind',
        'creator',
        'members',
        'createdAt',
        'expiresAt',
        'count',
        'closed',
      ),
    ).then((f) => {
      if (f[0] === null) return undefined;
      const s = this.record(sid, f);
      this.cache(s);
      return s;
    });
  }

  private record(sid: string, f: readonly (string | null)[]): SessionRecord {
    return {
      sid,
      kind: f[0] as SessionKind,
      creator: f[1]!,
      members: JSON.parse(f[2]!) as string[],
      createdAt: Number(f[3]),
      expiresAt: Number(f[4]),
      messageCount: Number(f[5]),
      ...(f[6] !== null && f[6] !== undefined ? { closed: true } : {}),
    };
  }

  async listSessions(device: string, now: number): Promise<SessionRecord[]> {
    const flat = (await this.run('listSessions', [device, now])) as string[];
    const out: SessionRecord[] = [];
    for (let i = 0; i + 6 < flat.length; i += 7) {
      const s = this.record(flat[i]!, flat.slice(i + 1, i + 7));
      out.push({ ...s, members: [...s.members] });
      if (!this.sessions.has(s.sid)) this.cache(s);
    }
    return out.sort((a, b) => a.createdAt - b.createdAt || (a.sid < b.sid ? -1 : 1));
  }

  countSessionsCreatedBy(device: string, now: number): Promise<number> {
    return this.command('zcount', () => this.client.zcount(`${this.prefix}cr:${device}`, `(${now}`, '+inf'));
  }

  async put(input: PutInput, limits: PutLimits): Promise<PutResult> {
    return (await this.putMany([input], limits))[0]!;
  }

  async putMany(inputs: readonly PutInput[], limits: PutLimits): Promise<PutResult[]> {
    if (inputs.length === 0) return [];
    const args: (string | number)[] = [
      limits.maxSessionMessages,
      limits.maxMailboxMessages,
      limits.maxMailboxBytes,
      this.graceMs,
      COUNTER_KEEP_MS,
      limits.maxSessionMailboxMessages ?? -1,
      limits.maxSenderPendingMessages ?? -1,
      limits.maxUnjoinedMailboxMessages ?? -1,
    ];
    for (const i of inputs) {
      args.push(
        i.sid,
        i.sender,
        i.recipient,
        i.msgId,
        i.tag,
        i.ct,
        i.digest,
        i.ts,
        i.expiresAt,
        i.wake === true ? this.wakeChannel(i.recipient) : '',
      );
    }
    const raw = (await this.run('putMany', args)) as string[];
    const results = raw.map(toPutResult);
    // Keep this node's cached counts near the truth (the script enforces the real quota).
    for (let k = 0; k < inputs.length; k++) {
      if (results[k]!.kind === 'stored') {
        const s = this.sessions.get(inputs[k]!.sid);
        if (s !== undefined) s.messageCount++;
      }
    }
    return results;
  }

  async ackMany(batches: readonly AckBatch[]): Promise<number> {
    const args: (string | number)[] = [];
    for (const b of batches) {
      if (b.seqs.length === 0) continue;
      args.push(b.recipient, b.seqs.length, ...b.seqs);
    }
    if (args.length === 0) return 0;
    return (await this.run('ackMany', args)) as number;
  }

  ack(recipient: string, seqs: readonly number[]): Promise<number> {
    return this.ackMany([{ recipient, seqs }]);
  }

  async listAfter(
    recipient: string,
    afterSeq: number,
    limit: number,
    now: number,
    sid?: string,
    maxChars?: number,
  ): Promise<StoredMessage[]> {
    const flat = (await this.run('listAfter', [
      recipient,
      afterSeq,
      limit,
      now,
      sid ?? '',
      maxChars === undefined || !Number.isFinite(maxChars) ? 0 : maxChars,
    ])) as string[];
    return toMessages(recipient, flat);
  }

  async getBySeqs(recipient: string, seqs: readonly number[], now: number): Promise<StoredMessage[]> {
    if (seqs.length === 0) return [];
    const sorted = [...seqs].sort((a, b) => a - b);
    const flat = (await this.run('getBySeqs', [recipient, now, ...sorted])) as string[];
    return toMessages(recipient, flat);
  }

  async sweep(now: number): Promise<SweepResult> {
    const [messages, sessions] = (await this.run('sweep', [now, 1000])) as [number, number];
    for (const [sid, s] of this.sessions) if (s.expiresAt <= now) this.sessions.delete(sid);
    return { messages, sessions };
  }

  async purgeSession(sid: string): Promise<void> {
    await this.run('purge', [sid]);
    this.sessions.delete(sid);
  }

  async joinSession(sid: string, device: string): Promise<boolean> {
    return (await this.run('join', [sid, device])) === 1;
  }

  async leaveSession(sid: string, device: string): Promise<boolean> {
    const ok = (await this.run('leave', [sid, device])) === 1;
    this.sessions.delete(sid); // re-read with its new member list
    return ok;
  }

  async closeSession(sid: string, by: string): Promise<void> {
    await this.run('close', [sid, by]);
    const s = this.sessions.get(sid);
    if (s !== undefined) s.closed = true;
  }

  async mailboxStats(recipient: string): Promise<MailboxStats> {
    const [n, b] = await this.command('hmget', () =>
      this.client.hmget(`${this.prefix}c:${recipient}`, 'n', 'b'),
    );
    return { messages: Number(n ?? 0), bytes: Number(b ?? 0) };
  }

  async lastSeq(recipient: string): Promise<number> {
    return Number(
      (await this.command('hget', () => this.client.hget(`${this.prefix}c:${recipient}`, 'last'))) ?? 0,
    );
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.ownsClient) {
      try {
        await this.client.quit();
      } catch {
        this.client.disconnect();
      }
    }
  }
}
