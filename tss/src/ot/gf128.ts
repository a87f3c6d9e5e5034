/**
 * GF(2^128) arithmetic for the SoftSpokenOT consistency check (Roy, ePrint 2022/192 §5, instantiated
 * with the KOS15 Fig. 10 universal hash over F_{2^s}, s = 128).
 *
 * Field: F_2[X] / (X^128 + X^7 + X^2 + X + 1). An element is 16 bytes read as four little-endian
 * u32 words; bit i of the 128-bit string (byte i>>3, bit i&7) is the coefficient of X^i. This is the
 * same bit order the OT-extension matrices use, so a 128-bit slice of a matrix column is a field
 * element without any reordering.
 *
 * Every product in the check has one public factor (a Fiat-Shamir challenge χ) and one secret factor
 * (a slice of the choice vector or of the V / Q matrices). We precompute χ·X^i for i < 128 from the
 * public χ and then add the rows selected by the secret bits with masks: no branch and no memory
 * index depends on a secret bit.
 */

/** Words per element. */
export const GF128_WORDS = 4;

/** Multiply `a` (4 words, in place) by X: shift left one bit, fold X^128 = X^7 + X^2 + X + 1. */
function mulX(a: Uint32Array): void {
  const carry = a[3]! >>> 31;
  a[3] = (a[3]! << 1) | (a[2]! >>> 31);
  a[2] = (a[2]! << 1) | (a[1]! >>> 31);
  a[1] = (a[1]! << 1) | (a[0]! >>> 31);
  // carry is a bit of the public χ (the table is built from public values only).
  a[0] = (a[0]! << 1) ^ (-carry & 0x87);
}

/**
 * Table for multiplying by the public elements `chis` (each 4 words): row (c·128 + i) holds
 * χ_c · X^i. A vector of `chis.length` × 128 bits z then maps to Σ_c χ_c · ẑ_c by XOR-ing the rows
 * selected by the bits of z (see `gf128Combine`).
 */
export function gf128Table(chis: readonly Uint32Array[]): Uint32Array {
  const table = new Uint32Array(chis.length * 128 * GF128_WORDS);
  const cur = new Uint32Array(GF128_WORDS);
  chis.forEach((chi, c) => {
    cur.set(chi.subarray(0, GF128_WORDS));
    for (let i = 0; i < 128; i++) {
      table.set(cur, (c * 128 + i) * GF128_WORDS);
      mulX(cur);
    }
  });
  return table;
}

/**
 * out ^= Σ_c χ_c · ẑ_c, where ẑ_c is the c-th 128-bit chunk of the secret bit string stored at
 * `src[srcOff ..]` (4·chunks words) and the χ's are those the `table` was built from. Constant time
 * in the secret: every table row is read and masked by its bit.
 */
export function gf128Combine(
  out: Uint32Array,
  outOff: number,
  table: Uint32Array,
  src: Uint32Array,
  srcOff: number,
  words: number,
): void {
  let o0 = out[outOff]!;
  let o1 = out[outOff + 1]!;
  let o2 = out[outOff + 2]!;
  let o3 = out[outOff + 3]!;
  let row = 0;
  for (let w = 0; w < words; w++) {
    const word = src[srcOff + w]!;
    for (let bit = 0; bit < 32; bit++, row += GF128_WORDS) {
      const m = -((word >>> bit) & 1);
      o0 ^= m & table[row]!;
      o1 ^= m & table[row + 1]!;
      o2 ^= m & table[row + 2]!;
      o3 ^= m & table[row + 3]!;
    }
  }
  out[outOff] = o0;
  out[outOff + 1] = o1;
  out[outOff + 2] = o2;
  out[outOff + 3] = o3;
}

/** a · b for one pair of elements (convenience for tests: builds a table per call). */
export function gf128Mul(a: Uint32Array, b: Uint32Array): Uint32Array {
  const out = new Uint32Array(GF128_WORDS);
  gf128Combine(out, 0, gf128Table([a]), b, 0, GF128_WORDS);
  return out;
}
