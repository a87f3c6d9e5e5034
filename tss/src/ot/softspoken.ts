/**
 * SoftSpokenOT extension (Roy, ePrint 2022/192), k = 4, maliciously secure, Fiat-Shamir'd.
 *
 * Follows one construction end to end: the subspace VOLE of Roy Fig. 7 built from the 64
 * all-but-one-of-16 OTs (PROTOCOL.md 3.4), the VOLE → correlated-OT step with the repetition code
 * (every block is corrected to the same choice vector), the consistency check of Roy §5 instantiated
 * with the KOS15 Fig. 10 universal hash over GF(2^128) (s = 128), and Roy's "transpose and
 * randomise" hash to turn the correlated OTs into random OTs (ROT). This is exactly the shape of
 * Silence Labs' `soft_spoken_ot.rs` (their `docs/soft_spoken/soft_spoken_ot.tex`) that DKLs23
 * Functionality 5.1 / §5.1 consumes, with our own hashing, PRG and encoding.
 *
 * Roles (PROTOCOL.md 3.4): the OT-extension *receiver* holds all 16 leaves per block
 * (`AboFullSeeds`, it was the base-OT sender) and is Roy's VOLE sender; the OT-extension *sender*
 * holds Δ and the 15 other leaves (`AboPuncturedSeeds`) and is Roy's VOLE receiver.
 *
 * Parameters: κ = 256 columns (64 blocks × 4 bits), ξ = κ + 2λ_s = 512 OTs, s = 128 check bits, so the
 * extended length is ℓ' = ξ + s = 640 = 5 chunks of 128 bits (m = 4 challenge chunks plus one
 * random masking chunk that hides the receiver's choice bits in x̃ and t).
 *
 * Bit layout (all bit strings are LSB-first: bit i is byte i>>3, bit i&7): a matrix *column* is a
 * 640-bit string (80 bytes), column `4·block + c` belongs to bit c of block `block`; a *row* is a
 * 256-bit string (32 bytes) with bit `col` for column `col`. Words are read as little-endian u32
 * (asserted below), which makes 128-bit slices of a column GF(2^128) elements directly.
 */

import { zeroize } from '../bytes.ts';
import { banError, TssError } from '../errors.ts';
import { taggedExpand, taggedHash, taggedHash512 } from '../hash.ts';
import type { RandomBytes } from '../random.ts';
import { TAGS } from '../tags.ts';
import { gf128Combine, gf128Table } from './gf128.ts';
import { chacha20Block, SHA256_IV, sha256Compress } from './prf.ts';
import {
  ABO_BLOCKS,
  ABO_K,
  ABO_LEAVES,
  type AboFullSeeds,
  type AboPuncturedSeeds,
  SEED_BYTES,
} from './types.ts';

/** κ: base-OT columns of the correlation (64 blocks × k = 4). */
export const OTE_KAPPA = ABO_BLOCKS * ABO_K; // 256
/** ξ = κ + 2λ_s: OTs produced per extension (λ_s = 128). */
export const OTE_BATCH = 512;
/** s: statistical parameter of the consistency check, the GF(2^s) chunk size. */
export const OTE_CHECK_BITS = 128;
/** ℓ' = ξ + s: extended length including the masking chunk. */
export const OTE_EXTENDED = OTE_BATCH + OTE_CHECK_BITS; // 640
/** Bytes of the choice vector (ξ bits). */
export const OTE_CHOICE_BYTES = OTE_BATCH / 8; // 64
/** Bytes of one matrix row (κ bits). */
export const OTE_ROW_BYTES = OTE_KAPPA / 8; // 32
/** Bytes of one random-OT pad element (one 256-bit string, later reduced to a scalar). */
export const OTE_PAD_ELEMENT_BYTES = 32;

const COL_BYTES = OTE_EXTENDED / 8; // 80
const COL_WORDS = COL_BYTES / 4; // 20
const CHECK_CHUNKS = OTE_BATCH / OTE_CHECK_BITS; // m = 4
const CHECK_WORDS = OTE_BATCH / 32; // words covered by the χ-weighted chunks: 16
const ROW_WORDS = OTE_ROW_BYTES / 4; // 8
const LEAF_COUNT = ABO_BLOCKS * ABO_LEAVES; // 1024

