/**
 * The reshare lifecycle at the service level: three whole backgrounds (router and services over
 * fake-indexeddb) and a real in-process bridge whose clock the test moves. A [1,1,1] threshold-2
 * vault is created by DKG and refreshed; one member misses every certificate signature while the
 * request's bridge session lives (its socket drops those frames), is away until the relay has
 * expired the request, and activates the new epoch once it reconnects (certificate-delivery.ts).
 */

import type { WebSocketCtor, WebSocketLike } from '@concord/bridge-server/client';
import { type RunningBridge, startBridge } from '@concord/bridge-server/relay';
import { REQUEST_TTL_MS } from '@concord/bridge-server/vault';
import { CERT_STATUS_TAG } from '@concord/bridge-server/vault/certificate-status';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { Q } from '../src/background/services/requests.ts';
import type { RequestView } from '../src/shared/messages.ts';
import { Device, device, dkgDone, until } from './devices.ts';
import { fakePlatform } from './fakes/platform.ts';
import { GOOD_PASSPHRASE, openFreshDb } from './helpers.ts';

/** Tags a lossy device does not receive while `lossy.on`: every certificate signature. */
const LOST = new Set<string>([Q.certificate, CERT_STATUS_TAG]);
const lossy = { on: false };

/** Every error a device's background logged, by device (its `logError`). */
const logged = new Map<string, string[]>();
const logTo = (name: string) => ({
  logError: (code: string, e: unknown) => {
    const list = logged.get(name) ?? [];
    list.push(`${code}: ${e instanceof Error ? e.message : String(e)}`);
    logged.set(name, list);
  },
});

function keep(frame: { t?: string; tag?: string }): boolean {
  return !(frame.t === 'deliver' && frame.tag !== undefined && LOST.has(frame.tag));
}

/**
 * A `ws` socket that, while `lossy.on`, drops the relay's deliveries of certificate signatures (live
 * and in catch-up batches): the device never sees or acks them, as if it had been away.
 */
class LossyWebSocket implements WebSocketLike {
  private readonly ws: WebSocket;
  onopen: ((ev: unknown) => void) | null = null;
  onmessage: ((ev: { data: unknown }) => void) | null = null;
  onclose: ((ev: { code: number; reason: string }) => void) | null = null;
  onerror: ((ev: unknown) => void) | null = null;

  constructor(url: string, protocols?: string | string[]) {
    this.ws = new WebSocket(url, protocols);
    this.ws.onopen = (ev) => this.onopen?.(ev);
    this.ws.onclose = (ev) => this.onclose?.({ code: ev.code, reason: ev.reason });
    this.ws.onerror = (ev) => this.onerror?.(ev);
    this.ws.onmessage = (ev) => {
      let data = ev.data;
      if (lossy.on && typeof data === 'string') {
        const f = JSON.parse(data) as { t?: string; tag?: string; messages?: { tag?: string }[] };
        if (!keep(f)) return;
        if (f.t === 'batch' && f.messages !== undefined) {
          data = JSON.stringify({ ...f, messages: f.messages.filter((m) => keep({ t: 'deliver', ...m })) });
        }
      }
      this.onmessage?.({ data });
    };
  }

  get readyState(): number {
    return this.ws.readyState;
  }

  send(data: string): void {
    this.ws.send(data);
  }

  close(code?: number, reason?: string): void {
    this.ws.close(code, reason);
  }
}

