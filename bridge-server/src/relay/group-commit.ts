/**
 * Group commit of `send` and `ack` frames (BRIDGE.md §8–§10): the sends and acks checked in one
 * event-loop turn are stored in one store transaction at its end (`RelayCore.endTurn`) and then
 * answered in frame order — store first, then `accepted`, then `deliver` if the recipient is
 * online. Any other frame commits the pending ones first (`commitPending`), so nothing observable
 * reorders; with an asynchronous store the answers are chained so replies keep the order issued.
 */
import { hash } from 'node:crypto';
import { PROTOCOL_VERSION, type SendFrame } from '../protocol/frames.ts';
import type { Connection } from './connection.ts';
import { p6, p8 } from './connection.ts';
import type { RelayCore } from './core.ts';
import { memberSession } from './sessions.ts';
import {
  type AckBatch,
  type Awaitable,
  after,
  type PutInput,
  type PutLimits,
  type PutResult,
  type SessionView,
  StoreUnavailableError,
} from './store/types.ts';

interface PendingPut {
  c: Connection;
  f: SendFrame;
  input: PutInput;
}

export class GroupCommit {
  /** Sends checked this turn, stored together at its end (group commit). */
  private pendingPuts: PendingPut[] = [];
  private pendingAcks: AckBatch[] = [];
  private readonly putLimits: PutLimits;
  /**
   * With an asynchronous store: settles once every commit issued so far has been answered. Frames
   * other than send/ack wait for it, as they wait for the synchronous commit otherwise.
   */
  private lastCommit: Promise<void> | undefined;

  constructor(private readonly r: RelayCore) {
    this.putLimits = {
      maxSessionMessages: r.limits.maxMessagesPerSession,
      maxMailboxMessages: r.limits.maxMailboxMessages,
      maxMailboxBytes: r.limits.maxMailboxBytes,
      maxSessionMailboxMessages: r.limits.maxSessionMailboxMessages,
      maxSenderPendingMessages: r.limits.maxSenderPendingMessages,
      maxUnjoinedMailboxMessages: r.limits.maxUnjoinedMailboxMessages,
    };
  }

  onSend(c: Connection, dev: string, f: SendFrame): Awaitable<void> {
    const r = this.r;
    // Spoofing (THREATS B33): `from` must be the authenticated device. Refused, never re-stamped,
    // so a buggy or malicious client learns immediately.
    if (f.from !== dev) {
      r.log.warn({ conn: c.id, device: p8(dev), claimed: p8(f.from) }, 'sender spoofing refused');
      r.error(c, 'NOT_A_MEMBER', 'from does not match the authenticated device', f.rid);
      return;
    }
    if (f.v !== PROTOCOL_VERSION) {
      r.error(c, 'UNSUPPORTED_VERSION', `envelope v${f.v}`, f.rid);
      return;
    }
    if (f.ct.length > r.limits.maxCiphertextChars) {
      r.error(c, 'PAYLOAD_TOO_LARGE', 'ciphertext too large', f.rid);
      return;
    }
    return after(memberSession(r, c, dev, f.sid, f.rid), (s) => {
      if (s !== undefined) this.queueSend(c, dev, f, s);
    });
  }

  private queueSend(c: Connection, dev: string, f: SendFrame, s: SessionView): void {
    const r = this.r;
    const toIdx = f.to === dev ? -1 : s.members.indexOf(f.to);
    if (toIdx < 0) {
      r.error(c, 'NOT_A_MEMBER', 'recipient is not another member of this session', f.rid);
      return;
    }
    // Stored rows (and tombstones, kept until expiry) reference the session's own sid and member
    // strings rather than this frame's fresh copies: less retained memory per message.
    const sid = s.sid;
    const to = s.members[toIdx]!;
    const now = r.now();
    const ttl = Math.min(f.ttlMs ?? r.limits.maxMessageTtlMs, r.limits.maxMessageTtlMs);
    const expiresAt = Math.min(now + ttl, s.expiresAt);
    // One-shot hash of the same bytes as the former incremental digest (to‖0‖tag‖0‖ct), so stored
    // digests stay comparable across restarts; avoids a Hash object per message.
    const digest = hash('sha256', `${to}\u0000${f.tag}\u0000${f.ct}`, 'base64url');
    this.pendingPuts.push({
      c,
      f,
      input: {
        sid,
        sender: dev,
        recipient: to,
        msgId: f.msgId,
        tag: f.tag,
        ct: f.ct,
        digest,
        ts: now,
        expiresAt,
        // Not connected here: the store wakes the node that holds it (if any), in the same step.
        ...(r.cluster !== undefined && !r.devices.has(to) ? { wake: true } : {}),
      },
    });
    r.scheduleTurnEnd();
  }

  /**
   * Store every `send` checked in this turn in one transaction, then answer each in order
   * (accepted/duplicate/error, then deliver). Still store first, then accept: nothing is
   * acknowledged to a sender before the transaction holding its message has committed.
   */
  private commitPuts(prev?: Promise<void>): Awaitable<void> {
    const batch = this.pendingPuts;
    if (batch.length === 0) return;
    this.pendingPuts = [];
    let results: Awaitable<PutResult[]>;
    try {
      results = this.r.store.putMany(
        batch.map((p) => p.input),
        this.putLimits,
      );
    } catch (err) {
      this.putsFailed(batch, err);
      return;
    }
    if (results instanceof Promise) {
      // Answer after the earlier commits' answers, so replies leave in the order of the frames.
      const inOrder = (f: () => void) => (prev === undefined ? f() : prev.then(f));
      return results.then(
        (r) => inOrder(() => this.answerPuts(batch, r)),
        (err: unknown) => inOrder(() => this.putsFailed(batch, err)),
      );
    }
    this.answerPuts(batch, results);
  }

