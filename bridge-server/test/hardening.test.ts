/**
 * Relay hardening against a hostile client (THREATS B31–B41, as found by a hostile-client review):
 * each finding gets its own block, asserting the refusal or the bounded work (counts, bytes, store
 * calls), never a time. Real `ws` relay on 127.0.0.1 with a random port.
 */

import type { DeviceIdentity } from '@concord/tss/transport';
import { ed25519 } from '@noble/curves/ed25519.js';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type WebSocket from 'ws';
import { b64uEncode } from '../src/protocol/base64url.ts';
import { limitsFor, PROFILES } from '../src/relay/config.ts';
import { Connection } from '../src/relay/connection.ts';
import { RelayCore } from '../src/relay/core.ts';
import { strictPoint } from '../src/relay/ed25519-check.ts';
import { createMetrics } from '../src/relay/metrics.ts';
import { MemoryStore } from '../src/relay/store/memory.ts';
import type { AckBatch, StoredMessage } from '../src/relay/store/types.ts';
import { authed, device, idOf, Raw, type TestBridge, testBridge, until } from './helpers.ts';

function sendFrame(sid: string, from: DeviceIdentity, to: DeviceIdentity, msgId: string, ct = 'AAAA') {
  return { t: 'send', rid: msgId, v: 1, sid, from: idOf(from), to: idOf(to), tag: 't', msgId, ct };
}

const P = 2n ** 255n - 19n;

function le32(n: bigint, signBit = false): Uint8Array {
  const out = new Uint8Array(32);
  for (let i = 0; i < 32; i++) out[i] = Number((n >> BigInt(8 * i)) & 0xffn);
  if (signBit) out[31]! |= 0x80;
  return out;
}

/** The eight points of order dividing 8, canonically encoded. */
function torsion(): Uint8Array[] {
  const g8 = ed25519.Point.fromHex('26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05');
  const out: Uint8Array[] = [ed25519.Point.ZERO.toBytes()];
  let q = g8;
  for (let i = 1; i < 8; i++) {
    out.push(q.toBytes());
    q = q.add(g8);
  }
  return out;
}

/** Non-canonical encodings: y ≥ p (y = p … p+18 with either sign bit) and x = 0 with the sign bit. */
function nonCanonical(): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let k = 0n; k < 19n; k++) for (const s of [false, true]) out.push(le32(P + k, s));
  out.push(le32(1n, true)); // identity, x = 0 "negative"
  out.push(le32(P - 1n, true)); // (0, -1), x = 0 "negative"
  return out;
}

describe('finding 1: small-order and non-canonical Ed25519 keys and points are refused', () => {
  let b: TestBridge;
  beforeAll(async () => {
    b = await testBridge({ limits: { ipRate: { ratePerSec: 10_000, burst: 10_000 } } });
  });
  afterAll(() => b.close());

  it('the point check refuses every small-order and non-canonical encoding, accepts real keys', () => {
    for (const e of [...torsion(), ...nonCanonical()]) expect(strictPoint(e)).toBe(false);
    for (let i = 0; i < 8; i++) {
      expect(strictPoint(ed25519.getPublicKey(ed25519.utils.randomSecretKey()))).toBe(true);
    }
  });

  it('torsion R with S = 0 does not log in as any weak device id (8 keys × 8 R)', async () => {
    const weakKeys = [...torsion(), le32(P + 1n), le32(P)];
    const results: string[] = [];
    for (const key of weakKeys) {
      for (const R of torsion()) {
        const r = await Raw.open(b.url);
        await r.next('challenge');
        const sig = new Uint8Array(64);
        sig.set(R, 0); // S = 0
        r.send({ t: 'auth', rid: 'a', deviceId: b64uEncode(key), sig: b64uEncode(sig) });
        const f = await r.nextAny(['welcome', 'error']);
        results.push(f.t === 'error' ? f.code : f.t);
        r.close();
      }
    }
    expect(results).toEqual(new Array(weakKeys.length * 8).fill('UNAUTHORIZED'));
  });
});

