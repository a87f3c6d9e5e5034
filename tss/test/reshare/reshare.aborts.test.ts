/**
 * One reshare test per abort reason (THREATS A4-A7, A17, A20, A23): a bad share (Feldman blame of
 * the dealer), a dealer that shifts its constant term (PUBLIC_KEY_MISMATCH naming it), a bad
 * coefficient proof, a wrong opening, an equivocated round-1 broadcast (blameless retry), a party
 * that stops at each round, a zero-share seed half sent but not kept (blameless retry before any
 * pending share or signature), and refused parameters. In every case no member outputs anything it
 * could activate, the old shares are byte-for-byte unchanged, and the old epoch still signs.
 *
 * Setting: fixture [1,1,1] t=2 (p0, p1, p2); p0 and p1 deal; the new committee is {p1, D} t=2, so
 * the session has a leaving dealer (p0), a dealer that stays (p1) and a joining device (D), and
 * only one new pair pays for an OT setup.
 */
import { describe, expect, it } from 'vitest';
import { toHex } from '../../src/bytes.ts';
import type { TssError } from '../../src/errors.ts';
import { KeyShare } from '../../src/keyshare.ts';
import { add, G } from '../../src/math/scalar.ts';
import { CertificateCollector } from '../../src/reshare/certificate.ts';
import {
  decodeReshareR1,
  decodeReshareR2,
  decodeReshareR3,
  encodeReshareR1,
  encodeReshareR2,
  encodeReshareR3,
} from '../../src/reshare/messages.ts';
import type { ReshareOutcome } from '../../src/reshare/rounds.ts';
import { ReshareSession } from '../../src/reshare/session.ts';
import { EpochState } from '../../src/reshare/state.ts';
import type { ProtocolMessage } from '../../src/session/engine.ts';
import { type Intercept, type ReshareRun, runReshare } from '../../src/testing/driver.ts';
import { loadFixture } from '../fixtures/index.ts';
import { expectSigns, hex, newDevice } from './helpers.ts';

const fx = () => loadFixture('1-1-1_t2');
const D = newDevice('aborts');

function reshare(intercept?: Intercept, oldShares?: KeyShare[]): ReshareRun {
  const [p0, p1] = fx().shares as [KeyShare, KeyShare, KeyShare];
  return runReshare({
    oldShares: oldShares ?? [p0, p1],
    newParties: [
      { id: p1.selfId, power: 1 },
      { id: D, power: 1 },
    ],
    newThreshold: 2,
    seed: 'aborts',
    intercept,
  });
}

/** Mutate `from`'s round-`round` payloads (only the copy for `to`, if given). */
function tamper(
  from: Uint8Array,
  round: number,
  f: (p: Uint8Array) => Uint8Array,
  to?: Uint8Array,
): Intercept {
  return (msg: ProtocolMessage, recipient: Uint8Array) => {
    if (msg.round !== round || hex(msg.from) !== hex(from)) return [msg];
    if (to && hex(recipient) !== hex(to)) return [msg];
    return [{ ...msg, payload: f(msg.payload) }];
  };
}

const errorOf = (run: ReshareRun, id: Uint8Array): TssError | undefined => {
  const o = run.outcomes[run.ids.findIndex((m) => hex(m) === hex(id))]!;
  return o.ok ? undefined : o.error;
};

/** Nobody holds a complete certificate; the old shares are unchanged and still sign. */
async function expectOldEpochIntact(run: ReshareRun | undefined, before: readonly string[], label: string) {
  if (run) expect(run.certificate).toBeUndefined();
  const shares = fx().shares;
  expect(shares.map((s) => toHex(s.encode()))).toEqual(before);
  await expectSigns([shares[0]!, shares[1]!], shares[0]!.descriptor.address, `aborts/${label}`);
}

const snapshot = () => fx().shares.map((s) => toHex(s.encode()));

/**
 * Every member stopped in finalize with ZERO_SEED_MISMATCH (retry, nobody blamed): no pending
 * share, no signature, so no certificate can ever complete; the error holds no seed bytes.
 */
