/**
 * A vault's DKG cut by a worker restart restarts itself with the same accepted proposal
 * (dkg-restart.ts, ceremonies.ts): three whole backgrounds over fake-indexeddb and a real in-process
 * bridge; one member's worker is restarted while its DKG party is running, and every member ends
 * with the same address under a new attempt, with no new acceptance. Also the rules: announcements
 * are signed over the proposal hash and attempt, only newer attempts within the bound are followed,
 * and an announcement never counts as an acceptance.
 */

import { type RunningBridge, startBridge } from '@concord/bridge-server/relay';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SessionChannel } from '../src/background/services/ceremony-runner.ts';
import {
  decodeRestart,
  dkgLabel,
  encodeRestart,
  isDkgTag,
  MAX_DKG_ATTEMPTS,
  nextAttempt,
  ownRestart,
  RESTART_TAG,
  restartMessage,
  verifyRestart,
} from '../src/background/services/dkg-restart.ts';
import type { DeviceIdentity } from '../src/background/services/identity-api.ts';
import { generateDeviceIdentity, publicIdentity } from '../src/background/services/identity-api.ts';
import { type Device, device, dkgDone, until } from './devices.ts';

describe('restart rules (pure)', () => {
  it('labels, tags, bounds and the signed announcement', () => {
    expect([dkgLabel(0), dkgLabel(1), dkgLabel(3)]).toEqual(['dkg', 'dkg.1', 'dkg.3']);
    expect(['dkg/r1', 'dkg.2/r4', 'dkg.x/r1', 'dkgx/r1', 'q.sign/r1'].map(isDkgTag)).toEqual([
      true,
      true,
      false,
      false,
      false,
    ]);
    expect(ownRestart(0, 10, 20)).toBe(1);
    expect(ownRestart(MAX_DKG_ATTEMPTS - 2, 10, 20)).toBe(MAX_DKG_ATTEMPTS - 1);
    expect(ownRestart(MAX_DKG_ATTEMPTS - 1, 10, 20)).toBe('EXHAUSTED');
    expect(ownRestart(0, 20, 20)).toBe('EXPIRED');
    expect(nextAttempt(1, 2, 10, 20)).toBeNull();
    expect(nextAttempt(1, 1, 10, 20)).toBe('NOT_NEWER');
    expect(nextAttempt(2, 1, 10, 20)).toBe('NOT_NEWER');
    expect(nextAttempt(0, MAX_DKG_ATTEMPTS, 10, 20)).toBe('EXHAUSTED');
    expect(nextAttempt(0, 1, 20, 20)).toBe('EXPIRED');

    const who = generateDeviceIdentity();
    const other = generateDeviceIdentity();
    const hash = crypto.getRandomValues(new Uint8Array(32));
    const sig = who.sign(restartMessage(hash, 2));
    const wire = decodeRestart(encodeRestart({ hash, attempt: 2, sig }));
    expect(wire.attempt).toBe(2);
    expect(verifyRestart(publicIdentity(who), wire.hash, wire.attempt, wire.sig)).toBe(true);
    expect(verifyRestart(publicIdentity(other), hash, 2, sig)).toBe(false);
    expect(verifyRestart(publicIdentity(who), hash, 3, sig)).toBe(false);
    expect(verifyRestart(publicIdentity(who), new Uint8Array(32), 2, sig)).toBe(false);
    expect(() => decodeRestart(new Uint8Array(10))).toThrow(/malformed/);
    who.destroy();
    other.destroy();
  });
});

/** The ceremony service's live channel and identity of `d` (private state, read for the test). */
function internals(d: Device, id: string): { channel: SessionChannel; identity: DeviceIdentity } {
  const svc = d.bg.ceremonies as unknown as {
    live: Map<string, { channel: SessionChannel }>;
    identity: DeviceIdentity;
  };
  return { channel: svc.live.get(id)!.channel, identity: svc.identity };
}

