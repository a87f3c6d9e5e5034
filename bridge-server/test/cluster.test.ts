/**
 * Two relay nodes on one real redis-server (in-process here; test/bridge/cluster-ceremony.test.ts
 * runs them as separate processes): live delivery across nodes, cluster-wide presence and session
 * pushes, displacement across nodes, a missed wake-up healed from the mailbox, rate-limit buckets
 * that follow a device to another node, and Redis going away and coming back.
 */
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { RedisServer } from '../../test/helpers/redis-server.ts';
import type { BridgeClient, BridgeClientError, DeliveredMessage } from '../src/client/client.ts';
import type { BridgeOptions } from '../src/relay/server.ts';
import type { RedisStore } from '../src/relay/store/redis.ts';
import { authed, client, device, idOf, type TestBridge, testBridge, until } from './helpers.ts';

let redis: RedisServer;
let admin: Redis;
let n = 0;
const open: { close(): unknown }[] = [];

beforeAll(async () => {
  redis = await RedisServer.start({ appendonly: true });
  admin = new Redis(redis.url);
  admin.on('error', () => {}); // it reconnects by itself after the restart test
});
afterEach(async () => {
  for (const o of open.splice(0).reverse()) await o.close();
});
afterAll(async () => {
  admin?.disconnect();
  await redis?.stop();
});

/** `count` nodes sharing one Redis namespace. */
async function nodes(count: number, over: BridgeOptions = {}): Promise<TestBridge[]> {
  const prefix = `c${n++}:`;
  const out: TestBridge[] = [];
  for (let i = 0; i < count; i++) {
    const b = await testBridge({
      store: 'redis',
      redisUrl: redis.url,
      redisPrefix: prefix,
      nodeId: `n${i}`,
      ...over,
    });
    open.push(b);
    out.push(b);
  }
  await until(() => out.every((b) => b.relay.ready), 5000);
  return out;
}

function track<T extends BridgeClient>(c: T): T {
  open.push(c);
  return c;
}

