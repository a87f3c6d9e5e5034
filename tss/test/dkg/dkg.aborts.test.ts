/**
 * One test per DKG abort reason (issue list; THREATS A3–A12, A17, A20). Each asserts the exact
 * code, the culprit and abort kind, and that no party that aborted produced a KeyShare.
 */
import { describe, expect, it } from 'vitest';
import { toHex } from '../../src/bytes.ts';
import { messageWriter } from '../../src/codec/binary.ts';
import {
  decodeDkgR1,
  decodeDkgR2,
  decodeDkgR3,
  decodeDkgR4,
  encodeDkgR1,
  encodeDkgR2,
  encodeDkgR3,
  encodeDkgR4,
  MSG_TYPE,
  OT_CARRIER_VERSION,
} from '../../src/dkg/messages.ts';
import { DkgSession } from '../../src/dkg/session.ts';
import type { TssError } from '../../src/errors.ts';
import { mulG, N } from '../../src/math/scalar.ts';
import { encodeSchnorr, type SchnorrProof } from '../../src/proofs/schnorr.ts';
import type { ProtocolMessage } from '../../src/session/engine.ts';
import { runDkg, testPartyIds } from '../../src/testing/driver.ts';
import { seededRandom } from '../../src/testing/rng.ts';

const ids = testPartyIds(3);
const P0 = toHex(ids[0]!);

/** Mutate every copy of party 0's round-`round` message (to party 1 when `toFirstPeerOnly`). */
function tamper(round: number, f: (payload: Uint8Array) => Uint8Array, onlyTo?: Uint8Array) {
  return (msg: ProtocolMessage, to: Uint8Array): ProtocolMessage[] => {
    if (msg.round !== round || toHex(msg.from) !== P0) return [msg];
    if (onlyTo && toHex(to) !== toHex(onlyTo)) return [msg];
    return [{ ...msg, payload: f(msg.payload) }];
  };
}

function errorsOf(run: ReturnType<typeof runDkg>): TssError[] {
  return run.outcomes.filter((o) => !o.ok).map((o) => (o as { error: TssError }).error);
}

/** The honest receivers abort with `code`, blaming party 0 with a ban; nobody outputs a share. */
function expectBan(run: ReturnType<typeof runDkg>, code: string): void {
  const errs = errorsOf(run);
  expect(errs.length).toBeGreaterThan(0);
  const blamed = errs.filter((e) => e.code === code);
  expect(blamed.length).toBeGreaterThan(0);
  for (const e of blamed) {
    expect(e.culprits).toEqual([P0]);
    expect(e.abortKind).toBe('ban');
  }
  // Without every party's final confirmation nobody finishes.
  expect(run.outcomes.every((o) => !o.ok)).toBe(true);
}

const two = { powers: [1, 1], threshold: 2, ids: ids.slice(0, 2) } as const;
const three = { powers: [1, 1, 1], threshold: 2, ids } as const;

function editR2(
  payload: Uint8Array,
  t: number,
  edit: (m: ReturnType<typeof decodeDkgR2>) => object,
): Uint8Array {
  const m = decodeDkgR2(payload, t);
  return encodeDkgR2({ ...m, ...edit(m) } as ReturnType<typeof decodeDkgR2>);
}

describe('DKG refuses invalid parameters before any message', () => {
  const spec = (powers: number[], idList = ids) => powers.map((power, i) => ({ id: idList[i]!, power }));
  it.each([
    ['t = 0', spec([1, 1]), 0],
    ['t > Σw', spec([1, 1]), 3],
    ['w = 0', spec([1, 0]), 1],
    ['duplicate party ids', spec([1, 1], [ids[0]!, ids[0]!]), 2],
    ['non-integer power', spec([1.5, 1]), 2],
    ['id of the wrong length', [{ id: new Uint8Array(31), power: 1 }], 1],
  ])('%s', (_name, parties, t) => {
    expect(() => new DkgSession({ parties, threshold: t as number, selfId: ids[0]! })).toThrowError(
      expect.objectContaining({ code: 'INVALID_PARAMETERS' }),
    );
  });

  it('refuses a self id that is not a party', () => {
    expect(() => new DkgSession({ parties: spec([1, 1]), threshold: 2, selfId: ids[2]! })).toThrowError(
      expect.objectContaining({ code: 'INVALID_PARAMETERS' }),
    );
  });
});

