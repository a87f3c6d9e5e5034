/**
 * Liveness of a reshare (reshare-liveness.ts) at the service level: three whole backgrounds
 * (fake-indexeddb) over a real in-process bridge, a [1,1,1] threshold-2 vault, refreshed. Deliveries
 * are controlled with `lossySocket` (a message acknowledged to the relay and lost, as when a service
 * worker dies right after receiving it), so each run takes the same path:
 *  - an interrupted reshare: B never receives the first attempt's protocol messages; every device
 *    holds a persisted deadline and its alarm, the attempt stalls, the next attempt runs and the
 *    refresh completes on every device (epoch + 1);
 *  - a member that never completes: attempts are bounded, and every device ends in a clear state,
 *    "could not change the signers", its alarm gone, the vault on its current epoch and share.
 */

import { type RunningBridge, startBridge } from '@concord/bridge-server/relay';
import { MAX_ATTEMPTS, requestAlarm } from '@concord/bridge-server/vault';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RequestView } from '../src/shared/messages.ts';
import { Device, dkgDone, until } from './devices.ts';
import { type LossRule, lossySocket } from './fakes/lossy-socket.ts';
import { fakePlatform } from './fakes/platform.ts';
import { GOOD_PASSPHRASE, openFreshDb } from './helpers.ts';

const STALL_MS = 1_500;
const extra = { fallbackMs: 500, requestStallMs: STALL_MS };

async function lossyDevice(bridgeUrl: string, rule: LossRule): Promise<Device> {
  const platform = { ...fakePlatform(), WebSocket: lossySocket(rule) };
  const d = new Device(await openFreshDb(), platform, extra);
  d.info = await d.call({ type: 'onboarding.create', passphrase: GOOD_PASSPHRASE });
  await d.call({ type: 'settings.update', patch: { bridgeUrl } });
  await d.call({ type: 'status' });
  return d;
}

describe('reshare liveness over a real bridge', () => {
  let bridge: RunningBridge;
  let A: Device;
  let B: Device;
  let C: Device;
  const ruleB: LossRule = { drop: null };
  let vaultId: string;

  const phase = (d: Device, id: string, want: RequestView['phase'], ms = 120_000) =>
    until(
      async () => {
        const r = (await d.call({ type: 'request.list' })).find((x) => x.id === id);
        return r?.phase === want ? r : undefined;
      },
      ms,
      `phase ${want}`,
    );

  const refresh = async () => {
    const vault = (await A.call({ type: 'vault.list' })).find((v) => v.id === vaultId)!;
    const r = await A.call({
      type: 'reshare.propose',
      vaultId,
      threshold: vault.threshold,
      keep: vault.members.map((m) => ({ deviceId: m.deviceId, label: m.label, power: m.power })),
      add: [],
    });
    for (const d of [B, C]) {
      await until(
        async () => (await d.call({ type: 'request.list' })).find((x) => x.id === r.id),
        15_000,
        'req',
      );
    }
    await B.call({ type: 'request.decide', id: r.id, approve: true });
    return r;
  };

  beforeAll(async () => {
    bridge = await startBridge({ port: 0, store: 'memory', logLevel: 'silent', defaultMetrics: false });
    const base = bridge.url.replace(/\/v1$/, '');
    [A, B, C] = await Promise.all([
      lossyDevice(base, { drop: null }),
      lossyDevice(base, ruleB),
      lossyDevice(base, { drop: null }),
    ]);
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
    await dkgDone([A, B, C], p.id);
    vaultId = p.id;
  }, 240_000);

  afterAll(async () => {
    for (const d of [A, B, C]) d?.bg.bridge.stop();
    await bridge?.close();
  });

  it('an interrupted reshare is retried by its stall alarm and completes on every device', async () => {
    const epoch = (await A.db.vaults.get(vaultId))!.epoch;
    // B loses every protocol message of the first attempt (its worker "died" on each).
    ruleB.drop = (m) => /^reshare1\//.test(m.tag);
    const r = await refresh();
    for (const d of [A, B, C]) {
      const armed = await until(
        async () => {
          const c = await d.db.ceremonies.get(r.id);
          const alarm = d.platform.alarms.alarms.get(requestAlarm(r.id));
          return c?.attempt === 1 && c.stallAt !== undefined && alarm !== undefined
            ? { c, alarm }
            : undefined;
        },
        30_000,
        'a persisted deadline and its alarm during attempt 1',
      );
      expect(armed.c.status).toBe('running');
    }
    const done = await Promise.all([A, B, C].map((d) => phase(d, r.id, 'done', 240_000)));
    for (const v of done) expect(v.attempt).toBeGreaterThanOrEqual(2);
    for (const d of [A, B, C]) {
      expect((await d.db.vaults.get(vaultId))!.epoch).toBe(epoch + 1);
      expect(
        (await d.db.shares.where('vaultId').equals(vaultId).toArray()).map((s) => [s.epoch, s.status]),
      ).toEqual([[epoch + 1, 'active']]);
    }
    ruleB.drop = null;
  }, 300_000);

  it('a member that never completes: bounded attempts, "could not change the signers" everywhere, the vault unchanged', async () => {
    const epoch = (await A.db.vaults.get(vaultId))!.epoch;
    ruleB.drop = (m) => /^reshare\d+\//.test(m.tag);
    const r = await refresh();
    const failed = await Promise.all([A, B, C].map((d) => phase(d, r.id, 'failed', 280_000)));
    for (const f of failed) {
      expect(f.attempt).toBe(MAX_ATTEMPTS);
      expect(f.error).toMatch(/Could not change the signers/);
    }
    for (const d of [A, B, C]) {
      expect(d.platform.alarms.alarms.has(requestAlarm(r.id))).toBe(false);
      expect((await d.db.vaults.get(vaultId))!.epoch).toBe(epoch);
      const shares = await d.db.shares.where('vaultId').equals(vaultId).toArray();
      expect(shares.filter((s) => s.status === 'active').map((s) => s.epoch)).toEqual([epoch]);
    }
    // After the end nothing starts again: the count stays at the bound.
    await new Promise((res) => setTimeout(res, 2 * STALL_MS));
    expect((await A.db.ceremonies.get(r.id))?.attempt).toBe(MAX_ATTEMPTS);
    ruleB.drop = null;
  }, 300_000);
});
