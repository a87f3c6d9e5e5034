/**
 * Session and mailbox-read handlers (BRIDGE.md §6–§7, §11; THREATS B32): membership and expiry
 * checks, create/join/list/close of sessions with their online members (cluster-wide when
 * clustered), `fetch` pages, and presence fan-out to the other members of a device's sessions.
 */
import { b64uEncode } from '../protocol/base64url.ts';
import type { ClientFrame, SessionInfo } from '../protocol/frames.ts';
import type { Connection } from './connection.ts';
import { p6, p8 } from './connection.ts';
import type { RelayCore } from './core.ts';
import {
  type Awaitable,
  after,
  type SessionRecord,
  type SessionView,
  type StoredMessage,
} from './store/types.ts';

/** Session lookup with membership and expiry checks; reports the error and returns undefined. */
export function memberSession(
  r: RelayCore,
  c: Connection,
  dev: string,
  sid: string,
  rid: string | undefined,
): Awaitable<SessionView | undefined> {
  return after(r.store.getSession(sid), (s) => checkMember(r, c, dev, s, rid));
}

function checkMember(
  r: RelayCore,
  c: Connection,
  dev: string,
  s: SessionView | undefined,
  rid: string | undefined,
): SessionView | undefined {
  if (s === undefined) {
    r.error(c, 'SESSION_NOT_FOUND', 'no such session', rid);
    return undefined;
  }
  // Non-members learn nothing beyond "not a member" (THREATS B32).
  if (!s.members.includes(dev)) {
    r.error(c, 'NOT_A_MEMBER', 'not a member of this session', rid);
    return undefined;
  }
  if (s.expiresAt <= r.now()) {
    r.error(c, 'EXPIRED', 'session expired', rid);
    return undefined;
  }
  // Closed: what it holds stays deliverable (fetch without a sid), nothing else is served.
  if (s.closed === true) {
    r.error(c, 'SESSION_NOT_FOUND', 'session closed', rid);
    return undefined;
  }
  return s;
}

/** Session infos with their online members (cluster-wide when clustered: one lookup for all). */
export function infos(r: RelayCore, list: readonly SessionView[]): Awaitable<SessionInfo[]> {
  const info = (s: SessionView, on: (m: string) => boolean): SessionInfo => ({
    sid: s.sid,
    kind: s.kind,
    creator: s.creator,
    members: [...s.members],
    expiresAt: s.expiresAt,
    online: s.members.filter(on),
  });
  if (r.cluster === undefined || list.length === 0) {
    return list.map((s) => info(s, (m) => r.devices.has(m)));
  }
  const all = [...new Set(list.flatMap((s) => s.members))].filter((m) => !r.devices.has(m));
  return after(r.cluster.online(all), (remote) =>
    list.map((s) => info(s, (m) => r.devices.has(m) || remote.has(m))),
  );
}

export function onListSessions(r: RelayCore, c: Connection, dev: string, rid: string): Awaitable<void> {
  return after(r.store.listSessions(dev, r.now()), (list) =>
    after(infos(r, list), (sessions) => r.send(c, { t: 'sessions', rid, sessions })),
  );
}

export function onCreate(
  r: RelayCore,
  c: Connection,
  dev: string,
  f: Extract<ClientFrame, { t: 'create_session' }>,
): Awaitable<void> {
  const members = f.members.includes(dev) ? f.members : [dev, ...f.members];
  if (new Set(members).size !== members.length) {
    r.error(c, 'INVALID_FRAME', 'duplicate members', f.rid);
    return;
  }
  if (members.length > r.limits.maxMembersPerSession) {
    r.error(c, 'MAILBOX_FULL', 'too many members', f.rid, { limit: 'members_per_session' });
    return;
  }
  const now = r.now();
  return after(r.store.countSessionsCreatedBy(dev, now), (open) => {
    if (open >= r.limits.maxSessionsPerDevice) {
      r.error(c, 'MAILBOX_FULL', 'too many open sessions', f.rid, { limit: 'sessions_per_device' });
      return;
    }
    return createSession(r, c, dev, f, members, now);
  });
}

function createSession(
  r: RelayCore,
  c: Connection,
  dev: string,
  f: Extract<ClientFrame, { t: 'create_session' }>,
  members: string[],
  now: number,
): Awaitable<void> {
  const ttl = Math.min(f.ttlMs ?? r.limits.defaultSessionTtlMs, r.limits.maxSessionTtlMs);
  const rec: SessionRecord = {
    sid: b64uEncode(r.rand(16)), // 128-bit, server-random (THREATS B32)
    kind: f.kind,
    creator: dev,
    members,
    createdAt: now,
    expiresAt: now + ttl,
    messageCount: 0,
  };
  return after(r.store.createSession(rec), () =>
    after(infos(r, [rec]), ([info]) => {
      r.send(c, { t: 'session', rid: f.rid, session: info! });
      // Tell the other online members (on any node) they have a new pending session.
      for (const m of members) if (m !== dev) r.sendTo(m, { t: 'session', session: info });
      r.log.info(
        { sid: p6(rec.sid), device: p8(dev), kind: f.kind, members: members.length, ttl },
        'session created',
      );
    }),
  );
}