function expectZeroSeedAbort(run: ReshareRun, keptHalf: Uint8Array): void {
  expect(run.certificate).toBeUndefined();
  expect(run.stats.bytesByRound[4]).toBeGreaterThan(0); // everyone reached the confirm round
  for (const o of run.outcomes) {
    expect(o.ok).toBe(false);
    const e = (o as { error: TssError }).error;
    expect(e.code).toBe('ZERO_SEED_MISMATCH');
    expect(e.abortKind).toBe('retry');
    expect(e.culprits).toEqual([]);
    expect(e.round).toBe('reshare.final');
    expect(JSON.stringify(e.toJSON())).not.toContain(toHex(keptHalf));
  }
}

describe('reshare aborts leave the old epoch in force', () => {
  it('a bad point share → FELDMAN_CHECK_FAILED naming the dealer (ban), at the recipient', async () => {
    const before = snapshot();
    const [p0] = fx().shares as [KeyShare];
    const expect3 = { feldman: 2, shares: 1, pair: false, senderPower: 0, zeroSeedConfirmations: 0 };
    const run = reshare(
      tamper(
        p0.selfId,
        3,
        (b) => {
          const m = decodeReshareR3(b, expect3);
          return encodeReshareR3({ ...m, shares: [add(m.shares[0]!, 1n)] });
        },
        D,
      ),
    );
    const e = errorOf(run, D)!;
    expect(e.code).toBe('FELDMAN_CHECK_FAILED');
    expect(e.culprits).toEqual([hex(p0.selfId)]);
    expect(e.abortKind).toBe('ban');
    expect(e.message).not.toMatch(/[0-9a-f]{64}/); // no secret scalar in the message
    expect(run.outcomes.some((o) => o.ok)).toBe(false);
    await expectOldEpochIntact(run, before, 'feldman');
  });

  it('a dealer that shifts its constant term → PUBLIC_KEY_MISMATCH naming it, at every other member', async () => {
    const before = snapshot();
    const [p0, p1] = fx().shares as [KeyShare, KeyShare];
    // A dealer that deals s(x)+1 instead of s(x): its commitment, opening and proofs are all
    // consistent, but G_0 ≠ λ·P_old(x), which would move the key by λ·G.
    const shifted = new KeyShare(p0.descriptor, p0.selfId, [add(p0.shares[0]!, 1n)], p0.peers);
    const run = reshare(undefined, [shifted, p1]);
    for (const id of [p1.selfId, D]) {
      const e = errorOf(run, id)!;
      expect(e.code).toBe('PUBLIC_KEY_MISMATCH');
      expect(e.culprits).toEqual([hex(p0.selfId)]);
      expect(e.round).toBe('reshare.r3');
    }
    expect(run.outcomes.some((o) => o.ok)).toBe(false);
    await expectOldEpochIntact(run, before, 'shifted');
  });

  it('a bad coefficient proof → BAD_PROOF naming the prover', async () => {
    const before = snapshot();
    const [, p1] = fx().shares as [KeyShare, KeyShare];
    const expect2 = { feldman: 2, shares: 0, pair: true, senderPower: 1, zeroSeedConfirmations: 1 };
    const run = reshare(
      tamper(
        p1.selfId,
        2,
        (b) => {
          const m = decodeReshareR2(b, expect2);
          return encodeReshareR2({ ...m, proofs: [m.proofs[0]!, m.proofs[0]!] });
        },
        D,
      ),
    );
    const e = errorOf(run, D)!;
    expect(e.code).toBe('BAD_PROOF');
    expect(e.culprits).toEqual([hex(p1.selfId)]);
    expect(run.outcomes.some((o) => o.ok)).toBe(false);
    await expectOldEpochIntact(run, before, 'proof');
  });

  it('an opening that does not match the round-1 commitment → DECOMMIT_MISMATCH (ban)', async () => {
    const before = snapshot();
    const [p0, p1] = fx().shares as [KeyShare, KeyShare];
    const expect2 = { feldman: 2, shares: 0, pair: false, senderPower: 0, zeroSeedConfirmations: 0 };
    const run = reshare(
      tamper(
        p0.selfId,
        2,
        (b) => {
          const m = decodeReshareR2(b, expect2);
          return encodeReshareR2({ ...m, feldman: [m.feldman[0]!, m.feldman[1]!.add(G)] });
        },
        p1.selfId,
      ),
    );
    const e = errorOf(run, p1.selfId)!;
    expect(e.code).toBe('DECOMMIT_MISMATCH');
    expect(e.culprits).toEqual([hex(p0.selfId)]);
    expect(e.abortKind).toBe('ban');
    await expectOldEpochIntact(run, before, 'decommit');
  });

  it('an equivocated round-1 broadcast → ECHO_MISMATCH everywhere, nobody blamed (TOB-SILA-8)', async () => {
    const before = snapshot();
    const [p0] = fx().shares as [KeyShare];
    const run = reshare(
      tamper(
        p0.selfId,
        1,
        (b) => {
          const m = decodeReshareR1(b);
          return encodeReshareR1({ ...m, contribution: m.contribution.map((x) => x ^ 1) });
        },
        D,
      ),
    );
    for (const o of run.outcomes) {
      expect(o.ok).toBe(false);
      const e = (o as { error: TssError }).error;
      expect(e.code).toBe('ECHO_MISMATCH');
      expect(e.culprits).toEqual([]);
      expect(e.abortKind).toBe('retry');
    }
    await expectOldEpochIntact(run, before, 'echo');
  });

  it('a zero-seed half sent but not kept → ZERO_SEED_MISMATCH at every member, no culprit, no pending share', async () => {
    const before = snapshot();
    const [, p1] = fx().shares as [KeyShare, KeyShare];
    // p1 (dealer, stays) sends the joining D a half other than the one it keeps; all else honest.
    // Without the confirmation D and p1 would sign the certificate, activate epoch 1, and then
    // every signing of the new 2-of-2 committee would fail with PUBLIC_KEY_MISMATCH.
    const toD = { feldman: 2, shares: 1, pair: true, senderPower: 1, zeroSeedConfirmations: 1 };
    let kept: Uint8Array | undefined;
    const run = reshare(
      tamper(
        p1.selfId,
        3,
        (b) => {
          const m = decodeReshareR3(b, toD);
          kept = m.zeroSeed;
          return encodeReshareR3({ ...m, zeroSeed: m.zeroSeed.map((x) => x ^ 0x5a) });
        },
        D,
      ),
    );
    expect(kept).toBeDefined();
    expectZeroSeedAbort(run, kept!);
    await expectOldEpochIntact(run, before, 'zero-seed');
  });

  it('refresh [1,1,1]: a half forged toward one peer stops all three members, the uninvolved one included', async () => {
    const before = snapshot();
    const [p0, p1, p2] = fx().shares as [KeyShare, KeyShare, KeyShare];
    let kept: Uint8Array | undefined;
    const run = runReshare({
      oldShares: [p0, p1, p2],
      newParties: [p0, p1, p2].map((k) => ({ id: k.selfId, power: 1 })),
      newThreshold: 2,
      seed: 'aborts/refresh',
      intercept: tamper(
        p0.selfId,
        3,
        (b) => {
          // Whether p0 deals depends on the point order, so edit the half in place: it follows
          // version, type, echo (32), the share count and the shares, and its own u32 length.
          const at = 2 + 32 + 4 + 32 * new DataView(b.buffer, b.byteOffset).getUint32(34) + 4;
          const out = b.slice();
          kept = b.slice(at, at + 32);
          out.set(
            kept.map((x) => x ^ 0x01),
            at,
          );
          return out;
        },
        p2.selfId,
      ),
    });
    expect(kept).toBeDefined();
    expect(run.ids.length).toBe(3);
    expectZeroSeedAbort(run, kept!);
    await expectOldEpochIntact(run, before, 'zero-seed/refresh');
  });

  it('a party that stops at any round: nobody completes a certificate, the old epoch signs', async () => {
    const before = snapshot();
    const [, p1] = fx().shares as [KeyShare, KeyShare];
    for (const round of [1, 2, 3, 4]) {
      // D goes silent from `round` on (crash or deliberate abort).
      const run = reshare((msg) => (hex(msg.from) === hex(D) && msg.round >= round ? [] : [msg]));
      expect(run.certificate).toBeUndefined();
      const finished = run.outcomes.filter((o) => o.ok);
      if (round < 4) expect(finished.length).toBe(0);
      else {
        // D saw everyone's confirmation and holds a pending share, but p1 never signs for it:
        // without p1's signature D can never activate.
        expect(finished.length).toBe(1);
        const outD = (finished[0] as { value: ReshareOutcome }).value;
        expect(outD.pending).toBeDefined();
        const state = new EpochState(undefined);
        state.begin(outD, 1);
        const col = new CertificateCollector(outD, run.identityKeys);
        col.add(D, outD.ownSignature!);
        expect(col.missing).toEqual([hex(p1.selfId)]);
        expect(() => col.certificate()).toThrowError(
          expect.objectContaining({ code: 'CERTIFICATE_INVALID' }),
        );
        expect(state.expire(1)).toBe(true);
      }
      // The others are still waiting (a timeout is the caller's), not holding anything.
      for (const o of run.outcomes) if (!o.ok) expect(o.error.code).toBe('SESSION_STATE');
    }
    await expectOldEpochIntact(undefined, before, 'silent');
  });
});