/** A memory store that counts the work the relay asks of it. */
class CountingStore extends MemoryStore {
  ackCalls = 0;
  ackedSeqsAsked = 0;
  listCalls = 0;
  override ackMany(batches: readonly AckBatch[]): number {
    this.ackCalls++;
    for (const x of batches) this.ackedSeqsAsked += x.seqs.length;
    return super.ackMany(batches);
  }
  override listAfter(
    recipient: string,
    afterSeq: number,
    limit: number,
    now: number,
    sid?: string,
    maxChars?: number,
  ): StoredMessage[] {
    this.listCalls++;
    return super.listAfter(recipient, afterSeq, limit, now, sid, maxChars);
  }
}

const seqs1000 = (from: number) => Array.from({ length: 1000 }, (_, i) => from + i);

describe('finding 2: ack amplification', () => {
  it('acks of seqs never delivered on the connection cost the store nothing; delivered ones are acked', async () => {
    const store = new CountingStore();
    const b = await testBridge({ store, profile: 'loadtest' });
    try {
      const a = await authed(b, device('ack-a'));
      const x = await authed(b, device('ack-x'));
      const attacker = await authed(b, device('ack-attacker'));
      for (let i = 0; i < 50; i++) attacker.send({ t: 'ack', seqs: seqs1000(i * 1000 + 1) });
      attacker.send({ t: 'ping', rid: 'after' });
      await attacker.next('pong');
      expect(store.ackedSeqsAsked).toBe(0);
      // The honest path: x acks what it was delivered, and only that reaches the store.
      a.send({
        t: 'create_session',
        rid: 'c',
        kind: 'dkg',
        members: [idOf(device('ack-a')), idOf(device('ack-x'))],
      });
      const { session } = await a.next('session');
      for (let i = 0; i < 3; i++) a.send(sendFrame(session.sid, device('ack-a'), device('ack-x'), `m${i}`));
      const got = [await x.next('deliver'), await x.next('deliver'), await x.next('deliver')];
      x.send({ t: 'ack', seqs: [...got.map((d) => d.seq), ...seqs1000(5000).slice(3)] });
      x.send({ t: 'ping', rid: 'p' });
      await x.next('pong');
      expect(store.ackedSeqsAsked).toBe(3);
      expect((await b.store.mailboxStats(idOf(device('ack-x')))).messages).toBe(0);
      for (const r of [a, x, attacker]) r.close();
    } finally {
      await b.close();
    }
  });

  it('an ack is charged by the seqs it lists (1000 seqs cost 10 tokens, not 1)', async () => {
    const b = await testBridge({
      limits: { deviceRate: { ratePerSec: 1, burst: 100 }, rateLimitStrikes: 1000 },
    });
    try {
      const attacker = await authed(b, device('ack-charged'));
      for (let i = 0; i < 15; i++) attacker.send({ t: 'ack', rid: `k${i}`, seqs: seqs1000(1) });
      const e = await attacker.next('error');
      expect(e).toMatchObject({ code: 'RATE_LIMITED', rid: 'k10' });
      attacker.close();
    } finally {
      await b.close();
    }
  });
});

describe('finding 6: concurrent connections per IP are capped', () => {
  it('the connection over the per-IP cap is refused with 429; a closed one frees its place', async () => {
    const b = await testBridge({ limits: { maxConnectionsPerIp: 3 } });
    try {
      const open = [await Raw.open(b.url), await Raw.open(b.url), await Raw.open(b.url)];
      await expect(Raw.open(b.url)).rejects.toThrow(/HTTP 429/);
      expect(b.relay.connectionCount).toBe(3);
      open[0]!.close();
      await until(() => b.relay.connectionCount === 2);
      open.push(await Raw.open(b.url));
      await expect(Raw.open(b.url)).rejects.toThrow(/HTTP 429/);
      for (const r of open) r.close();
    } finally {
      await b.close();
    }
  });

  it('the default profile has a per-IP cap; the load-test profile lifts it', () => {
    expect(PROFILES.default.maxConnectionsPerIp).toBeGreaterThan(0);
    expect(PROFILES.default.maxConnectionsPerIp).toBeLessThan(PROFILES.default.maxConnections);
    expect(PROFILES.loadtest.maxConnectionsPerIp).toBeGreaterThanOrEqual(PROFILES.loadtest.maxConnections);
  });
});

