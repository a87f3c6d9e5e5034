/**
 * Canonical binary encoding primitives. Big-endian integers, fixed-width scalars (32 B) and
 * compressed points (33 B), u32-length-prefixed byte strings and lists. A reader must consume its
 * input exactly: trailing bytes are an error, so every value has one encoding (frost `Header` style).
 */
import { TssError } from '../errors.ts';
import { type Point, pointFromBytes, pointToBytes, scalarFromBytes, scalarToBytes } from '../math/scalar.ts';

export class Writer {
  private chunks: Uint8Array[] = [];
  private len = 0;

  raw(b: Uint8Array): this {
    this.chunks.push(b);
    this.len += b.length;
    return this;
  }
  u8(n: number): this {
    if (!Number.isInteger(n) || n < 0 || n > 0xff) throw new RangeError(`u8 out of range: ${n}`);
    return this.raw(Uint8Array.of(n));
  }
  u16(n: number): this {
    if (!Number.isInteger(n) || n < 0 || n > 0xffff) throw new RangeError(`u16 out of range: ${n}`);
    return this.raw(Uint8Array.of(n >>> 8, n & 0xff));
  }
  u32(n: number): this {
    if (!Number.isInteger(n) || n < 0 || n > 0xffffffff) throw new RangeError(`u32 out of range: ${n}`);
    const b = new Uint8Array(4);
    new DataView(b.buffer).setUint32(0, n, false);
    return this.raw(b);
  }
  /** Length-prefixed byte string. */
  bytes(b: Uint8Array): this {
    return this.u32(b.length).raw(b);
  }
  scalar(k: bigint): this {
    return this.raw(scalarToBytes(k));
  }
  point(P: Point): this {
    return this.raw(pointToBytes(P));
  }
  list<T>(items: readonly T[], each: (w: this, item: T) => void): this {
    this.u32(items.length);
    for (const it of items) each(this, it);
    return this;
  }
  finish(): Uint8Array {
    const out = new Uint8Array(this.len);
    let off = 0;
    for (const c of this.chunks) {
      out.set(c, off);
      off += c.length;
    }
    this.chunks = [out];
    return out;
  }
}

export class Reader {
  private off = 0;
  constructor(
    private readonly buf: Uint8Array,
    private readonly what: string,
  ) {}

  private fail(msg: string): never {
    throw new TssError('DECODE_FAILED', `${this.what}: ${msg}`);
  }
  raw(n: number): Uint8Array {
    if (n < 0 || this.off + n > this.buf.length) this.fail(`truncated at byte ${this.off}`);
    const out = this.buf.slice(this.off, this.off + n);
    this.off += n;
    return out;
  }
  u8(): number {
    return this.raw(1)[0]!;
  }
  u16(): number {
    const b = this.raw(2);
    return (b[0]! << 8) | b[1]!;
  }
  u32(): number {
    const b = this.raw(4);
    return new DataView(b.buffer, b.byteOffset, 4).getUint32(0, false);
  }
  /** Length-prefixed bytes with an upper bound so a hostile length cannot allocate gigabytes. */
  bytes(max: number): Uint8Array {
    const n = this.u32();
    if (n > max) this.fail(`length ${n} exceeds ${max}`);
    return this.raw(n);
  }
  scalar(what: string, opts: { nonZero?: boolean } = {}): bigint {
    return scalarFromBytes(this.raw(32), `${this.what}.${what}`, opts);
  }
  point(what: string): Point {
    return pointFromBytes(this.raw(33), `${this.what}.${what}`);
  }
  /** A list whose length must lie in [min, max]. */
  list<T>(min: number, max: number, each: (r: this, i: number) => T): T[] {
    const n = this.u32();
    if (n < min || n > max) this.fail(`list length ${n} outside [${min}, ${max}]`);
    const out: T[] = [];
    for (let i = 0; i < n; i++) out.push(each(this, i));
    return out;
  }
  expectU8(v: number, what: string): void {
    const got = this.u8();
    if (got !== v) throw new TssError('UNSUPPORTED_VERSION', `${this.what}: ${what} ${got}, expected ${v}`);
  }
  end(): void {
    if (this.off !== this.buf.length) this.fail(`${this.buf.length - this.off} trailing bytes`);
  }
  remaining(): number {
    return this.buf.length - this.off;
  }
}

/**
 * Version byte that starts every protocol message. It is the layout version of the message's type:
 * a type whose layout changes passes its own, higher version (e.g. the confirm messages,
 * dkg/messages.ts CONFIRM_VERSION), so the other types and their golden bytes stay as they were.
 */
export const WIRE_VERSION = 1;

/** A writer with the message header [version][type] already written. */
export function messageWriter(type: number, version: number = WIRE_VERSION): Writer {
  return new Writer().u8(version).u8(type);
}

/** A reader positioned after a checked message header; a wrong type is a wrong-round message. */
export function messageReader(
  bytes: Uint8Array,
  type: number,
  what: string,
  version: number = WIRE_VERSION,
): Reader {
  const r = new Reader(bytes, what);
  r.expectU8(version, 'wire version');
  const t = r.u8();
  if (t !== type) throw new TssError('WRONG_ROUND', `${what}: message type 0x${t.toString(16)}`);
  return r;
}

/** Counts fixed by the parameters (Feldman entries, proofs, shares) must match exactly. */
export function exactCount(n: number, expected: number, what: string): void {
  if (n !== expected) throw new TssError('BAD_LENGTH', `${what}: ${n} entries, expected exactly ${expected}`);
}
