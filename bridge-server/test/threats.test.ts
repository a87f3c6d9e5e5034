/**
 * THREATS.md part B (31–41) against a real `ws` relay on 127.0.0.1 with a random port.
 * B42/B43 live in tss/test/transport; B44 (restart) in restart.test.ts.
 */

import { toHex } from '@concord/tss/bytes';
import { seededRandom } from '@concord/tss/testing';
import { EnvelopeSession, encodeDeviceIdentity, publicIdentity } from '@concord/tss/transport';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Rejection, SecureBridgeSession, type SecureMessage } from '../src/client/secure-session.ts';
import { b64uEncode } from '../src/protocol/base64url.ts';
import { authed, client, device, idOf, Raw, sleep, type TestBridge, testBridge, until } from './helpers.ts';

const A = device('A');
const B = device('B');
const C = device('C');
const M = device('mallory');

describe('THREATS B31: authentication', () => {
  let b: TestBridge;
  let clock = 1_000_000;
  beforeAll(async () => {
    b = await testBridge({ now: () => clock, limits: { authTimeoutMs: 300, challengeTtlMs: 10_000 } });
  });
  afterAll(() => b.close());

  it('a frame before auth is refused and the socket closed (no anonymous path)', async () => {
    const r = await Raw.open(b.url);
    r.send({ t: 'ping', rid: 'p' });
    const e = await r.next('error');
    expect(e.code).toBe('UNAUTHORIZED');
    expect(await r.closed).toBe(4401);
  });

  it('an expired challenge is refused', async () => {
    const r = await Raw.open(b.url);
    await until(() => r.frames.length > 0);
    clock += 10_001;
    const f = await r.auth(A, b.origin);
    expect(f).toMatchObject({ t: 'error', code: 'UNAUTHORIZED', message: 'challenge expired' });
    expect(await r.closed).toBe(4401);
  });

  it('a signature by another key is refused', async () => {
    const r = await Raw.open(b.url);
    const f = await r.auth(A, b.origin, M);
    expect(f).toMatchObject({ t: 'error', code: 'UNAUTHORIZED' });
    expect(await r.closed).toBe(4401);
  });

  it('a signature bound to another relay origin is refused', async () => {
    const r = await Raw.open(b.url);
    const f = await r.auth(A, 'wss://other-relay.example');
    expect(f).toMatchObject({ t: 'error', code: 'UNAUTHORIZED' });
  });

  it('the challenge is single use', async () => {
    const r = await Raw.open(b.url);
    const ch = await r.next('challenge');
    r.frames.push(ch); // let auth() read it
    expect((await r.auth(A, b.origin)).t).toBe('welcome');
    // Replaying the same auth frame on a new connection (new challenge) fails.
    const r2 = await Raw.open(b.url);
    await r2.next('challenge');
    const { authMessage } = await import('../src/protocol/auth.ts');
    const { b64uDecode } = await import('../src/protocol/base64url.ts');
    const sig = A.sign(authMessage(b.origin, b64uDecode(ch.nonce), A.deviceId));
    r2.send({ t: 'auth', rid: 'x', deviceId: idOf(A), sig: b64uEncode(sig) });
    expect((await r2.next('error')).code).toBe('UNAUTHORIZED');
    r.close();
  });

  it('no auth within the timeout closes with AUTH_TIMEOUT', async () => {
    const r = await Raw.open(b.url);
    expect(await r.closed).toBe(4408);
  });

  it('upgrade without the protocol version or from a foreign origin is refused', async () => {
    await expect(Raw.open(b.url, { protocol: null })).rejects.toThrow(/426/);
    await expect(Raw.open(b.url, { protocol: 'concord-bridge.v0' })).rejects.toThrow();
    const strict = await testBridge({
      allowedOrigins: ['chrome-extension://abc'],
      allowMissingOrigin: false,
    });
    try {
      await expect(Raw.open(strict.url, { origin: 'https://evil.test' })).rejects.toThrow(/403/);
      await expect(Raw.open(strict.url)).rejects.toThrow(/403/);
      const ok = await Raw.open(strict.url, { origin: 'chrome-extension://abc' });
      ok.close();
    } finally {
      await strict.close();
    }
  });
});

