/**
 * What the member's services share: its open store, bridge client and identity, and the ports it
 * was started with (ports.ts, ceremony-host.ts). One `SerialQueue` for the whole member, so a
 * vault proposal and a request never interleave their store updates either.
 */
import type { DeviceIdentity } from '@concord/tss/transport';
import type { BridgeClient, DeliveredMessage } from '../../client/client.ts';
import type { CeremonyHost } from './ceremony-host.ts';
import type { ChainPort, Clock, Decider, LogFn } from './ports.ts';
import type { SerialQueue } from './serial.ts';
import type { VaultStore } from './store.ts';

export interface MemberContext {
  store: VaultStore;
  client: BridgeClient;
  identity: DeviceIdentity;
  /** This member's hex device id. */
  self: string;
  clock: Clock;
  decider: Decider;
  host: CeremonyHost;
  chain: ChainPort | undefined;
  log: LogFn;
  serial: SerialQueue;
  /** Stall period of a signing attempt and the stand-in grace period (the extension's defaults). */
  stallMs: number;
  fallbackMs: number;
}

/** Messages held for a session this member does not know yet (a fast peer's message). */
export class EarlyBuffer {
  private readonly held = new Map<string, DeliveredMessage[]>();

  constructor(
    private readonly maxSessions: number,
    private readonly maxPerSession: number,
  ) {}

  hold(msg: DeliveredMessage): void {
    const list = this.held.get(msg.sid);
    if (list === undefined) {
      if (this.held.size < this.maxSessions) this.held.set(msg.sid, [msg]);
    } else if (list.length < this.maxPerSession) list.push(msg);
  }

  take(sid: string): DeliveredMessage[] {
    const list = this.held.get(sid) ?? [];
    this.held.delete(sid);
    return list;
  }
}
