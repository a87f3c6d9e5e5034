import { describe, expect, it } from 'vitest';
import { add, mul, N, randomScalar } from '../../src/math/scalar.ts';
import { rvoleReceiverRound1, rvoleReceiverRound3, rvoleSenderRound2 } from '../../src/mul/rvole.ts';
import { dealAboSeeds } from '../../src/testing/abo-dealer.ts';
import { seededRandom } from '../../src/testing/rng.ts';

describe('rvole', () => {
  it('works', () => {
    const rng = seededRandom('rvole-1');
    const { full, punctured } = dealAboSeeds(rng);
    const instanceId = rng(32);
    const b = randomScalar(rng);
    const inputs = [randomScalar(rng), randomScalar(rng)] as const;
    const r1 = rvoleReceiverRound1({ instanceId, seeds: full, b, rng });
    const r2 = rvoleSenderRound2({
      instanceId,
      seeds: punctured,
      inputs,
      receiverMessage: r1.message,
      rng,
      peer: 'aa',
    });
    const d = rvoleReceiverRound3({ instanceId, keep: r1.keep, senderMessage: r2.message, peer: 'bb' });
    expect(add(r2.shares[0], d[0])).toBe(mul(inputs[0], b));
    expect(add(r2.shares[1], d[1])).toBe(mul(inputs[1], b));
    expect(N > 0n).toBe(true);
  });
});