describe('DKG aborts on a malformed or dishonest round-2 opening', () => {
  it('Feldman vector with t−1 entries → BAD_LENGTH, ban sender (threshold never silently lowered)', () => {
    const run = runDkg({
      ...two,
      seed: 'f-1',
      intercept: tamper(2, (p) => editR2(p, 2, (m) => ({ feldman: m.feldman.slice(0, 1) }))),
    });
    expectBan(run, 'BAD_LENGTH');
  });

  it('Feldman vector with t+1 entries → BAD_LENGTH, ban sender (threshold never silently raised)', () => {
    const run = runDkg({
      ...two,
      seed: 'f+1',
      intercept: tamper(2, (p) => editR2(p, 2, (m) => ({ feldman: [...m.feldman, mulG(5n)] }))),
    });
    expectBan(run, 'BAD_LENGTH');
  });

  // The first Feldman point starts after version, type, echo (32) and the u32 count.
  const FELDMAN_AT = 2 + 32 + 4;
  const withPoint = (bytes: Uint8Array) => (p: Uint8Array) => {
    const out = p.slice();
    out.set(bytes, FELDMAN_AT);
    return out;
  };
  const ffs = new Uint8Array(33).fill(0xff);
  ffs[0] = 0x02;
  // x = 5: 5³ + 7 = 132 is not a square mod p, so no curve point has this x.
  const offCurve = new Uint8Array(33);
  offCurve[0] = 0x02;
  offCurve[32] = 5;

  it.each([
    ['identity (zero bytes)', new Uint8Array(33)],
    ['off-curve x', offCurve],
    ['non-canonical x ≥ p', ffs],
  ])('%s point → INVALID_POINT, ban sender', (_n, bytes) => {
    const run = runDkg({ ...two, seed: `pt-${_n}`, intercept: tamper(2, withPoint(bytes)) });
    expectBan(run, 'INVALID_POINT');
  });

  it('bad proof of knowledge → BAD_PROOF, ban sender', () => {
    const run = runDkg({
      ...two,
      seed: 'pok',
      intercept: tamper(2, (p) =>
        editR2(p, 2, (m) => ({
          proofs: m.proofs.map((pr, k) => (k === 1 ? { ...pr, z: (pr.z + 1n) % N } : pr)),
        })),
      ),
    });
    expectBan(run, 'BAD_PROOF');
  });

  it('proof replayed from another session → BAD_PROOF (session id is in the challenge)', () => {
    // Party 0 uses the same randomness in both runs, so its polynomial and opening are identical;
    // only the session id differs (party 1's contribution). Its old proofs are replayed.
    let old: readonly SchnorrProof[] | undefined;
    runDkg({
      ...two,
      seed: 'replay-a',
      intercept: (msg) => {
        if (msg.round === 2 && toHex(msg.from) === P0) old = decodeDkgR2(msg.payload, 2).proofs;
        return [msg];
      },
    });
    expect(old).toBeDefined();
    const run = runDkg({
      ...two,
      rngs: [seededRandom('replay-a/0'), seededRandom('replay-b/1')],
      intercept: tamper(2, (p) => editR2(p, 2, () => ({ proofs: old! }))),
    });
    expectBan(run, 'BAD_PROOF');
  });

  it('commitment and opening copied from another party → rejected, blaming the copier', () => {
    // Runs are deterministic per seed: capture party 1's commitment and opening from an honest run,
    // then have party 0 present them as its own in an identical run.
    let r1From1: Uint8Array | undefined;
    let r2From1: Uint8Array | undefined;
    runDkg({
      ...three,
      seed: 'copy',
      intercept: (msg, to) => {
        if (toHex(msg.from) === toHex(ids[1]!) && msg.round === 1) r1From1 = msg.payload;
        if (toHex(msg.from) === toHex(ids[1]!) && msg.round === 2 && toHex(to) === toHex(ids[2]!))
          r2From1 = msg.payload;
        return [msg];
      },
    });
    const theirs = decodeDkgR2(r2From1!, 2);
    // A real copier also echoes the round-1 view the others hold (party 2 emits round 2 first).
    let echo: Uint8Array | undefined;
    const run = runDkg({
      ...three,
      seed: 'copy',
      intercept: (msg) => {
        if (toHex(msg.from) === toHex(ids[2]!) && msg.round === 2) echo = decodeDkgR2(msg.payload, 2).echo;
        if (toHex(msg.from) !== P0) return [msg];
        if (msg.round === 1) {
          const mine = decodeDkgR1(msg.payload);
          return [
            { ...msg, payload: encodeDkgR1({ ...mine, commitment: decodeDkgR1(r1From1!).commitment }) },
          ];
        }
        if (msg.round === 2) {
          const payload = editR2(msg.payload, 2, () => ({
            echo: echo!,
            feldman: theirs.feldman,
            salt: theirs.salt,
            proofs: theirs.proofs,
          }));
          return [{ ...msg, payload }];
        }
        return [msg];
      },
    });
    expectBan(run, 'DECOMMIT_MISMATCH');
  });

  it('opening that does not match the commitment → DECOMMIT_MISMATCH, ban sender', () => {
    const run = runDkg({
      ...two,
      seed: 'salt',
      intercept: tamper(2, (p) => editR2(p, 2, (m) => ({ salt: m.salt.map((b) => b ^ 1) }))),
    });
    expectBan(run, 'DECOMMIT_MISMATCH');
  });

  it('tampered base-OT receiver message → ban sender', () => {
    const run = runDkg({
      ...two,
      seed: 'ot2',
      intercept: tamper(2, (p) =>
        editR2(p, 2, (m) => {
          const ot = m.ot.slice();
          ot[ot.length - 40] = ot[ot.length - 40]! ^ 0x01;
          return { ot };
        }),
      ),
    });
    const errs = errorsOf(run);
    expect(errs.some((e) => e.abortKind === 'ban' && e.culprits[0] === P0)).toBe(true);
    expect(run.outcomes.every((o) => !o.ok)).toBe(true);
  });
});

