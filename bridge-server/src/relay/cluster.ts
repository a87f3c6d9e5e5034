/**
 * Several relay nodes on one Redis (BRIDGE.md §19): presence as `device → node` keys, wake-ups by
 * pub/sub, displacement across nodes, rate-limit buckets handed over, session purges announced.
 *
 * - **Wake-ups.** Each node subscribes to `w:<device>` for the devices connected to it. The store's
 *   put script publishes the `deliver` frame there when the sender's node does not hold the
 *   recipient, in the same atomic step as the insert, so a message can never be stored without its
 *   wake-up having been sent. Pub/sub is fire-and-forget: a wake-up lost to a dropped subscriber
 *   link costs latency only, because the mailbox stays the source of truth: on every (re)connect
 *   of its subscriber this node re-subscribes and then re-reads the mailboxes of its devices
 *   (`resync`), unacked deliveries are re-sent from the store, and clients catch up after each auth.
 * - **Presence.** `p:<device>` = `<node> <generation>` with a TTL refreshed every heartbeat, so a
 *   node that dies (SIGKILL) stops counting its devices as online within `presenceTtlMs`.
 * - **Displacement.** Each auth takes the next generation from `pg:<device>` and publishes it on the
 *   device's channel; a node holding an older connection of that device closes it with DISPLACED
 *   (newest wins, as on one node) without announcing the device offline.
 * - **Rate limits.** A device's token bucket lives with its one live connection and is stored in
 *   `rl:<device>` (until it would have refilled) when that connection ends, and taken over by the
 *   node of its next connection: hopping nodes does not refill it. Per-IP limits stay per node.
 */
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { ClusterLink, JoinResult } from './cluster-link.ts';
import type { BucketState } from './rate-limit.ts';
import { type RedisStore, Script } from './store/redis.ts';

/** What the cluster calls back into (the relay). */
export interface ClusterHandler {
  deliverFromCluster(device: string, seq: number, frame: string): void;
  pushFromCluster(device: string, frame: string): void;
  displacedFromCluster(device: string, generation: number): void;
  resync(): void;
}

export interface RedisClusterOptions {
  store: RedisStore;
  /** A second connection, used only for SUBSCRIBE (a subscribed connection can do nothing else). */
  subscriber: Redis;
  nodeId: string;
  /** Presence outlives a dead node by at most this. */
  presenceTtlMs: number;
  /** How long a handed-over bucket is kept (the time it takes to refill). */
  bucketKeepMs: number;
  log: Logger;
}

/** Delete a presence key only if it is still ours (the device may have moved to another node). */
const LEAVE = new Script(`
if redis.call('GET', ARGV[1]) == ARGV[2] then redis.call('DEL', ARGV[1]) end
return 1
`);

export class RedisCluster implements ClusterLink {
  private readonly store: RedisStore;
  private readonly client: Redis;
  private readonly sub: Redis;
  private readonly p: string;
  private readonly nodeId: string;
  private readonly log: Logger;
  private readonly presenceTtlMs: number;
  private readonly bucketKeepMs: number;
  private handler: ClusterHandler | undefined;
  /** Devices connected here → their presence value (node and generation). */
  private readonly local = new Map<string, string>();
  private connectedBefore = false;
  private closed = false;

  constructor(o: RedisClusterOptions) {
    this.store = o.store;
    this.client = o.store.client;
    this.sub = o.subscriber;
    this.p = o.store.prefix;
    this.nodeId = o.nodeId;
    this.log = o.log;
    this.presenceTtlMs = o.presenceTtlMs;
    this.bucketKeepMs = o.bucketKeepMs;
    this.sub.on('message', (channel: string, message: string) => this.onMessage(channel, message));
    this.sub.on('ready', () => this.onSubscriberReady());
  }

  bind(h: ClusterHandler): void {
    this.handler = h;
  }

  ready(): boolean {
    return this.sub.status === 'ready' && this.store.ready();
  }

  private wake(device: string): string {
    return `${this.p}w:${device}`;
  }

  private get invChannel(): string {
    return `${this.p}inv`;
  }

