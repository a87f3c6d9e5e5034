import { describe, expect, it } from 'vitest';
import { TssError } from '../../src/errors.ts';
import {
  OTE_BATCH,
  OTE_RECEIVER_MESSAGE_BYTES,
  softSpokenReceive,
  softSpokenReceiverPads,
  softSpokenSend,
} from '../../src/ot/softspoken.ts';
import { dealAboSeeds } from '../../src/testing/abo-dealer.ts';
import { seededRandom } from '../../src/testing/rng.ts';

const PEER = 'a1b2c3';
const WIDTH = 3;
const PAD = WIDTH * 32;
// Offsets in the receiver message: U (64 × 80) ‖ x̃ (16) ‖ t (256 × 16).
const X_OFF = 5120;
const T_OFF = 5136;

function setup(seed: string) {
  const rng = seededRandom(seed);
  const dealt = dealAboSeeds(rng);
  const instanceId = rng(32);
  const choices = rng(OTE_BATCH / 8);
  const recv = softSpokenReceive({ instanceId, seeds: dealt.full, choices, rng });
  return { rng, dealt, instanceId, choices, recv };
}

function expectBan(fn: () => unknown, code: string): void {
  let result: unknown;
  let err: unknown;
  try {
    result = fn();
  } catch (e) {
    err = e;
  }
  expect(result).toBeUndefined(); // nothing was produced
  expect(err).toBeInstanceOf(TssError);
  const e = err as TssError;
  expect(e.code).toBe(code);
  expect(e.abortKind).toBe('ban');
  expect(e.culprits).toEqual([PEER]);
}

describe('SoftSpokenOT extension (k = 4, 512 random OTs of width 3)', () => {
  it('gives the receiver pad_{β_j} of every OT and never the other pad', () => {
    for (const seed of ['ote-1', 'ote-2']) {
      const { dealt, instanceId, choices, recv } = setup(seed);
      expect(recv.message.length).toBe(OTE_RECEIVER_MESSAGE_BYTES);
      expect(OTE_RECEIVER_MESSAGE_BYTES).toBe(9232);
      const { pad0, pad1 } = softSpokenSend({
        instanceId,
        seeds: dealt.punctured,
        message: recv.message,
        width: WIDTH,
        peer: PEER,
      });
      const got = softSpokenReceiverPads(instanceId, recv.rows, WIDTH);
      let ones = 0;
      for (let j = 0; j < OTE_BATCH; j++) {
        const bit = (choices[j >>> 3]! >>> (j & 7)) & 1;
        ones += bit;
        const mine = got.subarray(j * PAD, (j + 1) * PAD);
        const [chosen, other] = bit ? [pad1, pad0] : [pad0, pad1];
        expect(mine).toEqual(chosen.subarray(j * PAD, (j + 1) * PAD));
        expect(mine).not.toEqual(other.subarray(j * PAD, (j + 1) * PAD));
      }
      expect(ones).toBeGreaterThan(200); // both branches exercised
    }
  });

  it('accepts a message that is a view at an odd offset', () => {
    const { dealt, instanceId, recv } = setup('ote-offset');
    const buf = new Uint8Array(OTE_RECEIVER_MESSAGE_BYTES + 3);
    buf.set(recv.message, 3);
    expect(() =>
      softSpokenSend({
        instanceId,
        seeds: dealt.punctured,
        message: buf.subarray(3),
        width: WIDTH,
        peer: PEER,
      }),
    ).not.toThrow();
  });

  it('derives fresh pads per instance id from the same seeds', () => {
    const rng = seededRandom('ote-fresh');
    const dealt = dealAboSeeds(rng);
    const choices = rng(64);
    const a = softSpokenReceive({ instanceId: rng(32), seeds: dealt.full, choices, rng });
    const b = softSpokenReceive({ instanceId: rng(32), seeds: dealt.full, choices, rng });
    expect(a.message.subarray(0, 80)).not.toEqual(b.message.subarray(0, 80));
    expect(a.rows).not.toEqual(b.rows);
  });

  const tampers: [string, (m: Uint8Array) => void][] = [
    ['a bit of the correction matrix U', (m) => (m[777] = m[777]! ^ 0x10)],
    ['the last byte of U', (m) => (m[X_OFF - 1] = m[X_OFF - 1]! ^ 0x80)],
    ['a bit of the check value x̃', (m) => (m[X_OFF + 3] = m[X_OFF + 3]! ^ 0x01)],
    ['a bit of a check value t', (m) => (m[T_OFF + 16 * 100 + 5] = m[T_OFF + 16 * 100 + 5]! ^ 0x04)],
    ['the last t value', (m) => (m[m.length - 1] = m[m.length - 1]! ^ 0x01)],
  ];
  for (const [what, tamper] of tampers) {
    it(`bans the receiver when ${what} is tampered (OT_EXTENSION_FAILED)`, () => {
      const { dealt, instanceId, recv } = setup('ote-tamper');
      const message = recv.message.slice();
      tamper(message);
      expectBan(
        () => softSpokenSend({ instanceId, seeds: dealt.punctured, message, width: WIDTH, peer: PEER }),
        'OT_EXTENSION_FAILED',
      );
    });
  }

  it('bans on a truncated or extended message (BAD_LENGTH)', () => {
    const { dealt, instanceId, recv } = setup('ote-len');
    for (const message of [
      recv.message.subarray(0, OTE_RECEIVER_MESSAGE_BYTES - 1),
      new Uint8Array(OTE_RECEIVER_MESSAGE_BYTES + 1),
      new Uint8Array(0),
    ]) {
      expectBan(
        () => softSpokenSend({ instanceId, seeds: dealt.punctured, message, width: WIDTH, peer: PEER }),
        'BAD_LENGTH',
      );
    }
  });

  it('fails the check when the seeds belong to another pair', () => {
    const { instanceId, recv } = setup('ote-pair-a');
    const other = dealAboSeeds(seededRandom('ote-pair-b'));
    expectBan(
      () =>
        softSpokenSend({
          instanceId,
          seeds: other.punctured,
          message: recv.message,
          width: WIDTH,
          peer: PEER,
        }),
      'OT_EXTENSION_FAILED',
    );
  });

  it('fails the check when the message is replayed under another instance id', () => {
    const { rng, dealt, recv } = setup('ote-replay');
    expectBan(
      () =>
        softSpokenSend({
          instanceId: rng(32),
          seeds: dealt.punctured,
          message: recv.message,
          width: WIDTH,
          peer: PEER,
        }),
      'OT_EXTENSION_FAILED',
    );
  });

  it('rejects malformed local inputs without blaming anyone', () => {
    const { dealt, instanceId, recv } = setup('ote-local');
    const badDelta = { ...dealt.punctured, delta: dealt.punctured.delta.map(() => 16) };
    for (const f of [
      () => softSpokenSend({ instanceId, seeds: badDelta, message: recv.message, width: WIDTH, peer: PEER }),
      () =>
        softSpokenSend({
          instanceId: instanceId.subarray(1),
          seeds: dealt.punctured,
          message: recv.message,
          width: 3,
          peer: PEER,
        }),
      () =>
        softSpokenReceive({
          instanceId,
          seeds: dealt.full,
          choices: new Uint8Array(63),
          rng: seededRandom('x'),
        }),
    ]) {
      expect(f).toThrowError(expect.objectContaining({ code: 'INVALID_PARAMETERS', abortKind: 'retry' }));
    }
  });
});