  private putsFailed(batch: readonly PendingPut[], err: unknown): void {
    if (err instanceof StoreUnavailableError) {
      for (const p of batch) this.r.storeUnavailable(p.c, p.f.rid, err);
      return;
    }
    this.r.log.error({ err: (err as Error).message, frames: batch.length }, 'store failed');
    for (const p of batch) this.r.error(p.c, 'INTERNAL', 'internal error', p.f.rid);
  }

  private answerPuts(batch: readonly PendingPut[], results: readonly PutResult[]): void {
    for (let i = 0; i < batch.length; i++) {
      const p = batch[i]!;
      // This runs from `setImmediate`, outside onMessage's handler guard: a bug answering one
      // send must not take the process down or skip the others.
      try {
        this.afterPut(p, results[i]!);
      } catch (err) {
        this.r.log.error({ conn: p.c.id, type: 'send', err: (err as Error).message }, 'frame handler failed');
        this.r.error(p.c, 'INTERNAL', 'internal error', p.f.rid);
      }
    }
  }

  private afterPut(p: PendingPut, res: PutResult): void {
    const r = this.r;
    const { c, f, input } = p;
    const dev = input.sender;
    const { sid, recipient: to, ts: now, expiresAt } = input;
    switch (res.kind) {
      case 'session_missing':
        r.error(c, 'SESSION_NOT_FOUND', 'no such session', f.rid);
        return;
      case 'not_member':
        r.error(c, 'NOT_A_MEMBER', 'recipient is not another member of this session', f.rid);
        return;
      case 'conflict':
        // Misbehaviour worth a log line: same id, different body (BRIDGE.md §10).
        r.log.warn({ sid: p6(f.sid), device: p8(dev), msgId: f.msgId.slice(0, 32) }, 'msgId conflict');
        r.error(c, 'DUPLICATE_CONFLICT', 'msgId already used with a different body', f.rid);
        return;
      case 'full':
        r.error(c, 'MAILBOX_FULL', `quota reached: ${res.limit}`, f.rid, { limit: res.limit });
        return;
      case 'duplicate':
        r.metrics.hot.duplicates++;
        r.send(c, {
          t: 'accepted',
          rid: f.rid,
          msgId: f.msgId,
          seq: res.seq,
          ts: res.ts,
          duplicate: true,
        });
        return;
      case 'stored': {
        r.metrics.hot.stored++;
        // Persisted: only now may the sender forget the message.
        r.send(c, { t: 'accepted', rid: f.rid, msgId: f.msgId, seq: res.seq, ts: res.ts });
        if (r.debugLog)
          r.log.debug(
            { sid: p6(f.sid), from: p8(dev), to: p8(f.to), seq: res.seq, size: f.ct.length },
            'stored',
          );
        const rc = r.devices.get(to);
        if (rc !== undefined) {
          r.deliver(
            rc,
            {
              sid,
              sender: dev,
              recipient: to,
              msgId: f.msgId,
              tag: f.tag,
              seq: res.seq,
              ts: now,
              expiresAt,
              ct: f.ct,
            },
            true,
          );
        }
        return;
      }
    }
  }

  onAck(c: Connection, dev: string, seqs: number[]): void {
    // Only seqs delivered on this connection and not yet acknowledged reach the store: an ack of
    // 1,000 made-up seqs costs a map lookup each, not 1,000 store updates (the relay delivered each
    // seq at most once per delivery, so the store work an ack can cause is bounded by what this
    // connection was sent). A seq delivered on an earlier connection is simply delivered again by
    // the client's catch-up and acked then. The ack sends no reply; it is committed at the end of
    // the turn with the others, and any frame that could observe the mailbox commits it first.
    const now = this.r.now();
    const known: number[] = [];
    for (const seq of seqs) {
      const at = c.inflight.get(seq);
      if (at !== undefined) {
        c.inflight.delete(seq);
        this.r.metrics.ackLatency.observe((now - at) / 1000);
        known.push(seq);
      }
    }
    if (known.length === 0) return;
    this.pendingAcks.push({ recipient: dev, seqs: known });
    this.r.scheduleTurnEnd();
  }

  private commitAcks(): Awaitable<void> {
    const batch = this.pendingAcks;
    if (batch.length === 0) return;
    this.pendingAcks = [];
    // Not acknowledged means redelivered later: at-least-once holds.
    const failed = (err: unknown) =>
      this.r.log.error({ err: (err as Error).message, frames: batch.length }, 'ack failed');
    try {
      const n = this.r.store.ackMany(batch);
      if (!(n instanceof Promise)) {
        this.r.metrics.hot.acked += n;
        return;
      }
      return n.then((k) => {
        this.r.metrics.hot.acked += k;
      }, failed);
    } catch (err) {
      failed(err);
    }
  }

  /**
   * Acks first (they can free mailbox quota for this turn's sends), then sends. With an
   * asynchronous store the result settles once this commit *and every earlier one* is answered:
   * a `fetch` or `close_session` waits for the sends before it, as it would synchronously. The
   * store's one connection runs commands in the order issued; chaining the answers keeps the
   * replies in that order too.
   */
  commitPending(): Awaitable<void> {
    const prev = this.lastCommit;
    const acks = this.commitAcks();
    const puts = this.commitPuts(prev);
    if (!(acks instanceof Promise) && !(puts instanceof Promise)) return prev;
    const done = Promise.all([prev, acks, puts]).then(() => undefined);
    this.lastCommit = done;
    void done.then(() => {
      if (this.lastCommit === done) this.lastCommit = undefined;
    });
    return done;
  }
}
