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

/**
 * 2: members.joined (consent), sessions.closed, mailboxes.unjoined, pend (per recipient and
 * session) and senders (per sender) pending counts. A version-1 file is upgraded in place.
 */
const SCHEMA_VERSION = 2;

const MIGRATE_1_TO_2 = `
ALTER TABLE members ADD COLUMN joined INTEGER NOT NULL DEFAULT 1;
ALTER TABLE sessions ADD COLUMN closed INTEGER NOT NULL DEFAULT 0;
ALTER TABLE mailboxes ADD COLUMN unjoined INTEGER NOT NULL DEFAULT 0;
INSERT INTO pend (recipient, sid, n)
  SELECT recipient, sid, count(*) FROM messages WHERE ct IS NOT NULL GROUP BY recipient, sid;
INSERT INTO senders (sender, n)
  SELECT sender, count(*) FROM messages WHERE ct IS NOT NULL GROUP BY sender;
`;

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
CREATE TABLE IF NOT EXISTS pend (
  recipient TEXT NOT NULL,
  sid TEXT NOT NULL,
  n INTEGER NOT NULL,
  PRIMARY KEY (recipient, sid)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS senders (sender TEXT PRIMARY KEY, n INTEGER NOT NULL) WITHOUT ROWID;
`;

/** Columns added in schema 2, for a file created at schema 2 (a version-1 file gets them by ALTER). */
const SCHEMA_2_COLUMNS = `
ALTER TABLE members ADD COLUMN joined INTEGER NOT NULL DEFAULT 1;
ALTER TABLE sessions ADD COLUMN closed INTEGER NOT NULL DEFAULT 0;
ALTER TABLE mailboxes ADD COLUMN unjoined INTEGER NOT NULL DEFAULT 0;
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

/** A message whose ciphertext was dropped (ack, leave, close). */
interface DroppedRow {
  recipient: string;
  sid: string;
  sender: string;
  size: number;
}

/** Pending messages of one (recipient, sid, sender): `n` of them, `b` characters. */
interface PendingGroup {
  recipient: string;
  sid: string;
  sender: string;
  n: number;
  b: number;
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

/** Why a store file was refused; the file is left as it was. */
export type StoreFileErrorCode = 'NOT_A_DATABASE' | 'NOT_A_BRIDGE_STORE' | 'UNSUPPORTED_SCHEMA';

/** The SQLite file cannot be opened as a bridge store by this release (nothing was written to it). */
export class StoreFileError extends Error {
  override readonly name = 'StoreFileError';
  constructor(
    readonly code: StoreFileErrorCode,
    message: string,
  ) {
    super(message);
  }
}

/**
 * The schema version of an open file, by reads only: 'empty' for a new file, else the number in
 * `meta`. Refuses a file that is not SQLite, a database of something else, and any version other
 * than 1 (upgraded in place) or the current one.
 */
function schemaOf(db: Database.Database, path: string): 'empty' | number {
  let tables: string[];
  try {
    tables = (
      db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all() as { name: string }[]
    ).map((r) => r.name);
  } catch (err) {
    const why = err instanceof Error ? err.message : String(err);
    throw new StoreFileError(
      'NOT_A_DATABASE',
      `bridge store ${path} is not a readable SQLite database (${why}); left untouched`,
    );
  }
  if (tables.length === 0) return 'empty';
  if (!tables.includes('meta') || !tables.includes('messages'))
    throw new StoreFileError(
      'NOT_A_BRIDGE_STORE',
      `bridge store ${path} is a SQLite database of something else (no meta/messages tables); left untouched`,
    );
  let v: string | undefined;
  try {
    v = (db.prepare('SELECT v FROM meta WHERE k = ?').get('schema') as { v: string } | undefined)?.v;
  } catch {
    v = undefined;
  }
  const n = v !== undefined && /^[0-9]+$/.test(v) ? Number(v) : Number.NaN;
  if (n !== 1 && n !== SCHEMA_VERSION)
    throw new StoreFileError(
      'UNSUPPORTED_SCHEMA',
      `bridge store ${path} has schema ${v ?? '(none)'}; this release reads 1 and ${SCHEMA_VERSION}; left untouched`,
    );
  return n;
}

export class SqliteStore implements MailboxStore {
  readonly kind = 'sqlite' as const;
  private readonly db: Database.Database;
  private readonly sessions = new Map<string, SessionRecord>();
  /** Members who consented, by sid (cached like the sessions). */
  private readonly joined = new Map<string, Set<string>>();
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
    // Read the file's version before writing anything (not even the WAL pragma, which rewrites
    // the header): a file this release cannot use is refused and left byte for byte as it was.
    let ver: 'empty' | number;
    try {
      ver = schemaOf(this.db, opts.path);
    } catch (err) {
      this.db.close();
      throw err;
    }
    this.db.pragma('journal_mode = WAL');
    this.db.pragma(`synchronous = ${opts.synchronous ?? 'NORMAL'}`);
    this.db.pragma('busy_timeout = 5000');
    if (ver === 'empty') {
      this.db.transaction(() => {
        this.db.exec(SCHEMA);
        this.db.exec(SCHEMA_2_COLUMNS);
        this.db.prepare('INSERT INTO meta (k, v) VALUES (?, ?)').run('schema', String(SCHEMA_VERSION));
      })();
    } else if (ver === 1) {
      // One transaction: a crash mid-upgrade leaves the version-1 file as it was.
      this.db.transaction(() => {
        this.db.exec(SCHEMA);
        this.db.exec(MIGRATE_1_TO_2);
        this.db.prepare('UPDATE meta SET v = ? WHERE k = ?').run(String(SCHEMA_VERSION), 'schema');
      })();
    }
    const db = this.db;
    this.q = {
      insertSession: db.prepare(
        'INSERT INTO sessions (sid, kind, creator, created_at, expires_at, message_count) VALUES (?, ?, ?, ?, ?, ?)',
      ),
      allSessions: db.prepare(
        'SELECT sid, kind, creator, created_at, expires_at, message_count, closed FROM sessions',
      ),
      allMembers: db.prepare('SELECT sid, device, joined FROM members ORDER BY sid, pos'),
      insertMemberJoined: db.prepare('INSERT INTO members (sid, device, pos, joined) VALUES (?, ?, ?, ?)'),
      setJoined: db.prepare('UPDATE members SET joined = 1 WHERE sid = ? AND device = ?'),
      deleteMember: db.prepare('DELETE FROM members WHERE sid = ? AND device = ?'),
      closeSession: db.prepare('UPDATE sessions SET closed = 1 WHERE sid = ?'),
      pendGet: db.prepare('SELECT n FROM pend WHERE recipient = ? AND sid = ?'),
      pendAdd: db.prepare(
        `INSERT INTO pend (recipient, sid, n) VALUES (?, ?, ?)
         ON CONFLICT (recipient, sid) DO UPDATE SET n = n + excluded.n`,
      ),
      pendPrune: db.prepare('DELETE FROM pend WHERE recipient = ? AND sid = ? AND n <= 0'),
      pendDropSid: db.prepare('DELETE FROM pend WHERE sid = ?'),
      senderGet: db.prepare('SELECT n FROM senders WHERE sender = ?'),
      senderAdd: db.prepare(
        `INSERT INTO senders (sender, n) VALUES (?, ?) ON CONFLICT (sender) DO UPDATE SET n = n + excluded.n`,
      ),
      senderPrune: db.prepare('DELETE FROM senders WHERE sender = ? AND n <= 0'),
      unjoinedAdd: db.prepare('UPDATE mailboxes SET unjoined = unjoined + ? WHERE recipient = ?'),
      dropFor: db.prepare(
        `UPDATE messages SET ct = NULL WHERE sid = ? AND recipient = ? AND ct IS NOT NULL
         RETURNING recipient, sid, sender, size`,
      ),
      existing: db.prepare(
        'SELECT seq, ts, digest FROM messages WHERE sid = ? AND sender = ? AND msg_id = ?',
      ),
      mailbox: db.prepare(
        'SELECT last_seq, pending_count, pending_bytes, unjoined FROM mailboxes WHERE recipient = ?',
      ),
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
         AND ct IS NOT NULL RETURNING recipient, sid, sender, size`,
      ),
      unpend: db.prepare(
        'UPDATE mailboxes SET pending_count = pending_count - ?, pending_bytes = pending_bytes - ? WHERE recipient = ?',
      ),
      pendingBySid: db.prepare(
        `SELECT recipient, sid, sender, count(*) AS n, sum(size) AS b FROM messages
         WHERE sid = ? AND ct IS NOT NULL GROUP BY recipient, sender`,
      ),
      pendingExpired: db.prepare(
        `SELECT recipient, sid, sender, count(*) AS n, sum(size) AS b FROM messages
         WHERE expires_at <= ? AND ct IS NOT NULL GROUP BY recipient, sid, sender`,
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
      this.unpendGroups(this.q.pendingExpired.all(now) as PendingGroup[]);
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
      closed: number;
    }[]) {
      this.sessions.set(r.sid, {
        sid: r.sid,
        kind: r.kind,
        creator: r.creator,
        members: [],
        createdAt: r.created_at,
        expiresAt: r.expires_at,
        messageCount: r.message_count,
        ...(r.closed === 1 ? { closed: true } : {}),
      });
      this.joined.set(r.sid, new Set());
    }
    for (const m of this.q.allMembers.all() as { sid: string; device: string; joined: number }[]) {
      this.sessions.get(m.sid)?.members.push(m.device);
      if (m.joined === 1) this.joined.get(m.sid)?.add(m.device);
    }
  }

  createSession(s: SessionRecord): void {
    this.db.transaction(() => {
      this.q.insertSession.run(s.sid, s.kind, s.creator, s.createdAt, s.expiresAt, s.messageCount);
      for (const [i, d] of s.members.entries())
        this.q.insertMemberJoined.run(s.sid, d, i, d === s.creator ? 1 : 0);
    })();
    this.sessions.set(s.sid, { ...s, members: [...s.members] });
    this.joined.set(s.sid, new Set([s.creator]));
  }

  getSession(sid: string): SessionView | undefined {
    return this.sessions.get(sid);
  }

  listSessions(device: string, now: number): SessionRecord[] {
    const out: SessionRecord[] = [];
    for (const s of this.sessions.values()) {
      if (s.expiresAt > now && s.closed !== true && s.members.includes(device))
        out.push({ ...s, members: [...s.members] });
    }
    return out.sort((a, b) => a.createdAt - b.createdAt || (a.sid < b.sid ? -1 : 1));
  }

  countSessionsCreatedBy(device: string, now: number): number {
    let n = 0;
    for (const s of this.sessions.values())
      if (s.creator === device && s.expiresAt > now && s.closed !== true) n++;
    return n;
  }

  private putInner(input: PutInput, limits: PutLimits): PutResult {
    const s = this.sessions.get(input.sid);
    if (s === undefined || s.closed === true) return { kind: 'session_missing' };
    const ex = this.q.existing.get(input.sid, input.sender, input.msgId) as
      | { seq: number; ts: number; digest: string }
      | undefined;
    if (ex !== undefined) {
      return ex.digest === input.digest
        ? { kind: 'duplicate', seq: ex.seq, ts: ex.ts }
        : { kind: 'conflict' };
    }
    if (!s.members.includes(input.recipient)) return { kind: 'not_member' };
    if (s.messageCount >= limits.maxSessionMessages) return { kind: 'full', limit: 'messages_per_session' };
    const mb = this.q.mailbox.get(input.recipient) as
      | { last_seq: number; pending_count: number; pending_bytes: number; unjoined: number }
      | undefined;
    if ((mb?.pending_count ?? 0) >= limits.maxMailboxMessages)
      return { kind: 'full', limit: 'mailbox_messages' };
    if ((mb?.pending_bytes ?? 0) + input.ct.length > limits.maxMailboxBytes) {
      return { kind: 'full', limit: 'mailbox_bytes' };
    }
    if (limits.maxSessionMailboxMessages !== undefined) {
      const p = this.q.pendGet.get(input.recipient, input.sid) as { n: number } | undefined;
      if ((p?.n ?? 0) >= limits.maxSessionMailboxMessages)
        return { kind: 'full', limit: 'session_mailbox_messages' };
    }
    if (limits.maxSenderPendingMessages !== undefined) {
      const p = this.q.senderGet.get(input.sender) as { n: number } | undefined;
      if ((p?.n ?? 0) >= limits.maxSenderPendingMessages)
        return { kind: 'full', limit: 'sender_pending_messages' };
    }
    const joined = this.joined.get(input.sid)?.has(input.recipient) === true;
    if (!joined && (mb?.unjoined ?? 0) >= (limits.maxUnjoinedMailboxMessages ?? Number.POSITIVE_INFINITY))
      return { kind: 'full', limit: 'unjoined_messages' };
    const seq = (mb?.last_seq ?? 0) + 1;
    this.q.upsertMailbox.run(input.recipient, seq, input.ct.length);
    this.q.pendAdd.run(input.recipient, input.sid, 1);
    this.q.senderAdd.run(input.sender, 1);
    if (!joined) this.q.unjoinedAdd.run(1, input.recipient);
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
    const rows = this.q.ack.all(recipient, JSON.stringify(seqs)) as DroppedRow[];
    this.unpendRows(rows);
    return rows.length;
  }

  /** Counters for rows whose ciphertext was just dropped (one message each). */
  private unpendRows(rows: readonly DroppedRow[]): void {
    if (rows.length === 0) return;
    const groups = new Map<string, PendingGroup>();
    for (const r of rows) {
      const k = `${r.recipient}\u0000${r.sid}\u0000${r.sender}`;
      const g = groups.get(k);
      if (g === undefined)
        groups.set(k, { recipient: r.recipient, sid: r.sid, sender: r.sender, n: 1, b: r.size });
      else {
        g.n++;
        g.b += r.size;
      }
    }
    this.unpendGroups([...groups.values()]);
  }

  /** Take pending messages, grouped by (recipient, sid, sender), off every counter. */
  private unpendGroups(groups: readonly PendingGroup[]): void {
    for (const g of groups) {
      this.q.unpend.run(g.n, g.b, g.recipient);
      this.q.pendAdd.run(g.recipient, g.sid, -g.n);
      this.q.pendPrune.run(g.recipient, g.sid);
      this.q.senderAdd.run(g.sender, -g.n);
      this.q.senderPrune.run(g.sender);
      if (this.joined.get(g.sid)?.has(g.recipient) !== true) this.q.unjoinedAdd.run(-g.n, g.recipient);
    }
  }

  joinSession(sid: string, device: string): boolean {
    const s = this.sessions.get(sid);
    if (s === undefined || !s.members.includes(device)) return false;
    const j = this.joined.get(sid)!;
    if (j.has(device)) return true;
    this.db.transaction(() => {
      this.q.setJoined.run(sid, device);
      const p = this.q.pendGet.get(device, sid) as { n: number } | undefined;
      if (p !== undefined) this.q.unjoinedAdd.run(-p.n, device);
    })();
    j.add(device);
    return true;
  }

  leaveSession(sid: string, device: string): boolean {
    const s = this.sessions.get(sid);
    if (s === undefined || !s.members.includes(device)) return false;
    this.db.transaction(() => {
      this.unpendRows(this.q.dropFor.all(sid, device) as DroppedRow[]);
      this.q.deleteMember.run(sid, device);
    })();
    s.members = s.members.filter((d) => d !== device);
    this.joined.get(sid)?.delete(device);
    return true;
  }

  closeSession(sid: string, by: string): void {
    const s = this.sessions.get(sid);
    if (s === undefined) return;
    this.db.transaction(() => {
      this.q.closeSession.run(sid);
      this.unpendRows(this.q.dropFor.all(sid, by) as DroppedRow[]);
    })();
    s.closed = true;
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
    this.unpendGroups(this.q.pendingBySid.all(sid) as PendingGroup[]);
    this.q.pendDropSid.run(sid);
    this.q.deleteBySid.run(sid);
    this.q.deleteMembers.run(sid);
    this.q.deleteSession.run(sid);
    this.sessions.delete(sid);
    this.joined.delete(sid);
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
