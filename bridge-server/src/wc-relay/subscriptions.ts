/**
 * Who listens to which topic. A subscription belongs to one socket (a reconnecting client
 * re-subscribes, as 2.x clients do with `irn_batchSubscribe` on every connect). Its id is
 * sha256(topic ‖ clientId) in hex, the same id @walletconnect/core computes on its side
 * (`Subscriber.getSubscriptionId`), so `irn_unsubscribe {topic, id}` names it either way.
 */
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex } from '@noble/hashes/utils.js';
import type { WcRelayLimits } from './config.ts';
import { WcRelayError } from './errors.ts';

export interface Subscriber {
  readonly clientId: string;
}

export function subscriptionId(topic: string, clientId: string): string {
  return bytesToHex(sha256(new TextEncoder().encode(topic + clientId)));
}

export class Subscriptions<C extends Subscriber> {
  private readonly byTopic = new Map<string, Set<C>>();
  private readonly byConn = new Map<C, Set<string>>();

  constructor(private readonly limits: WcRelayLimits) {}

  /**
   * Subscribe `conn` to `topic`; returns the subscription id and whether it is new. Throws
   * `TOO_MANY_TOPICS` past the per-socket cap (an existing subscription is always accepted).
   */
  add(conn: C, topic: string): { id: string; fresh: boolean } {
    const topics = this.byConn.get(conn) ?? new Set<string>();
    const id = subscriptionId(topic, conn.clientId);
    if (topics.has(topic)) return { id, fresh: false };
    if (topics.size >= this.limits.maxTopicsPerSocket) {
      throw new WcRelayError(
        'TOO_MANY_TOPICS',
        `a socket may hold ${this.limits.maxTopicsPerSocket} subscriptions`,
      );
    }
    topics.add(topic);
    this.byConn.set(conn, topics);
    const conns = this.byTopic.get(topic) ?? new Set<C>();
    conns.add(conn);
    this.byTopic.set(topic, conns);
    return { id, fresh: true };
  }

  /** Room left on `conn` for new subscriptions (for all-or-nothing batches). */
  room(conn: C, topics: readonly string[]): number {
    const held = this.byConn.get(conn) ?? new Set<string>();
    const fresh = new Set(topics.filter((t) => !held.has(t))).size;
    return this.limits.maxTopicsPerSocket - held.size - fresh;
  }

  /**
   * Remove `conn`'s subscription to `topic`. With an `id`, it must be this client's id for the topic
   * (an id of another client removes nothing). Returns whether something was removed.
   */
  remove(conn: C, topic: string, id?: string): boolean {
    if (id !== undefined && id !== subscriptionId(topic, conn.clientId)) return false;
    const topics = this.byConn.get(conn);
    if (!topics?.delete(topic)) return false;
    const conns = this.byTopic.get(topic);
    conns?.delete(conn);
    if (conns?.size === 0) this.byTopic.delete(topic);
    return true;
  }

  /** Forget every subscription of a closed socket. */
  drop(conn: C): void {
    for (const topic of this.byConn.get(conn) ?? []) {
      const conns = this.byTopic.get(topic);
      conns?.delete(conn);
      if (conns?.size === 0) this.byTopic.delete(topic);
    }
    this.byConn.delete(conn);
  }

  subscribers(topic: string): readonly C[] {
    return [...(this.byTopic.get(topic) ?? [])];
  }

  topicsOf(conn: C): number {
    return this.byConn.get(conn)?.size ?? 0;
  }
}