describe('DKG aborts on a bad round-3 share message', () => {
  const editR3 = (p: Uint8Array, edit: (m: ReturnType<typeof decodeDkgR3>) => object) => {
    const m = decodeDkgR3(p, 1);
    return encodeDkgR3({ ...m, ...edit(m) } as ReturnType<typeof decodeDkgR3>);
  };

  it('share failing its Feldman check → FELDMAN_CHECK_FAILED naming the dealer', () => {
    const run = runDkg({
      ...two,
      seed: 'feld',
      intercept: tamper(3, (p) => editR3(p, (m) => ({ shares: m.shares.map((s) => (s + 1n) % N) }))),
    });
    expectBan(run, 'FELDMAN_CHECK_FAILED');
  });

  it('share scalar ≥ n → INVALID_SCALAR, ban sender', () => {
    const run = runDkg({
      ...two,
      seed: 'bign',
      intercept: tamper(3, (p) => {
        const out = p.slice();
        // First share after version, type, echo and count.
        out.set(new Uint8Array(32).fill(0xff), 2 + 32 + 4);
        return out;
      }),
    });
    expectBan(run, 'INVALID_SCALAR');
  });

  it('tampered base-OT sender reply / all-but-one correction → ban sender', () => {
    const run = runDkg({
      ...two,
      seed: 'ot3',
      intercept: tamper(3, (p) =>
        editR3(p, (m) => {
          const ot = m.ot.slice();
          ot[ot.length - 100] = ot[ot.length - 100]! ^ 0x80;
          return { ot };
        }),
      ),
    });
    const errs = errorsOf(run);
    expect(errs.some((e) => e.abortKind === 'ban' && e.culprits[0] === P0)).toBe(true);
    expect(run.outcomes.every((o) => !o.ok)).toBe(true);
  });

  it('truncated message → DECODE_FAILED, ban sender', () => {
    const run = runDkg({ ...two, seed: 'trunc', intercept: tamper(3, (p) => p.subarray(0, p.length - 1)) });
    expectBan(run, 'DECODE_FAILED');
  });
});

