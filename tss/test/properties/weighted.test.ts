/**
 * Properties of the weighted point map (tss/src/math/weighted.ts, PROTOCOL.md 5): every party must
 * derive the same map from the same party set, so points are consecutive from 1 in id order and do
 * not depend on the order parties were listed in; every invalid parameter set is refused.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compareBytes, toHex } from '../../src/bytes.ts';
import { TssError } from '../../src/errors.ts';
import { MAX_PARTIES, MAX_TOTAL_POWER, type PartySpec, weightedParams } from '../../src/math/weighted.ts';
import { bytes, RUNS } from './arbitraries.ts';

const id = () => bytes(32);

/** 1–8 parties with distinct ids and powers 1–8, a threshold in range, and a permutation seed. */
const layout = fc
  .uniqueArray(id(), { minLength: 1, maxLength: 8, selector: toHex })
  .chain((ids) =>
    fc.record({
      parties: fc.tuple(...ids.map((i) => fc.integer({ min: 1, max: 8 }).map((power) => ({ id: i, power })))),
      thresholdFrac: fc.double({ min: 0, max: 1, noNaN: true }),
      shuffle: fc.array(fc.nat(), { minLength: ids.length, maxLength: ids.length }),
    }),
  )
  .map(({ parties, thresholdFrac, shuffle }) => {
    const total = parties.reduce((s, p) => s + p.power, 0);
    const threshold = Math.min(total, 1 + Math.floor(thresholdFrac * total));
    const permuted = parties
      .map((p, i) => ({ p, k: shuffle[i]! }))
      .sort((a, b) => a.k - b.k)
      .map((e) => e.p);
    return { parties: parties as PartySpec[], permuted, threshold, total };
  });

function rejects(parties: readonly PartySpec[], threshold: number): boolean {
  try {
    weightedParams(parties, threshold);
    return false;
  } catch (e) {
    return e instanceof TssError && e.code === 'INVALID_PARAMETERS';
  }
}

describe('weighted point map', () => {
  it('assigns consecutive points from 1 in id order, w points per party', () => {
    fc.assert(
      fc.property(layout, ({ parties, threshold, total }) => {
        const params = weightedParams(parties, threshold);
        expect(params.totalPower).toBe(total);
        expect(params.threshold).toBe(threshold);
        for (let i = 1; i < params.parties.length; i++) {
          expect(compareBytes(params.parties[i - 1]!.id, params.parties[i]!.id)).toBeLessThan(0);
        }
        params.parties.forEach((p, i) => {
          expect(p.index).toBe(i);
          expect(p.points).toHaveLength(p.power);
        });
        expect(params.parties.flatMap((p) => p.points)).toEqual(
          Array.from({ length: total }, (_, i) => BigInt(i + 1)),
        );
      }),
      { numRuns: RUNS.cheap },
    );
  });

  it('does not depend on the order the parties are listed in', () => {
    fc.assert(
      fc.property(layout, ({ parties, permuted, threshold }) => {
        const a = weightedParams(parties, threshold);
        const b = weightedParams(permuted, threshold);
        expect(b.parties.map((p) => [toHex(p.id), p.power, p.points])).toEqual(
          a.parties.map((p) => [toHex(p.id), p.power, p.points]),
        );
      }),
      { numRuns: RUNS.cheap },
    );
  });

  it('refuses thresholds outside [1, Σw] and non-integer thresholds', () => {
    fc.assert(
      fc.property(
        layout,
        fc.oneof(fc.integer({ min: -5, max: 0 }), fc.integer({ min: 1, max: 5 }), fc.constant(0.5)),
        ({ parties, total }, delta) => {
          const bad = delta > 0 && Number.isInteger(delta) ? total + delta : delta;
          expect(rejects(parties, bad)).toBe(true);
        },
      ),
      { numRuns: RUNS.cheap },
    );
  });

  it('refuses zero, negative and non-integer powers, bad id lengths and duplicate ids', () => {
    fc.assert(
      fc.property(
        layout,
        fc.nat(),
        fc.oneof(fc.constant(0), fc.integer({ min: -9, max: -1 }), fc.constant(1.5), fc.constant(Number.NaN)),
        fc.integer({ min: 0, max: 64 }).filter((n) => n !== 32),
        ({ parties, threshold }, pick, badPower, badLen) => {
          const i = pick % parties.length;
          const withPower = parties.map((p, j) => (j === i ? { ...p, power: badPower } : p));
          expect(rejects(withPower, threshold)).toBe(true);
          const withId = parties.map((p, j) => (j === i ? { ...p, id: new Uint8Array(badLen) } : p));
          expect(rejects(withId, threshold)).toBe(true);
          const dup = [...parties, { id: parties[i]!.id.slice(), power: 1 }];
          expect(rejects(dup, threshold)).toBe(true);
        },
      ),
      { numRuns: RUNS.cheap },
    );
  });

  it('refuses an empty party list and sizes beyond the caps', () => {
    expect(rejects([], 1)).toBe(true);
    const many = Array.from({ length: MAX_PARTIES + 1 }, (_, i) => {
      const b = new Uint8Array(32);
      b[31] = i;
      return { id: b, power: 1 };
    });
    expect(rejects(many, 2)).toBe(true);
    const heavy = [
      { id: new Uint8Array(32).fill(1), power: MAX_TOTAL_POWER },
      { id: new Uint8Array(32).fill(2), power: 1 },
    ];
    expect(rejects(heavy, 2)).toBe(true);
    // The caps themselves are allowed.
    expect(rejects(many.slice(0, MAX_PARTIES), 2)).toBe(false);
    expect(rejects(heavy.slice(0, 1), MAX_TOTAL_POWER)).toBe(false);
  });
});
