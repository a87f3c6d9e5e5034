/**
 * Redis latency and error metrics (BRIDGE.md §20) on the bridge's `/metrics`, read after real
 * operations against a real redis-server (test/helpers/redis-server.ts): a histogram of command
 * and script round trips by operation, and a counter of failures by kind once Redis is gone.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedisServer } from '../../test/helpers/redis-server.ts';
import { client, device, idOf, type TestBridge, testBridge, until } from './helpers.ts';

let redis: RedisServer;
let b: TestBridge;

beforeAll(async () => {
  redis = await RedisServer.start();
  b = await testBridge({ store: 'redis', redisUrl: redis.url, redisPrefix: 'metrics:' });
  await until(() => b.relay.ready, 10_000);
});
afterAll(async () => {
  if (redis !== undefined && !redis.running) await redis.start(); // a failed test left it down
  await b?.close();
  await redis?.stop();
});

/** `name{labels} value` from the Prometheus text, or 0 if absent. */
function sample(text: string, name: string, labels: string): number {
  const esc = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const m = new RegExp(`^${esc(name)}\\{${esc(labels)}\\} (\\S+)$`, 'm').exec(text);
  return m === null ? 0 : Number(m[1]);
}
const scrape = async () => (await fetch(`${b.httpUrl}/metrics`)).text();

describe('Redis metrics on /metrics', () => {
  it('command latency by operation after real sends and acks; errors by kind while Redis is down', async () => {
    const A = device('rm-a');
    const B = device('rm-b');
    const ca = client(b, A);
    const cb = client(b, B);
    await Promise.all([ca.connect(), cb.connect()]);
    const s = await ca.createSession('sign', [idOf(A), idOf(B)]);
    let got = 0;
    cb.on('message', () => got++);
    for (let i = 0; i < 5; i++)
      await ca.send({ sid: s.sid, to: idOf(B), tag: 't', msgId: `m${i}`, envelope: new Uint8Array([i]) });
    await until(() => got === 5);
    await until(async () => (await b.store.mailboxStats(idOf(B))).messages === 0);
    const text = await scrape();
    expect(sample(text, 'concord_bridge_redis_command_seconds_count', 'op="putMany"')).toBeGreaterThanOrEqual(
      1,
    );
    expect(sample(text, 'concord_bridge_redis_command_seconds_count', 'op="ackMany"')).toBeGreaterThanOrEqual(
      1,
    );
    expect(sample(text, 'concord_bridge_redis_command_seconds_count', 'op="createSession"')).toBe(1);
    expect(sample(text, 'concord_bridge_redis_command_seconds_sum', 'op="putMany"')).toBeGreaterThan(0);
    expect(sample(text, 'concord_bridge_redis_errors_total', 'kind="unavailable"')).toBe(0);

    // Redis gone: the next operations fail, and are counted by kind.
    await redis.kill();
    await expect(b.store.listAfter(idOf(B), 0, 10, Date.now())).rejects.toThrow(/unavailable/i);
    await until(() => !b.relay.ready, 10_000);
    // Reconnect attempts are refused: each is a connection error.
    await until(
      async () => sample(await scrape(), 'concord_bridge_redis_errors_total', 'kind="connection"') >= 1,
      10_000,
    );
    const down = await scrape();
    expect(sample(down, 'concord_bridge_redis_errors_total', 'kind="unavailable"')).toBeGreaterThanOrEqual(1);
    expect(sample(down, 'concord_bridge_redis_errors_total', 'kind="connection"')).toBeGreaterThanOrEqual(1);
    expect(
      sample(down, 'concord_bridge_redis_command_seconds_count', 'op="listAfter"'),
    ).toBeGreaterThanOrEqual(1);
    ca.close();
    cb.close();
    await redis.start();
    await until(() => b.relay.ready, 15_000);
  });
});
