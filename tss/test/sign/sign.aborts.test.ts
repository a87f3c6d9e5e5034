/**
 * One test per signing abort reason (issue list; THREATS A2, A13, A15–A19, A22). Each asserts the
 * code, culprits and abort kind, and that no signer output a signature.
 */
import { keccak_256 } from '@noble/hashes/sha3.js';
import { describe, expect, it } from 'vitest';
import { toHex, utf8 } from '../../src/bytes.ts';
import type { TssError } from '../../src/errors.ts';
import { mulG, N } from '../../src/math/scalar.ts';
import { cryptoRandomBytes } from '../../src/random.ts';
import type { ProtocolMessage } from '../../src/session/engine.ts';
import { signContext, signSessionId } from '../../src/sign/context.ts';
import {
  decodeSignS0,
  decodeSignS2,
  decodeSignS3,
  encodeSignS0,
  encodeSignS2,
  encodeSignS3,
} from '../../src/sign/messages.ts';
import { signRound0 } from '../../src/sign/rounds.ts';
import { SignSession } from '../../src/sign/session.ts';
import { runSessions, runSign } from '../../src/testing/driver.ts';
import { seededRandom } from '../../src/testing/rng.ts';
import { loadFixture } from '../fixtures/index.ts';

const fx = () => loadFixture('1-1-1_t2');
const digest = keccak_256(utf8('abort tests'));
const hex = (b: Uint8Array) => toHex(b);

type Run = ReturnType<typeof runSign>;
const errorsOf = (run: Run) => run.outcomes.filter((o) => !o.ok).map((o) => (o as { error: TssError }).error);
const noSignature = (run: Run) => expect(run.outcomes.some((o) => o.ok)).toBe(false);

/** Mutate party `from`'s round-`round` payloads (optionally only the copy for `to`). */
function tamper(from: Uint8Array, round: number, f: (p: Uint8Array) => Uint8Array, to?: Uint8Array) {
  return (msg: ProtocolMessage, recipient: Uint8Array): ProtocolMessage[] => {
    if (msg.round !== round || hex(msg.from) !== hex(from)) return [msg];
    if (to && hex(recipient) !== hex(to)) return [msg];
    return [{ ...msg, payload: f(msg.payload) }];
  };
}

const flipAt = (offsetFromEnd: number) => (p: Uint8Array) => {
  const out = p.slice();
  out[out.length - offsetFromEnd] = out[out.length - offsetFromEnd]! ^ 0x04;
  return out;
};

describe('signing refuses bad sets before any message leaves', () => {
  it('refuses a below-threshold set (BELOW_THRESHOLD, nothing sent)', () => {
    const ks = loadFixture('1-1-1_t3').shares;
    let started = false;
    expect(() => {
      const s = new SignSession({ keyShare: ks[0]!, signers: [ks[0]!.selfId, ks[1]!.selfId], digest });
      started = true;
      s.start();
    }).toThrowError(expect.objectContaining({ code: 'BELOW_THRESHOLD' }));
    expect(started).toBe(false);
  });

  it('refuses a session that includes a banned party until a refresh', () => {
    const [a, b] = fx().shares;
    expect(
      () =>
        new SignSession({
          keyShare: a!,
          signers: [a!.selfId, b!.selfId],
          digest,
          banned: new Set([hex(b!.selfId)]),
        }),
    ).toThrowError(expect.objectContaining({ code: 'BANNED_PARTY', culprits: [hex(b!.selfId)] }));
  });

  it('refuses a signer that is not a vault party and a digest that is not 32 bytes', () => {
    const [a] = fx().shares;
    expect(
      () => new SignSession({ keyShare: a!, signers: [a!.selfId, new Uint8Array(32)], digest }),
    ).toThrowError(expect.objectContaining({ code: 'INVALID_PARAMETERS' }));
    expect(
      () => new SignSession({ keyShare: a!, signers: [a!.selfId], digest: new Uint8Array(31) }),
    ).toThrowError(expect.objectContaining({ code: 'INVALID_PARAMETERS' }));
  });
});

