/**
 * Mailboxes and subscriptions of the local WalletConnect relay over a real ws server, on a clock the
 * test moves: offline delivery until the TTL, acknowledgement, no echo to the publisher,
 * unsubscribe, fetch paging, and every cap refusing instead of evicting.
 *
 * "Nothing was pushed" is observed without waiting: a push to B is written before A's publish is
 * answered, so once B's own next request is answered every push for B has arrived.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  type RunningWcRelay,
  startWcRelay,
  subscriptionId,
  WC_RELAY_ERRORS,
} from '../../src/wc-relay/index.ts';
import { type RelayClient as Client, RelayClient, topic } from './client.ts';

let clock = Date.now();
let relay: RunningWcRelay;
const open: Client[] = [];

beforeAll(async () => {
  relay = await startWcRelay({
    now: () => clock,
    limits: { maxTopicsPerSocket: 3, maxMailboxMessages: 3, maxFetchMessages: 2 },
  });
});
afterAll(async () => {
  await Promise.all(open.map((c) => c.close()));
  await relay.close();
});
let t = 100;
beforeEach(() => {
  t += 10; // fresh topics per test
});

async function client(secretKey?: Uint8Array): Promise<Client> {
  const c = await RelayClient.connect(relay.url, secretKey ? { secretKey } : {});
  open.push(c);
  return c;
}

/** Round-trip a request so every push sent to `c` before it has arrived. */
const barrier = (c: Client) => c.call('irn_fetchMessages', { topic: topic(1) });

describe('wc-relay delivery', () => {
  it('keeps a message for an offline subscriber and delivers it when it subscribes', async () => {
    const a = await client();
    expect(await a.call('irn_publish', { topic: topic(t), message: 'hello', ttl: 300, tag: 1108 })).toBe(
      true,
    );
    const published = clock;
    const b = await client();
    const id = await b.call('irn_subscribe', { topic: topic(t) });
    expect(id).toBe(subscriptionId(topic(t), b.clientId));
    const [push] = await b.waitForPushes(1);
    expect(push?.params).toEqual({
      id,
      data: { topic: topic(t), message: 'hello', publishedAt: published, tag: 1108 },
    });
    // Live delivery to a subscribed peer, in publish order.
    await a.call('irn_publish', { topic: topic(t), message: 'second', ttl: 300 });
    expect((await b.waitForPushes(2))[1]?.params.data.message).toBe('second');
  });

  it('does not push a message back to its publisher', async () => {
    const a = await client();
    await a.call('irn_subscribe', { topic: topic(t) });
    await a.call('irn_publish', { topic: topic(t), message: 'mine', ttl: 300 });
    await barrier(a);
    expect(a.pushes).toEqual([]);
  });

  it('an acknowledged message is not pushed again; an unacknowledged one is, on resubscribe', async () => {
    const key = new Uint8Array(32).fill(7);
    const a = await client();
    await a.call('irn_publish', { topic: topic(t), message: 'acked', ttl: 300 });
    await a.call('irn_publish', { topic: topic(t + 1), message: 'not acked', ttl: 300 });

    const b1 = await client(key);
    await b1.call('irn_subscribe', { topic: topic(t) });
    await b1.waitForPushes(1); // acknowledged automatically
    b1.autoAck = false;
    await b1.call('irn_subscribe', { topic: topic(t + 1) });
    await b1.waitForPushes(2);
    await barrier(b1); // the ack of the first push has been processed
    await b1.close();

    // The same client (same key) reconnects, as a 2.x client does, and subscribes again.
    const b2 = await client(key);
    await b2.call('irn_batchSubscribe', { topics: [topic(t), topic(t + 1)] });
    await barrier(b2);
    expect(b2.pushes.map((p) => p.params.data.message)).toEqual(['not acked']);
  });

  it('drops a message when its TTL passes', async () => {
    const a = await client();
    await a.call('irn_publish', { topic: topic(t), message: 'short', ttl: 10 });
    await a.call('irn_publish', { topic: topic(t), message: 'long', ttl: 60 });
    expect(relay.core.mailboxes.size(topic(t))).toBe(2);
    clock += 10_000; // exactly the TTL: expired
    const b = await client();
    await b.call('irn_subscribe', { topic: topic(t) });
    await barrier(b);
    expect(b.pushes.map((p) => p.params.data.message)).toEqual(['long']);
    clock += 50_000;
    relay.core.sweep();
    expect(relay.core.mailboxes.size(topic(t))).toBe(0);
  });

  it('stops pushing after irn_unsubscribe with the client-side subscription id', async () => {
    const a = await client();
    const b = await client();
    const id = await b.call('irn_subscribe', { topic: topic(t) });
    // Another client's id for the topic removes nothing.
    await b.call('irn_unsubscribe', { topic: topic(t), id: subscriptionId(topic(t), a.clientId) });
    await a.call('irn_publish', { topic: topic(t), message: 'one', ttl: 300 });
    await b.waitForPushes(1);
    expect(await b.call('irn_unsubscribe', { topic: topic(t), id })).toBe(true);
    await a.call('irn_publish', { topic: topic(t), message: 'two', ttl: 300 });
    await barrier(b);
    expect(b.pushes.map((p) => p.params.data.message)).toEqual(['one']);
  });

  it('fetches the backlog in pages with hasMore, once', async () => {
    const a = await client();
    for (const m of ['m1', 'm2', 'm3'])
      await a.call('irn_publish', { topic: topic(t), message: m, ttl: 300 });
    const b = await client();
    const page1 = (await b.call('irn_batchFetchMessages', { topics: [topic(t)] })) as {
      messages: { message: string; tag: number }[];
      hasMore: boolean;
    };
    expect(page1.messages.map((m) => m.message)).toEqual(['m1', 'm2']);
    expect(page1.hasMore).toBe(true);
    const page2 = (await b.call('irn_fetchMessages', { topic: topic(t) })) as typeof page1;
    expect(page2).toEqual({ messages: [expect.objectContaining({ message: 'm3', tag: 0 })], hasMore: false });
    expect(await b.call('irn_fetchMessages', { topic: topic(t) })).toEqual({ messages: [], hasMore: false });
  });

  it('stores a retried identical publish once', async () => {
    const a = await client();
    await a.call('irn_batchPublish', {
      messages: [
        { topic: topic(t), message: 'same', ttl: 300 },
        { topic: topic(t), message: 'same', ttl: 300 },
      ],
    });
    expect(relay.core.mailboxes.size(topic(t))).toBe(1);
  });
});