describe('finding 7: no `accepted` is lost when a rate limit closes the connection', () => {
  it('every stored send was acknowledged before the 1008 close', async () => {
    const b = await testBridge({
      limits: { deviceRate: { ratePerSec: 1, burst: 40 }, rateLimitStrikes: 5 },
    });
    try {
      const A = device('rl-a');
      const B = device('rl-b');
      const a = await authed(b, A);
      a.send({ t: 'create_session', rid: 'c', kind: 'dkg', members: [idOf(A), idOf(B)] });
      const { session } = await a.next('session');
      // One burst, well past the bucket: the relay stores what the bucket allows, then closes.
      for (let i = 0; i < 200; i++) a.send(sendFrame(session.sid, A, B, `m${i}`));
      expect(await a.closed).toBe(1008);
      const stored = (await b.store.mailboxStats(idOf(B))).messages;
      const accepted = a.frames.filter((f) => f.t === 'accepted').length;
      expect(stored).toBeGreaterThan(0);
      expect(accepted).toBe(stored);
    } finally {
      await b.close();
    }
  });
});

describe('finding 5: a slow reader never gets a frame queued past the buffer limit', () => {
  /** A socket stand-in (unit test of RelayCore.sendRaw only): what was written, how it closed. */
  function fakeSocket(buffered: number) {
    const sent: string[] = [];
    const ws = {
      readyState: 1,
      bufferedAmount: buffered,
      closedWith: undefined as number | undefined,
      terminated: false,
      send(t: string) {
        sent.push(t);
        this.bufferedAmount += t.length;
      },
      close(code: number) {
        this.closedWith = code;
        this.readyState = 2;
      },
      terminate() {
        this.terminated = true;
        this.readyState = 3;
      },
    };
    return { ws, sent };
  }
  function core(maxBufferedBytes: number) {
    return new RelayCore({
      store: new MemoryStore(),
      limits: limitsFor('default', { maxBufferedBytes }),
      origin: 'ws://127.0.0.1:1',
      log: pino({ level: 'silent' }),
      metrics: createMetrics({ defaultMetrics: false }),
    });
  }

  it('a frame that would take the unsent buffer past the limit is not written; the socket is closed 4429', () => {
    const r = core(1000);
    const { ws, sent } = fakeSocket(900);
    const c = new Connection(1, ws as unknown as WebSocket, '127.0.0.1', undefined);
    r.sendRaw(c, 'x'.repeat(99)); // 999: fits
    r.sendRaw(c, 'y'.repeat(200)); // 1199: does not
    expect(sent.map((t) => t.length)).toEqual([99]);
    expect(ws.bufferedAmount).toBeLessThanOrEqual(1000);
    expect(ws.closedWith).toBe(4429);
    expect(ws.terminated).toBe(true);
  });

  it('a whole page past the limit is never queued, even on an empty buffer', () => {
    const r = core(1000);
    const { ws, sent } = fakeSocket(0);
    const c = new Connection(1, ws as unknown as WebSocket, '127.0.0.1', undefined);
    r.sendRaw(c, 'z'.repeat(5000));
    expect(sent).toEqual([]);
    expect(ws.closedWith).toBe(4429);
  });
});