describe('reshare lifecycle over a real bridge', () => {
  let bridge: RunningBridge;
  /** The relay's clock runs this far ahead of the devices' (the request's TTL passes for the relay). */
  let skew = 0;
  let A: Device;
  let B: Device;
  let C: Device;
  let vaultId: string;
  let address: string;

  const phase = (d: Device, id: string, want: RequestView['phase'], ms = 120_000) =>
    until(
      async () => {
        const r = (await d.call({ type: 'request.list' })).find((x) => x.id === id);
        return r?.phase === want ? r : undefined;
      },
      ms,
      `phase ${want}`,
    );

  beforeAll(async () => {
    bridge = await startBridge({
      port: 0,
      store: 'memory',
      logLevel: 'silent',
      defaultMetrics: false,
      now: () => Date.now() + skew,
    });
    const base = bridge.url.replace(/\/v1$/, '');
    [A, B] = await Promise.all([device(base, logTo('A')), device(base, logTo('B'))]);
    // C's socket can lose certificate deliveries on demand.
    C = new Device(
      await openFreshDb(),
      { ...fakePlatform(), WebSocket: LossyWebSocket as unknown as WebSocketCtor },
      logTo('C'),
    );
    C.info = await C.call({ type: 'onboarding.create', passphrase: GOOD_PASSPHRASE });
    await C.call({ type: 'settings.update', patch: { bridgeUrl: base } });
    await C.call({ type: 'status' });

    const p = await A.call({
      type: 'vault.propose',
      name: 'Ops',
      selfLabel: 'A',
      selfPower: 1,
      threshold: 2,
      invitees: [
        { code: B.info.deviceCode, label: 'B', power: 1 },
        { code: C.info.deviceCode, label: 'C', power: 1 },
      ],
    });
    for (const d of [B, C]) {
      await until(
        async () => (await d.call({ type: 'ceremony.list' })).find((c) => c.id === p.id),
        10_000,
        'invite',
      );
      await d.call({ type: 'ceremony.respond', id: p.id, accept: true });
    }
    const done = await dkgDone([A, B, C], p.id);
    vaultId = p.id;
    address = done[0]!.address!;
  }, 240_000);

  afterAll(async () => {
    for (const d of [A, B, C]) d?.bg.bridge.stop();
    await bridge?.close();
  });

  it('a member that missed the certificate activates once it reconnects, after the request TTL', async () => {
    const vault = (await A.call({ type: 'vault.list' })).find((v) => v.id === vaultId)!;
    const oldEpoch = (await A.db.vaults.get(vaultId))!.epoch;
    lossy.on = true;
    const r = await A.call({
      type: 'reshare.propose',
      vaultId,
      threshold: 2,
      keep: vault.members.map((m) => ({ deviceId: m.deviceId, label: m.label, power: m.power })),
      add: [],
    });
    await until(
      async () => (await B.call({ type: 'request.list' })).find((x) => x.id === r.id),
      15_000,
      'the request at B',
    );
    await B.call({ type: 'request.decide', id: r.id, approve: true });
    // A and B activate (C's signature reached them); C finished its session but saw no signature.
    await Promise.all([A, B].map((d) => phase(d, r.id, 'done')));
    const cCeremony = await until(
      async () => {
        const c = await C.db.ceremonies.get(r.id);
        return c?.reshare !== undefined ? c : undefined;
      },
      30_000,
      'C to finish its session',
    );
    const newEpoch = oldEpoch + 1;
    // A and B have sent C their statuses too (lost on C's socket): give them time to be dropped.
    await until(
      async () => ((await A.db.ceremonies.get(r.id))?.status === 'done' ? true : undefined),
      5_000,
      'A done',
    );
    await new Promise((res) => setTimeout(res, 1_000));
    expect((await C.call({ type: 'request.list' })).find((x) => x.id === r.id)?.phase).toBe('signing');
    expect(cCeremony.status).toBe('running');
    // C still runs on its old share; its new one is pending.
    const before = await C.db.shares.where('vaultId').equals(vaultId).toArray();
    expect(before.map((s) => [s.epoch, s.status]).sort()).toEqual([
      [oldEpoch, 'active'],
      [newEpoch, 'pending'],
    ]);

    // C goes away; the relay's clock passes the request's TTL (its session and mailbox expire).
    C.bg.bridge.stop();
    skew = REQUEST_TTL_MS + 60 * 60_000;
    lossy.on = false;
    await C.restart();

    await phase(C, r.id, 'done', 60_000);
    const after = await C.db.shares.where('vaultId').equals(vaultId).toArray();
    expect(after.map((s) => [s.epoch, s.status])).toEqual([[newEpoch, 'active']]);
    const v = await C.db.vaults.get(vaultId);
    expect(v?.epoch).toBe(newEpoch);
    expect(v?.address).toBe(address);
    // C's confirmation reaches the others: they stop announcing for it.
    for (const d of [A, B]) {
      await until(
        async () =>
          (await d.db.ceremonies.get(r.id))?.certConfirmed?.includes(C.info.deviceId) ? true : undefined,
        30_000,
        'C confirmed',
      );
    }
  }, 300_000);

  it('a second refresh: every certificate status is accepted, including answers sent after the old keys were wiped', async () => {
    // The first refresh rotated every envelope key, so each device's original key is no longer the
    // one a request lists. Answers to the last activation arrive after the answering device wiped
    // the key that request listed for it: they must still be sent under a key the asker accepts.
    const vault = (await A.call({ type: 'vault.list' })).find((v) => v.id === vaultId)!;
    logged.clear();
    const r = await A.call({
      type: 'reshare.propose',
      vaultId,
      threshold: 2,
      keep: vault.members.map((m) => ({ deviceId: m.deviceId, label: m.label, power: m.power })),
      add: [],
    });
    await until(
      async () => (await B.call({ type: 'request.list' })).find((x) => x.id === r.id),
      15_000,
      'the request at B',
    );
    await B.call({ type: 'request.decide', id: r.id, approve: true });
    await Promise.all([A, B, C].map((d) => phase(d, r.id, 'done')));
    const others = (d: Device) => [A, B, C].filter((x) => x !== d).map((x) => x.info.deviceId);
    for (const d of [A, B, C]) {
      await until(
        async () => {
          const c = await d.db.ceremonies.get(r.id);
          return others(d).every((o) => c?.certConfirmed?.includes(o)) ? true : undefined;
        },
        30_000,
        'every confirmation',
      );
    }
    // Let the last answers arrive, then: nothing was refused or undecryptable anywhere.
    await new Promise((res) => setTimeout(res, 1_000));
    const statusErrors = [...logged].flatMap(([name, l]) =>
      l.filter((x) => x.startsWith('CERT_')).map((x) => `${name} ${x}`),
    );
    expect(statusErrors).toEqual([]);
  }, 300_000);
});
