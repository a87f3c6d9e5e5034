/**
 * Reshare to a different committee, from the 3-party fixture [1,1,1] t=2: one party joins
 * ([2,1,1,1] t=3), one leaves ([1,1] t=2), one new device takes over ([3] t=2). Each run keeps the
 * vault id, DKG session id, key and address, moves to epoch 1, gives every new pair fresh OT state,
 * signs with new sets (recovering to the same address), and refuses to mix epochs.
 */
import { describe, expect, it } from 'vitest';
import { equalBytes } from '../../src/bytes.ts';
import { decodeDescriptor, encodeDescriptor } from '../../src/descriptor.ts';
import { KeyShare } from '../../src/keyshare.ts';
import { verifyCertificate } from '../../src/reshare/certificate.ts';
import { EpochState } from '../../src/reshare/state.ts';
import { TAGS } from '../../src/tags.ts';
import { expectAllOk, runReshare } from '../../src/testing/driver.ts';
import { interpolateSecret } from '../../src/testing/inspect.ts';
import { loadFixture } from '../fixtures/index.ts';
import {
  activateAll,
  expectEpochMismatch,
  expectFinished,
  expectSameVault,
  expectSigns,
  hex,
  newDevice,
} from './helpers.ts';

const fx = () => loadFixture('1-1-1_t2');
const secretOf = (shares: readonly KeyShare[]) =>
  interpolateSecret(
    shares,
    shares.flatMap((s) => [...s.selfPoints]).slice(0, shares[0]!.descriptor.threshold),
  );

describe('reshare to a new committee', () => {
  it('one party joins: [1,1,1] t=2 → [2,1,1,1] t=3', async () => {
    const [p0, p1, p2] = fx().shares as [KeyShare, KeyShare, KeyShare];
    const d = newDevice('join');
    const parties = [
      { id: p0.selfId, power: 2 },
      { id: p1.selfId, power: 1 },
      { id: p2.selfId, power: 1 },
      { id: d, power: 1 },
    ];
    // p1 and p2 deal; p0 only receives (it stays, with more power); d joins.
    const run = runReshare({ oldShares: [p1, p2], newParties: parties, newThreshold: 3, seed: 'join' });
    expect(run.ids.length).toBe(4);
    const outs = expectFinished(run);
    const next = outs[0]!.descriptor;
    expectSameVault(next, p0.descriptor, parties, 3);
    expect(decodeDescriptor(encodeDescriptor(next)).address).toBe(p0.descriptor.address);
    verifyCertificate(run.certificate!, next, run.identityKeys);

    const [n0, n1, n2, nd] = activateAll(run, [p0.selfId, p1.selfId, p2.selfId, d]) as [
      KeyShare,
      KeyShare,
      KeyShare,
      KeyShare,
    ];
    expect(nd.shares.length).toBe(1);
    expect(n0.shares.length).toBe(2);
    expect(secretOf([n0, nd])).toBe(secretOf([p0, p1]));
    // Fresh pairwise state: OT seeds and zero seeds differ from the DKG's.
    const oldPeer = p1.peer(p2.selfId)!;
    const newPeer = n1.peer(p2.selfId)!;
    expect(equalBytes(oldPeer.zeroSeed, newPeer.zeroSeed)).toBe(false);
    expect(equalBytes(oldPeer.full.leaves, newPeer.full.leaves)).toBe(false);
    expect(n1.peers.length).toBe(3);

    await expectSigns([n0, nd], p0.descriptor.address, 'join/heavy+new');
    await expectSigns([n1, n2, nd], p0.descriptor.address, 'join/three');
    expectEpochMismatch(p1, n0);
  });

  it('one party leaves: [1,1,1] t=2 → [1,1] t=2, the leaving party deals and then retires', async () => {
    const [p0, p1, p2] = fx().shares as [KeyShare, KeyShare, KeyShare];
    const parties = [
      { id: p0.selfId, power: 1 },
      { id: p1.selfId, power: 1 },
    ];
    const run = runReshare({ oldShares: [p0, p2], newParties: parties, newThreshold: 2, seed: 'leave' });
    const outs = expectFinished(run);
    expectSameVault(outs[0]!.descriptor, p0.descriptor, parties, 2);
    const leaving = outs[run.ids.findIndex((id) => hex(id) === hex(p2.selfId))]!;
    expect(leaving.pending).toBeUndefined();
    expect(leaving.ownSignature).toBeUndefined();

    // The leaving party deletes its share only on the complete certificate.
    const state = new EpochState(KeyShare.decode(p2.encode()));
    state.begin(leaving, Number.MAX_SAFE_INTEGER);
    expect(state.signingShare().epoch).toBe(0);
    expect(state.onCertificate(run.certificate!, run.identityKeys).activated).toBe(true);
    expect(state.active).toBeUndefined();

    const [n0, n1] = activateAll(run, [p0.selfId, p1.selfId]) as [KeyShare, KeyShare];
    expect(secretOf([n0, n1])).toBe(secretOf([p0, p1]));
    await expectSigns([n0, n1], p0.descriptor.address, 'leave');
    expectEpochMismatch(p0, n1);
  });

  it('one new device takes over: [1,1,1] t=2 → [3] t=2', async () => {
    const [p0, p1] = fx().shares as [KeyShare, KeyShare, KeyShare];
    const d = newDevice('takeover');
    const parties = [{ id: d, power: 3 }];
    const run = runReshare({ oldShares: [p0, p1], newParties: parties, newThreshold: 2, seed: 'takeover' });
    const outs = expectFinished(run);
    expect(outs.filter((o) => o.pending).length).toBe(1);
    expectSameVault(outs[0]!.descriptor, p0.descriptor, parties, 2);
    const [nd] = activateAll(run, [d]) as [KeyShare];
    expect(nd.peers.length).toBe(0);
    expect(secretOf([nd])).toBe(secretOf([p0, p1]));
    await expectSigns([nd], p0.descriptor.address, 'takeover');
    // The old epoch is untouched until the old parties retire their shares.
    await expectSigns([p0, p1], p0.descriptor.address, 'takeover/old');
    expect(expectAllOk(run).every((o) => o.descriptor.epoch === 1)).toBe(true);
  });
});

