/**
 * The memory store's share of the relay's per-message path, alone: `putMany` then `ackMany` of
 * 999 messages per round (333 sessions of 3, one message to the next member each) as the relay's
 * group commit issues them, reporting the process CPU per message. Less moved by a shared machine
 * than the end-to-end bench (no sockets, no second process), so two store versions can be
 * compared by interleaved runs:
 *
 *   npx tsx bridge-server/bench/store-path.ts [path/to/memory.ts]   (default: this tree's store)
 */
import { resolve } from 'node:path';
import type { MemoryStore as Store } from '../src/relay/store/memory.ts';
import type { PutInput, PutLimits } from '../src/relay/store/types.ts';

const file = resolve(process.argv[2] ?? `${import.meta.dirname}/../src/relay/store/memory.ts`);
const { MemoryStore } = (await import(file)) as { MemoryStore: new () => Store };
const s = new MemoryStore();
const id = (c: string, i: number) => (c + i.toString(36)).padEnd(43, c);
// The default profile's per-session, per-sender and unjoined quotas, so their checks run.
const limits: PutLimits = {
  maxSessionMessages: 1e9,
  maxMailboxMessages: 1e9,
  maxMailboxBytes: 1e12,
  maxSessionMailboxMessages: 1000,
  maxSenderPendingMessages: 100_000,
  maxUnjoinedMailboxMessages: 500,
};
const sessions: { sid: string; members: string[] }[] = [];
for (let i = 0; i < 333; i++) {
  const members = [id('A', i), id('B', i), id('C', i)];
  const sid = `s${i}`.padEnd(22, 'x');
  s.createSession({
    sid,
    kind: 'sign',
    creator: members[0]!,
    members,
    createdAt: 0,
    expiresAt: 1e15,
    messageCount: 0,
  });
  for (const m of members) s.joinSession(sid, m);
  sessions.push({ sid, members });
}
const ct = 'Q'.repeat(344);
let n = 0;
const round = (): number => {
  const batch: PutInput[] = [];
  for (const x of sessions)
    for (let k = 0; k < 3; k++)
      batch.push({
        sid: x.sid,
        sender: x.members[k]!,
        recipient: x.members[(k + 1) % 3]!,
        msgId: `m${n++}`,
        tag: 't',
        ct,
        digest: 'd',
        ts: 1,
        expiresAt: 1e15,
      });
  const res = s.putMany(batch, limits);
  s.ackMany(batch.map((b, i) => ({ recipient: b.recipient, seqs: [(res[i] as { seq: number }).seq] })));
  return batch.length;
};
for (let i = 0; i < 200; i++) round(); // warm-up
const c0 = process.cpuUsage();
let msgs = 0;
for (let i = 0; i < 1500; i++) msgs += round();
const c = process.cpuUsage(c0);
process.stdout.write(
  `memory store put+ack: ${((c.user + c.system) / msgs).toFixed(2)} µs CPU per message (${msgs} messages)\n`,
);
