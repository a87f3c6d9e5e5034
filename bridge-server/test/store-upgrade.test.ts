/**
 * SQLite store files written by an earlier release: a schema-1 file (the first release's DDL,
 * copied here as it shipped, so this test does not follow later edits of the store) is upgraded in
 * place with its messages intact and the schema-2 features working on them; a file the store cannot
 * use is refused with a StoreFileError naming why, and left byte for byte as it was.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { SqliteStore, StoreFileError } from '../src/relay/store/sqlite.ts';
import type { PutLimits } from '../src/relay/store/types.ts';
import { msg } from './store.contract.ts';

/** Schema 1 as the first release created it (bridge-server/src/relay/store/sqlite.ts at b21fbae). */
const SCHEMA_1 = `
CREATE TABLE IF NOT EXISTS meta (k TEXT PRIMARY KEY, v TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS sessions (
  sid TEXT PRIMARY KEY,
  kind TEXT NOT NULL,
  creator TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL,
  message_count INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS members (
  sid TEXT NOT NULL,
  device TEXT NOT NULL,
  pos INTEGER NOT NULL,
  PRIMARY KEY (sid, device)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS members_device ON members (device);
CREATE TABLE IF NOT EXISTS mailboxes (
  recipient TEXT PRIMARY KEY,
  last_seq INTEGER NOT NULL,
  pending_count INTEGER NOT NULL,
  pending_bytes INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS messages (
  id INTEGER PRIMARY KEY,
  sid TEXT NOT NULL,
  sender TEXT NOT NULL,
  msg_id TEXT NOT NULL,
  recipient TEXT NOT NULL,
  tag TEXT NOT NULL,
  seq INTEGER NOT NULL,
  ts INTEGER NOT NULL,
  expires_at INTEGER NOT NULL,
  digest TEXT NOT NULL,
  size INTEGER NOT NULL,
  ct TEXT,
  UNIQUE (sid, sender, msg_id)
);
CREATE UNIQUE INDEX IF NOT EXISTS messages_mailbox ON messages (recipient, seq);
CREATE INDEX IF NOT EXISTS messages_expiry ON messages (expires_at);
CREATE INDEX IF NOT EXISTS messages_sid ON messages (sid);
`;

