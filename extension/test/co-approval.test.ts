/**
 * Co-approval end to end at the service level: three (then four) whole backgrounds (router and
 * services over fake-indexeddb) talk through a real in-process bridge and a real Hardhat node. A
 * [2,1,1] threshold-3 vault is created by DKG, funded, and then: a send approved by threshold power
 * is signed by the approvers, broadcast and mined (recipient +1 ETH exactly); a request short of the
 * threshold stays pending; a rejection that makes the threshold unreachable ends the request on
 * every device; a worker restart in the middle of signing still ends in exactly one mined
 * transaction; a reshare adding a fourth device keeps the address and the new committee signs.
 * The Chromium tests in test/e2e drive the same flows through the built extension's UI.
 */

import { type RunningBridge, startBridge } from '@concord/bridge-server/relay';
import { fromHex } from '@concord/tss/bytes';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type HardhatNode, startHardhat } from '../../test/helpers/hardhat.ts';
import { decodeUnsignedTx, encodeUnsignedTx } from '../src/background/services/tx-codec.ts';
import { toHex } from '../src/shared/bytes.ts';
import type { RequestView } from '../src/shared/messages.ts';
import { defaultSettings } from '../src/shared/settings.ts';
import { banId } from '../src/storage/repositories/tables.ts';
import { blankDevice, type Device, device, dkgDone, until } from './devices.ts';
import { GOOD_PASSPHRASE, TEST_BACKUP_KDF } from './helpers.ts';

const ETH = 10n ** 18n;
const RECIPIENT = '0x00000000000000000000000000000000c0ffee01';
const RECIPIENT2 = '0x00000000000000000000000000000000c0ffee02';
const BACKUP_PASSPHRASE = 'granite harbor whistle marmalade 4412';
const extra = { backupKdf: TEST_BACKUP_KDF, fallbackMs: 500 };

/** A fresh profile (not onboarded) on the test bridge. */
const blank = () => blankDevice(extra);

/** A fresh profile restored from `file`, pointed at the bridge and the chain. */
async function restored(bridgeBase: string, file: string): Promise<Device> {
  const d = await blankDevice(extra);
  d.info = await d.call({
    type: 'onboarding.restore',
    file,
    backupPassphrase: BACKUP_PASSPHRASE,
    passphrase: GOOD_PASSPHRASE,
  });
  await d.call({ type: 'settings.update', patch: { bridgeUrl: bridgeBase } });
  return d;
}

