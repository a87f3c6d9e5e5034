/**
 * RedisStore on a real redis-server (test/helpers/redis-server.ts): the shared store contract, and
 * what only a networked, shared store has to get right: two stores (two relay nodes) on one Redis
 * share seqs, idempotency and quotas; every key but the two global indexes expires; a Redis crash
 * with the append-only file loses nothing acknowledged; Redis away gives a typed error, not a hang.
 */
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedisServer } from '../../test/helpers/redis-server.ts';
import { connectRedis, RedisStore, StoreUnavailableError } from '../src/relay/store/redis.ts';
import { msg, session, storeContract } from './store.contract.ts';

const B = 'B'.repeat(43);
const C = 'C'.repeat(43);
const limits = { maxSessionMessages: 100, maxMailboxMessages: 100, maxMailboxBytes: 10_000 };

let server: RedisServer;
let shared: Redis;
let n = 0;
const prefix = () => `t${n++}:`;

beforeAll(async () => {
  server = await RedisServer.start({ appendonly: true });
  shared = new Redis(server.url, { lazyConnect: true });
  shared.on('error', () => {}); // reconnects by itself after the crash test
  await shared.connect();
});
afterAll(async () => {
  shared?.disconnect();
  await server?.stop();
});

storeContract('redis', () => new RedisStore({ client: shared, prefix: prefix() }));

describe('RedisStore as the shared store of several nodes', () => {
  it('two stores on one Redis share seqs, idempotency (per sender) and quotas', async () => {
    const p = prefix();
    const a = new RedisStore({ client: shared, prefix: p });
    const b = new RedisStore({ client: new Redis(server.url), prefix: p, ownsClient: true });
    await a.createSession(session('s1'));
    // b has never seen s1: a cache miss reads it from Redis.
    expect((await b.getSession('s1'))?.members).toHaveLength(3);
    expect(await a.put(msg('s1', 'm1'), limits)).toMatchObject({ kind: 'stored', seq: 1 });
    expect(await b.put(msg('s1', 'm2'), limits)).toMatchObject({ kind: 'stored', seq: 2 });
    expect(await b.put(msg('s1', 'm1'), limits)).toMatchObject({ kind: 'duplicate', seq: 1 });
    expect(await b.put(msg('s1', 'm1', { digest: 'x' }), limits)).toEqual({ kind: 'conflict' });
    const tiny = { ...limits, maxMailboxMessages: 2 };
    expect(await a.put(msg('s1', 'm3'), tiny)).toEqual({ kind: 'full', limit: 'mailbox_messages' });
    // An ack on one node frees the quota seen by the other.
    expect(await b.ack(B, [1])).toBe(1);
    expect(await a.put(msg('s1', 'm3'), tiny)).toMatchObject({ kind: 'stored', seq: 3 });
    expect((await a.listAfter(B, 0, 10, 3000)).map((m) => m.msgId)).toEqual(['m2', 'm3']);
    // A purge on one node: the other's cached copy still lets a send reach the script, which refuses.
    await b.purgeSession('s1');
    expect(await a.put(msg('s1', 'm4'), limits)).toEqual({ kind: 'session_missing' });
    a.forget('s1');
    expect(await a.getSession('s1')).toBeUndefined();
    await a.close();
    await b.close();
  });

  it('concurrent puts from two stores never share a seq', async () => {
    const p = prefix();
    const a = new RedisStore({ client: shared, prefix: p });
    const b = new RedisStore({ client: new Redis(server.url), prefix: p, ownsClient: true });
    await a.createSession(session('s1'));
    const big = { maxSessionMessages: 1000, maxMailboxMessages: 1000, maxMailboxBytes: 100_000 };
    const puts = [];
    for (let i = 0; i < 100; i++) {
      puts.push(
        (i % 2 === 0 ? a : b).putMany([msg('s1', `a${i}`), msg('s1', `b${i}`, { recipient: C })], big),
      );
    }
    const seqs = (await Promise.all(puts)).flat().map((r) => (r.kind === 'stored' ? r.seq : -1));
    const toB = seqs.filter((_, i) => i % 2 === 0).sort((x, y) => x - y);
    expect(toB).toEqual(Array.from({ length: 100 }, (_, i) => i + 1));
    expect(await a.mailboxStats(B)).toEqual({ messages: 100, bytes: 300 });
    expect((await b.getSession('s1'))?.messageCount).toBeGreaterThan(0);
    await b.close();
  });

  it('every key but the global session and expiry indexes has a Redis expiry', async () => {
    const p = prefix();
    const s = new RedisStore({ client: shared, prefix: p, graceMs: 60_000 });
    await s.createSession(session('s1'));
    await s.put(msg('s1', 'm1'), limits);
    await s.put(msg('s1', 'm2', { recipient: C }), limits);
    await s.ack(B, [1]);
    const keys = await shared.keys(`${p}*`);
    expect(keys.length).toBeGreaterThan(5);
    for (const k of keys) {
      const ttl = await shared.pttl(k);
      if (k === `${p}sx` || k === `${p}due`) expect(ttl).toBe(-1);
      else expect({ k, expires: ttl > 0 }).toEqual({ k, expires: true });
    }
    // The global indexes shrink as the sweeper runs: nothing left once everything expired.
    await s.sweep(200_000);
    expect(await shared.exists(`${p}sx`, `${p}due`)).toBe(0);
    expect(await shared.keys(`${p}m:*`)).toEqual([]);
    expect(await s.mailboxStats(C)).toEqual({ messages: 0, bytes: 0 });
  });

  it('a Redis crash (SIGKILL) with appendonly loses nothing acknowledged', async () => {
    const p = prefix();
    const client = connectRedis(server.url);
    const s = new RedisStore({ client, prefix: p, ownsClient: true });
    await until(() => s.ready());
    await s.createSession(session('s1'));
    for (let i = 0; i < 20; i++) expect((await s.put(msg('s1', `m${i}`), limits)).kind).toBe('stored');
    await s.ack(B, [1, 2]);
    await server.kill();
    // While Redis is down: a typed error at once, not a hang.
    await expect(s.put(msg('s1', 'x'), limits)).rejects.toBeInstanceOf(StoreUnavailableError);
    await expect(s.listAfter(B, 0, 10, 3000)).rejects.toBeInstanceOf(StoreUnavailableError);
    expect(s.ready()).toBe(false);
    await server.start();
    await until(() => s.ready());
    expect((await s.listAfter(B, 0, 100, 3000)).map((m) => m.seq)).toEqual(
      Array.from({ length: 18 }, (_, i) => i + 3),
    );
    expect(await s.put(msg('s1', 'm0'), limits)).toMatchObject({ kind: 'duplicate', seq: 1 });
    expect(await s.put(msg('s1', 'm20'), limits)).toMatchObject({ kind: 'stored', seq: 21 });
    await s.close();
    await shared.ping(); // the shared client reconnected too
  });
});

async function until(f: () => boolean, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!f()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}
