/**
 * A simulated device for ceremonies over a real bridge: a `BridgeClient` plus the extension's
 * `SessionChannel`, counting how often each protocol message reaches a protocol session (so a test
 * can assert exactly once). Used by the ceremony tests in test/bridge/.
 */

import { BridgeClient, type WebSocketCtor } from '@concord/bridge-server/client';
import { SessionChannel } from '@concord/extension/ceremony-channel';
import type { RoundEngine } from '@concord/tss';
import { toHex } from '@concord/tss/bytes';
import { type DeviceIdentity, publicIdentity } from '@concord/tss/transport';
import WebSocket from 'ws';

export const until = async (f: () => boolean, ms: number, what: string) => {
  const end = Date.now() + ms;
  while (!f()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    if (process.env.CONCORD_DEBUG) process.stderr.write(`waiting for ${what}\n`);
    await new Promise((r) => setTimeout(r, 25));
  }
};

export class Device {
  readonly client: BridgeClient;
  /** `label:sender:round` → times it reached the protocol session. */
  readonly deliveries = new Map<string, number>();
  errors: unknown[] = [];

  constructor(
    readonly name: string,
    readonly identity: DeviceIdentity,
    url: string,
  ) {
    this.client = new BridgeClient({
      url,
      deviceId: identity.deviceId,
      sign: (m) => identity.sign(m),
      WebSocket: WebSocket as unknown as WebSocketCtor,
      backoff: { initialMs: 50, maxMs: 500 },
    });
  }

  private readonly bound = new Map<string, SessionChannel>();

  /**
   * Subscribe to a bridge session as soon as this device knows of it, before any ceremony runs:
   * messages that arrive early (catch-up after a reconnect) are buffered, never dropped.
   */
  join(sid: string, members: readonly Device[]): void {
    const channel = new SessionChannel({
      client: this.client,
      identity: this.identity,
      sid,
      members: members.map((d) => publicIdentity(d.identity)),
      onReject: (code) => this.errors.push(new Error(`rejected envelope: ${code}`)),
    });
    this.bound.set(sid, channel);
  }

  /** Run a protocol session over a joined bridge session: seal outputs per recipient, feed inputs. */
  run<R>(sid: string, session: RoundEngine<R>, label: string): void {
    const channel = this.bound.get(sid);
    if (!channel) throw new Error('join the bridge session first');
    channel.run(session, label, {
      onDelivered: (m) => {
        const key = `${label}:${toHex(m.from)}:${m.round}`;
        this.deliveries.set(key, (this.deliveries.get(key) ?? 0) + 1);
      },
      onError: (e) => this.errors.push(e),
    });
  }
}
