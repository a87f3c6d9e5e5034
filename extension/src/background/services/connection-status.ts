/**
 * What the pages show about the connections this device depends on: the bridge (state, since when,
 * why it is down, how many attempts failed) and the RPC of a chain (reachable, right chain id). A
 * view only: it watches the bridge client's `state` and `error` events and reads the chain through
 * `ChainService`; it never changes a request or a ceremony.
 *
 * "Known down" is what lets the Send page refuse a proposal at once instead of waiting out the
 * bridge's 10 s readiness timeout: at least one connection attempt has failed since the client was
 * last ready.
 */
import type { BridgeClient } from '@concord/bridge-server/client';
import { ExtensionError } from '../../shared/errors.ts';
import type { ConnectionView } from '../../shared/messages.ts';

interface Tracked {
  client: BridgeClient;
  failures: number;
  since: number;
  reason: string | null;
  stop: () => void;
}

export interface ConnectionStatusDeps {
  now: () => number;
  bridge: () => { state: string; url: string | null };
  /** `eth_chainId` checked against `chainId`, then the latest block number. */
  chainCheck: (chainId: number) => Promise<number>;
  chainName: (chainId: number) => Promise<string>;
}

function hostOf(url: string | null): string {
  if (url === null) return 'the bridge';
  try {
    return new URL(url).host;
  } catch {
    return 'the bridge';
  }
}

export class ConnectionStatus {
  private tracked: Tracked | null = null;

  constructor(private readonly d: ConnectionStatusDeps) {}

  /** Starts following a new bridge client (called once per client, before it connects). */
  watch(client: BridgeClient): void {
    this.tracked?.stop();
    const t: Tracked = { client, failures: 0, since: this.d.now(), reason: null, stop: () => {} };
    const offState = client.on('state', (s) => {
      if (s === 'ready') {
        t.failures = 0;
        t.reason = null;
        t.since = this.d.now();
      } else if (s === 'reconnecting') {
        // A new attempt after one that did not reach "ready".
        if (t.failures === 0) t.since = this.d.now();
        t.failures += 1;
      }
    });
    const offError = client.on('error', (e) => {
      t.reason = e.message.replace(/^[A-Z_]+: /, '').slice(0, 160);
    });
    t.stop = () => {
      offState();
      offError();
    };
    this.tracked = t;
  }

  forget(client: BridgeClient): void {
    if (this.tracked?.client === client) {
      this.tracked.stop();
      this.tracked = null;
    }
  }

  bridgeView(): ConnectionView['bridge'] {
    const { state, url } = this.d.bridge();
    const t = this.tracked;
    const failures = t?.failures ?? 0;
    const down = state === 'off' || state === 'closed' || (state !== 'ready' && failures > 0);
    let reason: string | null = null;
    if (state === 'off') reason = 'Not started: unlock Concord to connect.';
    else if (state === 'closed') reason = t?.reason ?? 'The connection was closed.';
    else if (down) {
      reason =
        t?.reason ??
        `${hostOf(url)} does not answer (${failures} ${failures === 1 ? 'attempt' : 'attempts'} failed). Is the bridge running, and is its URL in Settings right?`;
    }
    return { state, url, down, reason, since: t?.since ?? null, failures };
  }

  async chainView(chainId: number): Promise<NonNullable<ConnectionView['rpc']>> {
    const name = await this.d.chainName(chainId);
    try {
      const block = await this.d.chainCheck(chainId);
      return { chainId, name, ok: true, reason: null, block };
    } catch (e) {
      const reason = e instanceof ExtensionError ? e.message : 'The RPC did not answer.';
      return { chainId, name, ok: false, reason, block: null };
    }
  }
}
