/**
 * One client connection's state (BRIDGE.md §3): the auth state machine's current state, its
 * challenge, in-flight deliveries, the frames queued behind an unfinished asynchronous one, and the
 * socket it writes to. Pure data; the relay modules drive the transitions.
 *
 *   connect ──challenge──► AWAIT_AUTH ──auth ok──► READY ──close/displace──► CLOSED
 */
import type WebSocket from 'ws';
import type { ClientFrame } from '../protocol/frames.ts';

/** Frames a connection may have waiting behind an unfinished asynchronous one. */
export const MAX_QUEUED_FRAMES = 4096;

export type State = 'await_auth' | 'ready' | 'closed';

/** The upgraded TCP socket under a `ws` connection (the `socket` of the HTTP `upgrade` event). */
export interface Corkable {
  cork(): void;
  uncork(): void;
}

/** Short, non-identifying prefixes for logs. */
export const p8 = (s: string | undefined) => (s === undefined ? undefined : s.slice(0, 8));
export const p6 = (s: string | undefined) => (s === undefined ? undefined : s.slice(0, 6));

export class Connection {
  state: State = 'await_auth';
  deviceId: string | undefined;
  challenge: { bytes: Uint8Array; expiresAt: number } | undefined;
  invalidFrames = 0;
  strikes = 0;
  /** Being closed for misbehaviour once the pending commit is answered: read no more frames. */
  closing = false;
  alive = true;
  /** seq → time of (re)delivery, for redelivery and ack latency. */
  readonly inflight = new Map<number, number>();
  authTimer: ReturnType<typeof setTimeout> | undefined;
  /** True while `sock` is corked by us, until the end-of-turn flush. */
  corked = false;
  /**
   * Frames received while one of this connection's frames waits on the store (only with an
   * asynchronous store): handled in order once it is done, so replies keep frame order.
   */
  queue: ClientFrame[] | undefined;
  /** Displaced by a connection of the same device on another node: it must not announce offline. */
  displacedRemotely = false;
  /** Cluster generation of this connection (see cluster.ts); 0 on a single node. */
  generation = 0;
  constructor(
    readonly id: number,
    readonly ws: WebSocket,
    readonly ip: string,
    readonly sock: Corkable | undefined,
  ) {}
}
