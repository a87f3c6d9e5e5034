/**
 * Refresh (same committee) and a change of powers on the 3-party fixture, then the two-phase finish
 * on the refresh's outcomes (THREATS A23/A24): a party that signs the certificate for some and not
 * others never leaves honest parties on different epochs once certificates are forwarded, nobody
 * activates on an incomplete certificate, a crash after signing loses nothing, an expired attempt
 * is discarded, and a refresh clears a ban because it replaces every pairwise OT setup.
 */
import { ed25519 } from '@noble/curves/ed25519.js';
import { keccak_256 } from '@noble/hashes/sha3.js';
import { describe, expect, it } from 'vitest';
import { equalBytes, utf8 } from '../../src/bytes.ts';
import { KeyShare } from '../../src/keyshare.ts';
import {
  CertificateCollector,
  certificateMessage,
  decodeCertificate,
  encodeCertificate,
  type ReshareCertificate,
} from '../../src/reshare/certificate.ts';
import type { ReshareOutcome } from '../../src/reshare/rounds.ts';
import { decodePendingAttempt, EpochState, encodePendingAttempt } from '../../src/reshare/state.ts';
import {
  expectAllOk,
  type ReshareRun,
  runReshare,
  runSign,
  testIdentitySecret,
} from '../../src/testing/driver.ts';
import { loadFixture } from '../fixtures/index.ts';
import {
  activateAll,
  expectEpochMismatch,
  expectFinished,
  expectSameVault,
  expectSigns,
  hex,
} from './helpers.ts';

const fx = () => loadFixture('1-1-1_t2');
const copy = (k: KeyShare) => KeyShare.decode(k.encode());

let refreshRun: ReshareRun | undefined;
/** The refresh of [1,1,1] t=2 to itself, run once for this file. */
function refresh(): ReshareRun {
  if (!refreshRun) {
    const shares = fx().shares;
    refreshRun = runReshare({
      oldShares: shares,
      newParties: shares.map((s) => ({ id: s.selfId, power: 1 })),
      newThreshold: 2,
      seed: 'refresh',
    });
  }
  return refreshRun;
}

/** A party's outcome with its own copy of the pending share (states destroy what they retire). */
function outcomeOf(run: ReshareRun, id: Uint8Array): ReshareOutcome {
  const o = expectAllOk(run)[run.ids.findIndex((m) => hex(m) === hex(id))]!;
  return { ...o, pending: o.pending && copy(o.pending) };
}

describe('refresh and change of powers', () => {
  it('refresh: same committee, same key and address, epoch 1, new shares and new OT state', async () => {
    const [p0, p1, p2] = fx().shares as [KeyShare, KeyShare, KeyShare];
    const run = refresh();
    const outs = expectFinished(run);
    expectSameVault(
      outs[0]!.descriptor,
      p0.descriptor,
      [p0, p1, p2].map((s) => ({ id: s.selfId, power: 1 })),
      2,
    );
    const [n0, n1, n2] = activateAll(run, [p0.selfId, p1.selfId, p2.selfId]) as [
      KeyShare,
      KeyShare,
      KeyShare,
    ];
    for (const [o, n] of [
      [p0, n0],
      [p1, n1],
      [p2, n2],
    ] as const) {
      expect(n.shares[0]).not.toBe(o.shares[0]); // re-randomised, same points
      expect(n.selfPoints).toEqual(o.selfPoints);
      for (const peer of n.peers) {
        expect(equalBytes(peer.full.leaves, o.peer(peer.id)!.full.leaves)).toBe(false);
        expect(equalBytes(peer.zeroSeed, o.peer(peer.id)!.zeroSeed)).toBe(false);
      }
    }
    await expectSigns([n0, n2], p0.descriptor.address, 'refresh/02');
    await expectSigns([n1, n2], p0.descriptor.address, 'refresh/12');
    expectEpochMismatch(p0, n1);
    expectEpochMismatch(n2, p1);
  });

  it('change of powers only: [1,1,1] t=2 → [1,2,1] t=3', async () => {
    const [p0, p1, p2] = fx().shares as [KeyShare, KeyShare, KeyShare];
    const parties = [
      { id: p0.selfId, power: 1 },
      { id: p1.selfId, power: 2 },
      { id: p2.selfId, power: 1 },
    ];
    const run = runReshare({ oldShares: [p1, p2], newParties: parties, newThreshold: 3, seed: 'powers' });
    expectSameVault(expectFinished(run)[0]!.descriptor, p0.descriptor, parties, 3);
    const [n0, n1, n2] = activateAll(run, [p0.selfId, p1.selfId, p2.selfId]) as [
      KeyShare,
      KeyShare,
      KeyShare,
    ];
    expect(n1.shares.length).toBe(2);
    await expectSigns([n0, n1], p0.descriptor.address, 'powers/01');
    await expectSigns([n0, n2, n1], p0.descriptor.address, 'powers/all');
    expect(() => runSign({ keyShares: [n0, n2], digest: keccak_256(utf8('x')) })).toThrowError(
      expect.objectContaining({ code: 'BELOW_THRESHOLD' }),
    );
    expectEpochMismatch(p2, n1);
  });
});

