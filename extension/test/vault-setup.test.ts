/**
 * Vault creation through three backgrounds (router + services, fake browser, fake-indexeddb) over a
 * real in-process bridge (memory store) with `ws` as the WebSocket: propose with powers [2,1,1] and
 * threshold 3, both invitees see the same proposal and safety code, accept, the DKG runs over the
 * bridge and every device stores the same address plus a share sealed under its own data key. Also:
 * a decline ends the proposal everywhere, and the quorum arithmetic the UI shows.
 */

import { type RunningBridge, startBridge } from '@concord/bridge-server/relay';
import { KeyShare } from '@concord/tss';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { layoutProblem, minimalSigningGroups } from '../src/shared/quorum.ts';
import { SharesRepository } from '../src/storage/repositories/shares.ts';
import { type Device, device, dkgDone, until } from './devices.ts';

type Bg = Device;

describe('quorum arithmetic', () => {
  it('lists minimal signing groups and rejects unsafe layouts', () => {
    const m = [{ power: 2 }, { power: 1 }, { power: 1 }];
    expect(minimalSigningGroups(m, 3)).toEqual([
      [0, 1],
      [0, 2],
    ]);
    expect(minimalSigningGroups(m, 2)).toEqual([[0], [1, 2]]);
    expect(layoutProblem(m, 3)).toBeNull();
    expect(layoutProblem(m, 2)).toMatch(/single device/);
    expect(layoutProblem(m, 5)).toMatch(/between 1 and the total power \(4\)/);
    expect(layoutProblem([{ power: 1 }], 1)).toMatch(/at least two/);
  });
});