describe('DKG zero-share seed confirmation (docs/PROTOCOL.md)', () => {
  /**
   * Party 0 sends `victim` a zero-seed half other than the one it keeps (everything else honest):
   * without the confirmation every party would finish and each signing with that pair would fail.
   */
  function keptHalfDiffers(base: typeof two | typeof three, victim: Uint8Array, seed: string) {
    const sent: { kept?: Uint8Array; forged?: Uint8Array } = {};
    const run = runDkg({
      ...base,
      seed,
      intercept: tamper(
        3,
        (p) => {
          const m = decodeDkgR3(p, 1);
          sent.kept = m.zeroSeed;
          sent.forged = m.zeroSeed.map((b) => b ^ 0x5a);
          return encodeDkgR3({ ...m, zeroSeed: sent.forged });
        },
        victim,
      ),
    });
    return { run, sent };
  }

  /** Every party stops in finalize with ZERO_SEED_MISMATCH: retry, nobody blamed, no KeyShare. */
  function expectBlamelessAbort(
    run: ReturnType<typeof runDkg>,
    sent: { kept?: Uint8Array; forged?: Uint8Array },
  ) {
    expect(sent.forged).toBeDefined();
    expect(run.outcomes.some((o) => o.ok)).toBe(false);
    const errs = errorsOf(run);
    expect(errs).toHaveLength(run.ids.length);
    for (const e of errs) {
      expect(e.code).toBe('ZERO_SEED_MISMATCH');
      expect(e.abortKind).toBe('retry');
      expect(e.culprits).toEqual([]);
      expect(e.round).toBe('dkg.final');
      // Neither half (nor anything seed-derived) is in the error.
      const text = JSON.stringify(e.toJSON());
      expect(text).not.toContain(toHex(sent.kept!));
      expect(text).not.toContain(toHex(sent.forged!));
    }
    // Everyone got as far as the confirm round: only the seed check stopped them.
    expect(run.stats.bytesByRound[4]).toBeGreaterThan(0);
  }

  it('2-of-2: a half sent but not kept → ZERO_SEED_MISMATCH at both, retry, no culprit, no share', () => {
    const { run, sent } = keptHalfDiffers(two, ids[1]!, 'zero/2');
    expectBlamelessAbort(run, sent);
  });

  it('3 parties: a half forged toward one peer stops every party, the uninvolved one included', () => {
    const { run, sent } = keptHalfDiffers(three, ids[2]!, 'zero/3');
    expectBlamelessAbort(run, sent);
  });

  it('the same ceremony without the forged half finishes with matching seeds (control)', () => {
    const run = runDkg({ ...three, seed: 'zero/3' });
    expect(run.outcomes.every((o) => o.ok)).toBe(true);
  });

  it('a confirmation altered on its way to one party → that party stops (ZERO_SEED_MISMATCH, no culprit)', () => {
    // Party 1 cannot tell whether party 0 or the way from it is at fault: no culprit either.
    const run = runDkg({
      ...two,
      seed: 'zero/r4',
      intercept: tamper(4, (p) => {
        const m = decodeDkgR4(p, 1, 2);
        return encodeDkgR4({ ...m, zeroSeedConfirmations: [m.zeroSeedConfirmations[0]!.map((b) => b ^ 1)] });
      }),
    });
    const e = errorsOf(run);
    expect(e).toHaveLength(1);
    expect(e[0]!.code).toBe('ZERO_SEED_MISMATCH');
    expect(e[0]!.culprits).toEqual([]);
    expect(e[0]!.abortKind).toBe('retry');
    expect(run.outcomes[1]!.ok).toBe(false);
  });

  it('a confirm message of layout version 1 (no confirmations) → UNSUPPORTED_VERSION naming the sender, retry', () => {
    const run = runDkg({
      ...two,
      seed: 'zero/v1',
      intercept: tamper(4, (p) => {
        const m = decodeDkgR4(p, 1, 2);
        // The pre-confirmation layout: [1][0x14][transcript][proofs].
        return messageWriter(MSG_TYPE.dkgR4, 1)
          .raw(m.transcript)
          .list(m.proofs, (w, pr) => w.raw(encodeSchnorr(pr)))
          .finish();
      }),
    });
    const e = errorsOf(run).find((x) => x.code === 'UNSUPPORTED_VERSION');
    expect(e).toBeDefined();
    expect(e!.culprits).toEqual([P0]);
    expect(e!.abortKind).toBe('retry');
    expect(run.outcomes[1]!.ok).toBe(false);
  });
});

