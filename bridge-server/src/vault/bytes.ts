/**
 * Byte helpers the vault runtime's encodings share (canonical JSON and domain-separated hashes).
 * Thin names over @noble/hashes' utilities, plus the big-endian u32 the start message frames with.
 */
import { bytesToHex, concatBytes, utf8ToBytes } from '@noble/hashes/utils.js';

export { concatBytes };

export function utf8(s: string): Uint8Array {
  return utf8ToBytes(s);
}

export function toHex(b: Uint8Array): string {
  return bytesToHex(b);
}

export function u32be(n: number): Uint8Array {
  if (!Number.isInteger(n) || n < 0 || n > 0xffffffff) throw new RangeError(`u32 out of range: ${n}`);
  const out = new Uint8Array(4);
  new DataView(out.buffer).setUint32(0, n, false);
  return out;
}
