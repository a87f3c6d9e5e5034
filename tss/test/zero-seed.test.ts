/**
 * The zero-share seed confirmation on its own (tss/src/zero-seed.ts; docs/PROTOCOL.md "Zero-share
 * seed confirmation"): both ends of a pair compute the same value whatever their order, the value
 * is bound to tag, session, pair and seed, and the all-pairs check finds a single differing pair
 * without naming anyone.
 */
import { describe, expect, it } from 'vitest';
import { toHex } from '../src/bytes.ts';
import { TAGS } from '../src/tags.ts';
import { testPartyIds } from '../src/testing/driver.ts';
import { checkZeroSeedConfirmations, zeroSeedConfirmation } from '../src/zero-seed.ts';

const [a, b, c] = testPartyIds(3, 'zero-seed') as [Uint8Array, Uint8Array, Uint8Array];
const sid = new Uint8Array(32).fill(7);
const seed = new Uint8Array(32).fill(9);
const tag = TAGS.dkgZeroSeedConfirm;
const conf = (x: Uint8Array, y: Uint8Array, s: Uint8Array = seed) => zeroSeedConfirmation(tag, sid, x, y, s);

describe('zeroSeedConfirmation', () => {
  it('is the same at both ends of a pair (ids in canonical order)', () => {
    expect(toHex(conf(a, b))).toBe(toHex(conf(b, a)));
  });

  it('changes with the seed, the session, the pair and the tag', () => {
    const base = toHex(conf(a, b));
    const flipped = seed.slice();
    flipped[31] = flipped[31]! ^ 1;
    expect(toHex(conf(a, b, flipped))).not.toBe(base);
    expect(toHex(zeroSeedConfirmation(tag, new Uint8Array(32).fill(8), a, b, seed))).not.toBe(base);
    expect(toHex(conf(a, c))).not.toBe(base);
    expect(toHex(zeroSeedConfirmation(TAGS.reshareZeroSeedConfirm, sid, a, b, seed))).not.toBe(base);
    // Not the seed itself, nor anything that contains it.
    expect(base).not.toContain(toHex(seed));
  });
});

describe('checkZeroSeedConfirmations', () => {
  // Holders in canonical order; each list has one entry per other holder, in that order.
  const holders = [a, b, c].sort((x, y) => (toHex(x) < toHex(y) ? -1 : 1));
  const seeds = new Map<string, Uint8Array>();
  const pairSeed = (x: Uint8Array, y: Uint8Array) => {
    const k = [toHex(x), toHex(y)].sort().join();
    if (!seeds.has(k)) seeds.set(k, new Uint8Array(32).fill(seeds.size + 1));
    return seeds.get(k)!;
  };
  const lists = (override?: { holder: number; partner: number; seed: Uint8Array }) =>
    new Map(
      holders.map((h, i) => [
        toHex(h),
        holders
          .filter((_, j) => j !== i)
          .map((p) => {
            const j = holders.indexOf(p);
            const s = override?.holder === i && override.partner === j ? override.seed : pairSeed(h, p);
            return conf(h, p, s);
          }),
      ]),
    );

  it('passes when every pair published the same value', () => {
    expect(() => checkZeroSeedConfirmations(holders, lists(), 'test')).not.toThrow();
  });

  it('refuses a pair whose two ends differ: ZERO_SEED_MISMATCH, retry, no culprit', () => {
    for (const [holder, partner] of [
      [0, 1],
      [2, 0],
      [1, 2],
    ] as const) {
      const bad = lists({ holder, partner, seed: new Uint8Array(32).fill(0xee) });
      expect(() => checkZeroSeedConfirmations(holders, bad, 'test')).toThrowError(
        expect.objectContaining({
          code: 'ZERO_SEED_MISMATCH',
          culprits: [],
          abortKind: 'retry',
          round: 'test',
        }),
      );
    }
  });

  it('treats a missing or short list as a local fault, not a peer mismatch', () => {
    const short = lists();
    short.set(toHex(holders[1]!), short.get(toHex(holders[1]!))!.slice(1));
    expect(() => checkZeroSeedConfirmations(holders, short, 'test')).toThrowError(
      expect.objectContaining({ code: 'SESSION_STATE' }),
    );
  });

  it('has nothing to check for a single holder', () => {
    expect(() => checkZeroSeedConfirmations([a], new Map([[toHex(a), []]]), 'test')).not.toThrow();
  });
});