const U_BYTES = ABO_BLOCKS * COL_BYTES; // 5,120
const XT_BYTES = OTE_CHECK_BITS / 8; // 16
const T_BYTES = OTE_KAPPA * XT_BYTES; // 4,096
/** Receiver → sender message: U (64 × 80) ‖ x̃ (16) ‖ t (256 × 16). */
export const OTE_RECEIVER_MESSAGE_BYTES = U_BYTES + XT_BYTES + T_BYTES; // 9,232

// The matrices are processed as Uint32Array views over byte buffers; the wire bytes are defined
// little-endian, so refuse to run where a u32 view would read them differently.
if (new Uint8Array(Uint32Array.of(1).buffer)[0] !== 1) {
  throw new Error('softspoken: a little-endian host is required');
}

function paramError(msg: string): TssError {
  return new TssError('INVALID_PARAMETERS', msg, { round: 'ot-extension' });
}

function checkInstanceId(instanceId: Uint8Array): void {
  if (!(instanceId instanceof Uint8Array) || instanceId.length !== 32) {
    throw paramError('instanceId must be 32 bytes');
  }
}

/**
 * PRG(leaf) ∈ {0,1}^640 for all 1,024 leaves, bound to the instance: ChaCha20 (RFC 8439) keyed by the
 * leaf, nonce = the first 12 bytes of H(otExtPrg, instanceId), counter 0 and 1. Every signature (and
 * ordered pair: the instance id names both parties) thus expands fresh pads from the same long-term
 * leaves. Output: 1,024 × 20 words.
 */
function expandLeaves(instanceId: Uint8Array, leaves: Uint8Array): Uint32Array {
  const nonceBytes = taggedHash(TAGS.otExtPrg, instanceId).slice(0, 12);
  const nonce = new Uint32Array(nonceBytes.buffer, 0, 3);
  const keyBytes = leaves.slice(); // aligned private copy, zeroed below
  const keys = new Uint32Array(keyBytes.buffer);
  const out = new Uint32Array(LEAF_COUNT * COL_WORDS);
  const tail = new Uint32Array(16);
  for (let l = 0; l < LEAF_COUNT; l++) {
    const off = l * COL_WORDS;
    chacha20Block(keys, l * 8, 0, nonce, out, off); // words 0..15
    chacha20Block(keys, l * 8, 1, nonce, tail, 0); // words 16..19
    out[off + 16] = tail[0]!;
    out[off + 17] = tail[1]!;
    out[off + 18] = tail[2]!;
    out[off + 19] = tail[3]!;
  }
  zeroize(keyBytes, new Uint8Array(tail.buffer));
  return out;
}

/** The m = 4 Fiat-Shamir challenges χ_1..χ_4 ∈ GF(2^128), from the instance id and U (Roy §5, KOS Fig. 10). */
function challenges(instanceId: Uint8Array, u: Uint8Array): Uint32Array[] {
  const bytes = taggedExpand(CHECK_CHUNKS * XT_BYTES, TAGS.otExtCheck, instanceId, u);
  const words = new Uint32Array(bytes.buffer, bytes.byteOffset, bytes.length / 4);
  return Array.from({ length: CHECK_CHUNKS }, (_, c) => words.slice(c * 4, c * 4 + 4));
}

/** In-place transpose of a 32×32 bit block: afterwards a[r] bit c = (before) a[c] bit r. */
function transpose32(a: Uint32Array): void {
  let m = 0x0000ffff;
  for (let j = 16; j !== 0; j >>>= 1, m ^= m << j) {
    for (let k = 0; k < 32; k = (k + j + 1) & ~j) {
      const t = ((a[k]! >>> j) ^ a[k + j]!) & m;
      a[k] = a[k]! ^ (t << j);
      a[k + j] = a[k + j]! ^ t;
    }
  }
}

/** Columns (256 × 640 bits) → the first 512 rows (512 × 256 bits). */
function columnsToRows(cols: Uint32Array): Uint8Array {
  const rows = new Uint32Array(OTE_BATCH * ROW_WORDS);
  const blk = new Uint32Array(32);
  for (let rb = 0; rb < OTE_BATCH / 32; rb++) {
    for (let cb = 0; cb < ROW_WORDS; cb++) {
      for (let c = 0; c < 32; c++) blk[c] = cols[(cb * 32 + c) * COL_WORDS + rb]!;
      transpose32(blk);
      for (let r = 0; r < 32; r++) rows[(rb * 32 + r) * ROW_WORDS + cb] = blk[r]!;
    }
  }
  blk.fill(0);
  return new Uint8Array(rows.buffer);
}

