/** The MailboxStore contract: one suite, run against every implementation (store.test.ts). */
import { describe, expect, it } from 'vitest';
import type {
  Awaitable,
  MailboxStore,
  PutInput,
  PutLimits,
  SessionRecord,
} from '../src/relay/store/types.ts';

const A = 'A'.repeat(43);
const B = 'B'.repeat(43);
const C = 'C'.repeat(43);
const limits: PutLimits = { maxSessionMessages: 100, maxMailboxMessages: 10, maxMailboxBytes: 1000 };

export function session(sid: string, over: Partial<SessionRecord> = {}): SessionRecord {
  return {
    sid,
    kind: 'dkg',
    creator: A,
    members: [A, B, C],
    createdAt: 1000,
    expiresAt: 100_000,
    messageCount: 0,
    ...over,
  };
}

export function msg(sid: string, msgId: string, over: Partial<PutInput> = {}): PutInput {
  return {
    sid,
    sender: A,
    recipient: B,
    msgId,
    tag: 'dkg/r1',
    ct: 'Y3Q',
    digest: `d-${msgId}`,
    ts: 2000,
    expiresAt: 50_000,
    ...over,
  };
}

export function storeContract(name: string, make: () => Awaitable<MailboxStore>): void {
  describe(`MailboxStore contract: ${name}`, () => {
    it('creates, reads and lists sessions for members only', async () => {
      const s = await make();
      await s.createSession(session('s1'));
      await s.createSession(session('s2', { members: [A, B], createdAt: 1001 }));
      expect((await s.getSession('s1'))?.members).toEqual([A, B, C]);
      expect(await s.getSession('nope')).toBeUndefined();
      expect((await s.listSessions(C, 5000)).map((x) => x.sid)).toEqual(['s1']);
      expect((await s.listSessions(B, 5000)).map((x) => x.sid)).toEqual(['s1', 's2']);
      expect(await s.listSessions(B, 100_000)).toEqual([]);
      expect(await s.countSessionsCreatedBy(A, 5000)).toBe(2);
      expect(await s.countSessionsCreatedBy(B, 5000)).toBe(0);
      await s.close();
    });

    it('assigns per-recipient monotonic seqs across sessions', async () => {
      const s = await make();
      await s.createSession(session('s1'));
      await s.createSession(session('s2'));
      expect(await s.put(msg('s1', 'm1'), limits)).toEqual({ kind: 'stored', seq: 1, ts: 2000 });
      expect(await s.put(msg('s2', 'm1'), limits)).toEqual({ kind: 'stored', seq: 2, ts: 2000 });
      expect(await s.put(msg('s1', 'x', { recipient: C }), limits)).toEqual({
        kind: 'stored',
        seq: 1,
        ts: 2000,
      });
      expect(await s.lastSeq(B)).toBe(2);
      expect((await s.listAfter(B, 0, 100, 3000)).map((m) => [m.sid, m.seq])).toEqual([
        ['s1', 1],
        ['s2', 2],
      ]);
      expect((await s.listAfter(B, 1, 100, 3000)).map((m) => m.seq)).toEqual([2]);
      expect((await s.listAfter(B, 0, 100, 3000, 's2')).map((m) => m.seq)).toEqual([2]);
      expect((await s.listAfter(B, 0, 1, 3000)).map((m) => m.seq)).toEqual([1]);
      const m = (await s.listAfter(B, 0, 1, 3000))[0]!;
      expect(m).toMatchObject({ sender: A, recipient: B, msgId: 'm1', tag: 'dkg/r1', ct: 'Y3Q', ts: 2000 });
      await s.close();
    });

    it('same msgId + same body is idempotent; different body conflicts; ids are per sender', async () => {
      const s = await make();
      await s.createSession(session('s1'));
      expect(await s.put(msg('s1', 'm1'), limits)).toMatchObject({ kind: 'stored', seq: 1 });
      expect(await s.put(msg('s1', 'm1', { ts: 9999 }), limits)).toEqual({
        kind: 'duplicate',
        seq: 1,
        ts: 2000,
      });
      expect(await s.put(msg('s1', 'm1', { digest: 'other' }), limits)).toEqual({ kind: 'conflict' });
      // C using the same msgId does not collide with A's (THREATS B37)
      expect(await s.put(msg('s1', 'm1', { sender: C }), limits)).toMatchObject({ kind: 'stored', seq: 2 });
      // still a duplicate after ack (tombstone), never re-delivered
      await s.ack(B, [1]);
      expect(await s.put(msg('s1', 'm1'), limits)).toEqual({ kind: 'duplicate', seq: 1, ts: 2000 });
      expect((await s.listAfter(B, 0, 100, 3000)).map((m) => m.seq)).toEqual([2]);
      await s.close();
    });

    it('putMany gives the results of put one by one, in order, and ackMany those of ack', async () => {
      const batch = [
        msg('s1', 'm1'),
        msg('s1', 'm2', { recipient: C }),
        msg('s1', 'm1'), // the same id again within the batch: a duplicate of the first
        msg('s1', 'm1', { digest: 'other' }),
        msg('nope', 'x'),
        msg('s1', 'm3'),
        msg('s1', 'm4'),
        msg('s1', 'm5'),
      ];
      const small: PutLimits = { maxSessionMessages: 100, maxMailboxMessages: 3, maxMailboxBytes: 1000 };
      const one = await make();
      const many = await make();
      for (const s of [one, many]) await s.createSession(session('s1'));
      const want = [];
      for (const m of batch) want.push(await one.put(m, small));
      expect(want.map((r) => r.kind)).toEqual([
        'stored',
        'stored',
        'duplicate',
        'conflict',
        'session_missing',
        'stored',
        'stored',
        'full',
      ]);
      expect(await many.putMany(batch, small)).toEqual(want);
      expect(await many.putMany([], small)).toEqual([]);
      expect(await many.listAfter(B, 0, 100, 3000)).toEqual(await one.listAfter(B, 0, 100, 3000));
      expect((await many.getSession('s1'))?.messageCount).toBe((await one.getSession('s1'))?.messageCount);
      expect(
        await many.ackMany([
          { recipient: B, seqs: [1, 99] },
          { recipient: C, seqs: [1] },
          { recipient: B, seqs: [1, 2] },
        ]),
      ).toBe(3);
      expect(await many.mailboxStats(B)).toEqual({ messages: 1, bytes: 3 });
      expect(await many.mailboxStats(C)).toEqual({ messages: 0, bytes: 0 });
      // Freed quota is usable again.
      expect((await many.putMany([msg('s1', 'm6')], small))[0]).toMatchObject({ kind: 'stored', seq: 4 });
      await one.close();
      await many.close();
    });

    it('ack deletes pending messages and updates mailbox stats', async () => {
      const s = await make();
      await s.createSession(session('s1'));
      for (let i = 0; i < 3; i++) await s.put(msg('s1', `m${i}`, { ct: 'abcd' }), limits);
      expect(await s.mailboxStats(B)).toEqual({ messages: 3, bytes: 12 });
      expect(await s.ack(B, [1, 3, 99])).toBe(2);
      expect(await s.ack(B, [1])).toBe(0);
      expect(await s.ack(C, [2])).toBe(0); // someone else's seq
      expect(await s.mailboxStats(B)).toEqual({ messages: 1, bytes: 4 });
      expect((await s.getBySeqs(B, [1, 2, 3], 3000)).map((m) => m.seq)).toEqual([2]);
      await s.close();
    });

    it('one ack of many seqs (dense or sparse, repeated, unknown) drops exactly the pending ones', async () => {
      const s = await make();
      await s.createSession(session('s1'));
      const big: PutLimits = { maxSessionMessages: 1000, maxMailboxMessages: 1000, maxMailboxBytes: 100_000 };
      for (let i = 0; i < 40; i++) await s.put(msg('s1', `m${i}`, { ct: 'ab' }), big);
      // dense: seqs 1..10 twice, plus unknown ones just past the end
      expect(await s.ack(B, [...[1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 10, 1, 41, 42])).toBe(10);
      // sparse: two seqs far apart among many unknown ones
      expect(await s.ack(B, [11, 40, ...Array.from({ length: 900 }, (_, i) => 10_000 + i * 7)])).toBe(2);
      expect(await s.mailboxStats(B)).toEqual({ messages: 28, bytes: 56 });
      expect((await s.listAfter(B, 0, 100, 3000)).map((m) => m.seq)).toEqual(
        Array.from({ length: 28 }, (_, i) => i + 12),
      );
      await s.close();
    });

    it('listAfter stops once the ciphertexts reach maxChars (that message included)', async () => {
      const s = await make();
      await s.createSession(session('s1'));
      for (let i = 0; i < 5; i++) await s.put(msg('s1', `m${i}`, { ct: 'abcd' }), limits);
      expect((await s.listAfter(B, 0, 100, 3000, undefined, 9)).map((m) => m.seq)).toEqual([1, 2, 3]);
      expect((await s.listAfter(B, 0, 100, 3000, undefined, 8)).map((m) => m.seq)).toEqual([1, 2]);
      expect((await s.listAfter(B, 0, 100, 3000, undefined, 1)).map((m) => m.seq)).toEqual([1]);
      expect((await s.listAfter(B, 3, 100, 3000, 's1', 100)).map((m) => m.seq)).toEqual([4, 5]);
      await s.close();
    });

    it('enforces mailbox and session quotas without evicting', async () => {
      const s = await make();
      await s.createSession(session('s1'));
      const small: PutLimits = { maxSessionMessages: 5, maxMailboxMessages: 2, maxMailboxBytes: 10 };
      expect((await s.put(msg('s1', 'a', { ct: 'xxxx' }), small)).kind).toBe('stored');
      expect((await s.put(msg('s1', 'b', { ct: 'xxxx' }), small)).kind).toBe('stored');
      expect(await s.put(msg('s1', 'c', { ct: 'x' }), small)).toEqual({
        kind: 'full',
        limit: 'mailbox_messages',
      });
      await s.ack(B, [1]);
      expect(await s.put(msg('s1', 'd', { ct: 'xxxxxxx' }), small)).toEqual({
        kind: 'full',
        limit: 'mailbox_bytes',
      });
      expect((await s.put(msg('s1', 'e', { ct: 'xx' }), small)).kind).toBe('stored');
      expect((await s.put(msg('s1', 'f', { recipient: C }), small)).kind).toBe('stored');
      expect((await s.put(msg('s1', 'g', { recipient: C }), small)).kind).toBe('stored');
      expect(await s.put(msg('s1', 'h', { recipient: C }), small)).toEqual({
        kind: 'full',
        limit: 'messages_per_session',
      });
      expect((await s.listAfter(B, 0, 100, 3000)).map((m) => m.msgId)).toEqual(['b', 'e']);
      expect(await s.put(msg('nope', 'x'), small)).toEqual({ kind: 'session_missing' });
      await s.close();
    });

    it('per-(recipient, session), per-sender and unjoined quotas; join moves messages out of the unjoined slice', async () => {
      const s = await make();
      await s.createSession(session('s1')); // creator A; B and C have not joined
      await s.createSession(session('s2'));
      const q: PutLimits = {
        ...limits,
        maxMailboxMessages: 100,
        maxSessionMailboxMessages: 3,
        maxSenderPendingMessages: 5,
        maxUnjoinedMailboxMessages: 2,
      };
      const kinds = async (xs: PutInput[]) =>
        (await s.putMany(xs, q)).map((r) => (r.kind === 'full' ? r.limit : r.kind));
      expect(await kinds([msg('s1', 'a'), msg('s1', 'b'), msg('s2', 'c')])).toEqual([
        'stored',
        'stored',
        'unjoined_messages',
      ]);
      expect(await s.joinSession('s1', B)).toBe(true);
      expect(await s.joinSession('s1', 'X'.repeat(43))).toBe(false);
      // B's two messages in s1 no longer count as unjoined: s2 has room again.
      expect(
        await kinds([msg('s1', 'd'), msg('s1', 'e'), msg('s2', 'f'), msg('s2', 'g'), msg('s2', 'h')]),
      ).toEqual(['stored', 'session_mailbox_messages', 'stored', 'stored', 'sender_pending_messages']);
      // Acks free every counter.
      await s.ack(B, [1, 2]);
      expect(await kinds([msg('s1', 'i'), msg('s1', 'j', { sender: C })])).toEqual(['stored', 'stored']);
      await s.close();
    });

    it('leave drops the leaver’s pending messages and membership; close keeps the others’ messages', async () => {
      const s = await make();
      await s.createSession(session('s1'));
      await s.put(msg('s1', 'toB'), limits);
      await s.put(msg('s1', 'toC', { recipient: C }), limits);
      await s.put(msg('s1', 'toC2', { recipient: C }), limits);
      expect(await s.leaveSession('s1', C)).toBe(true);
      expect(await s.leaveSession('s1', C)).toBe(false);
      expect(await s.mailboxStats(C)).toEqual({ messages: 0, bytes: 0 });
      expect((await s.getSession('s1'))?.members).toEqual([A, B]);
      expect(await s.listSessions(C, 5000)).toEqual([]);
      expect(await s.put(msg('s1', 'again', { recipient: C }), limits)).toEqual({ kind: 'not_member' });
      // A retry of a message stored before the leave is still a duplicate (its tombstone stays).
      expect(await s.put(msg('s1', 'toC', { recipient: C }), limits)).toMatchObject({ kind: 'duplicate' });
      await s.put(msg('s1', 'toA', { sender: B, recipient: A }), limits);
      await s.closeSession('s1', A);
      expect((await s.getSession('s1'))?.closed).toBe(true);
      expect(await s.listSessions(B, 5000)).toEqual([]);
      expect(await s.countSessionsCreatedBy(A, 5000)).toBe(0);
      expect((await s.listAfter(B, 0, 100, 3000)).map((m) => m.msgId)).toEqual(['toB']);
      expect(await s.mailboxStats(A)).toEqual({ messages: 0, bytes: 0 }); // the closer's own dropped
      expect(await s.put(msg('s1', 'late'), limits)).toEqual({ kind: 'session_missing' });
      // The session is purged at its expiry like any other.
      await s.sweep(200_000);
      expect(await s.getSession('s1')).toBeUndefined();
      expect(await s.mailboxStats(B)).toEqual({ messages: 0, bytes: 0 });
      await s.close();
    });

    it('sweep removes expired messages and sessions; purge removes a session', async () => {
      const s = await make();
      await s.createSession(session('s1'));
      await s.createSession(session('s2', { expiresAt: 10_000 }));
      await s.put(msg('s1', 'short', { expiresAt: 5000 }), limits);
      await s.put(msg('s1', 'long'), limits);
      await s.put(msg('s2', 'in-s2'), limits);
      expect((await s.listAfter(B, 0, 100, 6000)).map((m) => m.msgId)).toEqual(['long', 'in-s2']); // expired hidden
      const r = await s.sweep(20_000);
      expect(r.sessions).toBe(1);
      expect(r.messages).toBeGreaterThanOrEqual(1);
      expect(await s.getSession('s2')).toBeUndefined();
      expect((await s.listAfter(B, 0, 100, 20_000)).map((m) => m.msgId)).toEqual(['long']);
      expect((await s.mailboxStats(B)).messages).toBe(1);
      await s.purgeSession('s1');
      expect(await s.getSession('s1')).toBeUndefined();
      expect(await s.listAfter(B, 0, 100, 20_000)).toEqual([]);
      expect(await s.mailboxStats(B)).toEqual({ messages: 0, bytes: 0 });
      // seq counters survive purges: never reuse a seq
      await s.createSession(session('s3'));
      expect(await s.put(msg('s3', 'n'), limits)).toMatchObject({ seq: 4 });
      await s.close();
    });
  });
}