describe('reshare edge layouts', () => {
  it('refreshes a single-party vault ([1] t=1: no peers, the engine finishes at once)', async () => {
    const [solo] = loadFixture('1_t1').shares as [KeyShare];
    const run = runReshare({
      oldShares: [solo],
      newParties: [{ id: solo.selfId, power: 1 }],
      newThreshold: 1,
      seed: 'solo',
    });
    const [next] = activateAll(run, [solo.selfId]) as [KeyShare];
    expect(next.epoch).toBe(1);
    // With t = 1 the polynomial is the constant s: the share is the key itself, by construction.
    expect(next.shares[0]).toBe(solo.shares[0]);
    await expectSigns([next], solo.descriptor.address, 'solo');
  });

  it('a heavy dealer uses only the points it needs: [4] t=3 → [2,2] t=3 with a new device', async () => {
    const [heavy] = loadFixture('4_t3').shares as [KeyShare];
    const d = newDevice('split');
    const parties = [
      { id: heavy.selfId, power: 2 },
      { id: d, power: 2 },
    ];
    const run = runReshare({ oldShares: [heavy], newParties: parties, newThreshold: 3, seed: 'split' });
    const outs = expectFinished(run);
    expectSameVault(outs[0]!.descriptor, heavy.descriptor, parties, 3);
    const [n0, nd] = activateAll(run, [heavy.selfId, d]) as [KeyShare, KeyShare];
    expect(secretOf([n0, nd])).toBe(secretOf([heavy]));
    await expectSigns([n0, nd], heavy.descriptor.address, 'split');
  });
});

describe('reshare domain separation', () => {
  it('every tag, reshare tags included, is distinct', () => {
    const values = Object.values(TAGS);
    expect(new Set(values).size).toBe(values.length);
    expect(values.filter((v) => v.startsWith('concord/reshare/')).length).toBe(12);
  });
});
