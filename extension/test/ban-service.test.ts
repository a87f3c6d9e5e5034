/**
 * Bans at the app level, at the service level: three whole backgrounds (fake-indexeddb) over a real
 * in-process bridge and a real Hardhat node, a [1,1,1] threshold-2 vault. The co-signer chosen with
 * the coordinator A in the first attempt tampers with its RVOLE sender messages to A (round 3 of
 * signing, one bit flipped, as tss's sign.aborts test does): A's session aborts with `RVOLE_FAILED`
 * naming it (`abortKind: 'ban'`), A stores the ban, stops, and runs the next attempt without it, with
 * the other approver, and the transaction is mined. The ban survives a service-worker restart: the
 * request screen still marks the member, and the next send is signed without it. (A refresh clears
 * the ban: co-approval.test.ts.)
 */

import { type RunningBridge, startBridge } from '@concord/bridge-server/relay';
import type { ProtocolMessage } from '@concord/tss';
import { SignSession } from '@concord/tss';
import { equalBytes, toHex } from '@concord/tss/bytes';
import { decodeSignS2, encodeSignS2 } from '@concord/tss/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type HardhatNode, startHardhat } from '../../test/helpers/hardhat.ts';
import type { RequestView } from '../src/shared/messages.ts';
import { defaultSettings } from '../src/shared/settings.ts';
import { type Device, device, dkgDone, until } from './devices.ts';

const ETH = 10n ** 18n;
const RECIPIENT = '0x00000000000000000000000000000000c0ffee22';
const extra = { fallbackMs: 500, requestStallMs: 5_000 };

/** While `victim` is set, the culprit's round-3 (RVOLE sender) messages to it are tampered with. */
const tamper: { victim: Uint8Array | null; culprit: string | null } = { victim: null, culprit: null };

const receive = SignSession.prototype.receive;
SignSession.prototype.receive = function (this: SignSession, msg: ProtocolMessage): ProtocolMessage[] {
  const out = receive.call(this, msg);
  const victim = tamper.victim;
  if (victim === null || equalBytes(this.ctx.self.id, victim)) return out;
  // One culprit: the first co-signer that gets here; the other approver stays honest.
  if (tamper.culprit !== null && tamper.culprit !== toHex(this.ctx.self.id)) return out;
  return out.map((m) => {
    if (m.round !== 3 || m.to === null || !equalBytes(m.to, victim)) return m;
    tamper.culprit = toHex(this.ctx.self.id);
    const s2 = decodeSignS2(m.payload);
    const rvole = s2.rvole.slice();
    rvole[100] = rvole[100]! ^ 1;
    return { ...m, payload: encodeSignS2({ ...s2, rvole }) };
  });
};

describe('a tampered RVOLE message at the app level', () => {
  let bridge: RunningBridge;
  let chain: HardhatNode;
  let A: Device;
  let B: Device;
  let C: Device;
  let vaultId: string;

  const view = (d: Device, id: string) =>
    until(async () => (await d.call({ type: 'request.list' })).find((r) => r.id === id), 15_000, 'request');
  const phase = (d: Device, id: string, want: RequestView['phase']) =>
    until(
      async () => {
        const r = (await d.call({ type: 'request.list' })).find((x) => x.id === id);
        return r?.phase === want ? r : undefined;
      },
      120_000,
      `phase ${want}`,
    );
  const sendApproved = async (amount: string) => {
    const input = { vaultId, chainId: 31337, to: RECIPIENT, amount, token: null } as const;
    const preview = await A.call({ type: 'send.preview', ...input });
    const r = await A.call({ type: 'send.create', ...input, unsigned: preview.unsigned });
    for (const d of [B, C]) {
      await view(d, r.id);
      await d.call({ type: 'request.decide', id: r.id, approve: true });
    }
    return r;
  };

  beforeAll(async () => {
    [bridge, chain] = await Promise.all([
      startBridge({ port: 0, store: 'memory', logLevel: 'silent', defaultMetrics: false }),
      startHardhat(),
    ]);
    const base = bridge.url.replace(/\/v1$/, '');
    [A, B, C] = await Promise.all([device(base, extra), device(base, extra), device(base, extra)]);
    const chains = defaultSettings().chains.map((c) =>
      c.chainId === 31337 ? { ...c, rpcUrl: chain.url } : c,
    );
    for (const d of [A, B, C]) await d.call({ type: 'settings.update', patch: { chains } });
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
    await chain.fund(done[0]!.address as `0x${string}`, 10n * ETH);
  }, 240_000);

  afterAll(async () => {
    SignSession.prototype.receive = receive;
    for (const d of [A, B, C]) d?.bg.bridge.stop();
    await bridge?.close();
    await chain?.stop();
  });

  it('the victim bans the culprit, the request completes with the other approver, the ban survives a restart', async () => {
    const before = await chain.publicClient.getBalance({ address: RECIPIENT });
    tamper.victim = Uint8Array.from(Buffer.from(A.info.deviceId, 'hex'));
    const r = await sendApproved('0.5');
    const mined = await phase(A, r.id, 'mined').catch(async (e: unknown) => {
      // What each device saw, for a failure report (public fields only).
      for (const d of [A, B, C]) {
        const c = await d.db.ceremonies.get(r.id);
        console.error(
          d.info.deviceId.slice(0, 8),
          c?.status,
          c?.attempt,
          c?.signers,
          c?.abortCode,
          c?.excluded,
        );
      }
      throw e;
    });
    tamper.victim = null;
    const culprit = tamper.culprit!;
    expect([B.info.deviceId, C.info.deviceId]).toContain(culprit);
    const other = culprit === B.info.deviceId ? C : B;

    // The ban is stored (reason: the provable failure) and the request went on without the culprit.
    const bans = await A.db.bans.where('vaultId').equals(vaultId).toArray();
    expect(bans.map((b) => [b.deviceId, b.reason])).toEqual([[culprit, 'RVOLE_FAILED']]);
    expect(mined.attempt).toBeGreaterThanOrEqual(2);
    const signers = mined.members.filter((m) => m.signer).map((m) => m.deviceId);
    expect(signers.sort()).toEqual([A.info.deviceId, other.info.deviceId].sort());
    expect(mined.members.find((m) => m.deviceId === culprit)?.banned).toBe(true);
    expect((await chain.publicClient.getBalance({ address: RECIPIENT })) - before).toBe(ETH / 2n);

    // A service-worker restart: the ban is still there and still acted on.
    await A.restart();
    expect((await A.db.bans.where('vaultId').equals(vaultId).toArray()).map((b) => b.deviceId)).toEqual([
      culprit,
    ]);
    expect((await view(A, r.id)).members.find((m) => m.deviceId === culprit)?.banned).toBe(true);
    const r2 = await sendApproved('0.25');
    const mined2 = await phase(A, r2.id, 'mined');
    expect(mined2.members.filter((m) => m.signer).map((m) => m.deviceId)).not.toContain(culprit);
    expect((await chain.publicClient.getBalance({ address: RECIPIENT })) - before).toBe((ETH * 3n) / 4n);
  }, 300_000);
});
