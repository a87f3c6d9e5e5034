import { ristretto255 } from '@noble/curves/ed25519.js';
import { describe, expect, it } from 'vitest';
import { TssError } from '../../src/errors.ts';
import { ABO_BLOCK_BYTES, ABO_CORRECTION_BYTES } from '../../src/ot/allbutone.ts';
import {
  OT_SETUP_RECEIVER_MESSAGE_BYTES,
  OT_SETUP_SENDER_MESSAGE_BYTES,
  OT_SETUP_VERSION,
  otSetupReceiverFinish,
  otSetupReceiverStart,
  otSetupSenderRespond,
} from '../../src/ot/setup.ts';
import { leafAt } from '../../src/ot/types.ts';
import { seededRandom } from '../../src/testing/rng.ts';
import {
  equal,
  expectBan,
  flip,
  freshKeep,
  R_ID,
  RECEIVER_SEED,
  S_ID,
  SENDER_SEED,
  SID,
  setupRun,
} from './fixture.ts';

// Offsets inside the messages (2-byte header, then the base-OT part, then the PPRF part).
const HDR = 2;
const r0At = (i: number) => HDR + i * 64;
const r1At = (i: number) => HDR + i * 64 + 32;
const B_AT = HDR; // the sender's one key-agreement message B for the batch
const pprfAt = (block: number) => HDR + 32 + block * ABO_BLOCK_BYTES;

/** A canonical encoding of a point other than `enc`: 2·P. */
function otherPoint(enc: Uint8Array): Uint8Array {
  return ristretto255.Point.fromBytes(enc).double().toBytes();
}

function mutated(msg: Uint8Array, off: number, bytes: Uint8Array): Uint8Array {
  const m = msg.slice();
  m.set(bytes, off);
  return m;
}

/** p = 2^255 − 19 little-endian: a field element encoding that is out of range (non-canonical). */
const P_LE = Uint8Array.from({ length: 32 }, (_, i) => (i === 0 ? 0xed : i === 31 ? 0x7f : 0xff));

