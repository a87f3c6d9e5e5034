/**
 * The relay's persistence interface (BRIDGE.md §11–§14, §18). Implementations: `memory.ts` (tests,
 * load tests), `sqlite.ts` (default, one machine) and `redis.ts` (several relay nodes on one Redis).
 *
 * Methods return `Awaitable<T>`: the in-process stores answer synchronously (better-sqlite3), which
 * keeps "store first, then `accepted`" a straight line for them; the Redis store answers with a
 * promise, or synchronously where it can (its session cache). The relay handles both without
 * paying for a promise when the value is already there (`after` below), and keeps every
 * connection's frames answered in order either way.
 *
 * Model: a message is one row keyed by (sid, sender, msgId) and addressed to one recipient. Its
 * `seq` comes from the recipient's monotonic counter (shared across that device's sessions, so
 * `fetch {afterSeq}` without a sid works). Ack drops the ciphertext but keeps a tombstone
 * (digest + seq) until the message expires, so a late retry of an acknowledged message is still
 * recognised as a duplicate instead of being delivered twice.
 */
import type { SessionKind } from '../../protocol/frames.ts';

export type Awaitable<T> = T | Promise<T>;

/** `f(v)` now if `v` is a plain value, else once it resolves (no microtask for sync stores). */
export function after<T, R>(v: Awaitable<T>, f: (v: T) => Awaitable<R>): Awaitable<R> {
  return v instanceof Promise ? v.then(f) : f(v);
}

/**
 * A networked store could not be reached (down, restarting, timed out). Nothing was changed by the
 * failed call as far as the caller can tell; the relay answers `STORE_UNAVAILABLE` and the client
 * retries (a retried `send` is recognised by its msgId if it did land).
 */
export class StoreUnavailableError extends Error {
  override readonly name = 'StoreUnavailableError';
}

export interface SessionRecord {
  sid: string;
  kind: SessionKind;
  creator: string;
  /** Device ids (base64url), creator included, in the order given at creation. */
  members: string[];
  createdAt: number;
  expiresAt: number;
  /** Messages accepted so far (counts toward the per-session quota). */
  messageCount: number;
  /**
   * Closed by a member: takes no new sends and is not listed, but what was accepted for the other
   * members stays deliverable until acknowledged or expired.
   */
  closed?: boolean;
}

/**
 * A session as `getSession` returns it: the store's own record, not a copy (it is read on every
 * `send`, and copying the members array each time showed up in the relay profile). Read-only.
 */
export type SessionView = Readonly<Omit<SessionRecord, 'members'>> & { readonly members: readonly string[] };

export interface StoredMessage {
  sid: string;
  sender: string;
  recipient: string;
  msgId: string;
  tag: string;
  seq: number;
  ts: number;
  expiresAt: number;
  /** Sealed envelope, base64url. */
  ct: string;
}

export interface PutInput {
  sid: string;
  sender: string;
  recipient: string;
  msgId: string;
  tag: string;
  ct: string;
  /** Hash of (recipient, tag, ct): same msgId + same digest is an idempotent retry. */
  digest: string;
  ts: number;
  expiresAt: number;
  /**
   * Cluster stores: also wake the recipient's node (it is not connected to this one). The
   * in-process stores ignore it; a lost wake-up costs only latency (catch-up reads the store).
   */
  wake?: boolean;
}

export interface PutLimits {
  maxSessionMessages: number;
  maxMailboxMessages: number;
  maxMailboxBytes: number;
  /** Pending messages for one recipient in one session (absent: no such quota). */
  maxSessionMailboxMessages?: number;
  /** Pending messages from one sender, all recipients and sessions together. */
  maxSenderPendingMessages?: number;
  /**
   * Pending messages for one recipient from sessions it has not joined (consented to): a stranger
   * who adds a device to sessions can fill only this slice of its mailbox.
   */
  maxUnjoinedMailboxMessages?: number;
}

export type FullLimit =
  | 'messages_per_session'
  | 'mailbox_messages'
  | 'mailbox_bytes'
  | 'session_mailbox_messages'
  | 'sender_pending_messages'
  | 'unjoined_messages';