describe('THREATS B32–B37: sessions, spoofing, replay, tampering, injection, squatting', () => {
  let b: TestBridge;
  beforeAll(async () => {
    b = await testBridge();
  });
  afterAll(() => b.close());

  it('B32: guessed session ids and non-members are refused; non-members see no presence', async () => {
    const a = await authed(b, A);
    const m = await authed(b, M);
    a.send({ t: 'create_session', rid: 'c', kind: 'dkg', members: [idOf(A), idOf(B)] });
    const { session } = await a.next('session');
    expect(b64uEncode(new Uint8Array(16)).length).toBe(session.sid.length); // 128-bit ids
    m.send({ t: 'join', rid: 'j1', sid: b64uEncode(seededRandom('guess')(16)) });
    expect((await m.next('error')).code).toBe('SESSION_NOT_FOUND');
    m.send({ t: 'join', rid: 'j2', sid: session.sid });
    expect((await m.next('error')).code).toBe('NOT_A_MEMBER');
    m.send({ t: 'fetch', rid: 'f', sid: session.sid, afterSeq: 0 });
    expect((await m.next('error')).code).toBe('NOT_A_MEMBER');
    m.send({
      t: 'send',
      rid: 's',
      v: 1,
      sid: session.sid,
      from: idOf(M),
      to: idOf(A),
      tag: 't',
      msgId: 'x',
      ct: 'AAAA',
    });
    expect((await m.next('error')).code).toBe('NOT_A_MEMBER');
    const bb = await authed(b, B);
    await a.next('presence', (p) => p.deviceId === idOf(B) && p.online);
    await sleep(50);
    expect(m.frames.filter((f) => f.t === 'presence')).toEqual([]);
    a.close();
    bb.close();
    m.close();
  });

  it('B33: a frame claiming another sender is refused by the relay', async () => {
    const a = await authed(b, A);
    const bb = await authed(b, B);
    a.send({ t: 'create_session', rid: 'c', kind: 'sign', members: [idOf(A), idOf(B), idOf(C)] });
    const { session } = await a.next('session');
    a.send({
      t: 'send',
      rid: 's',
      v: 1,
      sid: session.sid,
      from: idOf(C),
      to: idOf(B),
      tag: 't',
      msgId: 'x',
      ct: 'AAAA',
    });
    const e = await a.next('error');
    expect(e).toMatchObject({ code: 'NOT_A_MEMBER', rid: 's' });
    await sleep(50);
    expect(bb.frames.filter((f) => f.t === 'deliver')).toEqual([]);
    a.close();
    bb.close();
  });

  /** A, B, C in one session with E2E glue; returns receiver-side records. */
  async function trio(kind: 'dkg' | 'sign' = 'dkg') {
    const peers = [A, B, C].map(publicIdentity);
    const [ca, cb, cc] = [A, B, C].map((d) => client(b, d));
    await Promise.all([ca!.connect(), cb!.connect(), cc!.connect()]);
    const info = await ca!.createSession(kind, [idOf(A), idOf(B), idOf(C)]);
    const env = (d: typeof A, seed: string) =>
      new EnvelopeSession({ identity: d, sid: info.sid, peers, rng: seededRandom(seed + info.sid) });
    const got: SecureMessage[] = [];
    const rejected: Rejection[] = [];
    const sa = new SecureBridgeSession(ca!, env(A, 'a'), () => {});
    const sb = new SecureBridgeSession(
      cb!,
      env(B, 'b'),
      (m) => got.push(m),
      (r) => rejected.push(r),
    );
    const sc = new SecureBridgeSession(cc!, env(C, 'c'), () => {});
    const close = () => {
      for (const c of [ca, cb, cc]) c!.close();
    };
    return { ca: ca!, cb: cb!, cc: cc!, sa, sb, sc, info, got, rejected, env, close };
  }

  it('B33: the receiver rejects an envelope whose signed sender differs from the transport sender', async () => {
    const t = await trio();
    // C (a member) forwards an envelope that A sealed for B, under C's own authenticated identity.
    const eA = t.env(A, 'a2');
    const stolen = eA.seal({ to: B.deviceId, tag: 'dkg/r1', msgId: 'r1-A-B' }, new Uint8Array([1, 2, 3]));
    await t.cc.send({ sid: t.info.sid, to: idOf(B), tag: 'dkg/r1', msgId: 'r1-A-B', envelope: stolen });
    await until(() => t.rejected.length === 1);
    expect(t.rejected[0]!.code).toBe('ROUTING_MISMATCH');
    expect(t.got).toEqual([]);
    t.close();
  });

  it('B34/B36: replay into another session and cross-session injection are rejected by the receiver', async () => {
    const t = await trio();
    const other = await t.ca.createSession('dkg', [idOf(A), idOf(B), idOf(C)]);
    // An envelope sealed for session `other`, injected into session t.info (relay or A re-routing it).
    const eOther = new EnvelopeSession({
      identity: A,
      sid: other.sid,
      peers: [A, B, C].map(publicIdentity),
      rng: seededRandom('o'),
    });
    const env = eOther.seal({ to: B.deviceId, tag: 'dkg/r1', msgId: 'm1' }, new Uint8Array([9]));
    await t.ca.send({ sid: t.info.sid, to: idOf(B), tag: 'dkg/r1', msgId: 'm1', envelope: env });
    await until(() => t.rejected.length === 1);
    expect(t.rejected[0]!.code).toBe('SESSION_MISMATCH');
    // Replay in the same session under a fresh outer msgId (the relay sees a new message): the
    // receiver's replay guard catches it; the legitimate first copy is accepted once.
    const good = t.env(A, 'a3').seal({ to: B.deviceId, tag: 'dkg/r2', msgId: 'm2' }, new Uint8Array([7]));
    await t.ca.send({ sid: t.info.sid, to: idOf(B), tag: 'dkg/r2', msgId: 'm2', envelope: good });
    await until(() => t.got.length === 1);
    await t.ca.send({ sid: t.info.sid, to: idOf(B), tag: 'dkg/r2', msgId: 'm2-again', envelope: good });
    await until(() => t.rejected.length === 2);
    expect(t.rejected[1]!.code).toBe('REPLAYED_MESSAGE');
    expect(t.got).toHaveLength(1);
    t.close();
  });

  it('B35: one flipped ciphertext bit is rejected with a specific code and logged without payload', async () => {
    const t = await trio();
    const env = t
      .env(A, 'a4')
      .seal({ to: B.deviceId, tag: 'dkg/r1', msgId: 'flip' }, new Uint8Array(64).fill(0x41));
    env[env.length - 80] = env[env.length - 80]! ^ 0x01; // inside the ciphertext
    await t.ca.send({ sid: t.info.sid, to: idOf(B), tag: 'dkg/r1', msgId: 'flip', envelope: env });
    await until(() => t.rejected.length === 1);
    const r = t.rejected[0]!;
    expect(r.code).toBe('SIGNATURE_INVALID');
    const logged = JSON.stringify(r);
    expect(logged).not.toContain(b64uEncode(env).slice(40, 80));
    expect(logged).not.toContain('AAAA');
    expect(Object.keys(r).sort()).toEqual(['code', 'from', 'msgId', 'seq', 'sid']);
    t.close();
  });

  it('B37: another member cannot squat my msgId; same id + same body is idempotent; different body conflicts', async () => {
    const t = await trio();
    const predicted = 'dkg.r1.A-B';
    // C publishes garbage under A's predictable id first.
    await t.cc.send({
      sid: t.info.sid,
      to: idOf(B),
      tag: 'dkg/r1',
      msgId: predicted,
      envelope: new Uint8Array(40),
    });
    const first = await t.sa.send(B.deviceId, 'dkg/r1', predicted, new Uint8Array([1]));
    expect(first.duplicate).toBe(false);
    await until(() => t.got.length === 1);
    expect(t.got[0]!.header.msgId).toBe(predicted);
    expect(t.rejected.map((r) => r.code)).toEqual(['DECODE_FAILED']); // C's garbage
    // Raw resend: same body → same seq; different body → DUPLICATE_CONFLICT.
    const a = await authed(b, A);
    const frame = {
      t: 'send',
      v: 1,
      sid: t.info.sid,
      from: idOf(A),
      to: idOf(B),
      tag: 't',
      msgId: 'idem',
      ct: 'AAAA',
    };
    a.send({ ...frame, rid: 'r1' });
    const acc1 = await a.next('accepted');
    a.send({ ...frame, rid: 'r2' });
    const acc2 = await a.next('accepted');
    expect(acc2).toMatchObject({ seq: acc1.seq, duplicate: true });
    a.send({ ...frame, rid: 'r3', ct: 'BBBB' });
    expect(await a.next('error')).toMatchObject({ code: 'DUPLICATE_CONFLICT', rid: 'r3' });
    a.close();
    t.close();
  });
});