describe('signing bans the counterparty on OT, RVOLE and Γ failures', () => {
  it('tampered OT-extension (RVOLE receiver) message → ban the sender, no signature', () => {
    const [a, b] = fx().shares;
    const run = runSign({
      keyShares: [a!, b!],
      digest,
      seed: 'ote',
      intercept: tamper(a!.selfId, 2, flipAt(500)),
    });
    const e = errorsOf(run).find((x) => x.culprits[0] === hex(a!.selfId));
    expect(e?.abortKind).toBe('ban');
    expect(e?.code).toMatch(/OT_EXTENSION_FAILED|RVOLE_FAILED/);
    noSignature(run);
  });

  it('tampered RVOLE sender message → RVOLE_FAILED, ban the sender, no signature', () => {
    const [a, b] = fx().shares;
    const run = runSign({
      keyShares: [a!, b!],
      digest,
      seed: 'rvole',
      intercept: tamper(a!.selfId, 3, (p) => {
        const m = decodeSignS2(p);
        const rvole = m.rvole.slice();
        rvole[100] = rvole[100]! ^ 1;
        return encodeSignS2({ ...m, rvole });
      }),
    });
    const e = errorsOf(run).find((x) => x.culprits[0] === hex(a!.selfId));
    expect(e).toMatchObject({ code: 'RVOLE_FAILED', abortKind: 'ban' });
    noSignature(run);
  });

  it.each(['gammaU', 'gammaV'] as const)('tampered %s → GAMMA_CHECK_FAILED, ban the sender', (field) => {
    const [a, b] = fx().shares;
    const run = runSign({
      keyShares: [a!, b!],
      digest,
      seed: `gamma-${field}`,
      intercept: tamper(a!.selfId, 3, (p) => {
        const m = decodeSignS2(p);
        return encodeSignS2({ ...m, [field]: m[field].add(mulG(1n)) });
      }),
    });
    const e = errorsOf(run).find((x) => x.culprits[0] === hex(a!.selfId));
    expect(e).toMatchObject({ code: 'GAMMA_CHECK_FAILED', abortKind: 'ban' });
    noSignature(run);
  });
});

describe('signing aborts without a ban when the final signature cannot verify', () => {
  it('tampered ψ with two signers → SIGNATURE_INVALID naming the other party, no ban', () => {
    const [a, b] = fx().shares;
    const run = runSign({
      keyShares: [a!, b!],
      digest,
      seed: 'psi',
      intercept: tamper(a!.selfId, 3, (p) => {
        const m = decodeSignS2(p);
        return encodeSignS2({ ...m, psi: (m.psi + 1n) % N });
      }),
    });
    const errs = errorsOf(run);
    expect(errs.length).toBeGreaterThan(0);
    for (const e of errs) {
      expect(e.code).toBe('SIGNATURE_INVALID');
      expect(e.abortKind).toBe('retry');
    }
    expect(errs.find((e) => e.culprits.includes(hex(a!.selfId)))).toBeDefined();
    noSignature(run);
  });

  it('tampered final (u, w) with three signers → SIGNATURE_INVALID naming nobody, no ban', () => {
    const shares = fx().shares;
    const run = runSign({
      keyShares: shares,
      digest,
      seed: 'uw',
      intercept: tamper(shares[0]!.selfId, 4, (p) => {
        const m = decodeSignS3(p);
        return encodeSignS3({ ...m, w: (m.w + 1n) % N });
      }),
    });
    const errs = errorsOf(run);
    // The tamperer's own copy is untouched; the two honest receivers abort.
    expect(errs).toHaveLength(2);
    for (const e of errs)
      expect(e).toMatchObject({ code: 'SIGNATURE_INVALID', abortKind: 'retry', culprits: [] });
    expect(run.outcomes[0]!.ok).toBe(true); // the tamperer saw honest values: its signature is valid
    expect(run.outcomes[1]!.ok || run.outcomes[2]!.ok).toBe(false);
  });

  it('R that does not open its commitment → COMMITMENT_MISMATCH naming the sender, no ban', () => {
    const [a, b] = fx().shares;
    const run = runSign({
      keyShares: [a!, b!],
      digest,
      seed: 'commit',
      intercept: tamper(a!.selfId, 3, (p) => encodeSignS2({ ...decodeSignS2(p), R: mulG(12345n) })),
    });
    const e = errorsOf(run).find((x) => x.code === 'COMMITMENT_MISMATCH');
    expect(e).toMatchObject({ culprits: [hex(a!.selfId)], abortKind: 'retry' });
    noSignature(run);
  });
});