const A = 'A'.repeat(43);
const B = 'B'.repeat(43);
const C = 'C'.repeat(43);
const dir = mkdtempSync(join(tmpdir(), 'concord-upgrade-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Rows as the schema-1 store's createSession/put/ack left them. */
function writeSchema1(path: string): void {
  const db = new Database(path);
  db.pragma('journal_mode = WAL');
  db.exec(SCHEMA_1);
  db.prepare('INSERT INTO meta (k, v) VALUES (?, ?)').run('schema', '1');
  const session = db.prepare(
    'INSERT INTO sessions (sid, kind, creator, created_at, expires_at, message_count) VALUES (?, ?, ?, ?, ?, ?)',
  );
  const member = db.prepare('INSERT INTO members (sid, device, pos) VALUES (?, ?, ?)');
  const message = db.prepare(
    `INSERT INTO messages (sid, sender, msg_id, recipient, tag, seq, ts, expires_at, digest, size, ct)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  );
  const mailbox = db.prepare(
    'INSERT INTO mailboxes (recipient, last_seq, pending_count, pending_bytes) VALUES (?, ?, ?, ?)',
  );
  session.run('s1', 'dkg', A, 1000, 100_000, 4);
  session.run('s2', 'sign', C, 1000, 100_000, 1);
  for (const [i, d] of [A, B, C].entries()) member.run('s1', d, i);
  for (const [i, d] of [C, B].entries()) member.run('s2', d, i);
  // B's mailbox: seq 1 acked (tombstone), 2 and 3 from A in s1, 4 from C in s1, 5 from C in s2.
  message.run('s1', A, 'm1', B, 'dkg/r1', 1, 2000, 50_000, 'd-m1', 3, null);
  message.run('s1', A, 'm2', B, 'dkg/r1', 2, 2001, 50_000, 'd-m2', 3, 'Y3Q');
  message.run('s1', A, 'm3', B, 'dkg/r2', 3, 2002, 50_000, 'd-m3', 4, 'Y3Q0');
  message.run('s1', C, 'm1', B, 'dkg/r1', 4, 2003, 50_000, 'd-c1', 3, 'Y3R');
  message.run('s2', C, 'x1', B, 'sign/r1', 5, 2004, 50_000, 'd-x1', 3, 'Y3S');
  mailbox.run(B, 5, 4, 13);
  db.close();
}

const limits: PutLimits = { maxSessionMessages: 100, maxMailboxMessages: 100, maxMailboxBytes: 10_000 };

describe('SqliteStore: schema 1 → 2 in place', () => {
  it('keeps every pending message, tombstone and seq counter, and the schema-2 quotas count them', () => {
    const path = join(dir, 'v1.sqlite');
    writeSchema1(path);
    const s = new SqliteStore({ path });
    const pending = s.listAfter(B, 0, 100, 3000);
    expect(pending.map((m) => [m.sid, m.sender, m.msgId, m.seq, m.tag, m.ct])).toEqual([
      ['s1', A, 'm2', 2, 'dkg/r1', 'Y3Q'],
      ['s1', A, 'm3', 3, 'dkg/r2', 'Y3Q0'],
      ['s1', C, 'm1', 4, 'dkg/r1', 'Y3R'],
      ['s2', C, 'x1', 5, 'sign/r1', 'Y3S'],
    ]);
    expect(s.mailboxStats(B)).toEqual({ messages: 4, bytes: 13 });
    expect(s.lastSeq(B)).toBe(5);
    expect(s.getSession('s1')).toMatchObject({ creator: A, members: [A, B, C], messageCount: 4 });
    // The acked message's tombstone still recognises a retry; a changed body is still a conflict.
    expect(s.put(msg('s1', 'm1'), limits)).toMatchObject({ kind: 'duplicate', seq: 1 });
    expect(s.put(msg('s1', 'm2', { digest: 'other' }), limits)).toEqual({ kind: 'conflict' });

    // Per (recipient, session): s1 already holds 3 of B's pending messages after the upgrade.
    expect(s.put(msg('s1', 'm4'), { ...limits, maxSessionMailboxMessages: 3 })).toEqual({
      kind: 'full',
      limit: 'session_mailbox_messages',
    });
    // Per sender: C has 2 pending (one in each session).
    expect(s.put(msg('s1', 'c2', { sender: C }), { ...limits, maxSenderPendingMessages: 2 })).toEqual({
      kind: 'full',
      limit: 'sender_pending_messages',
    });
    // Members of a version-1 session count as joined: none of B's mail is in the unjoined slice.
    expect(s.put(msg('s1', 'm4'), { ...limits, maxUnjoinedMailboxMessages: 0 })).toMatchObject({
      kind: 'stored',
      seq: 6,
    });

    // Leave (new in 2): B's pending mail in s2 goes, s1's stays.
    expect(s.leaveSession('s2', B)).toBe(true);
    expect(s.listAfter(B, 0, 100, 3000).map((m) => m.seq)).toEqual([2, 3, 4, 6]);
    expect(s.getSession('s2')?.members).toEqual([C]);
    // Close (new in 2): the closer's own mail dropped, the others' still deliverable.
    s.closeSession('s1', B);
    expect(s.getSession('s1')?.closed).toBe(true);
    expect(s.listAfter(B, 0, 100, 3000)).toEqual([]);
    s.close();

    // The file now says 2, and reopening it is a plain open.
    const raw = new Database(path, { readonly: true });
    expect(raw.prepare("SELECT v FROM meta WHERE k = 'schema'").get()).toEqual({ v: '2' });
    raw.close();
    const again = new SqliteStore({ path });
    expect(again.getSession('s1')?.closed).toBe(true);
    expect(again.getSession('s2')?.members).toEqual([C]);
    expect(again.lastSeq(B)).toBe(6);
    again.close();
  });
});

describe('SqliteStore: a file it cannot use is refused and left untouched', () => {
  /** Open `path`, expect a StoreFileError with `code`, and the directory exactly as before. */
  function refused(path: string, code: string, text: RegExp): void {
    const before = readFileSync(path);
    const files = readdirSync(dir).sort();
    let err: unknown;
    try {
      new SqliteStore({ path }).close();
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(StoreFileError);
    expect((err as StoreFileError).code).toBe(code);
    expect((err as Error).message).toMatch(text);
    expect(readFileSync(path).equals(before)).toBe(true);
    expect(readdirSync(dir).sort()).toEqual(files);
  }

  it('not SQLite at all', () => {
    const path = join(dir, 'garbage.sqlite');
    writeFileSync(path, `${'not a database, '.repeat(300)}\n`);
    refused(path, 'NOT_A_DATABASE', /not a readable SQLite database/);
  });

  it('a SQLite header followed by garbage', () => {
    const path = join(dir, 'torn.sqlite');
    const good = join(dir, 'torn-src.sqlite');
    writeSchema1(good);
    const bytes = readFileSync(good);
    bytes.fill(0xa5, 16, 100); // the header's page size, counters and schema cookie
    writeFileSync(path, bytes);
    rmSync(good);
    refused(path, 'NOT_A_DATABASE', /not a readable SQLite database/);
  });

  it('a SQLite database of something else', () => {
    const path = join(dir, 'other.sqlite');
    const db = new Database(path);
    db.exec('CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT); INSERT INTO notes (body) VALUES (1);');
    db.close();
    refused(path, 'NOT_A_BRIDGE_STORE', /something else/);
  });

  it('a schema from a newer release, or none', () => {
    for (const [name, v] of [
      ['v3.sqlite', '3'],
      ['vx.sqlite', 'two'],
    ] as const) {
      const path = join(dir, name);
      const db = new Database(path);
      db.exec(SCHEMA_1);
      db.prepare('INSERT INTO meta (k, v) VALUES (?, ?)').run('schema', v);
      db.prepare(
        `INSERT INTO messages (sid, sender, msg_id, recipient, tag, seq, ts, expires_at, digest, size, ct)
         VALUES ('s', ?, 'm', ?, 't', 1, 1, 9, 'd', 1, 'x')`,
      ).run(A, B);
      db.close();
      refused(path, 'UNSUPPORTED_SCHEMA', new RegExp(`has schema ${v}; this release reads 1 and 2`));
    }
    const path = join(dir, 'nometa.sqlite');
    const db = new Database(path);
    db.exec(SCHEMA_1);
    db.close();
    refused(path, 'UNSUPPORTED_SCHEMA', /has schema \(none\)/);
  });

  it('a new, empty path is created at schema 2', () => {
    const path = join(dir, 'fresh.sqlite');
    expect(existsSync(path)).toBe(false);
    new SqliteStore({ path }).close();
    const raw = new Database(path, { readonly: true });
    expect(raw.prepare("SELECT v FROM meta WHERE k = 'schema'").get()).toEqual({ v: '2' });
    raw.close();
  });
});
