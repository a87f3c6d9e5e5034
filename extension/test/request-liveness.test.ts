/**
 * Liveness of co-approved sends under worker deaths and vanishing signers, at the service level:
 * three whole backgrounds (fake-indexeddb) over a real in-process bridge and a real Hardhat node, a
 * [1,1,1] threshold-2 vault. Deliveries are controlled with `lossySocket` (a message acknowledged to
 * the relay and lost, as when a service worker dies right after receiving it), so each run takes the
 * same path:
 *  - the coordinator's worker dies after the other signer finished (the last round message and the
 *    signed transaction reached the dying worker only): its next worker's new attempt is answered
 *    with the signed transaction, and the request ends mined — once;
 *  - a signer that never completes: attempts go on by persisted deadlines (an alarm on every device
 *    that holds the attempt), are bounded, and the request ends as "could not sign" on every device;
 *    any member proposes it again and the new request is signed and mined;
 *  - expiry: a start that reaches signers after the request expired (their clocks moved past it
 *    while the start was held back) is refused before any share is touched, and the expiry alarm
 *    ends the request on every device; a post-dated request is refused on receipt.
 * Each device has its own clock (`platform.now`), moved by the test.
 */

import { type RunningBridge, startBridge } from '@concord/bridge-server/relay';
import { MAX_ATTEMPTS, MAX_CLOCK_SKEW_MS, REQUEST_TTL_MS, requestAlarm } from '@concord/bridge-server/vault';
import { SIGN_ROUNDS } from '@concord/tss';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type HardhatNode, startHardhat } from '../../test/helpers/hardhat.ts';
import type { RequestView } from '../src/shared/messages.ts';
import { defaultSettings } from '../src/shared/settings.ts';
import { Device, dkgDone, until } from './devices.ts';
import { type LossRule, lossySocket } from './fakes/lossy-socket.ts';
import { fakePlatform } from './fakes/platform.ts';
import { GOOD_PASSPHRASE, openFreshDb, startBackground } from './helpers.ts';

const ETH = 10n ** 18n;
const RECIPIENT = '0x00000000000000000000000000000000c0ffee11';
const STALL_MS = 1_500;
const extra = { fallbackMs: 500, requestStallMs: STALL_MS };

interface Clock {
  /** Added to the real time: this device's clock runs ahead (or behind). */
  offset: number;
}

/** An onboarded device on the bridge whose inbound deliveries follow `rule`, on its own clock. */
async function lossyDevice(bridgeUrl: string, rule: LossRule, clock: Clock): Promise<Device> {
  const platform = { ...fakePlatform(), WebSocket: lossySocket(rule), now: () => Date.now() + clock.offset };
  const d = new Device(await openFreshDb(), platform, extra);
  d.info = await d.call({ type: 'onboarding.create', passphrase: GOOD_PASSPHRASE });
  await d.call({ type: 'settings.update', patch: { bridgeUrl } });
  await d.call({ type: 'status' });
  return d;
}