describe('co-approval over a real bridge and a real chain', () => {
  let bridge: RunningBridge;
  let chain: HardhatNode;
  let A: Device;
  let B: Device;
  let C: Device;
  /** Joins in the reshare test; stays online (a refresh needs every member of the committee). */
  let D: Device | undefined;
  let vaultId: string;
  let address: `0x${string}`;

  const configure = async (d: Device) => {
    const chains = defaultSettings().chains.map((c) =>
      c.chainId === 31337 ? { ...c, rpcUrl: chain.url } : c,
    );
    await d.call({ type: 'settings.update', patch: { chains } });
  };

  const request = (d: Device, id: string) =>
    until(
      async () => (await d.call({ type: 'request.list' })).find((r) => r.id === id),
      15_000,
      'the request',
    );

  const phase = (d: Device, id: string, want: RequestView['phase'], ms = 60_000) =>
    until(
      async () => {
        const r = (await d.call({ type: 'request.list' })).find((x) => x.id === id);
        return r?.phase === want ? r : undefined;
      },
      ms,
      `phase ${want}`,
    );

  beforeAll(async () => {
    [bridge, chain] = await Promise.all([
      startBridge({ port: 0, store: 'memory', logLevel: 'silent', defaultMetrics: false }),
      startHardhat(),
    ]);
    const base = bridge.url.replace(/\/v1$/, '');
    [A, B, C] = await Promise.all([device(base, extra), device(base, extra), device(base, extra)]);
    await Promise.all([A, B, C].map(configure));

    const p = await A.call({
      type: 'vault.propose',
      name: 'Treasury',
      selfLabel: 'A',
      selfPower: 2,
      threshold: 3,
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
    address = done[0]!.address as `0x${string}`;
    await chain.fund(address, 10n * ETH);
  }, 240_000);

  afterAll(async () => {
    for (const d of [A, B, C, D]) d?.bg.bridge.stop();
    await bridge?.close();
    await chain?.stop();
  });

  it('A proposes 1 ETH, B approves: signed by the approvers, mined, recipient +1 ETH exactly', async () => {
    const before = await chain.publicClient.getBalance({ address: RECIPIENT });
    const preview = await A.call({
      type: 'send.preview',
      vaultId,
      chainId: 31337,
      to: RECIPIENT,
      amount: '1',
      token: null,
    });
    expect(preview.recipient.toLowerCase()).toBe(RECIPIENT);
    expect(preview.amountDisplay).toBe('1 ETH');
    const r = await A.call({
      type: 'send.create',
      vaultId,
      chainId: 31337,
      to: RECIPIENT,
      amount: '1',
      token: null,
    });
    expect(r.phase).toBe('pending');
    expect(r.approvedPower).toBe(2);
    expect(r.myDecision).toBe('approve');

    // B and C decode the raw transaction themselves.
    for (const d of [B, C]) {
      const seen = await request(d, r.id);
      expect(seen.canDecide).toBe(true);
      expect(seen.tx?.recipient.toLowerCase()).toBe(RECIPIENT);
      expect(seen.tx?.amount).toBe(ETH.toString());
      expect(seen.tx?.chainId).toBe(31337);
      expect(seen.approvedPower).toBe(2);
      expect(seen.threshold).toBe(3);
    }
    await B.call({ type: 'request.decide', id: r.id, approve: true });
    const mined = await Promise.all([A, B, C].map((d) => phase(d, r.id, 'mined')));
    expect(new Set(mined.map((m) => m.txHash)).size).toBe(1);
    const signers = mined[0]!.members.filter((m) => m.signer).map((m) => m.label);
    expect(signers.sort()).toEqual(['A', 'B']);
    const after = await chain.publicClient.getBalance({ address: RECIPIENT });
    expect(after - before).toBe(ETH);
    // C's late approval is refused: the request is closed.
    await expect(C.call({ type: 'request.decide', id: r.id, approve: true })).rejects.toThrow(/no longer/);
  }, 120_000);

  it('the initiator proposes exactly the transaction it previewed, and never another send', async () => {
    const input = { vaultId, chainId: 31337, to: RECIPIENT, amount: '0.5', token: null };
    const preview = await A.call({ type: 'send.preview', ...input });
    expect(preview.unsigned).toMatch(/^0x02/);
    // Fees as the preview showed them, different from what a second build now picks.
    const shown = decodeUnsignedTx(fromHex(preview.unsigned!.slice(2)));
    const reviewed = encodeUnsignedTx({
      ...shown,
      maxFeePerGas: shown.maxFeePerGas + 7n,
      gas: shown.gas + 1n,
    });
    const hexOf = (b: Uint8Array) => `0x${toHex(b)}`;
    const before = (await A.call({ type: 'request.list' })).length;
    // Another amount or recipient than the input: refused, nothing stored.
    const otherValue = encodeUnsignedTx({ ...shown, value: shown.value + 1n });
    await expect(A.call({ type: 'send.create', ...input, unsigned: hexOf(otherValue) })).rejects.toThrow(
      /not this send; review again/,
    );
    await expect(
      A.call({ type: 'send.create', ...input, amount: '0.25', unsigned: hexOf(reviewed) }),
    ).rejects.toThrow(/not this send; review again/);
    await expect(A.call({ type: 'send.create', ...input, unsigned: '0x02ff' })).rejects.toThrow(
      /cannot be read; review again/,
    );
    expect((await A.call({ type: 'request.list' })).length).toBe(before);
    // The reviewed bytes are what every device sees: gas and fee exactly as previewed.
    const r = await A.call({ type: 'send.create', ...input, unsigned: hexOf(reviewed) });
    for (const d of [A, B]) {
      const seen = d === A ? r : await request(d, r.id);
      expect(seen.tx?.maxFeePerGas).toBe((shown.maxFeePerGas + 7n).toString());
      expect(seen.tx?.gasLimit).toBe((shown.gas + 1n).toString());
      expect(seen.tx?.nonce).toBe(shown.nonce);
    }
    // Closed by the others, so it is never signed.
    await request(C, r.id);
    await B.call({ type: 'request.decide', id: r.id, approve: false });
    await C.call({ type: 'request.decide', id: r.id, approve: false });
    await phase(A, r.id, 'rejected');
  }, 60_000);

  it('an approval short of the threshold stays pending (C proposes, B approves: 2 of 3)', async () => {
    const r = await C.call({
      type: 'send.create',
      vaultId,
      chainId: 31337,
      to: RECIPIENT2,
      amount: '0.5',
      token: null,
    });
    await request(B, r.id);
    await B.call({ type: 'request.decide', id: r.id, approve: true });
    const seen = await until(
      async () => {
        const x = (await A.call({ type: 'request.list' })).find((y) => y.id === r.id);
        return x?.approvedPower === 2 ? x : undefined;
      },
      15_000,
      'A to count both approvals',
    );
    expect(seen.phase).toBe('pending');
    expect(seen.canDecide).toBe(true);
    await new Promise((res) => setTimeout(res, 1_500));
    for (const d of [A, B, C]) expect((await request(d, r.id)).phase).toBe('pending');
    expect(await chain.publicClient.getBalance({ address: RECIPIENT2 })).toBe(0n);
    // A rejects: 2 approved + 2 rejected, nothing undecided → rejected everywhere, never signed.
    await A.call({ type: 'request.decide', id: r.id, approve: false });
    await Promise.all([A, B, C].map((d) => phase(d, r.id, 'rejected', 15_000)));
    expect(await chain.publicClient.getBalance({ address: RECIPIENT2 })).toBe(0n);
  }, 60_000);

  it('a worker restart in the middle of signing still ends in exactly one mined transaction', async () => {
    const before = await chain.publicClient.getBalance({ address: RECIPIENT });
    const nonceBefore = await chain.publicClient.getTransactionCount({ address });
    const r = await A.call({
      type: 'send.create',
      vaultId,
      chainId: 31337,
      to: RECIPIENT,
      amount: '0.25',
      token: null,
    });
    await request(B, r.id);
    await B.call({ type: 'request.decide', id: r.id, approve: true });
    // Restart B as soon as its side of the ceremony is recorded as running.
    await until(
      async () => ((await B.db.ceremonies.get(r.id))?.myAttempt === 1 ? true : undefined),
      15_000,
      'B to start signing',
    );
    await B.restart();
    const mined = await Promise.all([A, B, C].map((d) => phase(d, r.id, 'mined', 90_000)));
    expect(new Set(mined.map((m) => m.txHash)).size).toBe(1);
    expect((await chain.publicClient.getBalance({ address: RECIPIENT })) - before).toBe(ETH / 4n);
    expect(await chain.publicClient.getTransactionCount({ address })).toBe(nonceBefore + 1);
  }, 120_000);

  it('the initiator goes away after proposing: an online approver coordinates and A+B sign', async () => {
    const before = await chain.publicClient.getBalance({ address: RECIPIENT2 });
    const r = await C.call({
      type: 'send.create',
      vaultId,
      chainId: 31337,
      to: RECIPIENT2,
      amount: '0.3',
      token: null,
    });
    await request(A, r.id);
    await request(B, r.id);
    C.bg.bridge.stop(); // C's browser closes: the relay tells the others it is offline
    await A.call({ type: 'request.decide', id: r.id, approve: true });
    await B.call({ type: 'request.decide', id: r.id, approve: true });
    const mined = await Promise.all([A, B].map((d) => phase(d, r.id, 'mined', 60_000)));
    expect(
      mined[0]!.members
        .filter((m) => m.signer)
        .map((m) => m.label)
        .sort(),
    ).toEqual(['A', 'B']);
    expect((await chain.publicClient.getBalance({ address: RECIPIENT2 })) - before).toBe((3n * ETH) / 10n);
    // C returns and learns the outcome from its mailbox.
    await C.restart();
    await phase(C, r.id, 'mined', 30_000);
  }, 120_000);

  it('a reshare adding a fourth device keeps the address, and the new committee signs', async () => {
    const base = bridge.url.replace(/\/v1$/, '');
    D = await device(base, extra);
    await configure(D);
    const vault = (await A.call({ type: 'vault.list' })).find((v) => v.id === vaultId)!;
    const r = await A.call({
      type: 'reshare.propose',
      vaultId,
      threshold: 3,
      keep: vault.members.map((m) => ({ deviceId: m.deviceId, label: m.label, power: m.power })),
      add: [{ code: D.info.deviceCode, label: 'D', power: 1 }],
    });
    expect(r.kind).toBe('reshare');
    const atD = await request(D, r.id);
    expect(atD.canDecide).toBe(true);
    expect(atD.reshare?.safetyCode).toBe(r.reshare?.safetyCode);
    // A holds a ban of the current epoch against C (a cheating signer); the new epoch clears it.
    await A.db.bans.put({
      id: banId(vaultId, C.info.deviceId),
      vaultId,
      deviceId: C.info.deviceId,
      reason: 'RVOLE_CHECK_FAILED',
      createdAt: Date.now(),
    });
    const cAtA = async () => (await request(A, r.id)).members.find((m) => m.deviceId === C.info.deviceId);
    expect((await cAtA())?.banned).toBe(true);
    expect((await request(A, r.id)).members.filter((m) => m.banned).length).toBe(1);
    await request(B, r.id);
    await B.call({ type: 'request.decide', id: r.id, approve: true });
    await D.call({ type: 'request.decide', id: r.id, approve: true });
    await Promise.all([A, B, C, D].map((d) => phase(d, r.id, 'done', 120_000)));
    // C did not approve: it took part as a member of the new committee, but A and B dealt.
    expect((await A.db.ceremonies.get(r.id))?.dealers).toEqual([A.info.deviceId, B.info.deviceId].sort());
    expect(await A.db.bans.where('vaultId').equals(vaultId).count()).toBe(0);
    expect((await cAtA())?.banned).toBe(false);
    for (const d of [A, B, C, D]) {
      const v = (await d.call({ type: 'vault.list' })).find((x) => x.id === vaultId);
      expect(v?.address).toBe(address);
      expect(v?.members.length).toBe(4);
    }
    // The new committee: D (1) proposes, A (2) approves → 3.
    const before = await chain.publicClient.getBalance({ address: RECIPIENT2 });
    const s = await D.call({
      type: 'send.create',
      vaultId,
      chainId: 31337,
      to: RECIPIENT2,
      amount: '1',
      token: null,
    });
    await request(A, s.id);
    await A.call({ type: 'request.decide', id: s.id, approve: true });
    await Promise.all([A, D].map((d) => phase(d, s.id, 'mined', 60_000)));
    expect((await chain.publicClient.getBalance({ address: RECIPIENT2 })) - before).toBe(ETH);
  }, 240_000);

  it('a device restored from its backup on a fresh profile comes back after a refresh and signs again', async () => {
    const file = await B.call({
      type: 'backup.export',
      vaultId,
      walletPassphrase: GOOD_PASSPHRASE,
      passphrase: BACKUP_PASSPHRASE,
    });
    const check = await B.call({
      type: 'backup.verify',
      vaultId,
      file: file.text,
      passphrase: BACKUP_PASSPHRASE,
    });
    expect(check.current).toBe(true);
    // B's browser is lost.
    B.bg.bridge.stop();
    const base = bridge.url.replace(/\/v1$/, '');
    const B2 = await restored(base, file.text);
    expect(B2.info.deviceId).toBe(B.info.deviceId);
    await configure(B2);
    const waiting = await B2.call({ type: 'restore.list' });
    expect(waiting.map((r) => r.address)).toEqual([address]);

    // Wrong backup passphrase: a clear error, nothing stored.
    const B3 = await blank();
    await expect(
      B3.call({
        type: 'onboarding.restore',
        file: file.text,
        backupPassphrase: 'wrong horse battery staple 99',
        passphrase: GOOD_PASSPHRASE,
      }),
    ).rejects.toThrow(/Wrong passphrase/);
    expect((await B3.call({ type: 'status' })).onboarded).toBe(false);

    // A refresh (same signers, same powers) brings B's share back to life.
    const vault = (await A.call({ type: 'vault.list' })).find((v) => v.id === vaultId)!;
    const r = await A.call({
      type: 'reshare.propose',
      vaultId,
      threshold: vault.threshold,
      keep: vault.members.map((m) => ({ deviceId: m.deviceId, label: m.label, power: m.power })),
      add: [],
    });
    const atB2 = await request(B2, r.id);
    expect(atB2.canDecide).toBe(true);
    await B2.call({ type: 'request.decide', id: r.id, approve: true });
    await Promise.all([A, B2].map((d) => phase(d, r.id, 'done', 120_000)));
    expect(await B2.call({ type: 'restore.list' })).toEqual([]);
    const v2 = (await B2.call({ type: 'vault.list' })).find((v) => v.id === vaultId);
    expect(v2?.address).toBe(address);

    // B (restored) proposes, A approves: mined.
    const before = await chain.publicClient.getBalance({ address: RECIPIENT });
    const s = await B2.call({
      type: 'send.create',
      vaultId,
      chainId: 31337,
      to: RECIPIENT,
      amount: '0.1',
      token: null,
    });
    await request(A, s.id);
    await A.call({ type: 'request.decide', id: s.id, approve: true });
    await Promise.all([A, B2].map((d) => phase(d, s.id, 'mined', 60_000)));
    expect((await chain.publicClient.getBalance({ address: RECIPIENT })) - before).toBe(ETH / 10n);
    B2.bg.bridge.stop();
  }, 300_000);
});