describe('vault setup over a real bridge', () => {
  let bridge: RunningBridge;
  let A: Bg;
  let B: Bg;
  let C: Bg;

  beforeAll(async () => {
    bridge = await startBridge({ port: 0, store: 'memory', logLevel: 'silent', defaultMetrics: false });
    const base = bridge.url.replace(/\/v1$/, '');
    [A, B, C] = await Promise.all([device(base), device(base), device(base)]);
  });

  afterAll(async () => {
    for (const d of [A, B, C]) d?.bg.bridge.stop();
    await bridge?.close();
  });

  it('a declined proposal ends for everyone', async () => {
    const p = await A.call({
      type: 'vault.propose',
      name: 'Declined',
      selfLabel: 'A',
      selfPower: 1,
      threshold: 2,
      invitees: [{ code: B.info.deviceCode, label: 'B', power: 1 }],
    });
    expect(p.phase).toBe('waiting');
    const inv = await until(
      async () => (await B.call({ type: 'ceremony.list' })).find((c) => c.id === p.id),
      10_000,
      'B to see the invitation',
    );
    expect(inv.phase).toBe('invited');
    await B.call({ type: 'ceremony.respond', id: p.id, accept: false });
    await until(
      async () =>
        (await A.call({ type: 'ceremony.list' })).find((c) => c.id === p.id)?.phase === 'declined'
          ? true
          : undefined,
      10_000,
      'A to see the decline',
    );
    await expect(A.call({ type: 'ceremony.respond', id: p.id, accept: true })).rejects.toThrow(/no longer/);
  });

  it('[2,1,1], t = 3: same safety code, same address, share sealed on every device', async () => {
    await expect(
      A.call({
        type: 'vault.propose',
        name: 'x',
        selfLabel: 'A',
        selfPower: 3,
        threshold: 3,
        invitees: [{ code: B.info.deviceCode, label: 'B', power: 1 }],
      }),
    ).rejects.toThrow(/single device/);
    await expect(
      A.call({
        type: 'vault.propose',
        name: 'x',
        selfLabel: 'A',
        selfPower: 1,
        threshold: 2,
        invitees: [{ code: 'concord-device-v1.nope.XXXX', label: 'B', power: 1 }],
      }),
    ).rejects.toThrow(/Signer 1: that is not a valid device code/);

    const p = await A.call({
      type: 'vault.propose',
      name: 'Family savings',
      selfLabel: 'Laptop',
      selfPower: 2,
      threshold: 3,
      invitees: [
        { code: B.info.deviceCode, label: 'Phone', power: 1 },
        { code: C.info.deviceCode, label: 'Tablet', power: 1 },
      ],
    });
    expect(p.role).toBe('creator');
    expect(p.totalPower).toBe(4);
    for (const d of [B, C]) {
      const v = await until(
        async () => (await d.call({ type: 'ceremony.list' })).find((c) => c.id === p.id),
        10_000,
        'the invitation',
      );
      expect(v.phase).toBe('invited');
      expect(v.role).toBe('invitee');
      expect(v.name).toBe('Family savings');
      expect(v.safetyCode).toBe(p.safetyCode);
      expect(v.members.map((m) => [m.label, m.power])).toEqual(p.members.map((m) => [m.label, m.power]));
    }
    await B.call({ type: 'ceremony.respond', id: p.id, accept: true });
    await C.call({ type: 'ceremony.respond', id: p.id, accept: true });
    const done = await dkgDone([A, B, C], p.id);
    const address = done[0]!.address;
    expect(address).toMatch(/^0x[0-9a-fA-F]{40}$/);
    for (const v of done) expect(v.address).toBe(address);
    for (const d of [A, B, C]) {
      const vaults = await d.call({ type: 'vault.list' });
      expect(vaults.map((x) => x.address)).toEqual([address]);
      const share = await d.db.shares.get(`${p.id}:0`);
      expect(share?.status).toBe('active');
      // The stored bytes are sealed (no plaintext on disk) and open to a valid KeyShare under the DEK.
      const s = await d.bg.session.current();
      const secret = SharesRepository.openSecret(share!, s!.dek);
      const ks = KeyShare.decode(secret);
      expect(ks.descriptor.threshold).toBe(3);
      expect(ks.descriptor.address).toBe(address);
    }

    // A running record without a party in this worker (a worker restart mid-DKG) that can no
    // longer restart (its proposal expired; dkg-restart.ts) shows as interrupted at once, and is
    // persisted as aborted once the bridge is back.
    const row = (await B.db.proposals.get(p.id))!;
    const orphan = 'f'.repeat(32);
    await B.db.proposals.put({ ...row, id: orphan, status: 'approved', expiresAt: Date.now() - 1 });
    const c = (await B.db.ceremonies.get(p.id))!;
    await B.db.ceremonies.put({ ...c, id: orphan, status: 'running', round: 2 });
    const shown = (await B.call({ type: 'ceremony.list' })).find((x) => x.id === orphan);
    expect([shown?.phase, shown?.error]).toEqual(['failed', 'INTERRUPTED']);
    await B.restart();
    await until(
      async () => ((await B.db.ceremonies.get(orphan))?.status === 'aborted' ? true : undefined),
      10_000,
      'the interrupted ceremony to be persisted',
    );
    expect((await B.db.ceremonies.get(orphan))?.abortCode).toBe('INTERRUPTED');
  }, 180_000);

  it('a worker restart before answering: the invitation survives and the vault is created', async () => {
    const p = await A.call({
      type: 'vault.propose',
      name: 'After restart',
      selfLabel: 'A',
      selfPower: 1,
      threshold: 2,
      invitees: [{ code: C.info.deviceCode, label: 'C', power: 1 }],
    });
    await until(
      async () => (await C.call({ type: 'ceremony.list' })).find((x) => x.id === p.id),
      10_000,
      'C to see the invitation',
    );
    await C.restart();
    const v = (await C.call({ type: 'ceremony.list' })).find((x) => x.id === p.id);
    expect(v?.phase).toBe('invited');
    await C.call({ type: 'ceremony.respond', id: p.id, accept: true });
    const addresses = await Promise.all(
      [A, C].map((d) =>
        until(
          async () => {
            const x = (await d.call({ type: 'ceremony.list' })).find((y) => y.id === p.id);
            if (x?.phase === 'failed')
              throw new Error(
                `DKG failed on ${d === A ? 'A' : 'C'}: ${x.error} ${JSON.stringify(await d.db.ceremonies.get(p.id))}`,
              );
            return x?.phase === 'done' ? x.address : undefined;
          },
          60_000,
          'the DKG',
        ),
      ),
    );
    expect(addresses[0]).toMatch(/^0x[0-9a-fA-F]{40}$/);
    expect(addresses[1]).toBe(addresses[0]);
  }, 120_000);

  it('a member that disappears mid-DKG: the others stop with TIMEOUT instead of waiting forever', async () => {
    const base = bridge.url.replace(/\/v1$/, '');
    const [X, Y] = await Promise.all([device(base, { dkgStallMs: 1_500 }), device(base)]);
    try {
      const p = await X.call({
        type: 'vault.propose',
        name: 'Stalls',
        selfLabel: 'X',
        selfPower: 1,
        threshold: 2,
        invitees: [{ code: Y.info.deviceCode, label: 'Y', power: 1 }],
      });
      await until(
        async () => (await Y.call({ type: 'ceremony.list' })).find((c) => c.id === p.id),
        10_000,
        'Y to see the invitation',
      );
      await Y.call({ type: 'ceremony.respond', id: p.id, accept: true });
      Y.bg.bridge.stop(); // Y goes away (its own run is interrupted)
      const v = await until(
        async () => {
          const x = (await X.call({ type: 'ceremony.list' })).find((c) => c.id === p.id);
          return x?.phase === 'failed' ? x : undefined;
        },
        20_000,
        'X to give up',
      );
      expect(v.error).toBe('TIMEOUT');
      // Y's own run was cut: it waits to restart once connected again (dkg-restart.ts).
      const y = (await Y.call({ type: 'ceremony.list' })).find((c) => c.id === p.id);
      expect([y?.phase, y?.interrupted, y?.error]).toEqual(['running', true, null]);
    } finally {
      X.bg.bridge.stop();
      Y.bg.bridge.stop();
    }
  }, 60_000);
});