describe('THREATS B38–B40: malformed input, flooding, caps', () => {
  let b: TestBridge;
  let clock = 5_000_000;
  beforeAll(async () => {
    b = await testBridge({
      now: () => clock,
      limits: {
        maxPayloadBytes: 64 * 1024,
        maxCiphertextChars: 16 * 1024,
        deviceRate: { ratePerSec: 20, burst: 20 },
        rateLimitStrikes: 30,
        maxSessionsPerDevice: 2,
        maxMembersPerSession: 3,
        maxMailboxMessages: 3,
        maxInvalidFrames: 5,
      },
    });
  });
  afterAll(() => b.close());

  it('B38: oversized, malformed, binary and deeply nested frames are rejected; the server keeps serving', async () => {
    const other = await authed(b, C);
    const a = await authed(b, A);
    a.send({ t: 'create_session', rid: 'c', kind: 'dkg', members: [idOf(A), idOf(B)] });
    const { session } = await a.next('session');
    // ct over the configured ciphertext limit but under maxPayload: error, socket stays
    a.send({
      t: 'send',
      rid: 'big',
      v: 1,
      sid: session.sid,
      from: idOf(A),
      to: idOf(B),
      tag: 't',
      msgId: 'b',
      ct: 'A'.repeat(20_000),
    });
    expect(await a.next('error')).toMatchObject({ code: 'PAYLOAD_TOO_LARGE', rid: 'big' });
    a.send('{"t":"ping", rid: oops');
    expect((await a.next('error')).code).toBe('INVALID_FRAME');
    a.ws.send(new Uint8Array([1, 2, 3]));
    expect((await a.next('error')).code).toBe('INVALID_FRAME');
    a.send(`{"t":"ping","rid":"n","x":${'['.repeat(20_000)}${']'.repeat(20_000)}}`);
    expect((await a.next('error')).code).toBe('INVALID_FRAME');
    a.send(`${'['.repeat(30_000)}${']'.repeat(30_000)}`);
    expect((await a.next('error')).code).toBe('INVALID_FRAME');
    a.send({ t: 'ping', rid: 'still-alive' });
    expect((await a.next('pong')).rid).toBe('still-alive');
    // Above maxPayload: ws closes with 1009.
    a.send('x'.repeat(70 * 1024));
    expect(await a.closed).toBe(1009);
    other.send({ t: 'ping', rid: 'other' });
    expect((await other.next('pong')).rid).toBe('other');
    // Repeated invalid frames close the socket.
    const c2 = await authed(b, B);
    for (let i = 0; i < 8; i++) c2.send('nope');
    expect(await c2.closed).toBe(4400);
    other.close();
  });

  it('B39: a client flooding at 10x the limit is throttled then closed; another session is unaffected', async () => {
    const flooder = await authed(b, device('flooder'));
    const p = device('p');
    const q = device('q');
    const cp = await authed(b, p);
    const cq = await authed(b, q);
    cp.send({ t: 'create_session', rid: 'c', kind: 'sign', members: [idOf(p), idOf(q)] });
    const { session } = await cp.next('session');
    for (let i = 0; i < 200; i++) flooder.send({ t: 'ping', rid: `f${i}` }); // 10x the burst of 20
    const e = await flooder.next('error');
    expect(e.code).toBe('RATE_LIMITED');
    expect(e.retryAfterMs).toBeGreaterThan(0);
    expect(await flooder.closed).toBe(1008);
    cp.send({
      t: 'send',
      rid: 's',
      v: 1,
      sid: session.sid,
      from: idOf(p),
      to: idOf(q),
      tag: 't',
      msgId: 'm',
      ct: 'AAAA',
    });
    expect((await cp.next('accepted')).rid).toBe('s');
    expect((await cq.next('deliver')).msgId).toBe('m');
    const metrics = await b.metrics.registry.getSingleMetricAsString('concord_bridge_rate_limited_total');
    expect(metrics).toMatch(/scope="device"} \d+/);
    cp.close();
    cq.close();
  });

  it('B40: caps on sessions per device, members per session and mailbox size; idle sessions expire', async () => {
    const d = device('capper');
    const x = device('x');
    const y = device('y');
    const z = device('z');
    const c = await authed(b, d);
    c.send({ t: 'create_session', rid: 'm', kind: 'dkg', members: [idOf(d), idOf(x), idOf(y), idOf(z)] });
    expect(await c.next('error')).toMatchObject({ code: 'MAILBOX_FULL', limit: 'members_per_session' });
    c.send({ t: 'create_session', rid: 's1', kind: 'dkg', members: [idOf(d), idOf(x)], ttlMs: 60_000 });
    const { session } = await c.next('session');
    c.send({ t: 'create_session', rid: 's2', kind: 'dkg', members: [idOf(d), idOf(x)] });
    await c.next('session');
    c.send({ t: 'create_session', rid: 's3', kind: 'dkg', members: [idOf(d), idOf(x)] });
    expect(await c.next('error')).toMatchObject({ code: 'MAILBOX_FULL', limit: 'sessions_per_device' });
    // x is offline: its mailbox fills at 3
    for (let i = 0; i < 4; i++) {
      c.send({
        t: 'send',
        rid: `m${i}`,
        v: 1,
        sid: session.sid,
        from: idOf(d),
        to: idOf(x),
        tag: 't',
        msgId: `m${i}`,
        ct: 'AAAA',
      });
    }
    for (let i = 0; i < 3; i++) await c.next('accepted', (f) => f.rid === `m${i}`);
    expect(await c.next('error')).toMatchObject({
      code: 'MAILBOX_FULL',
      limit: 'mailbox_messages',
      rid: 'm3',
    });
    // TTL: after 60 s the session is gone (sweeper), and its messages with it.
    clock += 61_000;
    b.relay.sweep();
    expect(await b.store.getSession(session.sid)).toBeUndefined();
    expect((await b.store.mailboxStats(idOf(x))).messages).toBe(0);
    c.send({ t: 'join', rid: 'j', sid: session.sid });
    expect((await c.next('error')).code).toBe('SESSION_NOT_FOUND');
    c.close();
  });
});