describe('a DKG cut by a worker restart', () => {
  let bridge: RunningBridge;
  let A: Device;
  let B: Device;
  let C: Device;
  const bLogs: { code: string; error: unknown }[] = [];

  beforeAll(async () => {
    bridge = await startBridge({ port: 0, store: 'memory', logLevel: 'silent', defaultMetrics: false });
    const base = bridge.url.replace(/\/v1$/, '');
    [A, B, C] = await Promise.all([
      device(base),
      device(base, { logError: (code, error) => bLogs.push({ code, error }) }),
      device(base),
    ]);
  });

  afterAll(async () => {
    for (const d of [A, B, C]) d?.bg.bridge.stop();
    await bridge?.close();
  });

  async function propose(name: string) {
    const p = await A.call({
      type: 'vault.propose',
      name,
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
        20_000,
        'the invitation',
      );
    }
    return p;
  }

  it("a member's worker stops while its DKG party runs: the DKG restarts and completes with one address everywhere, without a new acceptance", async () => {
    const p = await propose('Restarts');
    await B.call({ type: 'ceremony.respond', id: p.id, accept: true });
    // C answers last, once it holds B's approval: its answer starts its DKG party at once.
    await until(
      async () =>
        (await C.call({ type: 'ceremony.list' }))
          .find((c) => c.id === p.id)
          ?.members.find((m) => m.label === 'B')?.decision === 'approve'
          ? true
          : undefined,
      20_000,
      "C to hold B's approval",
    );
    const answered = await C.call({ type: 'ceremony.respond', id: p.id, accept: true });
    expect([answered.phase, answered.attempt]).toEqual(['running', 0]);
    // The worker dies with the party's round state (nothing from the other members processed yet).
    await C.restart();

    const done = await dkgDone([A, B, C], p.id);
    const address = done[0]!.address;
    expect(address).toMatch(/^0x[0-9a-fA-F]{40}$/);
    for (const v of done) {
      expect(v.address).toBe(address);
      expect(v.attempt).toBe(1); // the same proposal, run again once
      expect(v.error).toBeNull();
    }
    for (const d of [A, B, C]) {
      // No second acceptance: exactly one decision per member, all from before the restart.
      const approvals = await d.db.approvals.where('proposalId').equals(p.id).toArray();
      expect(approvals.map((a) => a.decision).sort()).toEqual(['approve', 'approve', 'approve']);
      expect((await d.db.ceremonies.get(p.id))?.attempt).toBe(1);
      expect((await d.call({ type: 'vault.list' })).find((v) => v.id === p.id)?.address).toBe(address);
      expect((await d.db.shares.where('vaultId').equals(p.id).toArray()).map((s) => s.status)).toEqual([
        'active',
      ]);
    }
  }, 180_000);

  it('an announcement is no acceptance, and a forged one is refused', async () => {
    const p = await propose('Not accepted');
    const { channel, identity } = internals(C, p.id);
    const hash = (await C.db.proposals.get(p.id))!.payload;
    const { proposalHash } = await import('@concord/bridge-server/vault/proposal');
    const h = proposalHash(hash);
    // A valid announcement of attempt 1 by C, then one with a signature over another attempt.
    const good = encodeRestart({ hash: h, attempt: 1, sig: identity.sign(restartMessage(h, 1)) });
    const forged = encodeRestart({ hash: h, attempt: 2, sig: identity.sign(restartMessage(h, 3)) });
    await channel.broadcast(RESTART_TAG, 'probe:1', good);
    await channel.broadcast(RESTART_TAG, 'probe:2', forged);
    const refused = await until(
      async () => bLogs.find((l) => l.code === 'DKG_RESTART'),
      20_000,
      'B to refuse the forged announcement',
    );
    expect((refused.error as Error).message).toMatch(/signature invalid/);
    // B has not accepted: nothing started, no ceremony, no decision recorded for B.
    const v = (await B.call({ type: 'ceremony.list' })).find((c) => c.id === p.id)!;
    expect([v.phase, v.attempt, v.interrupted]).toEqual(['invited', 0, false]);
    expect(await B.db.ceremonies.get(p.id)).toBeUndefined();
    const approvals = await B.db.approvals.where('proposalId').equals(p.id).toArray();
    expect(approvals.map((a) => a.deviceId)).toEqual([A.info.deviceId]);
    await B.call({ type: 'ceremony.respond', id: p.id, accept: false });
  }, 60_000);
});