describe('reshare refuses bad parameters before any message leaves', () => {
  const [p0, p1, p2] = [0, 1, 2].map((i) => fx().shares[i]!) as [KeyShare, KeyShare, KeyShare];
  const base = () => ({
    oldParties: [p0.selfId, p1.selfId],
    newParties: [
      { id: p1.selfId, power: 1 },
      { id: D, power: 1 },
    ],
    newThreshold: 2,
    signer: () => new Uint8Array(64),
  });

  it('old parties below the old threshold → BELOW_THRESHOLD', () => {
    expect(
      () => new ReshareSession({ ...base(), oldShare: p0, oldParties: [p0.selfId], selfId: p0.selfId }),
    ).toThrowError(expect.objectContaining({ code: 'BELOW_THRESHOLD' }));
  });

  it('a joining device without the old descriptor, or a dealer without its share → INVALID_PARAMETERS', () => {
    expect(() => new ReshareSession({ ...base(), selfId: D })).toThrowError(
      expect.objectContaining({ code: 'INVALID_PARAMETERS' }),
    );
    expect(
      () => new ReshareSession({ ...base(), oldDescriptor: p0.descriptor, selfId: p0.selfId }),
    ).toThrowError(expect.objectContaining({ code: 'INVALID_PARAMETERS' }));
  });

  it('a party that neither deals nor joins, or an unknown old party → INVALID_PARAMETERS', () => {
    expect(() => new ReshareSession({ ...base(), oldShare: p2, selfId: p2.selfId })).toThrowError(
      expect.objectContaining({ code: 'INVALID_PARAMETERS' }),
    );
    expect(
      () => new ReshareSession({ ...base(), oldShare: p0, oldParties: [p0.selfId, D], selfId: p0.selfId }),
    ).toThrowError(expect.objectContaining({ code: 'INVALID_PARAMETERS' }));
  });

  it('an old share whose descriptor is not the one being reshared → EPOCH_MISMATCH', () => {
    const other = { ...p0.descriptor, epoch: 7 };
    expect(
      () => new ReshareSession({ ...base(), oldDescriptor: other, oldShare: p0, selfId: p0.selfId }),
    ).toThrowError(expect.objectContaining({ code: 'EPOCH_MISMATCH' }));
  });
});
