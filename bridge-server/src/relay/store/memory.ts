/**
 * In-memory `MailboxStore` (BRIDGE.md §18): for unit tests and load tests. Same semantics as the
 * SQLite store; both run the shared contract suite in `test/store.contract.ts`.
 */
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

interface Row extends StoredMessage {
  digest: string;
  /** False once acknowledged (tombstone: ct dropped). */
  pending: boolean;
}

interface Mailbox {
  lastSeq: number;
  /** Pending rows by seq; Map keeps insertion (= seq) order. */
  pending: Map<number, Row>;
  bytes: number;
  /** Pending rows from sessions this recipient has not joined. */
  unjoined: number;
  /**
   * Pending rows by sid (the per-session quota). Kept here, keyed by the session's own sid string,
   * rather than in one map keyed by recipient‖sid: that key was built, flattened and hashed twice
   * per message (put and ack), a few per cent of the relay's CPU per message in the profile.
   */
  perSession: Map<string, number>;
}

const key = (sid: string, sender: string, msgId: string) => `${sid}\u0000${sender}\u0000${msgId}`;

export class MemoryStore implements MailboxStore {
  readonly kind = 'memory' as const;
  private readonly sessions = new Map<string, SessionRecord>();
  private readonly byDevice = new Map<string, Set<string>>();
  private readonly rows = new Map<string, Row>();
  private readonly mailboxes = new Map<string, Mailbox>();
  /** Members who consented, by sid (the creator from the start). */
  private readonly joined = new Map<string, Set<string>>();
  /** Pending count by sender (by recipient and sid: `Mailbox.perSession`). */
  private readonly perSender = new Map<string, number>();

  private bump(map: Map<string, number>, k: string, d: number): void {
    const n = (map.get(k) ?? 0) + d;
    if (n <= 0) map.delete(k);
    else map.set(k, n);
  }

  private isJoined(sid: string, device: string): boolean {
    return this.joined.get(sid)?.has(device) === true;
  }

  private mailbox(recipient: string): Mailbox {
    let m = this.mailboxes.get(recipient);
    if (m === undefined) {
      m = { lastSeq: 0, pending: new Map(), bytes: 0, unjoined: 0, perSession: new Map() };
      this.mailboxes.set(recipient, m);
    }
    return m;
  }

  createSession(s: SessionRecord): void {
    if (this.sessions.has(s.sid)) throw new Error('session id collision');
    this.sessions.set(s.sid, { ...s, members: [...s.members] });
    this.joined.set(s.sid, new Set([s.creator]));
    for (const d of s.members) {
      let set = this.byDevice.get(d);
      if (set === undefined) {
        set = new Set();
        this.byDevice.set(d, set);
      }
      set.add(s.sid);
    }
  }

  getSession(sid: string): SessionView | undefined {
    return this.sessions.get(sid);
  }

  listSessions(device: string, now: number): SessionRecord[] {
    const out: SessionRecord[] = [];
    for (const sid of this.byDevice.get(device) ?? []) {
      const s = this.sessions.get(sid);
      if (s !== undefined && s.expiresAt > now && s.closed !== true)
        out.push({ ...s, members: [...s.members] });
    }
    return out.sort((a, b) => a.createdAt - b.createdAt || (a.sid < b.sid ? -1 : 1));
  }

  countSessionsCreatedBy(device: string, now: number): number {
    let n = 0;
    for (const sid of this.byDevice.get(device) ?? []) {
      const s = this.sessions.get(sid);
      if (s !== undefined && s.creator === device && s.expiresAt > now && s.closed !== true) n++;
    }
    return n;
  }

  put(input: PutInput, limits: PutLimits): PutResult {
    const s = this.sessions.get(input.sid);
    if (s === undefined || s.closed === true) return { kind: 'session_missing' };
    const k = key(input.sid, input.sender, input.msgId);
    const existing = this.rows.get(k);
    if (existing !== undefined) {
      return existing.digest === input.digest
        ? { kind: 'duplicate', seq: existing.seq, ts: existing.ts }
        : { kind: 'conflict' };
    }
    if (!s.members.includes(input.recipient)) return { kind: 'not_member' };
    if (s.messageCount >= limits.maxSessionMessages) return { kind: 'full', limit: 'messages_per_session' };
    const m = this.mailbox(input.recipient);
    if (m.pending.size >= limits.maxMailboxMessages) return { kind: 'full', limit: 'mailbox_messages' };
    if (m.bytes + input.ct.length > limits.maxMailboxBytes) return { kind: 'full', limit: 'mailbox_bytes' };
    if ((m.perSession.get(s.sid) ?? 0) >= (limits.maxSessionMailboxMessages ?? Number.POSITIVE_INFINITY))
      return { kind: 'full', limit: 'session_mailbox_messages' };
    if (
      (this.perSender.get(input.sender) ?? 0) >= (limits.maxSenderPendingMessages ?? Number.POSITIVE_INFINITY)
    )
      return { kind: 'full', limit: 'sender_pending_messages' };
    const joined = this.isJoined(input.sid, input.recipient);
    if (!joined && m.unjoined >= (limits.maxUnjoinedMailboxMessages ?? Number.POSITIVE_INFINITY))
      return { kind: 'full', limit: 'unjoined_messages' };
    this.bump(m.perSession, s.sid, 1);
    this.bump(this.perSender, input.sender, 1);
    if (!joined) m.unjoined++;
    const seq = ++m.lastSeq;
    const row: Row = {
      sid: input.sid,
      sender: input.sender,
      recipient: input.recipient,
      msgId: input.msgId,
      tag: input.tag,
      seq,
      ts: input.ts,
      expiresAt: input.expiresAt,
      ct: input.ct,
      digest: input.digest,
      pending: true,
    };
    this.rows.set(k, row);
    m.pending.set(seq, row);
    m.bytes += input.ct.length;
    s.messageCount++;
    return { kind: 'stored', seq, ts: input.ts };
  }