/**
 * Roy's "transpose and randomise": element c of pad_j is H(instance, j, c, row_j ⊕ mask), c < width.
 * H is SHA-256 over a fixed-length 101-byte message: a 64-byte prefix P = H512(otExtHash, instanceId)
 * (binding tag and instance; its compression is computed once), then j (u32), c (u8) and the 32-byte
 * row. Fixed lengths make the encoding unambiguous; each output costs one compression. This is the
 * correlation-robust hash / random oracle on which the random-OT security rests.
 */
function hashRows(instanceId: Uint8Array, rows: Uint8Array, width: number, mask?: Uint8Array): Uint8Array {
  const w = new Uint32Array(64);
  const mid = new Uint32Array(8);
  const prefix = taggedHash512(TAGS.otExtHash, instanceId);
  const pv = new DataView(prefix.buffer, prefix.byteOffset, 64);
  const blockWords = new Uint32Array(16);
  for (let i = 0; i < 16; i++) blockWords[i] = pv.getUint32(i * 4, false);
  sha256Compress(SHA256_IV, blockWords, w, mid);

  const msg = new Uint8Array(64);
  const mv = new DataView(msg.buffer);
  msg[37] = 0x80; // padding: a 1 bit, zeros, then the message length in bits (101 × 8 = 808)
  mv.setUint32(60, 101 * 8, false);
  const digest = new Uint32Array(8);
  const padBytes = width * OTE_PAD_ELEMENT_BYTES;
  const out = new Uint8Array(OTE_BATCH * padBytes);
  const ov = new DataView(out.buffer);
  for (let j = 0; j < OTE_BATCH; j++) {
    mv.setUint32(0, j, false);
    const ro = j * OTE_ROW_BYTES;
    if (mask) for (let b = 0; b < OTE_ROW_BYTES; b++) msg[5 + b] = rows[ro + b]! ^ mask[b]!;
    else msg.set(rows.subarray(ro, ro + OTE_ROW_BYTES), 5);
    for (let i = 0; i < 16; i++) blockWords[i] = mv.getUint32(i * 4, false);
    for (let c = 0; c < width; c++) {
      blockWords[1] = (blockWords[1]! & 0x00ffffff) | (c << 24);
      sha256Compress(mid, blockWords, w, digest);
      const oo = j * padBytes + c * OTE_PAD_ELEMENT_BYTES;
      for (let i = 0; i < 8; i++) ov.setUint32(oo + i * 4, digest[i]!, false);
    }
  }
  zeroize(msg, new Uint8Array(blockWords.buffer), new Uint8Array(w.buffer), new Uint8Array(digest.buffer));
  return out;
}

export interface SoftSpokenReceiverResult {
  /** The 9,232-byte message to the OT-extension sender. */
  readonly message: Uint8Array;
  /** Secret: the 512 rows v_j (32 bytes each); feed to `softSpokenReceiverPads`. */
  readonly rows: Uint8Array;
}

/**
 * OT-extension receiver (holds all leaves). `choices` is ξ = 512 bits (64 bytes, LSB-first). Computes
 * per block u = Σ_x r_x and v = Σ_x x·r_x (Roy Fig. 7, the F_2-linear structure of F_16 is all that
 * is needed), sends U_i = u_i ⊕ (choices ‖ 128 random bits), and the check values x̃, t (KOS Fig. 10).
 */