  /**
   * (Re)subscribe to every local device's channel, then re-read their mailboxes if this is a
   * reconnect: messages stored while the link was down woke nobody.
   */
  private onSubscriberReady(): void {
    const channels = [this.invChannel, ...[...this.local.keys()].map((d) => this.wake(d))];
    const again = this.connectedBefore;
    this.connectedBefore = true;
    this.sub.subscribe(...channels).then(
      () => {
        if (again) {
          this.log.info({ devices: this.local.size }, 'pub/sub link back: resyncing local mailboxes');
          this.handler?.resync();
        }
      },
      (err: unknown) => this.log.warn({ err: (err as Error).message }, 'resubscribe failed'),
    );
  }

  private onMessage(channel: string, message: string): void {
    const h = this.handler;
    if (h === undefined) return;
    if (channel === this.invChannel) {
      this.store.forget(message);
      return;
    }
    const device = channel.slice(this.p.length + 2);
    const sp = message.indexOf(' ');
    const head = message.slice(0, sp);
    const body = message.slice(sp + 1);
    if (head === 'F') h.pushFromCluster(device, body);
    else if (head === 'X') h.displacedFromCluster(device, Number(body));
    else h.deliverFromCluster(device, Number(head), body);
  }

  async join(device: string): Promise<JoinResult> {
    // Subscribe first: from here on a message stored for the device wakes this node, and the
    // client's catch-up fetch (after `welcome`) reads everything stored before.
    await this.sub.subscribe(this.wake(device));
    const gen = await this.store.command('incr', () => this.client.incr(`${this.p}pg:${device}`));
    const value = `${this.nodeId} ${gen}`;
    this.local.set(device, value);
    const res = await this.store.command('join', () =>
      this.client
        .multi()
        .pexpire(`${this.p}pg:${device}`, 7 * 24 * 3600_000)
        .set(`${this.p}p:${device}`, value, 'PX', this.presenceTtlMs)
        .publish(this.wake(device), `X ${gen}`)
        .hmget(`${this.p}rl:${device}`, 'tokens', 'last')
        .exec(),
    );
    const rl = res?.[3]?.[1] as (string | null)[] | undefined;
    const bucket =
      rl !== undefined && rl[0] !== null && rl[1] !== null
        ? { tokens: Number(rl[0]), last: Number(rl[1]) }
        : undefined;
    return { generation: gen, ...(bucket === undefined ? {} : { bucket }) };
  }

  leave(device: string, bucket: BucketState | undefined): void {
    const value = this.local.get(device);
    this.local.delete(device);
    const fail = (err: unknown) => this.log.warn({ err: (err as Error).message }, 'cluster leave failed');
    this.sub.unsubscribe(this.wake(device)).catch(fail);
    if (value === undefined || this.closed) return;
    LEAVE.run(this.client, [`${this.p}p:${device}`, value]).catch(fail);
    if (bucket !== undefined) {
      this.client
        .multi()
        .hset(`${this.p}rl:${device}`, 'tokens', bucket.tokens, 'last', bucket.last)
        .pexpire(`${this.p}rl:${device}`, this.bucketKeepMs)
        .exec()
        .catch(fail);
    }
  }

  refresh(devices: readonly string[]): void {
    if (devices.length === 0 || !this.store.ready()) return;
    const m = this.client.pipeline();
    for (const d of devices) m.pexpire(`${this.p}p:${d}`, this.presenceTtlMs);
    m.exec().catch((err: unknown) =>
      this.log.warn({ err: (err as Error).message }, 'presence refresh failed'),
    );
  }

  async online(devices: readonly string[]): Promise<ReadonlySet<string>> {
    if (devices.length === 0) return new Set();
    const vals = await this.store.command('mget', () =>
      this.client.mget(devices.map((d) => `${this.p}p:${d}`)),
    );
    return new Set(devices.filter((_, i) => vals[i] !== null));
  }

  push(device: string, frame: string): void {
    this.client
      .publish(this.wake(device), `F ${frame}`)
      .catch((err: unknown) => this.log.warn({ err: (err as Error).message }, 'cluster push failed'));
  }

  purged(sid: string): void {
    this.client
      .publish(this.invChannel, sid)
      .catch((err: unknown) => this.log.warn({ err: (err as Error).message }, 'purge notice failed'));
  }

  async close(): Promise<void> {
    this.closed = true;
    try {
      await this.sub.quit();
    } catch {
      this.sub.disconnect();
    }
  }
}
