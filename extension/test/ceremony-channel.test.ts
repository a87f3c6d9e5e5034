/**
 * `SessionChannel`'s per-run ephemeral keys (ceremony-runner.ts over envelope v2): a run's protocol
 * messages wait for the recipient's announcement, a protocol message in static mode is refused
 * (`NOT_EPHEMERAL`, no downgrade), and a finished run's key is gone. Two channels over a minimal
 * in-memory relay (only the relay is fake) run a real [1,1] t = 2 DKG.
 */

import type { BridgeClient, DeliveredMessage, SendParams } from '@concord/bridge-server/client';
import { DkgSession, TssError } from '@concord/tss';
import {
  type DeviceIdentity,
  decodeEnvelope,
  generateDeviceIdentity,
  publicIdentity,
  toBase64url,
} from '@concord/tss/transport';
import { describe, expect, it } from 'vitest';
import { frame, SessionChannel } from '../src/background/services/ceremony-runner.ts';

/** Delivers every send on a later task and keeps a copy of each (what a relay would store). */
class TapRelay {
  private readonly handlers = new Map<string, (d: DeliveredMessage) => void>();
  private seq = 0;
  readonly log: DeliveredMessage[] = [];

  client(identity: DeviceIdentity): BridgeClient {
    const self = toBase64url(identity.deviceId);
    const fake = {
      on: (_event: 'message', h: (d: DeliveredMessage) => void) => {
        this.handlers.set(self, h);
        return () => this.handlers.delete(self);
      },
      send: async (p: SendParams) => {
        this.seq += 1;
        const d: DeliveredMessage = { ...p, from: self, seq: this.seq, ts: Date.now() };
        this.log.push(d);
        setTimeout(() => this.handlers.get(p.to)?.(d), 0);
        return { seq: this.seq, duplicate: false };
      },
    };
    // Only `on('message')` and `send` are used by SessionChannel.
    return fake as unknown as BridgeClient;
  }
}

async function until(f: () => boolean, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  while (!f()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('SessionChannel: per-run ephemeral keys', () => {
  it('waits for announcements, seals in ephemeral mode, refuses a static downgrade, wipes at the end', async () => {
    const ids = [generateDeviceIdentity(), generateDeviceIdentity()];
    const [a, b] = ids as [DeviceIdentity, DeviceIdentity];
    const parties = ids.map((id) => ({ id: id.deviceId, power: 1 }));
    const relay = new TapRelay();
    const members = ids.map(publicIdentity);
    const rejects: string[] = [];
    const chA = new SessionChannel({ client: relay.client(a), identity: a, sid: 's', members });
    const chB = new SessionChannel({
      client: relay.client(b),
      identity: b,
      sid: 's',
      members,
      onReject: (code) => rejects.push(code),
    });

    // B binds first: only its announcement leaves; its round-1 message waits for A's.
    const sb = new DkgSession({ parties, threshold: 2, selfId: b.deviceId });
    const bErrors: unknown[] = [];
    chB.run(sb, 'dkg', { onError: (e) => bErrors.push(e) });
    await sleep(50);
    expect(relay.log.map((d) => d.tag)).toEqual(['dkg/hs']);
    expect(decodeEnvelope(relay.log[0]!.envelope).header.mode).toBe('announce');

    // A static-mode envelope under a protocol tag (what v1 peers or a downgrade would send) is refused.
    await chA.send(
      b.deviceId,
      'dkg/r1',
      'dkg:r1:forged',
      frame({ from: a.deviceId, to: null, round: 1, payload: new Uint8Array(8) }),
    );
    await until(() => rejects.includes('NOT_EPHEMERAL'), 5_000, 'the refusal');
    expect(sb.progress.received).toBe(0);
    expect(bErrors).toEqual([]);

    const sa = new DkgSession({ parties, threshold: 2, selfId: a.deviceId });
    const aErrors: unknown[] = [];
    chA.run(sa, 'dkg', { onError: (e) => aErrors.push(e) });
    await until(() => sa.finished && sb.finished, 120_000, 'the DKG');
    expect(aErrors).toEqual([]);
    expect(bErrors).toEqual([]);
    expect(sa.output().descriptor.address).toBe(sb.output().descriptor.address);

    // Every protocol message went out in ephemeral mode, to the recipient's announced run key.
    const announced = new Map(
      relay.log
        .filter((d) => d.tag === 'dkg/hs')
        .map((d) => [d.from, toBase64url(decodeEnvelope(d.envelope).header.ephemeral)]),
    );
    const protocol = relay.log.filter((d) => /^dkg\/r\d$/.test(d.tag) && d.msgId !== 'dkg:r1:forged');
    expect(protocol.length).toBeGreaterThanOrEqual(8);
    for (const d of protocol) {
      const h = decodeEnvelope(d.envelope).header;
      expect(h.mode).toBe('ephemeral');
      expect(toBase64url(h.ephemeral)).toBe(announced.get(d.from));
      expect(toBase64url(h.peerEphemeral!)).toBe(announced.get(d.to));
    }

    // The run is over on both sides: its keys are wiped, nothing more can be sealed for it.
    for (const [ch, to] of [
      [chA, b],
      [chB, a],
    ] as const) {
      let code = 'sealed';
      try {
        await ch.send(to.deviceId, 'dkg/r4', 'dkg:r4:again', new Uint8Array(4), 'ephemeral');
      } catch (e) {
        code = e instanceof TssError ? e.code : String(e);
      }
      expect(code).toBe('HANDSHAKE_REQUIRED');
    }
    chA.close();
    chB.close();
  }, 180_000);
});