describe('two-phase finish (THREATS A23/A24)', () => {
  /** Honest A and B, malicious M (all three are the new committee of the refresh). */
  function setup() {
    const [a, b, m] = fx().shares as [KeyShare, KeyShare, KeyShare];
    const run = refresh();
    const keys = run.identityKeys;
    const stateA = new EpochState(copy(a));
    const stateB = new EpochState(copy(b));
    const outA = outcomeOf(run, a.selfId);
    const outB = outcomeOf(run, b.selfId);
    const outM = outcomeOf(run, m.selfId);
    stateA.begin(outA, 1_000);
    stateB.begin(outB, 1_000);
    const colA = new CertificateCollector(outA, keys);
    const colB = new CertificateCollector(outB, keys);
    // A and B exchange their own signatures honestly.
    for (const col of [colA, colB]) {
      col.add(a.selfId, outA.ownSignature!);
      col.add(b.selfId, outB.ownSignature!);
    }
    return { a, b, m, run, keys, stateA, stateB, outM, colA, colB };
  }

  const partial = (col: CertificateCollector, run: ReshareRun): ReshareCertificate => {
    const full = run.certificate!;
    return { ...full, signatures: full.signatures.filter((s) => !col.missing.includes(hex(s.id))) };
  };

  it('M withholds its signature: nobody activates, everyone keeps signing on the old epoch', async () => {
    const { a, b, m, run, keys, stateA, stateB, colA, colB } = setup();
    expect(colA.complete).toBe(false);
    expect(colA.missing).toEqual([hex(m.selfId)]);
    expect(() => colA.certificate()).toThrowError(
      expect.objectContaining({ code: 'CERTIFICATE_INVALID', culprits: [hex(m.selfId)] }),
    );
    for (const [state, col] of [
      [stateA, colA],
      [stateB, colB],
    ] as const) {
      expect(() => state.onCertificate(partial(col, run), keys)).toThrowError(
        expect.objectContaining({ code: 'CERTIFICATE_INVALID', culprits: [hex(m.selfId)] }),
      );
      expect(state.signingShare().epoch).toBe(0);
    }
    await expectSigns([stateA.signingShare(), stateB.signingShare()], a.descriptor.address, 'a24/withheld');
    // The attempt expires: the pending share is discarded, the old one stays.
    expect(stateA.expire(999)).toBe(false);
    expect(stateA.expire(1_000)).toBe(true);
    expect(stateA.pending).toBeUndefined();
    expect(stateA.signingShare().epoch).toBe(0);
    expect(hex(stateB.signingShare().selfId)).toBe(hex(b.selfId));
  });

  it('M signs for A only (and signs garbage for B): A activates, forwards, B follows — never split', async () => {
    const { a, b, m, keys, stateA, stateB, outM, colA, colB } = setup();
    // M signs some other transcript for B: B refuses it, naming M, and stays incomplete.
    const bogus = ed25519.sign(
      certificateMessage(outM.descriptor, outM.record.sessionId, new Uint8Array(32)),
      testIdentitySecret(m.selfId),
    );
    expect(() => colB.add(m.selfId, bogus)).toThrowError(
      expect.objectContaining({ code: 'CERTIFICATE_INVALID', culprits: [hex(m.selfId)] }),
    );
    expect(colB.complete).toBe(false);
    // M's real signature reaches A only.
    colA.add(m.selfId, outM.ownSignature!);
    const cert = colA.certificate();
    const resA = stateA.onCertificate(cert, keys);
    expect(resA.activated).toBe(true);
    expect(stateA.signingShare().epoch).toBe(1);
    // A forwards the certificate (over the wire) before relying on the new epoch; B activates.
    const wire = encodeCertificate(resA.forward!);
    const resB = stateB.onCertificate(decodeCertificate(wire), keys);
    expect(resB.activated).toBe(true);
    expect(stateB.onCertificate(decodeCertificate(wire), keys).activated).toBe(false); // idempotent
    expect(stateA.signingShare().epoch).toBe(stateB.signingShare().epoch);
    await expectSigns([stateA.signingShare(), stateB.signingShare()], a.descriptor.address, 'a24/forwarded');
    expect(hex(stateB.signingShare().selfId)).toBe(hex(b.selfId));
  });

  it('a crash after signing loses nothing: the pending share is restored and activates on the certificate', async () => {
    const [a, b] = fx().shares as [KeyShare, KeyShare, KeyShare];
    const run = refresh();
    const outB = outcomeOf(run, b.selfId);
    // What B persisted before crashing: its active share and the pending attempt.
    const storedActive = copy(b).encode();
    const storedPending = encodePendingAttempt({ outcome: outB, expiresAt: 5_000 });
    const storedShare = outB.pending!.encode();
    // Restart.
    const restored = decodePendingAttempt(storedPending);
    expect(restored.expiresAt).toBe(5_000);
    expect(hex(restored.outcome.ownSignature!)).toBe(hex(outB.ownSignature!));
    expect(hex(KeyShare.decode(storedShare).encode())).toBe(hex(restored.outcome.pending!.encode()));
    const state = new EpochState(KeyShare.decode(storedActive));
    state.begin(restored.outcome, restored.expiresAt);
    expect(state.signingShare().epoch).toBe(0);
    expect(state.onCertificate(run.certificate!, run.identityKeys).activated).toBe(true);
    const [na] = activateAll(run, [a.selfId]) as [KeyShare];
    await expectSigns([state.signingShare(), na], a.descriptor.address, 'crash');
  });

  it('refresh clears a ban: a refused session works after refresh with the new OT state', async () => {
    const [a, b] = fx().shares as [KeyShare, KeyShare, KeyShare];
    const run = refresh();
    const state = new EpochState(copy(a));
    state.ban(hex(b.selfId));
    const digest = keccak_256(utf8('banned until refresh'));
    expect(() =>
      runSign({ keyShares: [state.signingShare(), b], digest, banned: state.banned }),
    ).toThrowError(expect.objectContaining({ code: 'BANNED_PARTY', culprits: [hex(b.selfId)] }));
    state.begin(outcomeOf(run, a.selfId), 1_000);
    state.onCertificate(run.certificate!, run.identityKeys);
    expect(state.banned.size).toBe(0);
    const [nb] = activateAll(run, [b.selfId]) as [KeyShare];
    const na = state.signingShare();
    expect(equalBytes(na.peer(b.selfId)!.punctured.leaves, a.peer(b.selfId)!.punctured.leaves)).toBe(false);
    const sigs = expectAllOk(runSign({ keyShares: [na, nb], digest, banned: state.banned }));
    expect(sigs.length).toBe(2);
  });
});