export const FULL_LIMITS: readonly FullLimit[] = [
  'messages_per_session',
  'mailbox_messages',
  'mailbox_bytes',
  'session_mailbox_messages',
  'sender_pending_messages',
  'unjoined_messages',
];

export type PutResult =
  | { kind: 'stored'; seq: number; ts: number }
  | { kind: 'duplicate'; seq: number; ts: number }
  | { kind: 'conflict' }
  | { kind: 'session_missing' }
  /** The recipient is no longer a member (it left the session). */
  | { kind: 'not_member' }
  | { kind: 'full'; limit: FullLimit };

export interface AckBatch {
  recipient: string;
  seqs: readonly number[];
}

export interface SweepResult {
  messages: number;
  sessions: number;
}

export interface MailboxStats {
  messages: number;
  bytes: number;
}

export interface MailboxStore {
  readonly kind: 'memory' | 'sqlite' | 'redis';
  createSession(s: SessionRecord): Awaitable<void>;
  getSession(sid: string): Awaitable<SessionView | undefined>;
  /** Unexpired sessions the device is a member of. */
  listSessions(device: string, now: number): Awaitable<SessionRecord[]>;
  /** Unexpired sessions the device created (the per-device quota). */
  countSessionsCreatedBy(device: string, now: number): Awaitable<number>;
  /** Atomically: idempotency check, quotas, next recipient seq, insert. */
  put(input: PutInput, limits: PutLimits): Awaitable<PutResult>;
  /**
   * Group commit: `put` each input in order, in one transaction, with the results `put` would
   * have given one by one (a repeated msgId within the batch is a duplicate of the earlier one).
   * If the store fails, nothing is stored and it throws.
   */
  putMany(inputs: readonly PutInput[], limits: PutLimits): Awaitable<PutResult[]>;
  /** `ack` for several mailboxes in one transaction; returns how many were pending in total. */
  ackMany(batches: readonly AckBatch[]): Awaitable<number>;
  /**
   * Pending (unacknowledged, unexpired) messages with seq > afterSeq, ascending, at most `limit`,
   * and stopping once their ciphertexts total `maxChars` or more (the message that reaches it is
   * included, so the caller can tell that more follow). The store reads no further than that.
   */
  listAfter(
    recipient: string,
    afterSeq: number,
    limit: number,
    now: number,
    sid?: string,
    maxChars?: number,
  ): Awaitable<StoredMessage[]>;
  /** Pending messages with exactly these seqs (for redelivery). */
  getBySeqs(recipient: string, seqs: readonly number[], now: number): Awaitable<StoredMessage[]>;
  /** Drop the ciphertext of these pending messages; returns how many were pending. */
  ack(recipient: string, seqs: readonly number[]): Awaitable<number>;
  /** Delete expired messages, tombstones and sessions. */
  sweep(now: number): Awaitable<SweepResult>;
  /** Delete a session with its members and all its messages. */
  purgeSession(sid: string): Awaitable<void>;
  /**
   * `device` consents to the session (the creator has from the start): its pending messages there
   * leave the unjoined slice of its mailbox. False if it is not a member.
   */
  joinSession(sid: string, device: string): Awaitable<boolean>;
  /**
   * `device` leaves (or refuses) the session: it is no longer a member, and its pending messages
   * there are dropped (tombstones stay). False if it was not a member.
   */
  leaveSession(sid: string, device: string): Awaitable<boolean>;
  /**
   * Close the session on behalf of member `by`: no new sends, not listed, `by`'s own pending
   * messages there dropped; the other members' stay deliverable until acked or expired.
   */
  closeSession(sid: string, by: string): Awaitable<void>;
  mailboxStats(recipient: string): Awaitable<MailboxStats>;
  /** Highest seq ever assigned to the recipient (0 if none). */
  lastSeq(recipient: string): Awaitable<number>;
  /** Flush and release resources. */
  close(): Awaitable<void>;
  /** False while a networked store cannot be reached (`/readyz`); absent means always ready. */
  ready?(): boolean;
}