describe('finding 4: re-reading unacknowledged pages is bounded and charged', () => {
  const CT = 'Q'.repeat(100_000);
  async function filled(limits: Partial<Parameters<typeof limitsFor>[1]>, now?: () => number) {
    const b = await testBridge({ limits, ...(now === undefined ? {} : { now }) });
    const S = device('fa-s');
    const R = device('fa-r');
    const s = await authed(b, S);
    s.send({ t: 'create_session', rid: 'c', kind: 'dkg', members: [idOf(S), idOf(R)] });
    const { session } = await s.next('session');
    for (let i = 0; i < 20; i++) s.send(sendFrame(session.sid, S, R, `big${i}`, CT));
    for (let i = 0; i < 20; i++) await s.next('accepted');
    s.close();
    return { b, r: await authed(b, R) };
  }
  const batchBytes = (r: Raw) =>
    r.frames.filter((f) => f.t === 'batch').reduce((n, f) => n + JSON.stringify(f).length, 0);

  it('21 fetches of the same unacked page: pages capped in bytes, re-reads charged until refused', async () => {
    const { b, r } = await filled(
      {
        fetchPageChars: 1024 * 1024,
        rereadCharsPerToken: 64 * 1024,
        deviceRate: { ratePerSec: 1, burst: 100 },
        rateLimitStrikes: 1000,
        maxCiphertextChars: 200_000,
      },
      () => 1_000_000,
    );
    try {
      // One at a time (the clock is frozen: no refill), until the relay refuses one.
      let refused: string | undefined;
      for (let i = 0; i < 21 && refused === undefined; i++) {
        r.send({ t: 'fetch', rid: `f${i}`, afterSeq: 0 });
        const answered = () =>
          r.frames.find((f) => (f.t === 'batch' || f.t === 'error') && f.rid === `f${i}`);
        await until(() => answered() !== undefined);
        const f = answered()!;
        if (f.t === 'error') refused = f.code;
      }
      expect(refused).toBe('RATE_LIMITED');
      const pages = r.frames.filter((f) => f.t === 'batch');
      for (const p of pages) expect(JSON.stringify(p).length).toBeLessThan(1024 * 1024 + 4096);
      // One free first read, then what 100 tokens buy at 64 KiB each, plus the page that ran the
      // bucket into debt; 21 pages of 2 MB (42 MB) before.
      expect(batchBytes(r)).toBeLessThanOrEqual(1024 * 1024 + 100 * 64 * 1024 + 1024 * 1024 + 21 * 4096);
      expect(pages.length).toBeLessThan(21);
      r.close();
    } finally {
      await b.close();
    }
  });

  it('an honest catch-up pages through everything once, uncharged, in byte-capped pages', async () => {
    const { b, r } = await filled({
      fetchPageChars: 512 * 1024,
      deviceRate: { ratePerSec: 1, burst: 30 },
      maxCiphertextChars: 200_000,
    });
    try {
      let afterSeq = 0;
      const seen: number[] = [];
      for (let i = 0; i < 20; i++) {
        r.send({ t: 'fetch', rid: `p${i}`, afterSeq });
        const page = await r.next('batch');
        expect(JSON.stringify(page).length).toBeLessThan(512 * 1024 + 4096);
        seen.push(...page.messages.map((m) => m.seq));
        afterSeq = Math.max(afterSeq, ...page.messages.map((m) => m.seq));
        if (!page.hasMore) break;
      }
      expect(seen).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
      expect(r.frames.filter((f) => f.t === 'error')).toEqual([]);
      r.close();
    } finally {
      await b.close();
    }
  });
});

/** Send `n` messages and collect how each was answered: 'accepted' or the quota that refused it. */
async function sendMany(
  r: Raw,
  sid: string,
  from: DeviceIdentity,
  to: DeviceIdentity,
  tag: string,
  n: number,
) {
  const out: string[] = [];
  for (let i = 0; i < n; i++) {
    const id = `${tag}-${i}`;
    r.send(sendFrame(sid, from, to, id));
    await until(() => r.frames.some((f) => (f.t === 'accepted' || f.t === 'error') && f.rid === id));
    const f = r.frames.find((x) => (x.t === 'accepted' || x.t === 'error') && x.rid === id)!;
    out.push(f.t === 'accepted' ? 'accepted' : f.t === 'error' ? (f.limit ?? f.code) : f.t);
  }
  return out;
}
const tally = (xs: string[]) =>
  xs.reduce<Record<string, number>>((m, x) => ({ ...m, [x]: (m[x] ?? 0) + 1 }), {});

