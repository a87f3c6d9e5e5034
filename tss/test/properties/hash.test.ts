/**
 * Properties of domain-separated hashing (tss/src/hash.ts; THREATS A8): because the tag, the field
 * count and every field are length-prefixed, field lists that naive concatenation would merge
 * (["a$","b"] vs ["a","$b"], a moved boundary, a leading zero byte, an extra empty field, a byte
 * moved between tag and field) never hash alike; and hashing is deterministic.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { concatBytes, equalBytes, toHex, utf8 } from '../../src/bytes.ts';
import { hashToScalar, taggedExpand, taggedHash, taggedHash512 } from '../../src/hash.ts';
import { N } from '../../src/math/scalar.ts';
import { RUNS, varBytes } from './arbitraries.ts';

const TAG = 'concord/test/prop/v1';
const fields = fc.array(varBytes(24), { maxLength: 6 });
const sameLists = (a: readonly Uint8Array[], b: readonly Uint8Array[]) =>
  a.length === b.length && a.every((x, i) => equalBytes(x, b[i]!));

describe('taggedHash', () => {
  it('separates the THREATS A8 examples', () => {
    const h = (...f: string[]) => toHex(taggedHash(TAG, ...f.map(utf8)));
    expect(h('a$', 'b')).not.toBe(h('a', '$b'));
    expect(h('ab')).not.toBe(h('a', 'b'));
    expect(h('ab')).not.toBe(h('ab', ''));
    expect(h()).not.toBe(h(''));
    expect(toHex(taggedHash(TAG, Uint8Array.of(0, 1)))).not.toBe(toHex(taggedHash(TAG, Uint8Array.of(1))));
    expect(toHex(taggedHash(TAG, Uint8Array.of(0), Uint8Array.of(1)))).not.toBe(
      toHex(taggedHash(TAG, Uint8Array.of(0, 1))),
    );
    expect(toHex(taggedHash('concord/x/v1a', utf8('b')))).not.toBe(
      toHex(taggedHash('concord/x/v1', utf8('ab'))),
    );
  });

  it('never collides for different splits of the same concatenation', () => {
    const split = fc.record({
      whole: varBytes(40),
      cutsA: fc.array(fc.nat(), { maxLength: 4 }),
      cutsB: fc.array(fc.nat(), { maxLength: 4 }),
    });
    const cutAt = (whole: Uint8Array, cuts: number[]): Uint8Array[] => {
      const at = [...cuts.map((c) => (whole.length === 0 ? 0 : c % (whole.length + 1)))].sort(
        (a, b) => a - b,
      );
      const out: Uint8Array[] = [];
      let prev = 0;
      for (const c of at) {
        out.push(whole.slice(prev, c));
        prev = c;
      }
      out.push(whole.slice(prev));
      return out;
    };
    fc.assert(
      fc.property(split, ({ whole, cutsA, cutsB }) => {
        const a = cutAt(whole, cutsA);
        const b = cutAt(whole, cutsB);
        expect(toHex(concatBytes(...a))).toBe(toHex(concatBytes(...b)));
        const same = sameLists(a, b);
        expect(equalBytes(taggedHash(TAG, ...a), taggedHash(TAG, ...b))).toBe(same);
        expect(equalBytes(taggedHash512(TAG, ...a), taggedHash512(TAG, ...b))).toBe(same);
      }),
      { numRuns: RUNS.cheap },
    );
  });

  it('never collides for distinct field lists, leading-zero variants or tag/field shifts', () => {
    fc.assert(
      fc.property(fields, fields, (a, b) => {
        expect(equalBytes(taggedHash(TAG, ...a), taggedHash(TAG, ...b))).toBe(sameLists(a, b));
        if (a.length > 0) {
          const padded = a.map((f, i) => (i === 0 ? Uint8Array.of(0, ...f) : f));
          expect(equalBytes(taggedHash(TAG, ...a), taggedHash(TAG, ...padded))).toBe(false);
          expect(equalBytes(taggedHash(TAG, ...a), taggedHash(TAG, ...a, new Uint8Array(0)))).toBe(false);
          // Moving the first field's first byte into the tag changes the hash.
          const f0 = a[0]!;
          if (f0.length > 0 && f0[0]! < 0x80) {
            const shifted = [f0.slice(1), ...a.slice(1)];
            const tag2 = TAG + String.fromCharCode(f0[0]!);
            expect(equalBytes(taggedHash(TAG, ...a), taggedHash(tag2, ...shifted))).toBe(false);
          }
        }
      }),
      { numRuns: RUNS.cheap },
    );
  });

  it('is deterministic and separates tags; derived outputs have the promised shapes', () => {
    fc.assert(
      fc.property(fields, fc.integer({ min: 0, max: 100 }), (f, len) => {
        expect(taggedHash(TAG, ...f)).toEqual(taggedHash(TAG, ...f));
        expect(taggedHash(TAG, ...f)).toHaveLength(32);
        expect(taggedHash512(TAG, ...f)).toHaveLength(64);
        expect(equalBytes(taggedHash(TAG, ...f), taggedHash(`${TAG}x`, ...f))).toBe(false);
        const k = hashToScalar(TAG, ...f);
        expect(k >= 0n && k < N).toBe(true);
        const out = taggedExpand(len, TAG, ...f);
        expect(out).toHaveLength(len);
        // A longer expansion extends a shorter one (counter mode).
        expect(toHex(taggedExpand(len + 33, TAG, ...f)).startsWith(toHex(out))).toBe(true);
      }),
      { numRuns: RUNS.medium },
    );
  });
});