  putMany(inputs: readonly PutInput[], limits: PutLimits): PutResult[] {
    return inputs.map((i) => this.put(i, limits));
  }

  ackMany(batches: readonly AckBatch[]): number {
    let n = 0;
    for (const b of batches) n += this.ack(b.recipient, b.seqs);
    return n;
  }

  private view(r: Row): StoredMessage {
    return {
      sid: r.sid,
      sender: r.sender,
      recipient: r.recipient,
      msgId: r.msgId,
      tag: r.tag,
      seq: r.seq,
      ts: r.ts,
      expiresAt: r.expiresAt,
      ct: r.ct,
    };
  }

  listAfter(
    recipient: string,
    afterSeq: number,
    limit: number,
    now: number,
    sid?: string,
    maxChars = Number.POSITIVE_INFINITY,
  ): StoredMessage[] {
    const m = this.mailboxes.get(recipient);
    const out: StoredMessage[] = [];
    if (m === undefined) return out;
    let chars = 0;
    for (const r of m.pending.values()) {
      if (out.length >= limit || chars >= maxChars) break;
      if (r.seq <= afterSeq || r.expiresAt <= now) continue;
      if (sid !== undefined && r.sid !== sid) continue;
      out.push(this.view(r));
      chars += r.ct.length;
    }
    return out;
  }

  getBySeqs(recipient: string, seqs: readonly number[], now: number): StoredMessage[] {
    const m = this.mailboxes.get(recipient);
    if (m === undefined) return [];
    const out: StoredMessage[] = [];
    for (const seq of [...seqs].sort((a, b) => a - b)) {
      const r = m.pending.get(seq);
      if (r !== undefined && r.expiresAt > now) out.push(this.view(r));
    }
    return out;
  }

  private drop(m: Mailbox, r: Row): void {
    if (!r.pending) return;
    r.pending = false;
    m.pending.delete(r.seq);
    m.bytes -= r.ct.length;
    r.ct = '';
    this.bump(m.perSession, r.sid, -1);
    this.bump(this.perSender, r.sender, -1);
    if (!this.isJoined(r.sid, r.recipient)) m.unjoined--;
  }

  /** Drop `device`'s pending messages in `sid` (tombstones stay). */
  private dropFor(sid: string, device: string): void {
    const m = this.mailboxes.get(device);
    if (m === undefined) return;
    for (const r of [...m.pending.values()]) if (r.sid === sid) this.drop(m, r);
  }

  joinSession(sid: string, device: string): boolean {
    const s = this.sessions.get(sid);
    if (s === undefined || !s.members.includes(device)) return false;
    const j = this.joined.get(sid)!;
    if (!j.has(device)) {
      j.add(device);
      const m = this.mailboxes.get(device);
      if (m !== undefined) m.unjoined -= m.perSession.get(sid) ?? 0;
    }
    return true;
  }

  leaveSession(sid: string, device: string): boolean {
    const s = this.sessions.get(sid);
    if (s === undefined || !s.members.includes(device)) return false;
    this.dropFor(sid, device);
    s.members = s.members.filter((d) => d !== device);
    this.joined.get(sid)?.delete(device);
    this.byDevice.get(device)?.delete(sid);
    return true;
  }

  closeSession(sid: string, by: string): void {
    const s = this.sessions.get(sid);
    if (s === undefined) return;
    s.closed = true;
    this.dropFor(sid, by);
  }

  ack(recipient: string, seqs: readonly number[]): number {
    const m = this.mailboxes.get(recipient);
    if (m === undefined) return 0;
    let n = 0;
    for (const seq of seqs) {
      const r = m.pending.get(seq);
      if (r !== undefined) {
        this.drop(m, r);
        n++;
      }
    }
    return n;
  }

  sweep(now: number): SweepResult {
    let messages = 0;
    let sessions = 0;
    for (const [sid, s] of this.sessions) {
      if (s.expiresAt <= now) {
        this.purgeSession(sid);
        sessions++;
      }
    }
    for (const [k, r] of this.rows) {
      if (r.expiresAt <= now) {
        const m = this.mailboxes.get(r.recipient);
        if (m !== undefined) this.drop(m, r);
        this.rows.delete(k);
        messages++;
      }
    }
    return { messages, sessions };
  }

  purgeSession(sid: string): void {
    const s = this.sessions.get(sid);
    if (s === undefined) return;
    this.sessions.delete(sid);
    for (const d of s.members) this.byDevice.get(d)?.delete(sid);
    for (const [k, r] of this.rows) {
      if (r.sid === sid) {
        const m = this.mailboxes.get(r.recipient);
        if (m !== undefined) this.drop(m, r);
        this.rows.delete(k);
      }
    }
    this.joined.delete(sid);
  }

  mailboxStats(recipient: string): MailboxStats {
    const m = this.mailboxes.get(recipient);
    return { messages: m?.pending.size ?? 0, bytes: m?.bytes ?? 0 };
  }

  lastSeq(recipient: string): number {
    return this.mailboxes.get(recipient)?.lastSeq ?? 0;
  }

  close(): void {}
}
