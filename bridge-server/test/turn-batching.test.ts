/**
 * The relay batches per event-loop turn (group commit of sends and acks, one flush of corked
 * sockets). These tests send several frames in one TCP segment, so they land in one turn, and
 * check that nothing observable changed: replies in frame order, duplicates and conflicts within
 * one batch, acks committed before a fetch in the same turn, a send stored before a
 * close_session that follows it, on both stores.
 */

import { mkdtempSync, rmSync } from 'node:fs';
import type { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { ServerFrame } from '../src/protocol/frames.ts';
import { authed, device, idOf, type Raw, type TestBridge, testBridge, until } from './helpers.ts';

const A = device('batch-A');
const B = device('batch-B');

/** Send `frames` in one write: ws frames queued while the socket is corked leave together. */
function burst(r: Raw, frames: object[]): void {
  const sock = (r.ws as unknown as { _socket: Socket })._socket;
  sock.cork();
  for (const f of frames) r.send(f);
  sock.uncork();
}

/**
 * Every frame a raw socket receives from now on, in order. (`Raw.frames` is not enough: `auth()`
 * leaves a `next('error')` waiter behind that would swallow the first error frame.)
 */
function record(r: Raw): ServerFrame[] {
  const got: ServerFrame[] = [];
  r.ws.on('message', (d) => got.push(JSON.parse(d.toString()) as ServerFrame));
  return got;
}
const replies = (got: ServerFrame[]): ServerFrame[] =>
  got.filter((f) => f.t !== 'deliver' && f.t !== 'presence');

let b: TestBridge | undefined;
let dir: string | undefined;
afterEach(async () => {
  await b?.close();
  b = undefined;
  if (dir) rmSync(dir, { recursive: true, force: true });
  dir = undefined;
});

for (const store of ['memory', 'sqlite'] as const) {
  describe(`turn batching (${store})`, () => {
    it('replies follow frame order; duplicates/conflicts within one batch; ack commits before fetch', async () => {
      dir = mkdtempSync(join(tmpdir(), 'concord-batch-'));
      b = await testBridge({ store, dataDir: dir });
      const a = await authed(b, A);
      const r = await authed(b, B);
      a.send({ t: 'create_session', rid: 'c', kind: 'sign', members: [idOf(A), idOf(B)] });
      const sid = (await a.next('session', (f) => f.rid === 'c')).session.sid;
      const fromA = record(a);
      const toB = record(r);
      const send = (rid: string, msgId: string, ct = 'AAAA') => ({
        t: 'send',
        rid,
        v: 1,
        sid,
        from: idOf(A),
        to: idOf(B),
        tag: 't',
        msgId,
        ct,
      });
      burst(a, [
        send('r1', 'm1'),
        send('r2', 'm1'),
        send('r3', 'm1', 'BBBB'),
        { t: 'ping', rid: 'r4' },
        send('r5', 'm2'),
      ]);
      await until(() => replies(fromA).length >= 5);
      expect(replies(fromA).map((f) => [f.t, 'rid' in f ? f.rid : undefined])).toEqual([
        ['accepted', 'r1'],
        ['accepted', 'r2'],
        ['error', 'r3'],
        ['pong', 'r4'],
        ['accepted', 'r5'],
      ]);
      const [acc1, acc2, err3, , acc5] = replies(fromA);
      expect(acc1).toMatchObject({ seq: 1 });
      expect(acc2).toMatchObject({ seq: 1, duplicate: true });
      expect(err3).toMatchObject({ code: 'DUPLICATE_CONFLICT' });
      expect(acc5).toMatchObject({ seq: 2 });
      // Delivered once each, in seq order.
      await until(() => toB.filter((f) => f.t === 'deliver').length >= 2);
      expect(toB.filter((f) => f.t === 'deliver').map((f) => (f.t === 'deliver' ? f.seq : 0))).toEqual([
        1, 2,
      ]);

      // Ack and fetch in one segment: the fetch already sees the ack.
      burst(r, [
        { t: 'ack', seqs: [1] },
        { t: 'fetch', rid: 'f1', afterSeq: 0 },
      ]);
      const page = await r.next('batch', (f) => f.rid === 'f1');
      expect(page.messages.map((m) => m.seq)).toEqual([2]);
      expect((await b.store.mailboxStats(idOf(B))).messages).toBe(1);

      // A send followed by close_session in one segment: stored and accepted first, then closed.
      fromA.length = 0;
      burst(a, [send('r6', 'm3'), { t: 'close_session', rid: 'x', sid }]);
      await until(() => replies(fromA).length >= 2);
      expect(replies(fromA).map((f) => f.t)).toEqual(['accepted', 'closed']);
      // Closed, not purged: what was accepted for B (m3 included) stays deliverable.
      expect((await b.store.getSession(sid))?.closed).toBe(true);
      expect((await b.store.mailboxStats(idOf(B))).messages).toBe(2);
      a.close();
      r.close();
    });
  });
}