describe('wc-relay caps', () => {
  it('refuses a subscription past the per-socket cap, and a batch that does not fit whole', async () => {
    const c = await client();
    await c.call('irn_batchSubscribe', { topics: [topic(t), topic(t + 1)] });
    const over = await c.request('irn_batchSubscribe', { topics: [topic(t + 2), topic(t + 3)] });
    expect(over.error).toMatchObject({ code: WC_RELAY_ERRORS.TOO_MANY_TOPICS });
    await c.call('irn_subscribe', { topic: topic(t + 2) }); // nothing of the refused batch was taken
    await c.call('irn_subscribe', { topic: topic(t) }); // an existing subscription is fine
    const fourth = await c.request('irn_subscribe', { topic: topic(t + 3) });
    expect(fourth.error).toEqual({
      code: WC_RELAY_ERRORS.TOO_MANY_TOPICS,
      message: 'a socket may hold 3 subscriptions',
    });
  });

  it('refuses a publish to a full mailbox and keeps what it holds', async () => {
    const a = await client();
    for (const m of ['1', '2', '3']) await a.call('irn_publish', { topic: topic(t), message: m, ttl: 300 });
    const full = await a.request('irn_publish', { topic: topic(t), message: '4', ttl: 300 });
    expect(full.error).toEqual({
      code: WC_RELAY_ERRORS.MAILBOX_FULL,
      message: 'topic mailbox holds 3 messages',
    });
    const b = await client();
    await b.call('irn_subscribe', { topic: topic(t) });
    await barrier(b);
    expect(b.pushes.map((p) => p.params.data.message)).toEqual(['1', '2', '3']);
  });
});

describe('wc-relay memory bound', () => {
  it('refuses a publish past the relay-wide character budget until messages expire', async () => {
    let now = Date.now();
    const small = await startWcRelay({ now: () => now, limits: { maxStoredChars: 10 } });
    try {
      const a = await RelayClient.connect(small.url);
      await a.call('irn_publish', { topic: topic(1), message: 'x'.repeat(6), ttl: 10 });
      const over = await a.request('irn_publish', { topic: topic(2), message: 'y'.repeat(5), ttl: 10 });
      expect(over.error).toEqual({
        code: WC_RELAY_ERRORS.MAILBOX_FULL,
        message: 'the relay holds 10 characters of messages',
      });
      expect(small.core.mailboxes.chars).toBe(6);
      now += 10_000; // the first message expires and frees its share
      expect(await a.call('irn_publish', { topic: topic(2), message: 'y'.repeat(5), ttl: 10 })).toBe(true);
      expect(small.core.mailboxes.chars).toBe(5);
      await a.close();
    } finally {
      await small.close();
    }
  });
});
