/**
 * Allocation-free block functions for the OT extension's hot loops: the ChaCha20 block function
 * (RFC 8439 §2.3) used as the PRG that stretches all-but-one leaves, and the SHA-256 compression
 * function (FIPS 180-4 §6.2.2) used from a precomputed midstate as the random oracle that turns
 * correlated OT rows into random pads.
 *
 * Why not call noble directly: both are invoked thousands of times per signature on 32–100-byte
 * inputs, where noble's per-call setup (views, copies, padding) costs several times the block
 * function itself. The outputs are byte-for-byte the standard ones; `tss/test/ot/softspoken-prf.test.ts`
 * checks both against `@noble/ciphers` and `@noble/hashes`. Words are host-order u32 (the OT module
 * asserts a little-endian host, which is what ChaCha's word order needs).
 */

const SIGMA = Uint32Array.of(0x61707865, 0x3320646e, 0x79622d32, 0x6b206574); // "expand 32-byte k"

function rotl(x: number, n: number): number {
  return (x << n) | (x >>> (32 - n));
}

/**
 * One ChaCha20 block: out[outOff .. +16] = ChaCha20(key = key[keyOff .. +8], counter, nonce[0..3]).
 * Key, nonce and output words are little-endian, as in RFC 8439.
 */
export function chacha20Block(
  key: Uint32Array,
  keyOff: number,
  counter: number,
  nonce: Uint32Array,
  out: Uint32Array,
  outOff: number,
): void {
  const j0 = SIGMA[0]!;
  const j1 = SIGMA[1]!;
  const j2 = SIGMA[2]!;
  const j3 = SIGMA[3]!;
  const j4 = key[keyOff]!;
  const j5 = key[keyOff + 1]!;
  const j6 = key[keyOff + 2]!;
  const j7 = key[keyOff + 3]!;
  const j8 = key[keyOff + 4]!;
  const j9 = key[keyOff + 5]!;
  const j10 = key[keyOff + 6]!;
  const j11 = key[keyOff + 7]!;
  const j12 = counter >>> 0;
  const j13 = nonce[0]!;
  const j14 = nonce[1]!;
  const j15 = nonce[2]!;
  let x0 = j0;
  let x1 = j1;
  let x2 = j2;
  let x3 = j3;
  let x4 = j4;
  let x5 = j5;
  let x6 = j6;
  let x7 = j7;
  let x8 = j8;
  let x9 = j9;
  let x10 = j10;
  let x11 = j11;
  let x12 = j12;
  let x13 = j13;
  let x14 = j14;
  let x15 = j15;
  for (let r = 0; r < 10; r++) {
    // column round
    x0 = (x0 + x4) | 0;
    x12 = rotl(x12 ^ x0, 16);
    x8 = (x8 + x12) | 0;
    x4 = rotl(x4 ^ x8, 12);
    x0 = (x0 + x4) | 0;
    x12 = rotl(x12 ^ x0, 8);
    x8 = (x8 + x12) | 0;
    x4 = rotl(x4 ^ x8, 7);

    x1 = (x1 + x5) | 0;
    x13 = rotl(x13 ^ x1, 16);
    x9 = (x9 + x13) | 0;
    x5 = rotl(x5 ^ x9, 12);
    x1 = (x1 + x5) | 0;
    x13 = rotl(x13 ^ x1, 8);
    x9 = (x9 + x13) | 0;
    x5 = rotl(x5 ^ x9, 7);

    x2 = (x2 + x6) | 0;
    x14 = rotl(x14 ^ x2, 16);
    x10 = (x10 + x14) | 0;
    x6 = rotl(x6 ^ x10, 12);
    x2 = (x2 + x6) | 0;
    x14 = rotl(x14 ^ x2, 8);
    x10 = (x10 + x14) | 0;
    x6 = rotl(x6 ^ x10, 7);

    x3 = (x3 + x7) | 0;
    x15 = rotl(x15 ^ x3, 16);
    x11 = (x11 + x15) | 0;
    x7 = rotl(x7 ^ x11, 12);
    x3 = (x3 + x7) | 0;
    x15 = rotl(x15 ^ x3, 8);
    x11 = (x11 + x15) | 0;
    x7 = rotl(x7 ^ x11, 7);

    // diagonal round
    x0 = (x0 + x5) | 0;
    x15 = rotl(x15 ^ x0, 16);
    x10 = (x10 + x15) | 0;
    x5 = rotl(x5 ^ x10, 12);
    x0 = (x0 + x5) | 0;
    x15 = rotl(x15 ^ x0, 8);
    x10 = (x10 + x15) | 0;
    x5 = rotl(x5 ^ x10, 7);

    x1 = (x1 + x6) | 0;
    x12 = rotl(x12 ^ x1, 16);
    x11 = (x11 + x12) | 0;
    x6 = rotl(x6 ^ x11, 12);
    x1 = (x1 + x6) | 0;
    x12 = rotl(x12 ^ x1, 8);
    x11 = (x11 + x12) | 0;
    x6 = rotl(x6 ^ x11, 7);

    x2 = (x2 + x7) | 0;
    x13 = rotl(x13 ^ x2, 16);
    x8 = (x8 + x13) | 0;
    x7 = rotl(x7 ^ x8, 12);
    x2 = (x2 + x7) | 0;
    x13 = rotl(x13 ^ x2, 8);
    x8 = (x8 + x13) | 0;
    x7 = rotl(x7 ^ x8, 7);

    x3 = (x3 + x4) | 0;
    x14 = rotl(x14 ^ x3, 16);
    x9 = (x9 + x14) | 0;
    x4 = rotl(x4 ^ x9, 12);
    x3 = (x3 + x4) | 0;
    x14 = rotl(x14 ^ x3, 8);
    x9 = (x9 + x14) | 0;
    x4 = rotl(x4 ^ x9, 7);
  }
  out[outOff] = x0 + j0;
  out[outOff + 1] = x1 + j1;
  out[outOff + 2] = x2 + j2;
  out[outOff + 3] = x3 + j3;
  out[outOff + 4] = x4 + j4;
  out[outOff + 5] = x5 + j5;
  out[outOff + 6] = x6 + j6;
  out[outOff + 7] = x7 + j7;
  out[outOff + 8] = x8 + j8;
  out[outOff + 9] = x9 + j9;
  out[outOff + 10] = x10 + j10;
  out[outOff + 11] = x11 + j11;
  out[outOff + 12] = x12 + j12;
  out[outOff + 13] = x13 + j13;
  out[outOff + 14] = x14 + j14;
  out[outOff + 15] = x15 + j15;
}

