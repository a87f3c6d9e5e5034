/**
 * THREATS B44: the bridge restarts mid-session on its SQLite store. Clients reconnect, resend what
 * was not accepted, catch up on what was stored; nothing acknowledged is lost and no message
 * reaches the application twice.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { seededRandom } from '@concord/tss/testing';
import { EnvelopeSession, publicIdentity } from '@concord/tss/transport';
import { afterAll, describe, expect, it } from 'vitest';
import { SecureBridgeSession, type SecureMessage } from '../src/client/secure-session.ts';
import { client, device, idOf, type TestBridge, testBridge, until } from './helpers.ts';

const dir = mkdtempSync(join(tmpdir(), 'concord-restart-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('THREATS B44: relay restart mid-session (SQLite)', () => {
  it('clients reconnect and catch up; nothing acked is lost; nothing is delivered twice', async () => {
    const A = device('restart-A');
    const B = device('restart-B');
    let bridge: TestBridge = await testBridge({ store: 'sqlite', dataDir: dir });
    const port = bridge.port;
    const ca = client(bridge, A);
    const cb = client(bridge, B);
    await Promise.all([ca.connect(), cb.connect()]);
    const info = await ca.createSession('dkg', [idOf(A), idOf(B)]);
    const peers = [A, B].map(publicIdentity);
    const ea = new EnvelopeSession({ identity: A, sid: info.sid, peers, rng: seededRandom('ra') });
    const eb = new EnvelopeSession({ identity: B, sid: info.sid, peers, rng: seededRandom('rb') });
    const got: string[] = [];
    const rejected: string[] = [];
    const sa = new SecureBridgeSession(ca, ea, () => {});
    new SecureBridgeSession(
      cb,
      eb,
      (m: SecureMessage) => got.push(m.header.msgId),
      (r) => rejected.push(r.code),
    );
    const pt = (i: number) => new Uint8Array([i]);

    // Phase 1: m1..m3 delivered and acked live.
    for (let i = 1; i <= 3; i++) await sa.send(B.deviceId, 'dkg/r1', `m${i}`, pt(i));
    await until(() => got.length === 3);
    await until(async () => (await bridge.store.mailboxStats(idOf(B))).messages === 0);

    // Phase 2: B goes quiet (no acks: autoAck would ack, so stop B's socket instead) and A sends m4, m5.
    cb.close();
    for (let i = 4; i <= 5; i++) await sa.send(B.deviceId, 'dkg/r1', `m${i}`, pt(i));
    expect((await bridge.store.mailboxStats(idOf(B))).messages).toBe(2);

    // Phase 3: restart. While it is down, A queues m6 (not yet accepted: stays in A's outbox).
    await bridge.close();
    const m6 = sa.send(B.deviceId, 'dkg/r1', 'm6', pt(6));
    expect(ca.unacknowledgedSends).toBe(1);
    bridge = await testBridge({ store: 'sqlite', dataDir: dir, port });
    // A reconnects by itself and resends m6.
    await m6;
    expect(ca.state).toBe('ready');

    // B comes back as a fresh client process (empty dedupe cache) with the same envelope session.
    const cb2 = client(bridge, B);
    new SecureBridgeSession(
      cb2,
      eb,
      (m: SecureMessage) => got.push(m.header.msgId),
      (r) => rejected.push(r.code),
    );
    await cb2.connect();
    await until(() => got.length === 6);
    // Resending an already delivered id after the restart is a no-op on the relay.
    const again = await ca.send({
      sid: info.sid,
      to: idOf(B),
      tag: 'dkg/r1',
      msgId: 'm9',
      envelope: ea.seal({ to: B.deviceId, tag: 'dkg/r1', msgId: 'm9' }, pt(9)),
    });
    await until(() => got.length === 7);
    await until(async () => (await bridge.store.mailboxStats(idOf(B))).messages === 0);
    expect(again.seq).toBeGreaterThan(5); // per-recipient seq survived the restart
    await new Promise((r) => setTimeout(r, 100));
    expect(got).toEqual(['m1', 'm2', 'm3', 'm4', 'm5', 'm6', 'm9']);
    expect(rejected).toEqual([]);
    ca.close();
    cb2.close();
    await bridge.close();
  });
});