export function softSpokenReceive(a: {
  instanceId: Uint8Array;
  seeds: AboFullSeeds;
  choices: Uint8Array;
  rng: RandomBytes;
}): SoftSpokenReceiverResult {
  checkInstanceId(a.instanceId);
  if (a.seeds?.kind !== 'abo-full' || a.seeds.leaves.length !== LEAF_COUNT * SEED_BYTES) {
    throw paramError('seeds must be AboFullSeeds of 1,024 leaves');
  }
  if (!(a.choices instanceof Uint8Array) || a.choices.length !== OTE_CHOICE_BYTES) {
    throw paramError(`choices must be ${OTE_CHOICE_BYTES} bytes`);
  }
  // x = (choices ‖ random masking chunk x̂_5): the last chunk makes x̃ uniform.
  const xBytes = new Uint8Array(COL_BYTES);
  xBytes.set(a.choices);
  const pad = a.rng(XT_BYTES);
  xBytes.set(pad, OTE_CHOICE_BYTES);
  zeroize(pad);
  const x = new Uint32Array(xBytes.buffer);

  const r = expandLeaves(a.instanceId, a.seeds.leaves);
  const message = new Uint8Array(OTE_RECEIVER_MESSAGE_BYTES);
  const U = new Uint32Array(message.buffer, 0, U_BYTES / 4);
  const V = new Uint32Array(OTE_KAPPA * COL_WORDS);

  for (let i = 0; i < ABO_BLOCKS; i++) {
    const base = i * ABO_LEAVES * COL_WORDS;
    for (let w = 0; w < COL_WORDS; w++) {
      let u = 0;
      let v0 = 0;
      let v1 = 0;
      let v2 = 0;
      let v3 = 0;
      for (let leaf = 0; leaf < ABO_LEAVES; leaf++) {
        const val = r[base + leaf * COL_WORDS + w]!;
        u ^= val;
        v0 ^= val & -(leaf & 1);
        v1 ^= val & -((leaf >>> 1) & 1);
        v2 ^= val & -((leaf >>> 2) & 1);
        v3 ^= val & -((leaf >>> 3) & 1);
      }
      U[i * COL_WORDS + w] = u ^ x[w]!;
      const col = i * ABO_K * COL_WORDS + w;
      V[col] = v0;
      V[col + COL_WORDS] = v1;
      V[col + 2 * COL_WORDS] = v2;
      V[col + 3 * COL_WORDS] = v3;
    }
  }
  r.fill(0);

  // Consistency check values: x̃ = Σ χ_c x̂_c + x̂_5, t_col = Σ χ_c v̂_col,c + v̂_col,5.
  const table = gf128Table(challenges(a.instanceId, message.subarray(0, U_BYTES)));
  const xt = new Uint32Array(message.buffer, U_BYTES, 4);
  xt.set(x.subarray(CHECK_WORDS, CHECK_WORDS + 4));
  gf128Combine(xt, 0, table, x, 0, CHECK_WORDS);
  const t = new Uint32Array(message.buffer, U_BYTES + XT_BYTES, T_BYTES / 4);
  for (let col = 0; col < OTE_KAPPA; col++) {
    t.set(V.subarray(col * COL_WORDS + CHECK_WORDS, (col + 1) * COL_WORDS), col * 4);
    gf128Combine(t, col * 4, table, V, col * COL_WORDS, CHECK_WORDS);
  }
  zeroize(xBytes);

  const rows = columnsToRows(V);
  zeroize(new Uint8Array(V.buffer));
  return { message, rows };
}

/** Receiver's random-OT outputs: pad_j = H(j, v_j), `width` 32-byte elements per OT. */
export function softSpokenReceiverPads(instanceId: Uint8Array, rows: Uint8Array, width: number): Uint8Array {
  checkInstanceId(instanceId);
  if (rows.length !== OTE_BATCH * OTE_ROW_BYTES) throw paramError('rows must be 512 × 32 bytes');
  return hashRows(instanceId, rows, width);
}

export interface SoftSpokenSenderResult {
  /** Secret: pad_j,0 = H(j, q_j), 512 × width × 32 bytes. */
  readonly pad0: Uint8Array;
  /** Secret: pad_j,1 = H(j, q_j ⊕ Δ). The receiver holds pad_j,β_j. */
  readonly pad1: Uint8Array;
}

/**
 * OT-extension sender (holds Δ and the punctured leaves). Computes w = Σ_{x≠Δ} (Δ ⊕ x)·r_x per block
 * and q = w ⊕ Δ·U (so q_col = v_col ⊕ Δ_col·x), runs the consistency check q̃_col = t_col + Δ_col·x̃
 * for all 256 columns and, only if every column passes, returns both random-OT pads.
 *
 * @throws TssError BAD_LENGTH / OT_EXTENSION_FAILED, abortKind 'ban', culprit `peer`: a failed check
 * may already depend on Δ, so the counterparty must never get another try on these seeds.
 */
