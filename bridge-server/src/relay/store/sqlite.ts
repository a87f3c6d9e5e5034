/**
 * SQLite `MailboxStore` on better-sqlite3 (BRIDGE.md §18): the default, embedded, no server to run.
 *
 * - WAL journal; `synchronous` configurable (NORMAL by default: survives process crashes and
 *   restarts; FULL additionally survives power loss at the cost of an fsync per commit).
 * - One transaction per insert covering the idempotency check, quotas, the recipient's seq counter
 *   and the row, so a crash never leaves a seq assigned without its message or vice versa.
 * - `UNIQUE(sid, sender, msg_id)`: the msgId namespace is per authenticated sender, so one member
 *   cannot squat another member's ids (THREATS B37).
 * - Sessions, members, mailboxes (per-recipient seq counters and pending totals) and messages are
 *   all persisted: a restart loses nothing acknowledged and `fetch {afterSeq}` keeps working.
 * - Sessions are also cached in memory (write-through) because every `send` reads one.
 */
import Database from 'better-sqlite3';
import type { SessionKind } from '../../protocol/frames.ts';
import type {
  AckBatch,
  MailboxStats,
  MailboxStore,
  PutInput,
  PutLimits,
  PutResult,
  SessionRecord,
  SessionView,
  StoredMessage,
  SweepResult,
} from './types.ts';

export interface SqliteStoreOptions {
  /** File path, or ':memory:'. */
  path: string;
  synchronous?: 'OFF' | 'NORMAL' | 'FULL';
}

const SCHEMA_VERSION = 1;