// biome-ignore format: the FIPS 180-4 round constants, one row of eight per line
const K256 = Uint32Array.of(
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
  0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
  0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
  0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
  0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
  0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
  0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
  0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
);

/** SHA-256 initial hash value H(0). */
export const SHA256_IV = Uint32Array.of(
  0x6a09e667,
  0xbb67ae85,
  0x3c6ef372,
  0xa54ff53a,
  0x510e527f,
  0x9b05688c,
  0x1f83d9ab,
  0x5be0cd19,
);

/**
 * SHA-256 compression: out[0..8] = compress(state[0..8], block), where `block` holds the 16 message
 * words already read big-endian and `w` is a 64-word scratch schedule. `out` may alias `state`.
 */
export function sha256Compress(
  state: Uint32Array,
  block: Uint32Array,
  w: Uint32Array,
  out: Uint32Array,
): void {
  for (let i = 0; i < 16; i++) w[i] = block[i]!;
  for (let i = 16; i < 64; i++) {
    const w15 = w[i - 15]!;
    const w2 = w[i - 2]!;
    const s0 = rotl(w15, 25) ^ rotl(w15, 14) ^ (w15 >>> 3);
    const s1 = rotl(w2, 15) ^ rotl(w2, 13) ^ (w2 >>> 10);
    w[i] = (s1 + w[i - 7]! + s0 + w[i - 16]!) | 0;
  }
  let a = state[0]!;
  let b = state[1]!;
  let c = state[2]!;
  let d = state[3]!;
  let e = state[4]!;
  let f = state[5]!;
  let g = state[6]!;
  let h = state[7]!;
  for (let i = 0; i < 64; i++) {
    const s1 = rotl(e, 26) ^ rotl(e, 21) ^ rotl(e, 7);
    const ch = (e & f) ^ (~e & g);
    const t1 = (h + s1 + ch + K256[i]! + w[i]!) | 0;
    const s0 = rotl(a, 30) ^ rotl(a, 19) ^ rotl(a, 10);
    const maj = (a & b) ^ (a & c) ^ (b & c);
    const t2 = (s0 + maj) | 0;
    h = g;
    g = f;
    f = e;
    e = (d + t1) | 0;
    d = c;
    c = b;
    b = a;
    a = (t1 + t2) | 0;
  }
  out[0] = state[0]! + a;
  out[1] = state[1]! + b;
  out[2] = state[2]! + c;
  out[3] = state[3]! + d;
  out[4] = state[4]! + e;
  out[5] = state[5]! + f;
  out[6] = state[6]! + g;
  out[7] = state[7]! + h;
}
