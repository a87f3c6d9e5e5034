/**
 * Zero-share seed confirmation, shared by the DKG and the reshare (docs/PROTOCOL.md "Zero-share
 * seed confirmation (DKG and reshare)"). Each pair (i, j) of parties that will sign together derives
 * a seed from two halves it exchanged in round 3 (DKLs23 Functionality 3.4, zero sharing); signing
 * later cancels ζ_i only if both ends hold the same seed. A half sent to a peer but not kept (or
 * altered on the way) is otherwise invisible until every signing with that pair fails with
 * PUBLIC_KEY_MISMATCH, after the DKG or refresh already finished.
 *
 * So in the confirm round each party broadcasts, for each partner, a hash of its own view of their
 * combined seed, bound to a domain tag, the session id and both ids in canonical (byte) order. Both
 * ends of a pair compute the same value iff they hold the same seed, so every party (not only the
 * two concerned) compares the two published values of every pair and aborts on a difference:
 * either everybody finishes with confirmed seeds or no honest party outputs anything.
 */
import { compareBytes, equalBytes, toHex } from './bytes.ts';
import { TssError } from './errors.ts';
import { taggedHash } from './hash.ts';

/** Bytes of one confirmation (SHA-256). */
export const ZERO_SEED_CONFIRMATION_BYTES = 32;

/**
 * H(tag, sid, lo, hi, seed) with lo < hi the pair's ids in byte order, so both ends hash the same
 * fields. The seed has at least 256 bits of entropy from the honest end's half and is used in
 * signing only under another tag (TAGS.zeroShare), so in the random-oracle model this value is
 * independent of every zero share and reveals nothing about the seed beyond testing a guess.
 */
export function zeroSeedConfirmation(
  tag: string,
  sessionId: Uint8Array,
  a: Uint8Array,
  b: Uint8Array,
  seed: Uint8Array,
): Uint8Array {
  const [lo, hi] = compareBytes(a, b) < 0 ? [a, b] : [b, a];
  return taggedHash(tag, sessionId, lo, hi, seed);
}

/**
 * Check every pair among `holders` (the parties that keep pairwise state, in canonical id order):
 * `lists.get(hex(h))` is h's published list, one confirmation per other holder in that same order
 * (the caller's own list included). Throws ZERO_SEED_MISMATCH for the first pair whose two values
 * differ.
 *
 * Why nobody is blamed: the halves travel in round-3 point-to-point messages, which this core does
 * not sign. When i's and j's confirmations differ, i may have kept a half other than the one it
 * sent, or j may have, or one of them received something other than what the other sent. Each
 * party's evidence (its own half, the half it received, the two published hashes) fits all of
 * these equally, and an honest j cannot show anyone which half i sent: no third party, and not
 * even i or j, can tell the liar from the victim. Hence a retry with no culprit; a caller with its
 * own signed transport may report the pair as a reason, never as proof.
 */
export function checkZeroSeedConfirmations(
  holders: readonly Uint8Array[],
  lists: ReadonlyMap<string, readonly Uint8Array[]>,
  round: string,
): void {
  const hexes = holders.map(toHex);
  const listOf = (k: number): readonly Uint8Array[] => {
    const l = lists.get(hexes[k]!);
    // Decoders enforce the count; a short list here is a caller bug, never a peer's fault.
    if (!l || l.length !== holders.length - 1)
      throw new TssError('SESSION_STATE', `zero-seed confirmations of holder ${k} are incomplete`, { round });
    return l;
  };
  for (let i = 0; i < holders.length; i++) {
    for (let j = i + 1; j < holders.length; j++) {
      // In i's list j sits at j − 1 (i itself is skipped); in j's list i sits at i.
      if (!equalBytes(listOf(i)[j - 1]!, listOf(j)[i]!)) {
        throw new TssError(
          'ZERO_SEED_MISMATCH',
          `parties ${hexes[i]!.slice(0, 8)}… and ${hexes[j]!.slice(0, 8)}… do not hold the same zero-share seed`,
          { round },
        );
      }
    }
  }
}