export function softSpokenSend(a: {
  instanceId: Uint8Array;
  seeds: AboPuncturedSeeds;
  message: Uint8Array;
  width: number;
  peer: string;
}): SoftSpokenSenderResult {
  checkInstanceId(a.instanceId);
  const { seeds } = a;
  if (
    seeds?.kind !== 'abo-punctured' ||
    seeds.leaves.length !== LEAF_COUNT * SEED_BYTES ||
    seeds.delta.length !== ABO_BLOCKS
  ) {
    throw paramError('seeds must be AboPuncturedSeeds of 64 blocks');
  }
  let deltaOr = 0;
  for (const d of seeds.delta) deltaOr |= d;
  if (deltaOr >>> ABO_K !== 0) throw paramError('Δ values must be below 16');
  if (!(a.message instanceof Uint8Array)) {
    throw banError('DECODE_FAILED', a.peer, 'OT-extension message must be bytes', 'ot-extension');
  }
  if (a.message.length !== OTE_RECEIVER_MESSAGE_BYTES) {
    throw banError(
      'BAD_LENGTH',
      a.peer,
      `OT-extension message must be ${OTE_RECEIVER_MESSAGE_BYTES} bytes, got ${a.message.length}`,
      'ot-extension',
    );
  }
  // Copy into an aligned buffer of our own (the caller's may be a view at any offset).
  const msg = a.message.slice();
  const U = new Uint32Array(msg.buffer, 0, U_BYTES / 4);
  const xt = new Uint32Array(msg.buffer, U_BYTES, 4);
  const t = new Uint32Array(msg.buffer, U_BYTES + XT_BYTES, T_BYTES / 4);

  // All 16 leaves are expanded, the zero-filled one at Δ included, so the work and memory access
  // pattern do not depend on Δ; that leaf's stream gets coefficient (Δ ⊕ Δ)_c = 0 below.
  const r = expandLeaves(a.instanceId, seeds.leaves);
  const Q = new Uint32Array(OTE_KAPPA * COL_WORDS);
  for (let i = 0; i < ABO_BLOCKS; i++) {
    const d = seeds.delta[i]!;
    const base = i * ABO_LEAVES * COL_WORDS;
    const md0 = -(d & 1);
    const md1 = -((d >>> 1) & 1);
    const md2 = -((d >>> 2) & 1);
    const md3 = -((d >>> 3) & 1);
    for (let w = 0; w < COL_WORDS; w++) {
      let w0 = 0;
      let w1 = 0;
      let w2 = 0;
      let w3 = 0;
      for (let leaf = 0; leaf < ABO_LEAVES; leaf++) {
        const val = r[base + leaf * COL_WORDS + w]!;
        const e = d ^ leaf;
        w0 ^= val & -(e & 1);
        w1 ^= val & -((e >>> 1) & 1);
        w2 ^= val & -((e >>> 2) & 1);
        w3 ^= val & -((e >>> 3) & 1);
      }
      const u = U[i * COL_WORDS + w]!;
      const col = i * ABO_K * COL_WORDS + w;
      Q[col] = w0 ^ (md0 & u);
      Q[col + COL_WORDS] = w1 ^ (md1 & u);
      Q[col + 2 * COL_WORDS] = w2 ^ (md2 & u);
      Q[col + 3 * COL_WORDS] = w3 ^ (md3 & u);
    }
  }
  r.fill(0);

  // Check every column before deciding (no early exit): q̃_col ⊕ t_col ⊕ Δ_col·x̃ must be zero.
  const table = gf128Table(challenges(a.instanceId, msg.subarray(0, U_BYTES)));
  const acc = new Uint32Array(4);
  let diff = 0;
  for (let col = 0; col < OTE_KAPPA; col++) {
    acc.set(Q.subarray(col * COL_WORDS + CHECK_WORDS, (col + 1) * COL_WORDS));
    gf128Combine(acc, 0, table, Q, col * COL_WORDS, CHECK_WORDS);
    const m = -((seeds.delta[col >>> 2]! >>> (col & 3)) & 1);
    for (let k = 0; k < 4; k++) diff |= acc[k]! ^ t[col * 4 + k]! ^ (m & xt[k]!);
  }
  zeroize(new Uint8Array(acc.buffer));
  if (diff !== 0) {
    zeroize(new Uint8Array(Q.buffer));
    throw banError('OT_EXTENSION_FAILED', a.peer, 'SoftSpoken consistency check failed', 'ot-extension');
  }

  const rows = columnsToRows(Q);
  zeroize(new Uint8Array(Q.buffer));
  const deltaRow = new Uint8Array(OTE_ROW_BYTES);
  for (let b = 0; b < OTE_ROW_BYTES; b++) deltaRow[b] = seeds.delta[2 * b]! | (seeds.delta[2 * b + 1]! << 4);
  const pad0 = hashRows(a.instanceId, rows, a.width);
  const pad1 = hashRows(a.instanceId, rows, a.width, deltaRow);
  zeroize(rows, deltaRow);
  return { pad0, pad1 };
}
