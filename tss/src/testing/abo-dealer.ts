/**
 * TEST ONLY: a trusted dealer for the all-but-one OT state of one ordered pair (PROTOCOL.md 3.4),
 * standing in for the base-OT + all-but-one setup so the OT extension and RVOLE can be tested on
 * their own. Draws everything from the given (seeded) RNG; never used by production code paths.
 */

import {
  ABO_BLOCKS,
  ABO_LEAVES,
  type AboFullSeeds,
  type AboPuncturedSeeds,
  SEED_BYTES,
} from '../ot/types.ts';
import type { RandomBytes } from '../random.ts';

export interface DealtAboSeeds {
  /** For the RVOLE receiver (it was the base-OT sender). */
  readonly full: AboFullSeeds;
  /** For the RVOLE sender (it was the base-OT receiver). */
  readonly punctured: AboPuncturedSeeds;
}

export function dealAboSeeds(rng: RandomBytes): DealtAboSeeds {
  const leaves = rng(ABO_BLOCKS * ABO_LEAVES * SEED_BYTES);
  const delta = rng(ABO_BLOCKS).map((b) => b & (ABO_LEAVES - 1));
  const punctured = leaves.slice();
  for (let i = 0; i < ABO_BLOCKS; i++) {
    const off = (i * ABO_LEAVES + delta[i]!) * SEED_BYTES;
    punctured.fill(0, off, off + SEED_BYTES);
  }
  return {
    full: { kind: 'abo-full', leaves },
    punctured: { kind: 'abo-punctured', delta, leaves: punctured },
  };
}