describe('signing session agreement (flight 0)', () => {
  it('inconsistent flight-0 views → SESSION_MISMATCH, retry, nobody banned (TOB-SILA-8)', () => {
    const shares = fx().shares;
    const run = runSign({
      keyShares: shares,
      digest,
      seed: 'views',
      intercept: tamper(
        shares[0]!.selfId,
        1,
        (p) => {
          const m = decodeSignS0(p);
          return encodeSignS0({ ...m, contribution: m.contribution.map((x) => x ^ 1) });
        },
        shares[2]!.selfId,
      ),
    });
    const errs = errorsOf(run);
    expect(errs.length).toBeGreaterThan(0);
    for (const e of errs)
      expect(e).toMatchObject({ code: 'SESSION_MISMATCH', abortKind: 'retry', culprits: [] });
    noSignature(run);
  });

  it('parties signing different digests → SESSION_MISMATCH, retry, no ban', () => {
    const [a, b] = fx().shares;
    const other = keccak_256(utf8('another message'));
    const run = runSessions([
      { id: a!.selfId, session: new SignSession({ keyShare: a!, signers: [a!.selfId, b!.selfId], digest }) },
      {
        id: b!.selfId,
        session: new SignSession({ keyShare: b!, signers: [a!.selfId, b!.selfId], digest: other }),
      },
    ]);
    for (const e of errorsOf(run))
      expect(e).toMatchObject({ code: 'SESSION_MISMATCH', abortKind: 'retry', culprits: [] });
    expect(errorsOf(run)).toHaveLength(2);
  });

  it('parties with different signer sets → SESSION_MISMATCH, retry, no ban', () => {
    const [a, b, c] = fx().shares;
    const abc = [a!.selfId, b!.selfId, c!.selfId];
    const run = runSessions([
      { id: a!.selfId, session: new SignSession({ keyShare: a!, signers: [a!.selfId, b!.selfId], digest }) },
      { id: b!.selfId, session: new SignSession({ keyShare: b!, signers: abc, digest }) },
      { id: c!.selfId, session: new SignSession({ keyShare: c!, signers: abc, digest }) },
    ]);
    const errs = errorsOf(run);
    expect(errs.length).toBeGreaterThanOrEqual(2);
    for (const e of errs)
      expect(e).toMatchObject({ code: 'SESSION_MISMATCH', abortKind: 'retry', culprits: [] });
    expect(run.outcomes.some((o) => o.ok)).toBe(false);
  });
});

describe('signing message handling', () => {
  it('refuses unknown senders and out-of-order messages; aborts on a conflicting duplicate', () => {
    const [a, b] = fx().shares;
    const s = new SignSession({ keyShare: a!, signers: [a!.selfId, b!.selfId], digest });
    s.start();
    expect(() =>
      s.receive({ from: new Uint8Array(32).fill(9), to: null, round: 1, payload: new Uint8Array(4) }),
    ).toThrowError(expect.objectContaining({ code: 'UNKNOWN_SENDER' }));
    expect(() =>
      s.receive({ from: b!.selfId, to: a!.selfId, round: 3, payload: new Uint8Array(4) }),
    ).toThrowError(expect.objectContaining({ code: 'WRONG_ROUND' }));
    expect(s.progress.state).toBe('running');
    const peer = new SignSession({ keyShare: b!, signers: [a!.selfId, b!.selfId], digest });
    const [m0] = peer.start();
    s.receive(m0!);
    expect(s.receive(m0!)).toEqual([]); // identical duplicate: no-op
    const changed = {
      ...m0!,
      payload: m0!.payload.map((x, i) => (i === m0!.payload.length - 1 ? x ^ 1 : x)),
    };
    expect(() => s.receive(changed)).toThrowError(
      expect.objectContaining({ code: 'CONFLICTING_DUPLICATE', culprits: [hex(b!.selfId)] }),
    );
    expect(s.progress.state).toBe('aborted');
  });

  it('treats identical duplicates of every message as no-ops and still signs', () => {
    const run = runSign({
      keyShares: fx().shares.slice(0, 2),
      digest,
      seed: 'dups',
      intercept: (m) => [m, m],
    });
    expect(run.outcomes.every((o) => o.ok)).toBe(true);
  });
});

describe('nonce and session-id freshness (THREATS A22)', () => {
  it('10,000 samplings of round-0 state never repeat a nonce share or a session id', () => {
    const [a, b] = fx().shares;
    const ctx = signContext(a!, [a!.selfId, b!.selfId], digest);
    const nonces = new Set<bigint>();
    const sids = new Set<string>();
    const peerContribution = new Uint8Array(32).fill(7); // even a fixed peer cannot force a repeat
    for (let i = 0; i < 10_000; i++) {
      const { keep, broadcast } = signRound0(ctx, cryptoRandomBytes);
      nonces.add(keep.r);
      nonces.add(keep.phi);
      const order = toHex(a!.selfId) < toHex(b!.selfId);
      sids.add(
        hex(
          signSessionId(
            ctx,
            order ? [broadcast.contribution, peerContribution] : [peerContribution, broadcast.contribution],
          ),
        ),
      );
    }
    expect(nonces.size).toBe(20_000);
    expect(sids.size).toBe(10_000);
  });

  it('the same seeded randomness gives the same state, so freshness comes only from the RNG', () => {
    const [a, b] = fx().shares;
    const ctx = signContext(a!, [a!.selfId, b!.selfId], digest);
    const x = signRound0(ctx, seededRandom('same')).keep.r;
    const y = signRound0(ctx, seededRandom('same')).keep.r;
    expect(x).toBe(y);
  });
});
