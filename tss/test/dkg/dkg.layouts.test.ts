/**
 * Weighted DKG happy paths over every fixture layout: identical descriptors, any t points
 * interpolate to the group key, the address matches viem, and the pairwise OT setup is right.
 */
import { publicKeyToAddress } from 'viem/accounts';
import { describe, expect, it } from 'vitest';
import { equalBytes, toHex } from '../../src/bytes.ts';
import { encodeDescriptor } from '../../src/descriptor.ts';
import { mulG } from '../../src/math/scalar.ts';
import { ABO_BLOCKS, ABO_LEAVES, leafAt } from '../../src/ot/types.ts';
import { SCHNORR_PROOF_BYTES } from '../../src/proofs/schnorr.ts';
import { interpolateSecret } from '../../src/testing/inspect.ts';
import { ZERO_SEED_CONFIRMATION_BYTES } from '../../src/zero-seed.ts';
import { loadFixture } from '../fixtures/index.ts';
import { LAYOUTS } from '../fixtures/layouts.ts';

function subsets<T>(items: readonly T[], k: number): T[][] {
  if (k === 0) return [[]];
  if (items.length < k) return [];
  const [head, ...rest] = items;
  return [...subsets(rest, k - 1).map((s) => [head!, ...s]), ...subsets(rest, k)];
}

describe.each(LAYOUTS.map((l) => [l.name, l] as const))('DKG layout %s', (name, layout) => {
  it('gives every party a byte-identical descriptor with epoch 0 and the right shape', () => {
    const f = loadFixture(name);
    const encoded = f.shares.map((s) => encodeDescriptor(s.descriptor));
    for (const e of encoded) expect(equalBytes(e, encoded[0]!)).toBe(true);
    const d = f.shares[0]!.descriptor;
    expect(d.epoch).toBe(0);
    expect(d.threshold).toBe(layout.threshold);
    expect(d.parties.map((p) => p.power).sort()).toEqual([...layout.powers].sort());
    const total = layout.powers.reduce((a, b) => a + b, 0);
    expect(d.publicShares).toHaveLength(total);
    // Points are consecutive from 1 in id order.
    expect(d.parties.flatMap((p) => p.points.map(Number))).toEqual(
      Array.from({ length: total }, (_, i) => i + 1),
    );
  });

  it('lets any t points interpolate to a secret whose public key is the group key', () => {
    const f = loadFixture(name);
    const d = f.shares[0]!.descriptor;
    const all = d.parties.flatMap((p) => [...p.points]);
    const sets = subsets(all, d.threshold);
    // Bound the work on the largest layout while still covering many sets.
    const chosen = sets.length > 120 ? sets.filter((_, i) => i % Math.ceil(sets.length / 120) === 0) : sets;
    for (const set of chosen) {
      expect(mulG(interpolateSecret(f.shares, set)).equals(d.groupPublicKey)).toBe(true);
    }
    // And t−1 points do not (they give some other key).
    if (d.threshold > 1) {
      expect(mulG(interpolateSecret(f.shares, all.slice(0, d.threshold - 1))).equals(d.groupPublicKey)).toBe(
        false,
      );
    }
  });

  it('derives the address viem derives from the group key', () => {
    const d = loadFixture(name).shares[0]!.descriptor;
    const pub = `0x${toHex(d.groupPublicKey.toBytes(false))}` as const;
    expect(d.address).toBe(publicKeyToAddress(pub));
  });

  it('gives every ordered pair matching all-but-one seeds (equal except at Δ) and a shared zero seed', () => {
    const f = loadFixture(name);
    for (const a of f.shares) {
      for (const b of f.shares) {
        if (a === b) continue;
        const full = a.peer(b.selfId)!.full; // a was base-OT sender toward b
        const punctured = b.peer(a.selfId)!.punctured;
        for (let blk = 0; blk < ABO_BLOCKS; blk++) {
          const delta = punctured.delta[blk]!;
          for (let leaf = 0; leaf < ABO_LEAVES; leaf++) {
            const same = equalBytes(leafAt(full.leaves, blk, leaf), leafAt(punctured.leaves, blk, leaf));
            expect(same).toBe(leaf !== delta);
          }
        }
        expect(equalBytes(a.peer(b.selfId)!.zeroSeed, b.peer(a.selfId)!.zeroSeed)).toBe(true);
      }
    }
  });

  it('finished its honest run through the zero-seed confirmation: one per pair in every confirm broadcast', () => {
    // The fixture exists only if every party finished (build.ts expectAllOk), i.e. every pair's
    // confirmations matched; the byte count shows they were really on the wire, (n − 1) per sender.
    const n = layout.powers.length;
    const confirm = (w: number) =>
      2 + 32 + 4 + w * SCHNORR_PROOF_BYTES + 4 + (n - 1) * ZERO_SEED_CONFIRMATION_BYTES;
    const expected = layout.powers.reduce((sum, w) => sum + (n - 1) * confirm(w), 0);
    expect(loadFixture(name).stats.bytesByRound[4] ?? 0).toBe(expected);
  });

  it('checks each party share against the public shares and round-trips the KeyShare encoding', () => {
    for (const ks of loadFixture(name).shares) {
      expect(() => ks.verify()).not.toThrow();
      const json = JSON.stringify(ks);
      expect(json).toContain('[redacted]');
      for (const s of ks.shares) expect(json).not.toContain(s.toString(16));
    }
  });
});
