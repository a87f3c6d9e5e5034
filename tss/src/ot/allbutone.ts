/**
 * All-but-one OT from 1-of-2 random OTs: the GGM-tree punctured PRF with its consistency proof,
 * SoftSpokenOT (Roy, ePrint 2022/192) Fig. 13 (PPRF from OTs) and Fig. 14 (maliciously secure
 * PPRF: prove/verify), with k = 4 — the conversion Silence Labs' `sl-crypto`
 * `soft_spoken/all_but_one.rs` performs (PROTOCOL.md 3.4).
 *
 * The 256 base OTs form 64 blocks of 4. In block j, base OT 4j + (l − 1) serves tree level l = 1..4:
 *  - level 1: the two nodes are the base-OT sender's keys (ρ_0, ρ_1) of OT 4j themselves (a random
 *    OT already delivers one of two random seeds; expanding a root first would add nothing);
 *  - level l ≥ 2: every node of level l − 1 is expanded by a PRG into two children; the sender
 *    sends t_l^b = ρ_b(OT 4j+l−1) ⊕ (⊕ of all level-l children on side b), for b = 0, 1.
 * A receiver with choice bits c_1..c_4 knows every level-1 node but the one at 1 − c_1; at level l
 * it expands the nodes it knows and recovers the missing child on side c_l from t_l^{c_l}. The leaf
 * it never learns, and Δ, is therefore the path (1 − c_1, …, 1 − c_4), most significant bit first:
 *   Δ = Σ_l (1 − c_l)·2^(4−l),
 * uniform and secret because the choice bits are.
 *
 * Consistency (Fig. 14): the sender hashes every leaf y to s̃_y (64 bytes) and sends
 * t̃ = ⊕_y s̃_y and s̃ = H(s̃_0, …, s̃_15). The receiver recomputes s̃_y for its 15 leaves, recovers
 * s̃_Δ = t̃ ⊕ (⊕_{y≠Δ} s̃_y) and checks H(…) = s̃. With H collision resistant (512-bit output) the
 * sender is bound to one leaf vector, so a message that would give the receiver leaves inconsistent
 * with it fails the check instead of silently corrupting later OT extension.
 *
 * Side channels: the receiver's Δ is secret, so every step touches every node and selects with
 * arithmetic masks, never with a branch or an index computed from Δ.
 */
import { u32be, utf8, zeroize } from '../bytes.ts';
import { banError, TssError } from '../errors.ts';
import { taggedExpand, taggedHash } from '../hash.ts';
import { TAGS } from '../tags.ts';
import {
  ABO_BLOCKS,
  ABO_K,
  ABO_LEAVES,
  type AboFullSeeds,
  type AboPuncturedSeeds,
  BASE_OT_COUNT,
  SEED_BYTES,
} from './types.ts';

/** Per block: (k − 1) levels × 2 sides × 32 bytes of correction words, t̃ (64) and s̃ (64). */
export const ABO_CORRECTION_BYTES = (ABO_K - 1) * 2 * SEED_BYTES; // 192
export const ABO_PROOF_BYTES = 64;
export const ABO_BLOCK_BYTES = ABO_CORRECTION_BYTES + 2 * ABO_PROOF_BYTES; // 320
export const ABO_MESSAGE_BYTES = ABO_BLOCKS * ABO_BLOCK_BYTES; // 20,480

const LEAF_LABEL = utf8('leaf');
const DIGEST_LABEL = utf8('digest');

/** 1 when a === b, else 0, for small non-negative integers, without a branch. */
function eqBit(a: number, b: number): number {
  return (((a ^ b) - 1) >>> 31) & 1;
}

/** Byte mask 0xff when bit = 1, else 0. */
function byteMask(bit: number): number {
  return -(bit & 1) & 0xff;
}

/**
 * The GGM PRG: expands the node at (level − 1, parent) into its two children at `level`
 * (64 bytes: left ‖ right). Two SHA-256 calls, one per child, each bound to sid, block, level,
 * parent index and side (cheaper here than one 64-byte counter-mode expansion).
 */
