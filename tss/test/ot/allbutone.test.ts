import { describe, expect, it } from 'vitest';
import {
  ABO_BLOCK_BYTES,
  ABO_CORRECTION_BYTES,
  ABO_MESSAGE_BYTES,
  aboReceiverEval,
  aboSenderBuild,
} from '../../src/ot/allbutone.ts';
import { getBit } from '../../src/ot/baseot.ts';
import { leafAt } from '../../src/ot/types.ts';
import { seededRandom } from '../../src/testing/rng.ts';
import { equal, expectBan, flip, S_ID, SID } from './fixture.ts';

// Ideal random OTs stand in for the base OTs here (the real ones are tested in baseot/setup tests),
// so the PPRF and its check can be exercised quickly and exhaustively.
function idealBaseOts(seed: string) {
  const rng = seededRandom(seed);
  const keys0 = rng(256 * 32);
  const keys1 = rng(256 * 32);
  const choiceBits = rng(32);
  const keys = new Uint8Array(256 * 32);
  for (let i = 0; i < 256; i++)
    keys.set((getBit(choiceBits, i) ? keys1 : keys0).subarray(i * 32, i * 32 + 32), i * 32);
  return { keys0, keys1, choiceBits, keys };
}

describe('all-but-one OT (SoftSpokenOT k = 4 PPRF)', () => {
  const ot = idealBaseOts('abo/base');
  const sent = aboSenderBuild(SID, ot.keys0, ot.keys1);
  const got = aboReceiverEval(SID, ot.choiceBits, ot.keys, sent.message, S_ID);

  it('has the documented message size', () => {
    expect(sent.message.length).toBe(ABO_MESSAGE_BYTES);
    expect(ABO_MESSAGE_BYTES).toBe(20_480);
  });

  it('gives the receiver every leaf except the one at Δ', () => {
    for (let b = 0; b < 64; b++)
      for (let y = 0; y < 16; y++) {
        const mine = leafAt(got.leaves, b, y);
        const theirs = leafAt(sent.seeds.leaves, b, y);
        if (y === got.delta[b]) {
          expect(mine.every((v) => v === 0)).toBe(true);
          expect(equal(mine, theirs)).toBe(false);
        } else expect(equal(mine, theirs)).toBe(true);
      }
  });

  it('punctures at Δ = complement of the block choice bits, level 1 most significant', () => {
    for (let b = 0; b < 64; b++) {
      let d = 0;
      for (let l = 0; l < 4; l++) d = (d << 1) | (1 - getBit(ot.choiceBits, 4 * b + l));
      expect(got.delta[b]).toBe(d);
    }
  });

  it('sender leaves are distinct and depend on the session id', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 1024; i++)
      seen.add(Buffer.from(sent.seeds.leaves.subarray(i * 32, i * 32 + 32)).toString('hex'));
    expect(seen.size).toBe(1024);
    const other = SID.slice();
    flip(other, 31, 0x80);
    const sent2 = aboSenderBuild(other, ot.keys0, ot.keys1);
    expect(equal(sent2.seeds.leaves.subarray(64 * 32), sent.seeds.leaves.subarray(64 * 32))).toBe(false);
  });

  // A malicious sender flips one bit of a correction word on the side the receiver uses at a
  // level below the top: the receiver's recovered sibling changes and the proof check must fail.
  it('rejects a tampered PPRF correction word on either side', () => {
    for (const side of [0, 1]) {
      const m = sent.message.slice();
      const block = 5;
      const level = 3; // levels 2..4 are stored at offsets (level − 2) × 64
      flip(m, block * ABO_BLOCK_BYTES + (level - 2) * 64 + side * 32 + 7, 0x10);
      const c = getBit(ot.choiceBits, 4 * block + level - 1);
      if (c === side)
        expectBan(() => aboReceiverEval(SID, ot.choiceBits, ot.keys, m, S_ID), 'ALL_BUT_ONE_FAILED', S_ID);
      // The side the receiver does not use is not read at all: the receiver's output is unchanged.
      else expect(equal(aboReceiverEval(SID, ot.choiceBits, ot.keys, m, S_ID).leaves, got.leaves)).toBe(true);
    }
  });

  it('rejects a tampered t̃ (proof XOR)', () => {
    const m = sent.message.slice();
    flip(m, 9 * ABO_BLOCK_BYTES + ABO_CORRECTION_BYTES + 3, 1);
    expectBan(() => aboReceiverEval(SID, ot.choiceBits, ot.keys, m, S_ID), 'ALL_BUT_ONE_FAILED', S_ID);
  });

  it('rejects a tampered s̃ (proof digest)', () => {
    const m = sent.message.slice();
    flip(m, 63 * ABO_BLOCK_BYTES + ABO_CORRECTION_BYTES + 64 + 63, 0x80);
    expectBan(() => aboReceiverEval(SID, ot.choiceBits, ot.keys, m, S_ID), 'ALL_BUT_ONE_FAILED', S_ID);
  });

  it('rejects a sender whose base-OT keys disagree with the receiver (inconsistent tree)', () => {
    const k0 = ot.keys0.slice();
    const k1 = ot.keys1.slice();
    flip(k0, 17 * 32, 1);
    flip(k1, 17 * 32, 1);
    const bad = aboSenderBuild(SID, k0, k1);
    expectBan(
      () => aboReceiverEval(SID, ot.choiceBits, ot.keys, bad.message, S_ID),
      'ALL_BUT_ONE_FAILED',
      S_ID,
    );
  });

  it('rejects a message of the wrong length', () => {
    expectBan(
      () => aboReceiverEval(SID, ot.choiceBits, ot.keys, sent.message.subarray(1), S_ID),
      'BAD_LENGTH',
      S_ID,
    );
  });
});
