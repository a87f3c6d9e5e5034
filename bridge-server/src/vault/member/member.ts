/**
 * A headless vault member: one device identity in a `VaultStore`, one bridge client, and the two
 * services that answer its vaults — vault creation (vault-creation.ts: proposal, decision, DKG) and
 * co-approval requests (requests.ts: the co-approval machine driven with this member's ports). It is
 * what the virtual co-signer will run (with a policy `Decider`) and what tests run beside extension
 * backgrounds. `stop()` closes everything; state that matters is in the store, so a new member
 * started on the same store carries on (a ceremony cut by the stop is retried as a new attempt).
 */

import { toHex } from '@concord/tss/bytes';
import {
  type DeviceIdentity,
  decodeDeviceIdentity,
  deviceCode,
  encodeDeviceIdentity,
  generateDeviceIdentity,
  publicIdentity,
} from '@concord/tss/transport';
import { BridgeClient, type WebSocketCtor } from '../../client/client.ts';
import { SerialQueue } from '../serial.ts';
import { type CeremonyHost, inProcessHost } from './ceremony-host.ts';
import type { MemberContext } from './context.ts';
import { type ChainPort, type Clock, type Decider, type LogFn, systemClock } from './ports.ts';
import { RequestRuntime } from './requests.ts';
import type { VaultRecord, VaultStore } from './store.ts';
import { VaultCreation } from './vault-creation.ts';

/** The extension's defaults: a signing attempt with no progress for 60 s is retried; 5 s grace. */
const DEFAULT_STALL_MS = 60_000;
const DEFAULT_FALLBACK_MS = 5_000;

export interface MemberOptions {
  store: VaultStore;
  /** `ws(s)://host:port/v1`. */
  bridgeUrl: string;
  WebSocket: WebSocketCtor;
  decider: Decider;
  clock?: Clock;
  host?: CeremonyHost;
  chain?: ChainPort;
  log?: LogFn;
  stallMs?: number;
  fallbackMs?: number;
}

export class VaultMember {
  private stopped = false;

  private constructor(
    readonly identity: DeviceIdentity,
    readonly store: VaultStore,
    private readonly client: BridgeClient,
    private readonly creation: VaultCreation,
    readonly requests: RequestRuntime,
    private readonly unsubscribe: (() => void)[],
  ) {}

  /** Loads (or, on a new store, creates) the identity, connects, and resumes what the store holds. */
  static async start(o: MemberOptions): Promise<VaultMember> {
    let encoded = await o.store.identity();
    if (encoded === undefined) {
      const fresh = generateDeviceIdentity();
      encoded = encodeDeviceIdentity(fresh);
      await o.store.setIdentity(encoded);
    }
    const identity = decodeDeviceIdentity(encoded);
    encoded.fill(0);
    const client = new BridgeClient({
      url: o.bridgeUrl,
      deviceId: identity.deviceId,
      sign: (m) => identity.sign(m),
      WebSocket: o.WebSocket,
      backoff: { initialMs: 250, maxMs: 10_000 },
    });
    const log = o.log ?? (() => {});
    const ctx: MemberContext = {
      store: o.store,
      client,
      identity,
      self: toHex(identity.deviceId),
      clock: o.clock ?? systemClock,
      decider: o.decider,
      host: o.host ?? inProcessHost,
      chain: o.chain,
      log,
      serial: new SerialQueue((e) => log('MEMBER', e)),
      stallMs: o.stallMs ?? DEFAULT_STALL_MS,
      fallbackMs: o.fallbackMs ?? DEFAULT_FALLBACK_MS,
    };
    const creation = new VaultCreation(ctx);
    const requests = new RequestRuntime(ctx);
    // Listening before connecting: the mailbox catch-up after auth must find every handler in place.
    const unsubscribe = [
      client.on('message', (m) => {
        creation.onMessage(m);
        requests.onMessage(m);
      }),
      client.on('presence', (p) => requests.onPresence(p)),
    ];
    const member = new VaultMember(identity, o.store, client, creation, requests, unsubscribe);
    await ctx.serial.run(async () => {
      await creation.restore();
      await requests.restore();
    });
    client.connect().catch((e: unknown) => log('CONNECT', e));
    await client.waitReady();
    return member;
  }

  get deviceId(): string {
    return toHex(this.identity.deviceId);
  }

  /** What a person pastes in the extension to invite this member. */
  get deviceCode(): string {
    return deviceCode(publicIdentity(this.identity));
  }

  vaults(): Promise<VaultRecord[]> {
    return this.store.vaults();
  }

  /** Stops the member: socket, channels, timers; then closes the store. Idempotent. */
  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    for (const u of this.unsubscribe) u();
    this.requests.close();
    this.creation.close();
    this.client.close();
    this.store.close();
  }
}
