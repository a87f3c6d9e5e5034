/**
 * The relay's periodic work (BRIDGE.md §12–§14; THREATS B39–B41): heartbeat pings that drop dead
 * sockets and prune rate-limit buckets, redelivery of deliveries not acknowledged in time
 * (at-least-once), and the sweep of expired messages and sessions.
 */
import { p8 } from './connection.ts';
import type { RelayCore } from './core.ts';
import { after } from './store/types.ts';

export function heartbeat(r: RelayCore): void {
  for (const c of r.conns) {
    if (!c.alive) {
      r.log.debug({ conn: c.id, device: p8(c.deviceId) }, 'missed pong, terminating');
      c.ws.terminate();
      continue;
    }
    c.alive = false;
    try {
      c.ws.ping();
    } catch {
      c.ws.terminate();
    }
  }
  const now = r.now();
  r.ipBuckets.prune(now);
  r.deviceBuckets.prune(now);
  r.cluster?.refresh([...r.devices.keys()]);
}

/** Re-send deliveries not acknowledged within `redeliverAfterMs` (never treated as acknowledged). */
export function redeliver(r: RelayCore): void {
  r.guard(r.commit.commitPending(), 'commit');
  const now = r.now();
  for (const c of r.conns) {
    if (c.state !== 'ready' || c.inflight.size === 0) continue;
    const due: number[] = [];
    for (const [seq, at] of c.inflight) if (now - at >= r.limits.redeliverAfterMs) due.push(seq);
    if (due.length === 0) continue;
    r.guard(
      after(r.store.getBySeqs(c.deviceId!, due, now), (rows) => {
        const found = new Set(rows.map((m) => m.seq));
        for (const seq of due) if (!found.has(seq)) c.inflight.delete(seq); // acked elsewhere or expired
        if (c.state === 'ready') for (const m of rows) r.deliver(c, m, false);
      }),
      'redelivery',
    );
  }
}

export function sweep(r: RelayCore): void {
  r.guard(r.commit.commitPending(), 'commit');
  r.guard(
    after(r.store.sweep(r.now()), (res) => {
      if (res.messages > 0) r.metrics.expired.inc({ what: 'message' }, res.messages);
      if (res.sessions > 0) r.metrics.expired.inc({ what: 'session' }, res.sessions);
      if (res.messages + res.sessions > 0) r.log.info(res, 'swept expired');
    }),
    'sweep',
  );
}
