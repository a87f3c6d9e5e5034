import { chacha20 } from '@noble/ciphers/chacha.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { describe, expect, it } from 'vitest';
import { GF128_WORDS, gf128Combine, gf128Mul, gf128Table } from '../../src/ot/gf128.ts';
import { chacha20Block, SHA256_IV, sha256Compress } from '../../src/ot/prf.ts';
import { seededRandom } from '../../src/testing/rng.ts';

const words = (b: Uint8Array): Uint32Array => new Uint32Array(b.slice().buffer);
const bytes = (w: Uint32Array): Uint8Array => new Uint8Array(w.slice().buffer);

/** Independent GF(2^128) reference: carry-less product of BigInts reduced by X^128 + X^7 + X^2 + X + 1. */
function refMul(a: bigint, b: bigint): bigint {
  let p = 0n;
  for (let i = 0n; i < 128n; i++) if ((b >> i) & 1n) p ^= a << i;
  for (let i = 254n; i >= 128n; i--) if ((p >> i) & 1n) p ^= (0x87n << (i - 128n)) ^ (1n << i);
  return p;
}
const toBig = (w: Uint32Array): bigint => {
  let v = 0n;
  for (let i = 3; i >= 0; i--) v = (v << 32n) | BigInt(w[i]!);
  return v;
};

describe('OT-extension block functions', () => {
  it('chacha20Block matches @noble/ciphers chacha20 (RFC 8439) for counters 0 and 1', () => {
    const rng = seededRandom('prf-chacha');
    for (let t = 0; t < 8; t++) {
      const key = rng(32);
      const nonce = rng(12);
      const expected = chacha20(key, nonce, new Uint8Array(128));
      const out = new Uint32Array(32);
      chacha20Block(words(key), 0, 0, words(nonce), out, 0);
      chacha20Block(words(key), 0, 1, words(nonce), out, 16);
      expect(bytes(out)).toEqual(expected);
    }
  });

  it('sha256Compress from the IV and a midstate matches @noble/hashes sha256', () => {
    const rng = seededRandom('prf-sha');
    const w = new Uint32Array(64);
    for (let t = 0; t < 8; t++) {
      // A 101-byte message: one full block, then 37 bytes + padding (the row-hash shape).
      const msg = rng(101);
      const padded = new Uint8Array(128);
      padded.set(msg);
      padded[101] = 0x80;
      new DataView(padded.buffer).setUint32(124, 101 * 8, false);
      const dv = new DataView(padded.buffer);
      const state = SHA256_IV.slice();
      for (let blk = 0; blk < 2; blk++) {
        const m = new Uint32Array(16);
        for (let i = 0; i < 16; i++) m[i] = dv.getUint32(blk * 64 + i * 4, false);
        sha256Compress(state, m, w, state);
      }
      const got = new Uint8Array(32);
      for (let i = 0; i < 8; i++) new DataView(got.buffer).setUint32(i * 4, state[i]!, false);
      expect(got).toEqual(sha256(msg));
    }
  });

  it('GF(2^128) products match an independent carry-less reference', () => {
    const rng = seededRandom('prf-gf');
    for (let t = 0; t < 20; t++) {
      const a = words(rng(16));
      const b = words(rng(16));
      expect(toBig(gf128Mul(a, b))).toBe(refMul(toBig(a), toBig(b)));
    }
    // X^127 · X = X^128 = X^7 + X^2 + X + 1.
    const x127 = Uint32Array.of(0, 0, 0, 0x80000000);
    const x = Uint32Array.of(2, 0, 0, 0);
    expect(toBig(gf128Mul(x127, x))).toBe(0x87n);
  });

  it('gf128Combine computes Σ χ_c ẑ_c over several chunks', () => {
    const rng = seededRandom('prf-gf-combine');
    const chis = [0, 1, 2, 3].map(() => words(rng(16)));
    const z = words(rng(64));
    const out = new Uint32Array(GF128_WORDS);
    gf128Combine(out, 0, gf128Table(chis), z, 0, 16);
    let expected = 0n;
    for (let c = 0; c < 4; c++) expected ^= refMul(toBig(chis[c]!), toBig(z.subarray(c * 4, c * 4 + 4)));
    expect(toBig(out)).toBe(expected);
  });
});
