/**
 * The connection to the bridge relay (BRIDGE.md §5): one `BridgeClient` per unlocked session, dialled
 * with the browser's WebSocket and authenticated by a challenge signed with this device's identity
 * key. The client itself reconnects with backoff, resends its outbox, catches up on the mailbox and
 * sends the 20 s app-level ping that keeps an MV3 worker alive while a session is open.
 *
 * Started lazily by the background whenever the wallet is unlocked (status polls, unlock, ceremony
 * requests), restarted when the bridge URL setting changes, and closed on lock: after a lock the
 * identity key is gone, so the client could not answer the next challenge anyway.
 */
import { BridgeClient, type ClientState, type WebSocketCtor } from '@concord/bridge-server/client';
import { ExtensionError } from '../../shared/errors.ts';
import type { DeviceIdentity } from './identity-api.ts';

/** The relay's WebSocket path (bridge-server WS_PATH). */
const WS_PATH = '/v1';

/** Settings hold the relay's base URL (`ws://127.0.0.1:8787`); the socket lives under `/v1`. */
export function bridgeSocketUrl(base: string): string {
  const u = new URL(base.trim());
  if (u.pathname === '' || u.pathname === '/') u.pathname = WS_PATH;
  return u.toString();
}

export interface BridgeStatus {
  state: ClientState | 'off';
  url: string | null;
}

export interface BridgeServiceDeps {
  WebSocket: WebSocketCtor | undefined;
  /** Called once per new client, before it connects, so listeners miss nothing. */
  onClient: (client: BridgeClient, identity: DeviceIdentity) => void;
  /** Called when a client is closed (lock, URL change). */
  onClientClosed: (client: BridgeClient) => void;
}

export class BridgeService {
  private client: BridgeClient | null = null;
  private url: string | null = null;
  private identity: DeviceIdentity | null = null;

  constructor(private readonly d: BridgeServiceDeps) {}

  /** The running client for `identity` at `baseUrl`, created (and connecting) if needed. */
  ensure(identity: DeviceIdentity, baseUrl: string): BridgeClient {
    const url = bridgeSocketUrl(baseUrl);
    if (
      this.client !== null &&
      this.url === url &&
      this.identity === identity &&
      this.client.state !== 'closed'
    ) {
      return this.client;
    }
    this.stop();
    if (this.d.WebSocket === undefined) {
      throw new ExtensionError('UNAVAILABLE', 'This browser offers no WebSocket to reach the bridge.');
    }
    const client = new BridgeClient({
      url,
      deviceId: identity.deviceId,
      sign: (m) => identity.sign(m),
      WebSocket: this.d.WebSocket,
      backoff: { initialMs: 250, maxMs: 10_000 },
    });
    this.client = client;
    this.url = url;
    this.identity = identity;
    this.d.onClient(client, identity);
    // Connection failures are retried by the client; the first one must not become an unhandled rejection.
    client.connect().catch(() => {});
    return client;
  }

  /** The current client if any. */
  get current(): BridgeClient | null {
    return this.client;
  }

  /** Resolves once the client is authenticated, or fails with UNAVAILABLE after `timeoutMs`. */
  async ready(client: BridgeClient, timeoutMs = 10_000): Promise<void> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    try {
      await Promise.race([
        client.waitReady(),
        new Promise<never>((_, reject) => {
          timer = setTimeout(
            () =>
              reject(
                new ExtensionError(
                  'UNAVAILABLE',
                  'The bridge cannot be reached. Check the bridge URL in Settings.',
                ),
              ),
            timeoutMs,
          );
        }),
      ]);
    } finally {
      if (timer !== undefined) clearTimeout(timer);
    }
  }

  status(): BridgeStatus {
    return { state: this.client?.state ?? 'off', url: this.url };
  }

  stop(): void {
    const c = this.client;
    this.client = null;
    this.url = null;
    this.identity = null;
    if (c !== null) {
      c.close();
      this.d.onClientClosed(c);
    }
  }
}
