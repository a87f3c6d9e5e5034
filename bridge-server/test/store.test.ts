import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { MemoryStore } from '../src/relay/store/memory.ts';
import { SqliteStore } from '../src/relay/store/sqlite.ts';
import { msg, session, storeContract } from './store.contract.ts';

const dir = mkdtempSync(join(tmpdir(), 'concord-store-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;

storeContract('memory', () => new MemoryStore());
storeContract('sqlite (:memory:)', () => new SqliteStore({ path: ':memory:' }));
storeContract('sqlite (file, WAL)', () => new SqliteStore({ path: join(dir, `c${n++}.db`) }));

describe('SqliteStore persistence', () => {
  it('reopening the file keeps sessions, members, pending messages, tombstones and seq counters', () => {
    const path = join(dir, 'persist.db');
    const limits = { maxSessionMessages: 100, maxMailboxMessages: 100, maxMailboxBytes: 10_000 };
    const s1 = new SqliteStore({ path });
    s1.createSession(session('s1'));
    s1.put(msg('s1', 'm1'), limits);
    s1.put(msg('s1', 'm2'), limits);
    s1.ack('B'.repeat(43), [1]);
    s1.close();
    const s2 = new SqliteStore({ path });
    expect(s2.getSession('s1')?.members).toHaveLength(3);
    expect(s2.getSession('s1')?.messageCount).toBe(2);
    expect(s2.listAfter('B'.repeat(43), 0, 100, 3000).map((m) => m.msgId)).toEqual(['m2']);
    expect(s2.put(msg('s1', 'm1'), limits)).toMatchObject({ kind: 'duplicate', seq: 1 });
    expect(s2.put(msg('s1', 'm3'), limits)).toMatchObject({ kind: 'stored', seq: 3 });
    expect(s2.mailboxStats('B'.repeat(43)).messages).toBe(2);
    s2.close();
  });
});
