/**
 * Events another relay node sends this one through the shared store (cluster.ts; BRIDGE.md §17):
 * a message stored for a device connected here, a frame addressed to one, a displacement by a
 * newer connection elsewhere, and the catch-up after missed wake-ups.
 */
import type { RelayCore } from './core.ts';
import { pageChars } from './sessions.ts';
import { after } from './store/types.ts';

/**
 * A message for `device` was stored by another node (the store's wake-up carries the `deliver`
 * frame). Delivered like a local one: in flight until acked, redelivered from the store if not.
 */
export function deliverFromCluster(r: RelayCore, device: string, seq: number, frame: string): void {
  const c = r.devices.get(device);
  if (c === undefined || c.state !== 'ready' || c.inflight.has(seq)) return;
  c.inflight.set(seq, r.now());
  r.metrics.hot.delivered++;
  r.sendRaw(c, frame);
}

/** A frame (presence, session, closed) another node addressed to a device connected here. */
export function pushFromCluster(r: RelayCore, device: string, frame: string): void {
  const c = r.devices.get(device);
  if (c !== undefined && c.state === 'ready') r.sendRaw(c, frame);
}

/** The device authenticated on another node: the newer connection wins, silently for presence. */
export function displacedFromCluster(r: RelayCore, device: string, generation: number): void {
  const c = r.devices.get(device);
  // Its own announcement, or an older one arriving late: the connection here is the newest.
  if (c === undefined || c.generation === 0 || c.generation >= generation) return;
  c.displacedRemotely = true;
  r.fail(c, 'DISPLACED', 'a newer connection of this device took over');
}

/**
 * Wake-ups may have been missed (the node's pub/sub link to the store was down): deliver what is
 * pending for every device connected here and not already in flight. The mailbox is the source
 * of truth; this is the catch-up a reconnecting client does, run by the node.
 */
export function resync(r: RelayCore): void {
  const now = r.now();
  for (const c of r.conns) {
    if (c.state !== 'ready') continue;
    const dev = c.deviceId!;
    const page = r.limits.fetchPageSize;
    r.guard(
      after(r.store.listAfter(dev, 0, page, now, undefined, pageChars(r)), (rows) => {
        for (const m of rows) if (!c.inflight.has(m.seq) && c.state === 'ready') r.deliver(c, m, false);
      }),
      'resync',
    );
  }
}