function expand(
  sid: Uint8Array,
  block: Uint8Array,
  level: number,
  parent: number,
  node: Uint8Array,
): Uint8Array {
  const out = new Uint8Array(2 * SEED_BYTES);
  out.set(taggedHash(TAGS.aboPrg, sid, block, Uint8Array.of(level, parent, 0), node), 0);
  out.set(taggedHash(TAGS.aboPrg, sid, block, Uint8Array.of(level, parent, 1), node), SEED_BYTES);
  return out;
}

/** s̃_y = H(leaf_y), 64 bytes (2κ bits: the check must be collision resistant at κ = 256). */
function leafProof(sid: Uint8Array, block: Uint8Array, y: number, leaf: Uint8Array): Uint8Array {
  const out = new Uint8Array(ABO_PROOF_BYTES);
  out.set(taggedHash(TAGS.aboProof, sid, block, LEAF_LABEL, Uint8Array.of(y, 0), leaf), 0);
  out.set(taggedHash(TAGS.aboProof, sid, block, LEAF_LABEL, Uint8Array.of(y, 1), leaf), 32);
  return out;
}

function proofDigest(sid: Uint8Array, block: Uint8Array, proofs: Uint8Array): Uint8Array {
  const fields: Uint8Array[] = [];
  for (let y = 0; y < ABO_LEAVES; y++)
    fields.push(proofs.subarray(y * ABO_PROOF_BYTES, (y + 1) * ABO_PROOF_BYTES));
  return taggedExpand(ABO_PROOF_BYTES, TAGS.aboProof, sid, block, DIGEST_LABEL, ...fields);
}

function xorInto(
  dst: Uint8Array,
  dOff: number,
  src: Uint8Array,
  sOff: number,
  len: number,
  mask = 0xff,
): void {
  for (let k = 0; k < len; k++) dst[dOff + k] = dst[dOff + k]! ^ (src[sOff + k]! & mask);
}

function checkInputs(sid: Uint8Array, keys: Uint8Array[]): void {
  if (!(sid instanceof Uint8Array) || sid.length !== 32)
    throw new TssError('INVALID_PARAMETERS', 'all-but-one session id must be 32 bytes');
  for (const k of keys)
    if (!(k instanceof Uint8Array) || k.length !== BASE_OT_COUNT * SEED_BYTES)
      throw new TssError('INVALID_PARAMETERS', 'base-OT keys must be 256 × 32 bytes');
}

/**
 * Base-OT sender side (BuildPPRF + ProvePPRF): build the 64 trees from (ρ_0, ρ_1) and return all
 * leaves and the 20,480-byte message. Does not modify `keys0`/`keys1`.
 */