describe('OT setup v2 carriers (dkg.r2, dkg.r3)', () => {
  for (const round of [2, 3]) {
    it(`a round-${round} message of layout version 1 (OT setup v1) → UNSUPPORTED_VERSION naming the sender, retry`, () => {
      const run = runDkg({
        ...two,
        seed: `ot/v1/${round}`,
        intercept: tamper(round, (p) => {
          expect(p[0]).toBe(OT_CARRIER_VERSION);
          const old = p.slice();
          old[0] = 1;
          return old;
        }),
      });
      const e = errorsOf(run).find((x) => x.code === 'UNSUPPORTED_VERSION');
      expect(e).toBeDefined();
      expect(e!.culprits).toEqual([P0]);
      expect(e!.abortKind).toBe('retry');
      expect(run.outcomes[1]!.ok).toBe(false);
    });
  }
});

describe('DKG broadcast equivocation', () => {
  it('different round-1 broadcasts to different peers → ECHO_MISMATCH everywhere, retry, no culprit', () => {
    const run = runDkg({
      ...three,
      seed: 'equiv',
      intercept: tamper(
        1,
        (p) => {
          const m = decodeDkgR1(p);
          return encodeDkgR1({ ...m, contribution: m.contribution.map((b) => b ^ 0xff) });
        },
        ids[2],
      ),
    });
    const errs = errorsOf(run);
    expect(errs).toHaveLength(3);
    for (const e of errs) {
      expect(e.code).toBe('ECHO_MISMATCH');
      expect(e.abortKind).toBe('retry');
      expect(e.culprits).toEqual([]);
    }
  });
});

describe('DKG message handling', () => {
  it('refuses a message from an unknown party without disturbing the session', () => {
    const s = new DkgSession({
      parties: two.ids.map((id) => ({ id, power: 1 })),
      threshold: 2,
      selfId: ids[0]!,
    });
    s.start();
    expect(() => s.receive({ from: ids[2]!, to: null, round: 1, payload: new Uint8Array(66) })).toThrowError(
      expect.objectContaining({ code: 'UNKNOWN_SENDER' }),
    );
    expect(s.progress.state).toBe('running');
  });

  it('refuses a message for the wrong round and one addressed to someone else', () => {
    const s = new DkgSession({
      parties: two.ids.map((id) => ({ id, power: 1 })),
      threshold: 2,
      selfId: ids[0]!,
    });
    s.start();
    expect(() =>
      s.receive({ from: ids[1]!, to: ids[0]!, round: 3, payload: new Uint8Array(8) }),
    ).toThrowError(expect.objectContaining({ code: 'WRONG_ROUND' }));
    expect(() =>
      s.receive({ from: ids[1]!, to: ids[1]!, round: 2, payload: new Uint8Array(8) }),
    ).toThrowError(expect.objectContaining({ code: 'WRONG_RECIPIENT' }));
    expect(s.progress.state).toBe('running');
  });

  it('aborts on a conflicting duplicate, naming the sender', () => {
    let first: ProtocolMessage | undefined;
    const run = runDkg({
      ...two,
      seed: 'dup',
      intercept: (msg) => {
        if (msg.round !== 1 || toHex(msg.from) !== P0) return [msg];
        first = msg;
        const m = decodeDkgR1(msg.payload);
        return [msg, { ...msg, payload: encodeDkgR1({ ...m, contribution: new Uint8Array(32) }) }];
      },
    });
    expect(first).toBeDefined();
    const errs = errorsOf(run);
    expect(errs.some((e) => e.code === 'CONFLICTING_DUPLICATE' && e.culprits[0] === P0)).toBe(true);
    expect(run.outcomes.every((o) => !o.ok)).toBe(true);
  });

  it('treats identical duplicates of every message as no-ops and still finishes', () => {
    const run = runDkg({ ...two, seed: 'dup-ok', intercept: (msg) => [msg, msg, msg] });
    expect(run.outcomes.every((o) => o.ok)).toBe(true);
    expect(run.refusals).toEqual([]);
  });
});