const SCHEMA = `
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

interface MsgRow {
  sid: string;
  sender: string;
  recipient: string;
  msg_id: string;
  tag: string;
  seq: number;
  ts: number;
  expires_at: number;
  ct: string;
}

const toMessage = (r: MsgRow): StoredMessage => ({
  sid: r.sid,
  sender: r.sender,
  recipient: r.recipient,
  msgId: r.msg_id,
  tag: r.tag,
  seq: r.seq,
  ts: r.ts,
  expiresAt: r.expires_at,
  ct: r.ct,
});

export class SqliteStore implements MailboxStore {
  readonly kind = 'sqlite' as const;
  private readonly db: Database.Database;
  private readonly sessions = new Map<string, SessionRecord>();
  private readonly q;
  private readonly putTx: (input: PutInput, limits: PutLimits) => PutResult;
  private readonly ackTx: (recipient: string, seqs: readonly number[]) => number;
  private readonly putManyTx: (inputs: readonly PutInput[], limits: PutLimits) => PutResult[];
  private readonly ackManyTx: (batches: readonly AckBatch[]) => number;
  private readonly purgeTx: (sid: string) => void;
  private readonly sweepTx: (now: number) => SweepResult;
  private closed = false;

  constructor(opts: SqliteStoreOptions) {
    this.db = new Database(opts.path);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma(`synchronous = ${opts.synchronous ?? 'NORMAL'}`);
    this.db.pragma('busy_timeout = 5000');
    this.db.exec(SCHEMA);
    const ver = this.db.prepare('SELECT v FROM meta WHERE k = ?').get('schema') as { v: string } | undefined;
    if (ver === undefined) {
      this.db.prepare('INSERT INTO meta (k, v) VALUES (?, ?)').run('schema', String(SCHEMA_VERSION));
    } else if (Number(ver.v) !== SCHEMA_VERSION) {
      throw new Error(`unsupported bridge store schema ${ver.v}`);
    }
    const db = this.db;
    this.q = {
      insertSession: db.prepare(
        'INSERT INTO sessions (sid, kind, creator, created_at, expires_at, message_count) VALUES (?, ?, ?, ?, ?, ?)',
      ),
      insertMember: db.prepare('INSERT INTO members (sid, device, pos) VALUES (?, ?, ?)'),
      allSessions: db.prepare(
        'SELECT sid, kind, creator, created_at, expires_at, message_count FROM sessions',
      ),
      allMembers: db.prepare('SELECT sid, device FROM members ORDER BY sid, pos'),
      existing: db.prepare(
        'SELECT seq, ts, digest FROM messages WHERE sid = ? AND sender = ? AND msg_id = ?',
      ),
      mailbox: db.prepare('SELECT last_seq, pending_count, pending_bytes FROM mailboxes WHERE recipient = ?'),
      upsertMailbox: db.prepare(
        `INSERT INTO mailboxes (recipient, last_seq, pending_count, pending_bytes) VALUES (?, ?, 1, ?)
         ON CONFLICT (recipient) DO UPDATE SET last_seq = excluded.last_seq,
           pending_count = pending_count + 1, pending_bytes = pending_bytes + excluded.pending_bytes`,
      ),
      insertMessage: db.prepare(
        `INSERT INTO messages (sid, sender, msg_id, recipient, tag, seq, ts, expires_at, digest, size, ct)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      ),
      bumpSession: db.prepare('UPDATE sessions SET message_count = message_count + 1 WHERE sid = ?'),
      sessionCount: db.prepare('SELECT message_count FROM sessions WHERE sid = ?'),
      listAfter: db.prepare(
        `SELECT sid, sender, recipient, msg_id, tag, seq, ts, expires_at, ct FROM messages
         WHERE recipient = ? AND seq > ? AND ct IS NOT NULL AND expires_at > ? ORDER BY seq LIMIT ?`,
      ),
      listAfterSid: db.prepare(
        `SELECT sid, sender, recipient, msg_id, tag, seq, ts, expires_at, ct FROM messages
         WHERE recipient = ? AND seq > ? AND ct IS NOT NULL AND expires_at > ? AND sid = ? ORDER BY seq LIMIT ?`,
      ),
      bySeq: db.prepare(
        `SELECT sid, sender, recipient, msg_id, tag, seq, ts, expires_at, ct FROM messages
         WHERE recipient = ? AND seq = ? AND ct IS NOT NULL AND expires_at > ?`,
      ),
      // One statement per acked batch, not one per seq (an ack lists up to 1,000).
      ack: db.prepare(
        `UPDATE messages SET ct = NULL WHERE recipient = ? AND seq IN (SELECT value FROM json_each(?))
         AND ct IS NOT NULL RETURNING size`,
      ),
      unpend: db.prepare(
        'UPDATE mailboxes SET pending_count = pending_count - ?, pending_bytes = pending_bytes - ? WHERE recipient = ?',
      ),
      pendingBySid: db.prepare(
        `SELECT recipient, count(*) AS n, sum(size) AS b FROM messages WHERE sid = ? AND ct IS NOT NULL
         GROUP BY recipient`,
      ),
      pendingExpired: db.prepare(
        `SELECT recipient, count(*) AS n, sum(size) AS b FROM messages WHERE expires_at <= ? AND ct IS NOT NULL
         GROUP BY recipient`,
      ),
      deleteBySid: db.prepare('DELETE FROM messages WHERE sid = ?'),
      deleteExpired: db.prepare('DELETE FROM messages WHERE expires_at <= ?'),
      deleteMembers: db.prepare('DELETE FROM members WHERE sid = ?'),
      deleteSession: db.prepare('DELETE FROM sessions WHERE sid = ?'),
    };
    this.loadSessions();

    this.putTx = db.transaction(
      (input: PutInput, limits: PutLimits): PutResult => this.putInner(input, limits),
    );
    this.ackTx = db.transaction((recipient: string, seqs: readonly number[]) =>
      this.ackInner(recipient, seqs),
    );
    // Group commit (one transaction per relay event-loop turn): per-message transactions were
    // the SQLite store's main cost (a WAL append of every touched page on each commit).
    this.putManyTx = db.transaction((inputs: readonly PutInput[], limits: PutLimits) =>
      inputs.map((i) => this.putInner(i, limits)),
    );
    this.ackManyTx = db.transaction((batches: readonly AckBatch[]) => {
      let n = 0;
      for (const b of batches) n += this.ackInner(b.recipient, b.seqs);
      return n;
    });
    this.purgeTx = db.transaction((sid: string) => this.purgeInner(sid));
    this.sweepTx = db.transaction((now: number): SweepResult => {
      let sessions = 0;
      for (const s of [...this.sessions.values()]) {
        if (s.expiresAt <= now) {
          this.purgeInner(s.sid);
          sessions++;
        }
      }
      for (const r of this.q.pendingExpired.all(now) as { recipient: string; n: number; b: number }[]) {
        this.q.unpend.run(r.n, r.b, r.recipient);
      }
      const messages = this.q.deleteExpired.run(now).changes;
      return { messages, sessions };
    });
  }

  private loadSessions(): void {
    for (const r of this.q.allSessions.all() as {
      sid: string;
      kind: SessionKind;
      creator: string;
      created_at: number;
      expires_at: number;
      message_count: number;
    }[]) {
      this.sessions.set(r.sid, {
        sid: r.sid,
        kind: r.kind,
        creator: r.creator,
        members: [],
        createdAt: r.created_at,
        expiresAt: r.expires_at,
        messageCount: r.message_count,
      });
    }
    for (const m of this.q.allMembers.all() as { sid: string; device: string }[]) {
      this.sessions.get(m.sid)?.members.push(m.device);
    }
  }

  createSession(s: SessionRecord): void {
    this.db.transaction(() => {
      this.q.insertSession.run(s.sid, s.kind, s.creator, s.createdAt, s.expiresAt, s.messageCount);
      for (const [i, d] of s.members.entries()) this.q.insertMember.run(s.sid, d, i);
    })();
    this.sessions.set(s.sid, { ...s, members: [...s.members] });
  }

  getSession(sid: string): SessionView | undefined {
    return this.sessions.get(sid);
  }

  listSessions(device: string, now: number): SessionRecord[] {
    const out: SessionRecord[] = [];
    for (const s of this.sessions.values()) {
      if (s.expiresAt > now && s.members.includes(device)) out.push({ ...s, members: [...s.members] });
    }
    return out.sort((a, b) => a.createdAt - b.createdAt || (a.sid < b.sid ? -1 : 1));
  }

  countSessionsCreatedBy(device: string, now: number): number {
    let n = 0;
    for (const s of this.sessions.values()) if (s.creator === device && s.expiresAt > now) n++;
    return n;
  }

  private putInner(input: PutInput, limits: PutLimits): PutResult {
    const s = this.sessions.get(input.sid);
    if (s === undefined) return { kind: 'session_missing' };
    const ex = this.q.existing.get(input.sid, input.sender, input.msgId) as
      | { seq: number; ts: number; digest: string }
      | undefined;
    if (ex !== undefined) {
      return ex.digest === input.digest
        ? { kind: 'duplicate', seq: ex.seq, ts: ex.ts }
        : { kind: 'conflict' };
    }
    if (s.messageCount >= limits.maxSessionMessages) return { kind: 'full', limit: 'messages_per_session' };
    const mb = this.q.mailbox.get(input.recipient) as
      | { last_seq: number; pending_count: number; pending_bytes: number }
      | undefined;
    if ((mb?.pending_count ?? 0) >= limits.maxMailboxMessages)
      return { kind: 'full', limit: 'mailbox_messages' };
    if ((mb?.pending_bytes ?? 0) + input.ct.length > limits.maxMailboxBytes) {
      return { kind: 'full', limit: 'mailbox_bytes' };
    }
    const seq = (mb?.last_seq ?? 0) + 1;
    this.q.upsertMailbox.run(input.recipient, seq, input.ct.length);
    this.q.insertMessage.run(
      input.sid,
      input.sender,
      input.msgId,
      input.recipient,
      input.tag,
      seq,
      input.ts,
      input.expiresAt,
      input.digest,
      input.ct.length,
      input.ct,
    );
    this.q.bumpSession.run(input.sid);
    s.messageCount++;
    return { kind: 'stored', seq, ts: input.ts };
  }

  put(input: PutInput, limits: PutLimits): PutResult {
    return this.withCountRollback([input], () => this.putTx(input, limits));
  }

  putMany(inputs: readonly PutInput[], limits: PutLimits): PutResult[] {
    return this.withCountRollback(inputs, () => this.putManyTx(inputs, limits));
  }

  /**
   * `putInner` bumps the cached session message counts as it goes; if the transaction rolls back
   * they must be re-read, or the per-session quota would count messages that were never stored.
   */
  private withCountRollback<T>(inputs: readonly PutInput[], f: () => T): T {
    try {
      return f();
    } catch (err) {
      for (const sid of new Set(inputs.map((i) => i.sid))) {
        const s = this.sessions.get(sid);
        const row = this.q.sessionCount.get(sid) as { message_count: number } | undefined;
        if (s !== undefined && row !== undefined) s.messageCount = row.message_count;
      }
      throw err;
    }
  }

  private ackInner(recipient: string, seqs: readonly number[]): number {
    if (seqs.length === 0) return 0;
    let n = 0;
    let bytes = 0;
    for (const r of this.q.ack.all(recipient, JSON.stringify(seqs)) as { size: number }[]) {
      n++;
      bytes += r.size;
    }
    if (n > 0) this.q.unpend.run(n, bytes, recipient);
    return n;
  }

  ackMany(batches: readonly AckBatch[]): number {
    return this.ackManyTx(batches);
  }

  listAfter(
    recipient: string,
    afterSeq: number,
    limit: number,
    now: number,
    sid?: string,
    maxChars = Number.POSITIVE_INFINITY,
  ): StoredMessage[] {
    // Stepped row by row, so a byte-capped page reads no more ciphertext than it returns.
    const rows = (
      sid === undefined
        ? this.q.listAfter.iterate(recipient, afterSeq, now, limit)
        : this.q.listAfterSid.iterate(recipient, afterSeq, now, sid, limit)
    ) as IterableIterator<MsgRow>;
    const out: StoredMessage[] = [];
    let chars = 0;
    for (const r of rows) {
      out.push(toMessage(r));
      chars += r.ct.length;
      if (chars >= maxChars) break;
    }
    return out;
  }

  getBySeqs(recipient: string, seqs: readonly number[], now: number): StoredMessage[] {
    const out: StoredMessage[] = [];
    for (const seq of [...seqs].sort((a, b) => a - b)) {
      const r = this.q.bySeq.get(recipient, seq, now) as MsgRow | undefined;
      if (r !== undefined) out.push(toMessage(r));
    }
    return out;
  }

  ack(recipient: string, seqs: readonly number[]): number {
    return this.ackTx(recipient, seqs);
  }

  private purgeInner(sid: string): void {
    for (const r of this.q.pendingBySid.all(sid) as { recipient: string; n: number; b: number }[]) {
      this.q.unpend.run(r.n, r.b, r.recipient);
    }
    this.q.deleteBySid.run(sid);
    this.q.deleteMembers.run(sid);
    this.q.deleteSession.run(sid);
    this.sessions.delete(sid);
  }

  sweep(now: number): SweepResult {
    return this.sweepTx(now);
  }

  purgeSession(sid: string): void {
    this.purgeTx(sid);
  }

  mailboxStats(recipient: string): MailboxStats {
    const mb = this.q.mailbox.get(recipient) as { pending_count: number; pending_bytes: number } | undefined;
    return { messages: mb?.pending_count ?? 0, bytes: mb?.pending_bytes ?? 0 };
  }

  lastSeq(recipient: string): number {
    return (this.q.mailbox.get(recipient) as { last_seq: number } | undefined)?.last_seq ?? 0;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    // Fold the WAL back into the main file so a copied data dir is self-contained.
    try {
      this.db.pragma('wal_checkpoint(TRUNCATE)');
    } finally {
      this.db.close();
    }
  }
}
