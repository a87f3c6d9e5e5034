/**
 * What the relay needs from the cluster when several relay nodes share one store (BRIDGE.md §19):
 * where devices are connected, how to reach one connected to another node, and hand-over of a
 * device's rate-limit bucket. Implemented on Redis by cluster.ts; a single node has none.
 */
import type { BucketState } from './rate-limit.ts';
import type { Awaitable } from './store/types.ts';

export interface JoinResult {
  /** This connection's generation for the device: a newer one anywhere displaces it. */
  generation: number;
  /** The device's rate-limit bucket as its last connection left it, if not yet refilled. */
  bucket?: BucketState;
}

export interface ClusterLink {
  /** False while the link to the shared store is down (`/readyz`). */
  ready(): boolean;
  /**
   * A device authenticated on this node: listen for its wake-ups, mark it present, displace its
   * connection on any other node.
   */
  join(device: string): Awaitable<JoinResult>;
  /** The device's connection here closed; `bucket` is its rate-limit state to hand over. */
  leave(device: string, bucket: BucketState | undefined): void;
  /** Keep presence of the devices connected here alive (called every heartbeat). */
  refresh(devices: readonly string[]): void;
  /** Which of these devices are connected to some node. */
  online(devices: readonly string[]): Awaitable<ReadonlySet<string>>;
  /** Deliver a server frame to a device connected to another node (best effort). */
  push(device: string, frame: string): void;
  /** A session was purged here: other nodes drop their cached copy. */
  purged(sid: string): void;
}
