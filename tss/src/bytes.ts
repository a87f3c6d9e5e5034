/**
 * Byte helpers shared by the core: hex, concatenation, constant-time comparison, integer encodings,
 * zeroisation. Browser- and Node-safe (no Buffer). Modelled on noble-hashes `utils.ts`.
 */
import { bytesToHex as nobleBytesToHex, hexToBytes as nobleHexToBytes } from '@noble/hashes/utils.js';
import { TssError } from './errors.ts';

export type Bytes = Uint8Array;

export function toHex(b: Uint8Array): string {
  return nobleBytesToHex(b);
}

export function fromHex(hex: string, what = 'hex'): Uint8Array {
  try {
    return nobleHexToBytes(hex.startsWith('0x') ? hex.slice(2) : hex);
  } catch {
    throw new TssError('MALFORMED_MESSAGE', `${what} is not valid hex`);
  }
}

export function concatBytes(...parts: Uint8Array[]): Uint8Array {
  let len = 0;
  for (const p of parts) len += p.length;
  const out = new Uint8Array(len);
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}

/** Constant-time equality for equal-length inputs (length itself is public). */
export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i]! ^ b[i]!;
  return diff === 0;
}

/** Lexicographic comparison (for sorting public ids). */
export function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const d = a[i]! - b[i]!;
    if (d !== 0) return d;
  }
  return a.length - b.length;
}

export function u32be(n: number): Uint8Array {
  if (!Number.isInteger(n) || n < 0 || n > 0xffffffff) throw new RangeError(`u32 out of range: ${n}`);
  const out = new Uint8Array(4);
  new DataView(out.buffer).setUint32(0, n, false);
  return out;
}

export function utf8(s: string): Uint8Array {
  return new TextEncoder().encode(s);
}

/** Overwrite secret buffers. Best effort: JS engines may have copied them. */
export function zeroize(...bufs: (Uint8Array | undefined)[]): void {
  for (const b of bufs) b?.fill(0);
}

/** Assert a byte array of an exact length, naming the field. */
export function expectBytes(b: unknown, len: number, what: string): Uint8Array {
  if (!(b instanceof Uint8Array)) throw new TssError('MALFORMED_MESSAGE', `${what} must be bytes`);
  if (b.length !== len) throw new TssError('BAD_LENGTH', `${what} must be ${len} bytes, got ${b.length}`);
  return b;
}

export function xorBytes(a: Uint8Array, b: Uint8Array): Uint8Array {
  if (a.length !== b.length) throw new RangeError('xor of unequal lengths');
  const out = new Uint8Array(a.length);
  for (let i = 0; i < a.length; i++) out[i] = a[i]! ^ b[i]!;
  return out;
}
