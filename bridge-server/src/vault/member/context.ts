/**
 * What the member's services share: its open store, bridge client and identity, and the ports it
 * was started with (ports.ts, ceremony-host.ts). One `SerialQueue` for the whole member, so a
 * vault proposal and a request never interleave their store updates either.
 */
import type { DeviceIdentity } from '@concord/tss/transport';
import type { BridgeClient } from '../../client/client.ts';
import type { SerialQueue } from '../serial.ts';
import type { CeremonyHost } from './ceremony-host.ts';
import type { ChainPort, Clock, Decider, LogFn } from './ports.ts';
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