describe('co-approval liveness over a real bridge and a real chain', () => {
  let bridge: RunningBridge;
  let chain: HardhatNode;
  let A: Device;
  let B: Device;
  let C: Device;
  const ruleA: LossRule = { drop: null };
  const ruleB: LossRule = { drop: null };
  const ruleC: LossRule = { drop: null };
  const clockA: Clock = { offset: 0 };
  const clockB: Clock = { offset: 0 };
  const clockC: Clock = { offset: 0 };
  let vaultId: string;
  let address: `0x${string}`;

  const view = (d: Device, id: string) =>
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

  const send = (d: Device, amount: string) =>
    d.call({ type: 'send.create', vaultId, chainId: 31337, to: RECIPIENT, amount, token: null });

  beforeAll(async () => {
    [bridge, chain] = await Promise.all([
      startBridge({ port: 0, store: 'memory', logLevel: 'silent', defaultMetrics: false }),
      startHardhat(),
    ]);
    const base = bridge.url.replace(/\/v1$/, '');
    [A, B, C] = await Promise.all([
      lossyDevice(base, ruleA, clockA),
      lossyDevice(base, ruleB, clockB),
      lossyDevice(base, ruleC, clockC),
    ]);
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
    address = done[0]!.address as `0x${string}`;
    await chain.fund(address, 10n * ETH);
  }, 240_000);

  afterAll(async () => {
    for (const d of [A, B, C]) d?.bg.bridge.stop();
    await bridge?.close();
    await chain?.stop();
  });

  it("the coordinator's worker dies after its co-signer finished: the next attempt is answered with the signed transaction", async () => {
    const before = await chain.publicClient.getBalance({ address: RECIPIENT });
    const nonce = await chain.publicClient.getTransactionCount({ address });
    // A's worker receives B's last round message of attempt 1 and the signed transaction B sends,
    // acknowledges both to the relay, and dies before acting on either.
    let died: () => void = () => {};
    const dead = new Promise<void>((resolve) => {
      died = resolve;
    });
    let frozen = false;
    ruleA.drop = (m) => {
      if (m.tag === `sign1/r${SIGN_ROUNDS}`) frozen = true;
      if (frozen && m.tag === 'q.broadcast') setImmediate(died);
      return frozen;
    };
    const r = await send(A, '0.5');
    await view(B, r.id);
    await B.call({ type: 'request.decide', id: r.id, approve: true });
    await dead;
    A.bg.bridge.stop();
    ruleA.drop = null;
    // B signed, sent it to the chain and considers the request done; A holds a running attempt 1.
    await phase(B, r.id, 'mined', 30_000);
    const stuck = await A.db.ceremonies.get(r.id);
    expect(stuck?.status).toBe('running');
    expect(stuck?.attempt).toBe(1);
    expect(await A.db.transactions.get(r.id)).toBeUndefined();

    await A.restart();
    const mined = await phase(A, r.id, 'mined', 30_000);
    expect(mined.attempt).toBeGreaterThanOrEqual(2);
    expect(mined.txHash).toBe((await view(B, r.id)).txHash);
    expect((await chain.publicClient.getBalance({ address: RECIPIENT })) - before).toBe(ETH / 2n);
    expect(await chain.publicClient.getTransactionCount({ address })).toBe(nonce + 1);
    // Nothing left armed for a finished request.
    expect(A.platform.alarms.alarms.has(requestAlarm(r.id))).toBe(false);
  }, 120_000);

  it('a signer that never completes: bounded attempts by persisted deadlines, "could not sign" everywhere, re-proposed and mined', async () => {
    const before = await chain.publicClient.getBalance({ address: RECIPIENT });
    // B approves and stays online, but its protocol messages never reach its sessions.
    ruleB.drop = (m) => /^sign\d+\//.test(m.tag);
    const r = await send(A, '0.25');
    await view(B, r.id);
    await view(C, r.id);
    await B.call({ type: 'request.decide', id: r.id, approve: true });

    // While an attempt runs, every device that holds it keeps a persisted deadline and its alarm.
    const running = await phase(A, r.id, 'signing', 30_000);
    expect(
      running.members
        .filter((m) => m.signer)
        .map((m) => m.label)
        .sort(),
    ).toEqual(['A', 'B']);
    await until(
      async () => ((await C.db.ceremonies.get(r.id))?.attempt === undefined ? undefined : true),
      15_000,
      'C to learn of the attempt',
    );
    for (const d of [A, B, C]) {
      const armed = await until(
        async () => {
          const c = await d.db.ceremonies.get(r.id);
          const alarm = d.platform.alarms.alarms.get(requestAlarm(r.id));
          return c?.stallAt !== undefined && alarm !== undefined ? { c, alarm } : undefined;
        },
        15_000,
        'a persisted deadline and its alarm',
      );
      expect(armed.c.status).toBe('running');
      expect(armed.alarm).toBeGreaterThan(Date.now() - 5 * STALL_MS);
    }

    const failed = await Promise.all([A, B, C].map((d) => phase(d, r.id, 'failed', 90_000)));
    for (const f of failed) {
      expect(f.attempt).toBe(MAX_ATTEMPTS);
      expect(f.error).toMatch(/Could not sign/);
      expect(f.canReopen).toBe(true);
    }
    expect(await A.db.transactions.get(r.id)).toBeUndefined();
    expect(A.platform.alarms.alarms.has(requestAlarm(r.id))).toBe(false);
    expect(await chain.publicClient.getBalance({ address: RECIPIENT })).toBe(before);
    // After the end nothing starts again: the count stays at the bound.
    await new Promise((res) => setTimeout(res, 2 * STALL_MS));
    expect((await A.db.ceremonies.get(r.id))?.attempt).toBe(MAX_ATTEMPTS);

    // C (which did not approve the first one) proposes the same transaction again; A approves.
    ruleB.drop = null;
    const again = await C.call({ type: 'request.reopen', id: r.id });
    expect(again.id).not.toBe(r.id);
    expect(again.phase).toBe('pending');
    expect(again.tx?.recipient.toLowerCase()).toBe(RECIPIENT);
    expect(again.tx?.amount).toBe((ETH / 4n).toString());
    await view(A, again.id);
    await A.call({ type: 'request.decide', id: again.id, approve: true });
    await Promise.all([A, C].map((d) => phase(d, again.id, 'mined', 60_000)));
    expect((await chain.publicClient.getBalance({ address: RECIPIENT })) - before).toBe(ETH / 4n);
    // A request that was signed cannot be re-proposed.
    await expect(A.call({ type: 'request.reopen', id: again.id })).rejects.toThrow(/could not be signed/);
  }, 180_000);
  it('a start that arrives after the request expired is refused on every signer; the expiry alarm ends it everywhere', async () => {
    const before = await chain.publicClient.getBalance({ address: RECIPIENT });
    // A's worker restarts with a stall deadline longer than the request's remaining life, so its
    // attempts do not run out before the expiry (that path is the test above).
    A.bg.bridge.stop();
    A.bg = startBackground(A.db, A.platform, { ...extra, requestStallMs: 120_000 });
    await A.call({ type: 'status' });
    // B and C receive A's starts only when the test lets them through.
    const starts = (m: { tag: string }) => m.tag === 'q.start';
    ruleB.hold = starts;
    ruleC.hold = starts;
    // A request made (by A's clock) 24 h minus a few seconds ago: it expires in LIFE_MS real time.
    const LIFE_MS = 30_000;
    clockA.offset = -(REQUEST_TTL_MS - LIFE_MS);
    const r = await send(A, '0.125');
    clockA.offset = 0;
    // A's idle deadline was set on its slow clock: unlock again (the request is stored).
    await A.call({ type: 'unlock', passphrase: GOOD_PASSPHRASE });
    await A.call({ type: 'status' });
    const atC = await view(C, r.id);
    // A pending request already holds its expiry alarm.
    expect(C.platform.alarms.alarms.get(requestAlarm(r.id))).toBe(atC.expiresAt);
    await view(B, r.id);
    await B.call({ type: 'request.decide', id: r.id, approve: true });
    await C.call({ type: 'request.decide', id: r.id, approve: true });
    await until(
      async () => ((await A.db.ceremonies.get(r.id))?.attempt === undefined ? undefined : true),
      20_000,
      'A to start attempt 1',
    );
    // The start reaches B and C only after the request expired.
    await new Promise((res) => setTimeout(res, Math.max(0, atC.expiresAt - Date.now() + 200)));
    ruleB.hold = null;
    ruleC.hold = null;
    ruleB.release?.();
    ruleC.release?.();
    for (const d of [A, B, C]) {
      const v = await phase(d, r.id, 'expired', 15_000);
      expect(v.canDecide).toBe(false);
      // Stored as expired by the expiry timer (the alarm's twin), and the alarm is gone.
      await until(
        async () => ((await d.db.proposals.get(r.id))?.status === 'expired' ? true : undefined),
        15_000,
        `the expiry to be stored on ${d === A ? 'A' : d === B ? 'B' : 'C'}`,
      );
      expect(d.platform.alarms.alarms.has(requestAlarm(r.id))).toBe(false);
      expect(await d.db.transactions.get(r.id)).toBeUndefined();
    }
    // The late start was refused before anything: no attempt recorded, no share opened.
    for (const d of [B, C]) expect(await d.db.ceremonies.get(r.id)).toBeUndefined();
    // A chrome.alarms wake-up after the end changes nothing.
    await B.bg.onAlarm(requestAlarm(r.id));
    expect(await B.db.ceremonies.get(r.id)).toBeUndefined();
    expect(await chain.publicClient.getBalance({ address: RECIPIENT })).toBe(before);
    await expect(A.call({ type: 'request.decide', id: r.id, approve: false })).rejects.toThrow(/no longer/);
  }, 120_000);

  it('a post-dated request is refused on receipt; the next one, on time, is taken', async () => {
    // A's clock runs 20 minutes ahead: its request claims to be made in the future. (A locks only
    // after an hour idle, so its own jump forward does not lock it.)
    await A.call({ type: 'settings.update', patch: { autoLockMinutes: 60 } });
    clockA.offset = MAX_CLOCK_SKEW_MS * 2;
    const future = await send(A, '0.01');
    clockA.offset = 0;
    const onTime = await send(A, '0.02');
    // The relay delivers in order: once B and C hold the second, they have refused the first.
    for (const d of [B, C]) {
      await view(d, onTime.id);
      const ids = (await d.call({ type: 'request.list' })).map((x) => x.id);
      expect(ids).not.toContain(future.id);
      expect(await d.db.proposals.get(future.id)).toBeUndefined();
    }
  }, 60_000);
});
