/**
 * Shapes of the pairwise OT state that the DKG creates and signing consumes (PROTOCOL.md 3.4).
 *
 * For each ordered pair (S → R) the DKG runs 256 base OTs in which S is the base-OT *sender* and R
 * the base-OT *receiver*, then converts them into 64 all-but-one-of-16 OTs (SoftSpoken k = 4):
 *  - S ends with every leaf of every block (`AboFullSeeds`). S later acts as OT-extension receiver
 *    and RVOLE *receiver* toward R.
 *  - R ends with a secret Δ (one 4-bit value per block) and every leaf except the one at Δ
 *    (`AboPuncturedSeeds`). R later acts as OT-extension sender and RVOLE *sender* toward S.
 * Both are secret state: never sent, encrypted at rest, zeroed by `destroy`.
 */

/** SoftSpoken parameters: k = 4 bits per block, 64 blocks, 256 base OTs per ordered pair. */
export const ABO_K = 4;
export const ABO_LEAVES = 16; // 2^k
export const ABO_BLOCKS = 64;
export const BASE_OT_COUNT = ABO_K * ABO_BLOCKS; // 256
export const SEED_BYTES = 32;

/** Held by the base-OT sender: leaves[block * 16 + leaf] (32 bytes each), all 1,024 leaves. */
export interface AboFullSeeds {
  readonly kind: 'abo-full';
  /** 64 × 16 × 32 bytes, block-major. */
  readonly leaves: Uint8Array;
}

/** Held by the base-OT receiver: Δ per block and all leaves but the one at Δ (zero-filled there). */
export interface AboPuncturedSeeds {
  readonly kind: 'abo-punctured';
  /** 64 values in 0..15: Δ_block, the punctured leaf index of each block. */
  readonly delta: Uint8Array;
  /** 64 × 16 × 32 bytes, block-major; the 32 bytes at Δ_block are zero. */
  readonly leaves: Uint8Array;
}

export function leafAt(leaves: Uint8Array, block: number, leaf: number): Uint8Array {
  const off = (block * ABO_LEAVES + leaf) * SEED_BYTES;
  return leaves.subarray(off, off + SEED_BYTES);
}