describe('pairwise OT setup (endemic OT + SoftSpoken all-but-one)', () => {
  const run = setupRun();

  it('has the documented message sizes', () => {
    expect(run.receiverMessage.length).toBe(OT_SETUP_RECEIVER_MESSAGE_BYTES);
    expect(run.senderMessage.length).toBe(OT_SETUP_SENDER_MESSAGE_BYTES);
    expect(OT_SETUP_RECEIVER_MESSAGE_BYTES).toBe(16_386);
    expect(OT_SETUP_SENDER_MESSAGE_BYTES).toBe(20_514);
    expect(run.receiverMessage[0]).toBe(2);
    expect(run.senderMessage[0]).toBe(2);
    expect(OT_SETUP_VERSION).toBe(2);
  });

  it('gives the receiver all of the sender leaves except one per block, at a secret Δ', () => {
    const out = otSetupReceiverFinish(SID, freshKeep(), run.senderMessage, S_ID);
    expect(out.kind).toBe('abo-punctured');
    expect(out.delta.length).toBe(64);
    for (let b = 0; b < 64; b++) {
      expect(out.delta[b]).toBeLessThan(16);
      for (let y = 0; y < 16; y++) {
        const mine = leafAt(out.leaves, b, y);
        const theirs = leafAt(run.senderSeeds.leaves, b, y);
        if (y === out.delta[b]) {
          expect(mine.every((v) => v === 0)).toBe(true);
          expect(equal(mine, theirs)).toBe(false);
        } else expect(equal(mine, theirs)).toBe(true);
      }
    }
    // The 64 Δ values of one seeded run are not all equal (sanity, not a statistical test).
    expect(new Set(out.delta).size).toBeGreaterThan(4);
  });

  it('is deterministic under seeded RNGs', () => {
    const r = otSetupReceiverStart(SID, seededRandom(RECEIVER_SEED));
    expect(equal(r.message, run.receiverMessage)).toBe(true);
    const s = otSetupSenderRespond(SID, r.message, seededRandom(SENDER_SEED), R_ID);
    expect(equal(s.message, run.senderMessage)).toBe(true);
    expect(equal(s.seeds.leaves, run.senderSeeds.leaves)).toBe(true);
    r.keep.destroy();
  });

  it('a keep is single-use and destroy() makes it unusable', () => {
    const keep = freshKeep();
    expect(JSON.stringify(keep)).not.toContain('scalars');
    keep.destroy();
    expect(keep.consumed).toBe(true);
    expect(() => otSetupReceiverFinish(SID, keep, run.senderMessage, S_ID)).toThrow(TssError);
  });

  describe('receiver message (R → S) tampering bans R', () => {
    const respond = (m: Uint8Array) => () => otSetupSenderRespond(SID, m, seededRandom('x'), R_ID);

    it('identity point', () => {
      expectBan(respond(mutated(run.receiverMessage, r1At(3), new Uint8Array(32))), 'INVALID_POINT', R_ID);
    });
    it('non-canonical encoding (field element ≥ p)', () => {
      expectBan(respond(mutated(run.receiverMessage, r0At(7), P_LE)), 'INVALID_POINT', R_ID);
    });
    it('non-canonical encoding (negative s / top bit set)', () => {
      const odd = run.receiverMessage.slice();
      flip(odd, r0At(2), 1); // flips the sign bit of s: never a canonical encoding of the same class
      const top = run.receiverMessage.slice();
      flip(top, r1At(2) + 31, 0x80); // canonical encodings are < 2^255
      // A canonical s is even and below 2^255: both mutations are always rejected.
      expectBan(respond(odd), 'INVALID_POINT', R_ID);
      expectBan(respond(top), 'INVALID_POINT', R_ID);
    });
    it('r_0 equal to r_1', () => {
      const m = mutated(run.receiverMessage, r1At(11), run.receiverMessage.subarray(r0At(11), r0At(11) + 32));
      expectBan(respond(m), 'BASE_OT_FAILED', R_ID);
    });
    it('truncated message', () => {
      expectBan(
        respond(run.receiverMessage.subarray(0, OT_SETUP_RECEIVER_MESSAGE_BYTES - 32)),
        'BAD_LENGTH',
        R_ID,
      );
    });
    it('extended message', () => {
      const m = new Uint8Array(OT_SETUP_RECEIVER_MESSAGE_BYTES + 1);
      m.set(run.receiverMessage);
      expectBan(respond(m), 'BAD_LENGTH', R_ID);
    });
    it('wrong version / kind header', () => {
      expectBan(respond(mutated(run.receiverMessage, 0, Uint8Array.of(1, 2))), 'DECODE_FAILED', R_ID);
    });
    it('a version-1 message (the previous format, same length) is refused', () => {
      expectBan(respond(mutated(run.receiverMessage, 0, Uint8Array.of(1))), 'DECODE_FAILED', R_ID);
    });
    // The keys of every index hash the whole transcript: a valid change to one index's points
    // (before the sender answers) changes the keys of other indices the receiver derives, so the
    // receiver's tree disagrees with the sender's commitment.
    it('transcript mismatch between OT indices (one index changed in transit)', () => {
      const i = 100;
      const changed = mutated(
        run.receiverMessage,
        r1At(i),
        otherPoint(run.receiverMessage.subarray(r1At(i), r1At(i) + 32)),
      );
      const s = otSetupSenderRespond(SID, changed, seededRandom(SENDER_SEED), R_ID);
      expectBan(() => otSetupReceiverFinish(SID, freshKeep(), s.message, S_ID), 'ALL_BUT_ONE_FAILED', S_ID);
    });
  });

  describe('sender message (S → R) tampering bans S', () => {
    const finish = (m: Uint8Array) => () => otSetupReceiverFinish(SID, freshKeep(), m, S_ID);

    it('identity B', () => {
      expectBan(finish(mutated(run.senderMessage, B_AT, new Uint8Array(32))), 'INVALID_POINT', S_ID);
    });
    it('non-canonical B', () => {
      expectBan(finish(mutated(run.senderMessage, B_AT, P_LE)), 'INVALID_POINT', S_ID);
    });
    it('malformed B (not a point: sign bit of s set)', () => {
      const m = run.senderMessage.slice();
      flip(m, B_AT, 1);
      expectBan(finish(m), 'INVALID_POINT', S_ID);
    });
    it("B reusing one of the receiver's own points (r_0 or r_1 reflected back)", () => {
      for (const off of [r0At(0), r1At(17), r0At(255)]) {
        const reflected = run.receiverMessage.subarray(off, off + 32);
        expectBan(finish(mutated(run.senderMessage, B_AT, reflected)), 'BASE_OT_FAILED', S_ID);
      }
    });
    it('truncated message', () => {
      expectBan(finish(run.senderMessage.subarray(0, OT_SETUP_SENDER_MESSAGE_BYTES - 1)), 'BAD_LENGTH', S_ID);
    });
    it('a version-1 message (256 keys, 28,674 bytes) is refused', () => {
      const v1 = new Uint8Array(28_674);
      v1.set([1, 2]);
      expectBan(finish(v1), 'BAD_LENGTH', S_ID);
    });
    it('wrong version / kind header', () => {
      expectBan(finish(mutated(run.senderMessage, 0, Uint8Array.of(1, 2))), 'DECODE_FAILED', S_ID);
      expectBan(finish(mutated(run.senderMessage, 0, Uint8Array.of(2, 1))), 'DECODE_FAILED', S_ID);
      expectBan(finish(mutated(run.senderMessage, 0, Uint8Array.of(3, 2))), 'DECODE_FAILED', S_ID);
    });
    // A valid but different B changes every key ρ_c of the receiver, so its trees disagree with
    // the sender's commitment: caught by the all-but-one check, whatever the choice bits.
    it('tampered B (another valid point)', () => {
      const m = mutated(run.senderMessage, B_AT, otherPoint(run.senderMessage.subarray(B_AT, B_AT + 32)));
      expectBan(finish(m), 'ALL_BUT_ONE_FAILED', S_ID);
    });
    it('tampered PPRF correction words (both sides of one level: one of them is used)', () => {
      const m = run.senderMessage.slice();
      flip(m, pprfAt(30) + 0 * 64 + 5, 0x01); // level 2, side 0
      flip(m, pprfAt(30) + 0 * 64 + 32 + 5, 0x01); // level 2, side 1
      expectBan(finish(m), 'ALL_BUT_ONE_FAILED', S_ID);
    });
    it('tampered proof value t̃', () => {
      const m = run.senderMessage.slice();
      flip(m, pprfAt(0) + ABO_CORRECTION_BYTES, 0x40);
      expectBan(finish(m), 'ALL_BUT_ONE_FAILED', S_ID);
    });
    it('tampered check value s̃', () => {
      const m = run.senderMessage.slice();
      flip(m, pprfAt(63) + ABO_CORRECTION_BYTES + 64 + 10, 0x02);
      expectBan(finish(m), 'ALL_BUT_ONE_FAILED', S_ID);
    });
    it('a message for another session id', () => {
      const other = SID.slice();
      flip(other, 5, 1);
      const keep = otSetupReceiverStart(other, seededRandom(RECEIVER_SEED)).keep;
      expectBan(
        () => otSetupReceiverFinish(other, keep, run.senderMessage, S_ID),
        'ALL_BUT_ONE_FAILED',
        S_ID,
      );
    });
  });
});