export function aboSenderBuild(
  sid: Uint8Array,
  keys0: Uint8Array,
  keys1: Uint8Array,
): { message: Uint8Array; seeds: AboFullSeeds } {
  checkInputs(sid, [keys0, keys1]);
  const message = new Uint8Array(ABO_MESSAGE_BYTES);
  const leaves = new Uint8Array(ABO_BLOCKS * ABO_LEAVES * SEED_BYTES);
  const cur = new Uint8Array(ABO_LEAVES * SEED_BYTES);
  const next = new Uint8Array(ABO_LEAVES * SEED_BYTES);
  const proofs = new Uint8Array(ABO_LEAVES * ABO_PROOF_BYTES);
  for (let j = 0; j < ABO_BLOCKS; j++) {
    const block = u32be(j);
    const out = message.subarray(j * ABO_BLOCK_BYTES, (j + 1) * ABO_BLOCK_BYTES);
    const ot0 = j * ABO_K;
    cur.set(keys0.subarray(ot0 * SEED_BYTES, (ot0 + 1) * SEED_BYTES), 0);
    cur.set(keys1.subarray(ot0 * SEED_BYTES, (ot0 + 1) * SEED_BYTES), SEED_BYTES);
    for (let l = 2; l <= ABO_K; l++) {
      const parents = 1 << (l - 1);
      for (let y = 0; y < parents; y++) {
        const kids = expand(sid, block, l, y, cur.subarray(y * SEED_BYTES, (y + 1) * SEED_BYTES));
        next.set(kids, 2 * y * SEED_BYTES);
        zeroize(kids);
      }
      // t_l^b = ρ_b ⊕ (⊕_y child[2y + b])
      const ot = (ot0 + l - 1) * SEED_BYTES;
      const t0 = (l - 2) * 2 * SEED_BYTES;
      const t1 = t0 + SEED_BYTES;
      out.set(keys0.subarray(ot, ot + SEED_BYTES), t0);
      out.set(keys1.subarray(ot, ot + SEED_BYTES), t1);
      for (let y = 0; y < parents; y++) {
        xorInto(out, t0, next, 2 * y * SEED_BYTES, SEED_BYTES);
        xorInto(out, t1, next, (2 * y + 1) * SEED_BYTES, SEED_BYTES);
      }
      cur.set(next.subarray(0, 2 * parents * SEED_BYTES));
    }
    leaves.set(cur, j * ABO_LEAVES * SEED_BYTES);
    // ProvePPRF: s̃_y per leaf, t̃ = ⊕ s̃_y, s̃ = H(s̃_0..s̃_15).
    const tTilde = ABO_CORRECTION_BYTES;
    for (let y = 0; y < ABO_LEAVES; y++) {
      const p = leafProof(sid, block, y, cur.subarray(y * SEED_BYTES, (y + 1) * SEED_BYTES));
      proofs.set(p, y * ABO_PROOF_BYTES);
      xorInto(out, tTilde, p, 0, ABO_PROOF_BYTES);
    }
    out.set(proofDigest(sid, block, proofs), tTilde + ABO_PROOF_BYTES);
  }
  zeroize(cur, next, proofs);
  return { message, seeds: { kind: 'abo-full', leaves } };
}

/**
 * Base-OT receiver side (EvalPPRF + VerifyPPRF): from its choice bits and keys, and the sender's
 * message, recover Δ per block and the 15 leaves ≠ Δ (zeros at Δ). A failed check bans `peer`.
 */