describe('finding 3: a mailbox cannot be filled without its owner’s consent', () => {
  it('unjoined sessions share a slice of the mailbox; per-(recipient, session) and per-sender quotas; leave drops the spam', async () => {
    const b = await testBridge({
      limits: {
        maxMailboxMessages: 100,
        maxUnjoinedMailboxMessages: 10,
        maxSessionMailboxMessages: 12,
        maxSenderPendingMessages: 20,
      },
    });
    try {
      const V = device('victim');
      const F = device('friend');
      const spammers = Array.from({ length: 6 }, (_, i) => device(`throwaway-${i}`));
      const spamSids: string[] = [];
      const spam: string[] = [];
      for (const T of spammers) {
        const t = await authed(b, T);
        t.send({ t: 'create_session', rid: 'c', kind: 'dkg', members: [idOf(T), idOf(V)] });
        const { session } = await t.next('session');
        spamSids.push(session.sid);
        spam.push(...(await sendMany(t, session.sid, T, V, 'spam', 15)));
        t.close();
      }
      // Only the share of sessions the victim never joined was filled.
      expect(tally(spam)).toEqual({ accepted: 10, unjoined_messages: 80 });
      expect((await b.store.mailboxStats(idOf(V))).messages).toBe(10);

      // A session the victim joined has its own room: the per-(recipient, session) quota applies.
      const v = await authed(b, V);
      const f = await authed(b, F);
      f.send({ t: 'create_session', rid: 'h', kind: 'sign', members: [idOf(F), idOf(V)] });
      const h = (await f.next('session')).session.sid;
      v.send({ t: 'join', rid: 'jh', sid: h });
      await v.next('session', (s) => s.rid === 'jh');
      expect(tally(await sendMany(f, h, F, V, 'h', 15))).toEqual({
        accepted: 12,
        session_mailbox_messages: 3,
      });
      // And one sender's pending messages are bounded across sessions.
      f.send({ t: 'create_session', rid: 'h2', kind: 'sign', members: [idOf(F), idOf(V)] });
      const h2 = (await f.next('session')).session.sid;
      v.send({ t: 'join', rid: 'jh2', sid: h2 });
      await v.next('session', (s) => s.rid === 'jh2');
      expect(tally(await sendMany(f, h2, F, V, 'h2', 10))).toEqual({
        accepted: 8,
        sender_pending_messages: 2,
      });

      // Leaving the sessions it never wanted drops what they put in its mailbox.
      for (const sid of spamSids) {
        v.send({ t: 'leave', rid: `l-${sid}`, sid });
        await v.next('closed', (c) => c.rid === `l-${sid}`);
      }
      expect((await b.store.mailboxStats(idOf(V))).messages).toBe(20);
      const t0 = await authed(b, spammers[0]!);
      expect(await sendMany(t0, spamSids[0]!, spammers[0]!, V, 'again', 1)).toEqual(['NOT_A_MEMBER']);
      v.send({ t: 'list_sessions', rid: 'ls' });
      expect((await v.next('sessions')).sessions.map((s) => s.sid).sort()).toEqual([h, h2].sort());
      for (const r of [v, f, t0]) r.close();
    } finally {
      await b.close();
    }
  });
});

describe('finding 8: close_session does not purge messages already accepted for the others', () => {
  it('the other members still receive what was accepted for them; the session takes no new sends', async () => {
    const b = await testBridge();
    try {
      const A = device('cl-a');
      const B = device('cl-b');
      const C = device('cl-c');
      const a = await authed(b, A);
      a.send({ t: 'create_session', rid: 'c', kind: 'dkg', members: [idOf(A), idOf(B), idOf(C)] });
      const { session } = await a.next('session');
      expect(await sendMany(a, session.sid, A, B, 'toB', 2)).toEqual(['accepted', 'accepted']);
      expect(await sendMany(a, session.sid, A, C, 'toC', 2)).toEqual(['accepted', 'accepted']);
      const c = await authed(b, C);
      c.send({ t: 'close_session', rid: 'x', sid: session.sid });
      await c.next('closed', (f) => f.rid === 'x');
      await a.next('closed', (f) => f.sid === session.sid);
      // B, offline meanwhile, still gets both messages A had been told were accepted.
      const bb = await authed(b, B);
      bb.send({ t: 'fetch', rid: 'f', afterSeq: 0 });
      expect((await bb.next('batch')).messages.map((m) => m.msgId)).toEqual(['toB-0', 'toB-1']);
      // The closer's own messages in it are dropped, and the session takes nothing new.
      expect((await b.store.mailboxStats(idOf(C))).messages).toBe(0);
      expect(await sendMany(a, session.sid, A, B, 'late', 1)).toEqual(['SESSION_NOT_FOUND']);
      bb.send({ t: 'list_sessions', rid: 'ls' });
      expect((await bb.next('sessions')).sessions).toEqual([]);
      for (const r of [a, bb, c]) r.close();
    } finally {
      await b.close();
    }
  });
});