/** `join` is the member's consent: its mailbox then holds this session's messages in full. */
export function onJoin(r: RelayCore, c: Connection, dev: string, rid: string, sid: string): Awaitable<void> {
  return after(memberSession(r, c, dev, sid, rid), (s) => {
    if (s === undefined) return;
    return after(r.store.joinSession(sid, dev), () =>
      after(infos(r, [s]), ([session]) => r.send(c, { t: 'session', rid, session: session! })),
    );
  });
}

/**
 * `leave`: a member refuses or leaves a session it was added to. It stops being a member (sends to
 * it are refused), and what the session put in its mailbox is dropped. The others are not told:
 * their next send to it answers NOT_A_MEMBER.
 */
export function onLeave(r: RelayCore, c: Connection, dev: string, rid: string, sid: string): Awaitable<void> {
  return after(memberSession(r, c, dev, sid, rid), (s) => {
    if (s === undefined) return;
    return after(r.store.leaveSession(sid, dev), () => {
      r.cluster?.purged(sid); // other nodes re-read the member list
      r.send(c, { t: 'closed', rid, sid });
      r.log.info({ sid: p6(sid), device: p8(dev) }, 'left session');
    });
  });
}

export function onCloseSession(
  r: RelayCore,
  c: Connection,
  dev: string,
  rid: string,
  sid: string,
): Awaitable<void> {
  return after(memberSession(r, c, dev, sid, rid), (s) => {
    if (s === undefined) return;
    // Closed, not purged: messages already accepted for the other members stay deliverable
    // until they are acknowledged or expire (the sweeper purges the session at its expiry).
    return after(r.store.closeSession(sid, dev), () => {
      r.cluster?.purged(sid);
      for (const m of s.members) r.sendTo(m, m === dev ? { t: 'closed', rid, sid } : { t: 'closed', sid });
      r.log.info({ sid: p6(sid), device: p8(dev) }, 'session closed');
    });
  });
}

export function onFetch(
  r: RelayCore,
  c: Connection,
  dev: string,
  rid: string,
  afterSeq: number,
  limit?: number,
  sid?: string,
): Awaitable<void> {
  const checked = sid === undefined ? true : memberSession(r, c, dev, sid, rid);
  return after(checked, (ok) => {
    if (ok === undefined) return;
    const page = Math.min(limit ?? r.limits.fetchPageSize, r.limits.fetchPageSize);
    const chars = pageChars(r);
    const now = r.now();
    return after(r.store.listAfter(dev, afterSeq, page + 1, now, sid, chars), (rows) =>
      sendPage(r, c, dev, rid, rows, page, chars, now),
    );
  });
}

/** Ciphertext per page: the configured cap, and never more than half the send-buffer limit. */
export function pageChars(r: RelayCore): number {
  return Math.max(1, Math.min(r.limits.fetchPageChars, Math.floor(r.limits.maxBufferedBytes / 2)));
}

/**
 * One `batch`: at most `page` messages and `chars` of ciphertext (the first always goes, so a
 * single large message is still readable). Messages already delivered on this connection and not
 * acknowledged are re-reads: charged to the device's bucket by size (finding: 21 fetches of the
 * same unacked page made the relay send 538 MB), so the next frames wait until that is paid back.
 */
function sendPage(
  r: RelayCore,
  c: Connection,
  dev: string,
  rid: string,
  rows: StoredMessage[],
  page: number,
  chars: number,
  now: number,
): void {
  let n = 0;
  let total = 0;
  let reread = 0;
  const messages = [];
  for (const m of rows) {
    if (n >= page || (n > 0 && total + m.ct.length > chars)) break;
    total += m.ct.length;
    if (c.inflight.has(m.seq)) reread += m.ct.length;
    c.inflight.set(m.seq, now);
    messages.push({
      sid: m.sid,
      from: m.sender,
      to: m.recipient,
      tag: m.tag,
      msgId: m.msgId,
      seq: m.seq,
      ts: m.ts,
      ct: m.ct,
    });
    n++;
  }
  const hasMore = rows.length > n;
  if (reread > 0) r.deviceBuckets.charge(dev, now, Math.ceil(reread / r.limits.rereadCharsPerToken));
  r.metrics.hot.delivered += messages.length;
  r.send(c, { t: 'batch', rid, messages, hasMore });
}

/** Tell the other members of `dev`'s sessions (on any node) that it came online or went away. */
export function broadcastPresence(
  r: RelayCore,
  dev: string,
  online: boolean,
  sessions?: SessionRecord[],
): void {
  const each = (list: readonly SessionRecord[]) => {
    for (const s of list) {
      for (const m of s.members) {
        if (m !== dev) r.sendTo(m, { t: 'presence', sid: s.sid, deviceId: dev, online });
      }
    }
  };
  if (sessions !== undefined) each(sessions);
  else r.guard(after(r.store.listSessions(dev, r.now()), each), 'presence');
}