export function aboReceiverEval(
  sid: Uint8Array,
  choiceBits: Uint8Array,
  keys: Uint8Array,
  message: Uint8Array,
  peer: string,
): AboPuncturedSeeds {
  checkInputs(sid, [keys]);
  if (!(choiceBits instanceof Uint8Array) || choiceBits.length !== BASE_OT_COUNT / 8)
    throw new TssError('INVALID_PARAMETERS', 'choice bits must be 32 bytes');
  if (!(message instanceof Uint8Array) || message.length !== ABO_MESSAGE_BYTES)
    throw banError('BAD_LENGTH', peer, 'all-but-one message has the wrong length', 'all-but-one');
  const delta = new Uint8Array(ABO_BLOCKS);
  const leaves = new Uint8Array(ABO_BLOCKS * ABO_LEAVES * SEED_BYTES);
  const cur = new Uint8Array(ABO_LEAVES * SEED_BYTES);
  const next = new Uint8Array(ABO_LEAVES * SEED_BYTES);
  const fix = new Uint8Array(SEED_BYTES);
  const proofs = new Uint8Array(ABO_LEAVES * ABO_PROOF_BYTES);
  const missing = new Uint8Array(ABO_PROOF_BYTES);
  let failed = 0;
  try {
    for (let j = 0; j < ABO_BLOCKS; j++) {
      const block = u32be(j);
      const msg = message.subarray(j * ABO_BLOCK_BYTES, (j + 1) * ABO_BLOCK_BYTES);
      const ot0 = j * ABO_K;
      const bitAt = (i: number): number => (choiceBits[i >>> 3]! >>> (i & 7)) & 1;
      // Level 1: we hold ρ_{c_1} = node c_1; node 1 − c_1 is the punctured one (kept zero).
      const c1 = bitAt(ot0);
      cur.fill(0);
      xorInto(cur, 0, keys, ot0 * SEED_BYTES, SEED_BYTES, byteMask(c1 ^ 1));
      xorInto(cur, SEED_BYTES, keys, ot0 * SEED_BYTES, SEED_BYTES, byteMask(c1));
      let p = c1 ^ 1;
      for (let l = 2; l <= ABO_K; l++) {
        const parents = 1 << (l - 1);
        const c = bitAt(ot0 + l - 1);
        // Expand every node, the unknown one included (as a dummy), then clear the punctured
        // node's children: the work done does not depend on p.
        for (let y = 0; y < parents; y++) {
          const kids = expand(sid, block, l, y, cur.subarray(y * SEED_BYTES, (y + 1) * SEED_BYTES));
          const keep = byteMask(eqBit(y, p) ^ 1);
          for (let k = 0; k < 2 * SEED_BYTES; k++) next[2 * y * SEED_BYTES + k] = kids[k]! & keep;
          zeroize(kids);
        }
        // child[2p + c] = t_l^c ⊕ ρ_c ⊕ (⊕_{y≠p} child[2y + c]); the punctured children are zero,
        // so summing over all y is the same. Both sides are summed and one is selected by mask.
        const t0 = (l - 2) * 2 * SEED_BYTES;
        const mc = byteMask(c);
        fix.fill(0);
        xorInto(fix, 0, msg, t0, SEED_BYTES, ~mc & 0xff);
        xorInto(fix, 0, msg, t0 + SEED_BYTES, SEED_BYTES, mc);
        xorInto(fix, 0, keys, (ot0 + l - 1) * SEED_BYTES, SEED_BYTES);
        for (let y = 0; y < parents; y++) {
          xorInto(fix, 0, next, 2 * y * SEED_BYTES, SEED_BYTES, ~mc & 0xff);
          xorInto(fix, 0, next, (2 * y + 1) * SEED_BYTES, SEED_BYTES, mc);
        }
        const target = 2 * p + c;
        for (let q = 0; q < 2 * parents; q++)
          xorInto(next, q * SEED_BYTES, fix, 0, SEED_BYTES, byteMask(eqBit(q, target)));
        cur.set(next.subarray(0, 2 * parents * SEED_BYTES));
        p = 2 * p + (c ^ 1);
      }
      // VerifyPPRF: s̃_y for the 15 known leaves (and a dummy at Δ), s̃_Δ from t̃, then the digest.
      missing.set(msg.subarray(ABO_CORRECTION_BYTES, ABO_CORRECTION_BYTES + ABO_PROOF_BYTES));
      for (let y = 0; y < ABO_LEAVES; y++) {
        const s = leafProof(sid, block, y, cur.subarray(y * SEED_BYTES, (y + 1) * SEED_BYTES));
        const known = byteMask(eqBit(y, p) ^ 1);
        for (let k = 0; k < ABO_PROOF_BYTES; k++) {
          proofs[y * ABO_PROOF_BYTES + k] = s[k]! & known;
          missing[k] = missing[k]! ^ (s[k]! & known);
        }
      }
      for (let y = 0; y < ABO_LEAVES; y++)
        xorInto(proofs, y * ABO_PROOF_BYTES, missing, 0, ABO_PROOF_BYTES, byteMask(eqBit(y, p)));
      const digest = proofDigest(sid, block, proofs);
      const expected = msg.subarray(ABO_CORRECTION_BYTES + ABO_PROOF_BYTES, ABO_BLOCK_BYTES);
      // Accumulate instead of returning early: the position of a failing block is not revealed by timing.
      let diff = 0;
      for (let k = 0; k < ABO_PROOF_BYTES; k++) diff |= digest[k]! ^ expected[k]!;
      failed |= diff;
      delta[j] = p;
      leaves.set(cur, j * ABO_LEAVES * SEED_BYTES);
    }
  } finally {
    zeroize(cur, next, fix, proofs, missing);
  }
  if (failed !== 0) {
    zeroize(delta, leaves);
    throw banError('ALL_BUT_ONE_FAILED', peer, 'all-but-one consistency check failed', 'all-but-one');
  }
  return { kind: 'abo-punctured', delta, leaves };
}