describe('THREATS B41: logs contain no ciphertext, keys or signatures', () => {
  it('captured pino logs do not contain known secret or payload bytes', async () => {
    const b = await testBridge({ logLevel: 'trace' });
    const peers = [A, B].map(publicIdentity);
    const ca = client(b, A);
    const cb = client(b, B);
    await Promise.all([ca.connect(), cb.connect()]);
    const info = await ca.createSession('sign', [idOf(A), idOf(B)]);
    const ea = new EnvelopeSession({ identity: A, sid: info.sid, peers, rng: seededRandom('l') });
    const eb = new EnvelopeSession({ identity: B, sid: info.sid, peers, rng: seededRandom('m') });
    const got: SecureMessage[] = [];
    new SecureBridgeSession(cb, eb, (m) => got.push(m));
    const sa = new SecureBridgeSession(ca, ea, () => {});
    const secretPlain = new TextEncoder().encode('SECRET-PLAINTEXT-share-0123456789');
    await sa.send(B.deviceId, 'sign/r1', 'm1', secretPlain);
    // and some garbage + a conflict to exercise error paths
    await ca
      .send({ sid: info.sid, to: idOf(B), tag: 'x', msgId: 'm1', envelope: new Uint8Array(48).fill(7) })
      .catch(() => {});
    await until(() => got.length === 1);
    ca.close();
    cb.close();
    await b.close();
    const env = ea.seal({ to: B.deviceId, tag: 'sign/r1', msgId: 'probe' }, secretPlain);
    const logs = b.logs.join('\n');
    expect(logs.length).toBeGreaterThan(200);
    const needles = [
      b64uEncode(env).slice(-60), // signature/ct region, base64url
      toHex(env).slice(-60),
      b64uEncode(new Uint8Array(48).fill(7)).slice(0, 20),
      'SECRET-PLAINTEXT',
      idOf(A), // full device ids (public keys) are never logged, only 8-char prefixes
      toHex(A.deviceId),
      toHex(encodeDeviceIdentity(A).subarray(2, 34)),
      b64uEncode(encodeDeviceIdentity(A).subarray(2, 34)),
    ];
    for (const n of needles) expect(logs).not.toContain(n);
    expect(logs).not.toMatch(/"ct"|"sig"|remoteAddress/);
  });
});