describe('bridge cluster on Redis', () => {
  it('a device on node 1 receives live what a device on node 2 sends; presence and sessions are cluster-wide', async () => {
    const [n1, n2] = await nodes(2);
    const A = device('x-A');
    const B = device('x-B');
    const ca = track(client(n2!, A));
    const cb = track(client(n1!, B));
    await Promise.all([ca.connect(), cb.connect()]);
    const pushed: string[] = [];
    cb.on('session', (s) => pushed.push(s.sid));
    const s = await ca.createSession('sign', [idOf(A), idOf(B)]);
    expect(s.online.sort()).toEqual([idOf(A), idOf(B)].sort()); // B is on the other node
    await until(() => pushed.includes(s.sid)); // the session push crossed nodes
    const got: DeliveredMessage[] = [];
    cb.on('message', (m) => got.push(m));
    for (let i = 0; i < 5; i++) {
      await ca.send({ sid: s.sid, to: idOf(B), tag: 't', msgId: `m${i}`, envelope: new Uint8Array([i]) });
    }
    await until(() => got.length === 5);
    expect(got.map((m) => m.msgId)).toEqual(['m0', 'm1', 'm2', 'm3', 'm4']);
    // Delivered live: B fetched nothing after its catch-up at connect (no `fetch` frames since).
    await until(async () => (await n1!.store.mailboxStats(idOf(B))).messages === 0);
    // Presence across nodes: A hears B leave.
    const presence: boolean[] = [];
    ca.on('presence', (p) => presence.push(p.online));
    cb.close();
    await until(() => presence.includes(false));
  });

  it('a newer connection on another node displaces the older one, without announcing it offline', async () => {
    const [n1, n2] = await nodes(2);
    const A = device('d-A');
    const B = device('d-B');
    const ca = track(client(n1!, A));
    await ca.connect();
    const s = await ca.createSession('sign', [idOf(A), idOf(B)]);
    const old = await authed(n1!, B);
    const presence: boolean[] = [];
    ca.on('presence', (p) => presence.push(p.online));
    const fresh = await authed(n2!, B);
    expect(await old.closed).toBe(4000);
    // The fresh connection receives what A sends next.
    await ca.send({ sid: s.sid, to: idOf(B), tag: 't', msgId: 'after', envelope: new Uint8Array([1]) });
    const d = await fresh.next('deliver');
    expect(d.msgId).toBe('after');
    expect(presence).not.toContain(false);
    fresh.close();
  });

  it('a wake-up lost while the pub/sub link was down is healed from the mailbox', async () => {
    const [n1, n2] = await nodes(2);
    const A = device('w-A');
    const B = device('w-B');
    const ca = track(client(n2!, A));
    const cb = track(client(n1!, B));
    await Promise.all([ca.connect(), cb.connect()]);
    const s = await ca.createSession('sign', [idOf(A), idOf(B)]);
    const got: DeliveredMessage[] = [];
    cb.on('message', (m) => got.push(m));
    // Stored with no wake-up at all (as if its notification had been lost), straight into Redis.
    const store = n2!.store as RedisStore;
    const r = await store.put(
      {
        sid: s.sid,
        sender: idOf(A),
        recipient: idOf(B),
        msgId: 'lost-wake',
        tag: 't',
        ct: 'AQ',
        digest: 'd',
        ts: Date.now(),
        expiresAt: Date.now() + 60_000,
      },
      { maxSessionMessages: 100, maxMailboxMessages: 100, maxMailboxBytes: 10_000 },
    );
    expect(r.kind).toBe('stored');
    await new Promise((res) => setTimeout(res, 200));
    expect(got).toEqual([]); // nothing woke node 1
    // Drop every pub/sub link: node 1 reconnects, re-subscribes and re-reads its devices' mailboxes.
    await admin.call('CLIENT', 'KILL', 'TYPE', 'pubsub');
    await until(() => got.length === 1, 5000);
    expect(got[0]!.msgId).toBe('lost-wake');
  });

  it("a device's rate-limit bucket follows it to another node", async () => {
    const [n1, n2] = await nodes(2, { limits: { deviceRate: { ratePerSec: 0.01, burst: 5 } } });
    const A = device('r-A');
    const r1 = await authed(n1!, A);
    for (let i = 0; i < 5; i++) r1.send({ t: 'ping', rid: `p${i}` });
    for (let i = 0; i < 5; i++) await r1.next('pong');
    r1.send({ t: 'ping', rid: 'over' });
    expect((await r1.next('error')).code).toBe('RATE_LIMITED');
    r1.close();
    const p = (n1!.store as RedisStore).prefix;
    await until(async () => (await admin.exists(`${p}rl:${idOf(A)}`)) === 1);
    // A fresh bucket on node 2 would allow 5 more; the handed-over one is empty.
    const r2 = await authed(n2!, A);
    r2.send({ t: 'ping', rid: 'again' });
    const e = await r2.next('error');
    expect(e.code).toBe('RATE_LIMITED');
    expect(e.rid).toBe('again');
    r2.close();
  });

  it('Redis down: sends refused with STORE_UNAVAILABLE, /readyz 503, upgrades refused; all back by itself', async () => {
    const [n1, n2] = await nodes(2);
    const A = device('u-A');
    const B = device('u-B');
    const ca = track(client(n1!, A));
    const cb = track(client(n2!, B));
    await Promise.all([ca.connect(), cb.connect()]);
    const s = await ca.createSession('sign', [idOf(A), idOf(B)]);
    const got: DeliveredMessage[] = [];
    cb.on('message', (m) => got.push(m));
    await ca.send({ sid: s.sid, to: idOf(B), tag: 't', msgId: 'before', envelope: new Uint8Array([1]) });
    await until(() => got.length === 1);

    await redis.kill();
    await until(() => !n1!.relay.ready && !n2!.relay.ready, 5000);
    expect((await fetch(`${n1!.httpUrl}/readyz`)).status).toBe(503);
    expect((await fetch(`${n1!.httpUrl}/healthz`)).status).toBe(200); // alive, just not ready
    // A raw send on the open socket gets the specific code (the client would retry it).
    const raw = await authedOrNull(n2!);
    expect(raw).toBe('HTTP 503'); // new upgrades are refused while the store is away
    const errors: BridgeClientError[] = [];
    ca.on('error', (e) => errors.push(e));
    const during = ca.send({
      sid: s.sid,
      to: idOf(B),
      tag: 't',
      msgId: 'during',
      envelope: new Uint8Array([2]),
    });
    await until(() => n1!.logs.some((l) => l.includes('store unavailable')), 5000);
    expect(n1!.logs.some((l) => l.includes('Redis connection lost') || l.includes('Redis unreachable'))).toBe(
      true,
    );

    await redis.start();
    await until(() => n1!.relay.ready && n2!.relay.ready, 10_000);
    expect((await fetch(`${n1!.httpUrl}/readyz`)).status).toBe(200);
    await during; // retried by the client after STORE_UNAVAILABLE, accepted once Redis is back
    await until(() => got.length === 2, 10_000);
    expect(got.map((m) => m.msgId)).toEqual(['before', 'during']);
    expect(errors).toEqual([]);
  });
});

async function authedOrNull(b: TestBridge): Promise<string> {
  try {
    (await authed(b, device('probe'))).close();
    return 'connected';
  } catch (err) {
    return (err as Error).message;
  }
}
