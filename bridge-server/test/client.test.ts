/** Client behaviour: reconnect with backoff, resend, dedupe, redelivery, displacement, presence, ping. */
import { describe, expect, it } from 'vitest';
import { type BridgeClientError, type DeliveredMessage, SeenCache } from '../src/client/client.ts';
import { authed, client, device, idOf, testBridge, until } from './helpers.ts';

describe('bridge client', () => {
  it('reconnects after the relay drops it, resends unaccepted sends and catches up', async () => {
    const b = await testBridge();
    const A = device('cA');
    const B = device('cB');
    const ca = client(b, A);
    const cb = client(b, B);
    const states: string[] = [];
    ca.on('state', (s) => states.push(s));
    await Promise.all([ca.connect(), cb.connect()]);
    const s = await ca.createSession('sign', [idOf(A), idOf(B)]);
    const got: DeliveredMessage[] = [];
    cb.on('message', (m) => got.push(m));
    // Kill every socket on the relay side; then send while A is reconnecting.
    const conns = (b.relay as unknown as { conns: Set<{ ws: { terminate(): void } }> }).conns;
    for (const c of conns) c.ws.terminate();
    const p = ca.send({
      sid: s.sid,
      to: idOf(B),
      tag: 't',
      msgId: 'during-outage',
      envelope: new Uint8Array([1, 2]),
    });
    await p;
    await until(() => got.length === 1);
    expect(got[0]!.msgId).toBe('during-outage');
    expect(states).toContain('reconnecting');
    ca.close();
    cb.close();
    await b.close();
  });

  it('join consents to a session and leave refuses one: the relay then drops its messages and refuses sends to it', async () => {
    const b = await testBridge({ limits: { maxUnjoinedMailboxMessages: 1 } });
    const A = device('jlA');
    const B = device('jlB');
    const ca = client(b, A);
    const cb = client(b, B, { autoAck: false });
    await Promise.all([ca.connect(), cb.connect()]);
    const s1 = await ca.createSession('sign', [idOf(A), idOf(B)]);
    const s2 = await ca.createSession('sign', [idOf(A), idOf(B)]);
    const env = new Uint8Array([1]);
    await ca.send({ sid: s1.sid, to: idOf(B), tag: 't', msgId: 'a', envelope: env });
    // B has joined neither: the unjoined share (1 here) is full.
    await expect(
      ca.send({ sid: s2.sid, to: idOf(B), tag: 't', msgId: 'b', envelope: env }),
    ).rejects.toMatchObject({
      code: 'MAILBOX_FULL',
      extra: { limit: 'unjoined_messages' },
    });
    await cb.join(s2.sid);
    await ca.send({ sid: s2.sid, to: idOf(B), tag: 't', msgId: 'b2', envelope: env });
    await cb.leave(s1.sid);
    expect(cb.knownSessions().map((x) => x.sid)).toEqual([s2.sid]);
    expect((await b.store.mailboxStats(idOf(B))).messages).toBe(1);
    await expect(
      ca.send({ sid: s1.sid, to: idOf(B), tag: 't', msgId: 'c', envelope: env }),
    ).rejects.toMatchObject({
      code: 'NOT_A_MEMBER',
    });
    await expect(cb.leave(s1.sid)).rejects.toMatchObject({ code: 'NOT_A_MEMBER' });
    ca.close();
    cb.close();
    await b.close();
  });

  it('drops redeliveries before the application (dedupe) and re-acks them', async () => {
    const b = await testBridge({ limits: { redeliverAfterMs: 100 } });
    const A = device('dA');
    const B = device('dB');
    const ca = client(b, A);
    const cb = client(b, B, { autoAck: false });
    await Promise.all([ca.connect(), cb.connect()]);
    const s = await ca.createSession('sign', [idOf(A), idOf(B)]);
    const got: DeliveredMessage[] = [];
    cb.on('message', (m) => got.push(m));
    await ca.send({ sid: s.sid, to: idOf(B), tag: 't', msgId: 'x', envelope: new Uint8Array([1]) });
    await until(() => got.length === 1);
    // Not acked: the relay redelivers after 100 ms; the client must not surface it again.
    const deliveries = async () =>
      Number(
        /_total (\d+)/.exec(
          await b.metrics.registry.getSingleMetricAsString('concord_bridge_deliveries_total'),
        )?.[1],
      );
    for (let i = 0; i < 100 && (await deliveries()) < 2; i++) await new Promise((r) => setTimeout(r, 20));
    expect(await deliveries()).toBeGreaterThanOrEqual(2);
    expect(got).toHaveLength(1);
    cb.ack(got[0]!.seq);
    await until(async () => (await b.store.mailboxStats(idOf(B))).messages === 0);
    ca.close();
    cb.close();
    await b.close();
  });

  it('a newer connection of the same device displaces the older, which stops reconnecting', async () => {
    const b = await testBridge();
    const A = device('xA');
    const first = client(b, A);
    await first.connect();
    const errors: BridgeClientError[] = [];
    first.on('error', (e) => errors.push(e));
    const second = client(b, A);
    await second.connect();
    await until(() => first.state === 'closed');
    expect(errors.map((e) => e.code)).toContain('DISPLACED');
    expect(second.state).toBe('ready');
    second.close();
    await b.close();
  });

  it('emits presence for session members and pings while a session is active', async () => {
    const b = await testBridge();
    const A = device('pA');
    const B = device('pB');
    const ca = client(b, A, { pingIntervalMs: 50 });
    await ca.connect();
    const pres: { deviceId: string; online: boolean }[] = [];
    ca.on('presence', (p) => pres.push(p));
    await ca.createSession('dkg', [idOf(A), idOf(B)]);
    const rb = await authed(b, B);
    await until(() => pres.some((p) => p.deviceId === idOf(B) && p.online));
    rb.close();
    await until(() => pres.some((p) => p.deviceId === idOf(B) && !p.online));
    await new Promise((r) => setTimeout(r, 200));
    const frames = await b.metrics.registry.getSingleMetricAsString('concord_bridge_frames_total');
    const pings = Number(/type="ping"} (\d+)/.exec(frames)?.[1] ?? 0);
    expect(pings).toBeGreaterThanOrEqual(2);
    ca.close();
    await b.close();
  });

  it('rejects definitive send failures with the relay code', async () => {
    const b = await testBridge();
    const A = device('eA');
    const ca = client(b, A);
    await ca.connect();
    await expect(
      ca.send({
        sid: 'A'.repeat(22),
        to: idOf(device('eB')),
        tag: 't',
        msgId: 'm',
        envelope: new Uint8Array([1]),
      }),
    ).rejects.toMatchObject({ code: 'SESSION_NOT_FOUND' });
    ca.close();
    await b.close();
  });

  it('SeenCache is a bounded TTL LRU', () => {
    let now = 0;
    const c = new SeenCache(2, 100, () => now);
    expect(c.checkAndAdd('a')).toBe(false);
    expect(c.checkAndAdd('a')).toBe(true);
    c.checkAndAdd('b');
    c.checkAndAdd('c');
    expect(c.size).toBe(2);
    expect(c.checkAndAdd('a')).toBe(false); // evicted
    now = 1000;
    expect(c.checkAndAdd('c')).toBe(false); // expired
  });
});
