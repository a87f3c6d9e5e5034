/**
 * Properties of the canonical binary codec (tss/src/codec/binary.ts; ARCHITECTURE rule 5): a
 * random sequence of u8/u16/u32/length-prefixed bytes/scalars written by `Writer` reads back
 * identically, and a reader following the same schedule refuses every truncation and every trailing
 * byte, so each value has exactly one encoding.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Reader, Writer } from '../../src/codec/binary.ts';
import { TssError } from '../../src/errors.ts';
import { RUNS, scalar, varBytes } from './arbitraries.ts';

type Op =
  | { kind: 'u8'; v: number }
  | { kind: 'u16'; v: number }
  | { kind: 'u32'; v: number }
  | { kind: 'bytes'; v: Uint8Array }
  | { kind: 'scalar'; v: bigint };

const op: fc.Arbitrary<Op> = fc.oneof(
  fc.integer({ min: 0, max: 0xff }).map((v) => ({ kind: 'u8' as const, v })),
  fc.integer({ min: 0, max: 0xffff }).map((v) => ({ kind: 'u16' as const, v })),
  fc.integer({ min: 0, max: 0xffffffff }).map((v) => ({ kind: 'u32' as const, v })),
  varBytes(40).map((v) => ({ kind: 'bytes' as const, v })),
  scalar().map((v) => ({ kind: 'scalar' as const, v })),
);
const ops = fc.array(op, { minLength: 1, maxLength: 12 });

function encodedSize(o: Op): number {
  if (o.kind === 'u8') return 1;
  if (o.kind === 'u16') return 2;
  if (o.kind === 'u32') return 4;
  if (o.kind === 'bytes') return 4 + o.v.length;
  return 32;
}

function write(list: readonly Op[]): Uint8Array {
  const w = new Writer();
  for (const o of list) {
    if (o.kind === 'u8') w.u8(o.v);
    else if (o.kind === 'u16') w.u16(o.v);
    else if (o.kind === 'u32') w.u32(o.v);
    else if (o.kind === 'bytes') w.bytes(o.v);
    else w.scalar(o.v);
  }
  return w.finish();
}

function read(buf: Uint8Array, schedule: readonly Op[]): Op[] {
  const r = new Reader(buf, 'prop');
  const out: Op[] = schedule.map((o, i): Op => {
    if (o.kind === 'u8') return { kind: 'u8', v: r.u8() };
    if (o.kind === 'u16') return { kind: 'u16', v: r.u16() };
    if (o.kind === 'u32') return { kind: 'u32', v: r.u32() };
    if (o.kind === 'bytes') return { kind: 'bytes', v: r.bytes(1024) };
    return { kind: 'scalar', v: r.scalar(`s${i}`) };
  });
  r.end();
  return out;
}

const decodeFails = (f: () => unknown): boolean => {
  try {
    f();
    return false;
  } catch (e) {
    return e instanceof TssError && e.code === 'DECODE_FAILED';
  }
};

describe('Writer/Reader', () => {
  it('round-trips any sequence of u8/u16/u32/bytes/scalars', () => {
    fc.assert(
      fc.property(ops, (list) => {
        const buf = write(list);
        expect(read(buf, list)).toEqual(list);
        // Encoded size is exactly the sum of the fixed widths and length prefixes.
        expect(buf.length).toBe(list.reduce((s, o) => s + encodedSize(o), 0));
      }),
      { numRuns: RUNS.cheap },
    );
  });

  it('refuses every truncation', () => {
    fc.assert(
      fc.property(ops, fc.nat(), (list, cut) => {
        const buf = write(list);
        const n = cut % buf.length;
        expect(decodeFails(() => read(buf.slice(0, n), list))).toBe(true);
        expect(decodeFails(() => read(buf.slice(0, buf.length - 1), list))).toBe(true);
      }),
      { numRuns: RUNS.cheap },
    );
  });

  it('refuses any trailing byte', () => {
    fc.assert(
      fc.property(ops, fc.uint8Array({ minLength: 1, maxLength: 8 }), (list, extra) => {
        const buf = write(list);
        const longer = new Uint8Array(buf.length + extra.length);
        longer.set(buf);
        longer.set(extra, buf.length);
        expect(decodeFails(() => read(longer, list))).toBe(true);
      }),
      { numRuns: RUNS.cheap },
    );
  });

  it('refuses a length prefix above the reader bound and out-of-range writer values', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 64 }), (max) => {
        const buf = new Writer().bytes(new Uint8Array(max + 1)).finish();
        expect(decodeFails(() => new Reader(buf, 'prop').bytes(max))).toBe(true);
      }),
      { numRuns: RUNS.medium },
    );
    expect(() => new Writer().u8(256)).toThrow(RangeError);
    expect(() => new Writer().u16(-1)).toThrow(RangeError);
    expect(() => new Writer().u32(2 ** 32)).toThrow(RangeError);
    expect(() => new Writer().u8(1.5)).toThrow(RangeError);
  });
});
