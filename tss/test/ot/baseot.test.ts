import { ristretto255 } from '@noble/curves/ed25519.js';
import { describe, expect, it } from 'vitest';
import {
  baseOtReceiverFinish,
  baseOtReceiverStart,
  baseOtSenderRespond,
  ctSwap,
  getBit,
} from '../../src/ot/baseot.ts';
import { seededRandom } from '../../src/testing/rng.ts';
import { equal, expectBan, flip, R_ID, S_ID, SID } from './fixture.ts';

// Small batches keep this file fast; the 256-OT batch runs in setup.test.ts.
const COUNT = 32;

function run() {
  const state = baseOtReceiverStart(SID, seededRandom('base/r'), COUNT);
  const sender = baseOtSenderRespond(SID, state.message, seededRandom('base/s'), R_ID, COUNT);
  const receiver = baseOtReceiverFinish(SID, state, sender.message, S_ID);
  return { state, sender, receiver };
}

describe('endemic base OT (MR19) over ristretto255', () => {
  const { state, sender, receiver } = run();

  it('gives the receiver the sender key at its choice bit, and not the other', () => {
    let ones = 0;
    for (let i = 0; i < COUNT; i++) {
      const c = getBit(receiver.choiceBits, i);
      ones += c;
      const k = receiver.keys.subarray(i * 32, i * 32 + 32);
      const k0 = sender.keys0.subarray(i * 32, i * 32 + 32);
      const k1 = sender.keys1.subarray(i * 32, i * 32 + 32);
      expect(equal(k, c === 0 ? k0 : k1)).toBe(true);
      expect(equal(k, c === 0 ? k1 : k0)).toBe(false);
    }
    // Both choice values occur (seeded, so this is a fixed fact, not a flaky statistic).
    expect(ones).toBeGreaterThan(0);
    expect(ones).toBeLessThan(COUNT);
  });

  it('sends only canonical, distinct, non-identity points', () => {
    for (let i = 0; i < 2 * COUNT; i++) {
      const enc = state.message.subarray(i * 32, i * 32 + 32);
      const P = ristretto255.Point.fromBytes(enc);
      expect(P.is0()).toBe(false);
      expect(equal(P.toBytes(), enc)).toBe(true);
    }
    for (let i = 0; i < COUNT; i++)
      expect(
        equal(state.message.subarray(i * 64, i * 64 + 32), state.message.subarray(i * 64 + 32, i * 64 + 64)),
      ).toBe(false);
  });

  it('is deterministic under a seeded RNG', () => {
    const again = run();
    expect(equal(again.state.message, state.message)).toBe(true);
    expect(equal(again.sender.message, sender.message)).toBe(true);
    expect(equal(again.receiver.keys, receiver.keys)).toBe(true);
  });

  it('binds the keys to the session id', () => {
    const other = SID.slice();
    flip(other, 0, 1);
    const r2 = baseOtReceiverFinish(other, state, sender.message, S_ID);
    for (let i = 0; i < COUNT; i++)
      expect(equal(r2.keys.subarray(i * 32, i * 32 + 32), receiver.keys.subarray(i * 32, i * 32 + 32))).toBe(
        false,
      );
  });

  it('the sender answers the whole batch with one key-agreement point B', () => {
    expect(sender.message.length).toBe(32);
    const B = ristretto255.Point.fromBytes(sender.message);
    expect(B.is0()).toBe(false);
    expect(equal(B.toBytes(), sender.message)).toBe(true);
    const bigger = baseOtReceiverStart(SID, seededRandom('base/r64'), 2 * COUNT);
    expect(
      baseOtSenderRespond(SID, bigger.message, seededRandom('base/s'), R_ID, 2 * COUNT).message.length,
    ).toBe(32);
  });

  it('keys of one index differ from those of every other index (index bound into each key)', () => {
    const seen = new Set<string>();
    for (let i = 0; i < COUNT; i++) {
      seen.add(Buffer.from(sender.keys0.subarray(i * 32, i * 32 + 32)).toString('hex'));
      seen.add(Buffer.from(sender.keys1.subarray(i * 32, i * 32 + 32)).toString('hex'));
    }
    expect(seen.size).toBe(2 * COUNT);
  });

  it('binds every key to the whole transcript: changing one index changes the keys of all others', () => {
    // The sender answers a message in which only index 5's r_1 differs (another valid point).
    const j = 5;
    const changed = state.message.slice();
    const r1 = ristretto255.Point.fromBytes(changed.subarray(j * 64 + 32, j * 64 + 64));
    changed.set(r1.double().toBytes(), j * 64 + 32);
    const s2 = baseOtSenderRespond(SID, changed, seededRandom('base/s'), R_ID, COUNT);
    // Same β (same seeded RNG), so only the transcript binding can make the other indices differ.
    expect(equal(s2.message, sender.message)).toBe(true);
    for (let i = 0; i < COUNT; i++) {
      if (i === j) continue;
      const k = (keys: Uint8Array) => keys.subarray(i * 32, i * 32 + 32);
      expect(equal(k(s2.keys0), k(sender.keys0))).toBe(false);
      expect(equal(k(s2.keys1), k(sender.keys1))).toBe(false);
    }
  });

  it('refuses an identity, non-canonical or reflected B before using any secret', () => {
    expectBan(() => baseOtReceiverFinish(SID, state, new Uint8Array(32), S_ID), 'INVALID_POINT', S_ID);
    const nonCanonical = Uint8Array.from({ length: 32 }, (_, i) => (i === 0 ? 0xed : i === 31 ? 0x7f : 0xff));
    expectBan(() => baseOtReceiverFinish(SID, state, nonCanonical, S_ID), 'INVALID_POINT', S_ID);
    for (const k of [0, 1, 2 * COUNT - 1])
      expectBan(
        () => baseOtReceiverFinish(SID, state, state.message.slice(k * 32, k * 32 + 32), S_ID),
        'BASE_OT_FAILED',
        S_ID,
      );
  });

  it('bans a receiver whose r_j cancels its own hash (M_j the identity), for either branch', async () => {
    // r_j := −H(sid, i, j, r_{1−j}), computed here with noble's element derivation, makes
    // M_j = r_j + H(…) the identity: never honest (M_c = a·G, a ≠ 0), so the sender must refuse it.
    const { ristretto255_hasher } = await import('@noble/curves/ed25519.js');
    const { taggedExpand } = await import('../../src/hash.ts');
    const { TAGS } = await import('../../src/tags.ts');
    const { u32be } = await import('../../src/bytes.ts');
    for (const [i, j] of [
      [3, 0],
      [COUNT - 1, 1],
    ] as const) {
      const bad = state.message.slice();
      const other = bad.slice(i * 64 + (1 - j) * 32, i * 64 + (1 - j) * 32 + 32);
      const h = ristretto255_hasher.deriveToCurve!(
        taggedExpand(64, TAGS.baseOtHashToGroup, SID, u32be(i), Uint8Array.of(j), other),
      );
      bad.set(h.negate().toBytes(), i * 64 + j * 32);
      expectBan(
        () => baseOtSenderRespond(SID, bad, seededRandom('base/s'), R_ID, COUNT),
        'BASE_OT_FAILED',
        R_ID,
      );
    }
  });

  it('destroy() zeroes the receiver secrets', () => {
    const s = baseOtReceiverStart(SID, seededRandom('base/destroy'), 8);
    s.destroy();
    expect(s.scalars.every((b) => b === 0)).toBe(true);
    expect(s.choiceBits.every((b) => b === 0)).toBe(true);
  });

  it('rejects a receiver message of the wrong length', () => {
    expectBan(
      () =>
        baseOtSenderRespond(
          SID,
          state.message.subarray(0, state.message.length - 1),
          seededRandom('x'),
          R_ID,
          COUNT,
        ),
      'BAD_LENGTH',
      R_ID,
    );
  });

  it('rejects a sender message of the wrong length', () => {
    const longer = new Uint8Array(sender.message.length + 32);
    longer.set(sender.message);
    expectBan(() => baseOtReceiverFinish(SID, state, longer, S_ID), 'BAD_LENGTH', S_ID);
  });

  it('ctSwap swaps exactly when the bit is 1', () => {
    const a = Uint8Array.of(1, 2, 3);
    const b = Uint8Array.of(4, 5, 6);
    ctSwap(0, a, b);
    expect([...a, ...b]).toEqual([1, 2, 3, 4, 5, 6]);
    ctSwap(1, a, b);
    expect([...a, ...b]).toEqual([4, 5, 6, 1, 2, 3]);
  });
});

describe('doubleAndEncodeBatch', () => {
  it('equals [2]P encoded by noble for decoded, hashed and multiplied points', async () => {
    const { ristretto255_hasher } = await import('@noble/curves/ed25519.js');
    const { doubleAndEncodeBatch } = await import('../../src/ot/baseot.ts');
    const rng = seededRandom('double-encode');
    const P = ristretto255.Point;
    const pts = [];
    for (let i = 0; i < 24; i++) {
      const h = ristretto255_hasher.deriveToCurve!(rng(64));
      pts.push(
        h,
        P.fromBytes(h.toBytes()),
        h.multiply(BigInt(i + 2)),
        P.BASE.multiply(BigInt(1000 + i)).negate(),
      );
    }
    const got = doubleAndEncodeBatch(pts);
    for (const [i, p] of pts.entries()) expect(equal(got[i]!, p.double().toBytes())).toBe(true);
    expect(() => doubleAndEncodeBatch([P.ZERO])).toThrow();
  });
});
