/**
 * Batched endemic 1-of-2 random OT over ristretto255: Masny–Rindal, "Endemic Oblivious Transfer"
 * (CCS'19, ePrint 2019/706), the two-message OT from key agreement (Fig. 8), instantiated with
 * Diffie–Hellman in ristretto255 and a random oracle H onto the group (PROTOCOL.md 3.4).
 *
 * For each OT index i (one of `count`, 256 per ordered pair):
 *   receiver (choice c):  a ← Z_ℓ*, r_{1−c} ← uniform group element,
 *                          r_c := a·G − H(sid, i, c, r_{1−c});             sends (r_0, r_1)
 *   sender:               M_j := r_j + H(sid, i, j, r_{1−j})   (j = 0, 1),
 *                          b ← Z_ℓ*, B := b·G;                               sends B
 *                          ρ_j := H′(sid, i, j, r_0, r_1, B, b·M_j)
 *   receiver:             ρ_c := H′(sid, i, c, r_0, r_1, B, a·B)            (M_c = a·G)
 *
 * One fresh b per OT, as in the paper: nothing is shared between OT indices except the session id.
 * H is the RFC 9496 element derivation (two Elligator maps) applied to 64 bytes of tagged SHA-256
 * output, so it is a random oracle onto the prime-order group whose outputs have unknown discrete
 * logs; the unused r_{1−c} is a genuinely uniform group element (Elligator of fresh random bytes),
 * never raw random bytes ("Devious Transfer", PROTOCOL.md 8.2).
 *
 * Side channels: secret scalars (a, b) only meet constant-time `multiply`; the choice bit only
 * enters as hash input bytes and through a masked byte swap, never through a branch.
 */
import { ristretto255, ristretto255_hasher } from '@noble/curves/ed25519.js';
import { bytesToNumberLE } from '@noble/curves/utils.js';
import { u32be, zeroize } from '../bytes.ts';
import { banError, TssError } from '../errors.ts';
import { taggedExpand, taggedHash } from '../hash.ts';
import type { RandomBytes } from '../random.ts';
import { TAGS } from '../tags.ts';

type RPoint = InstanceType<typeof ristretto255.Point>;
const Point = ristretto255.Point;
const Fn = Point.Fn;

/** Canonical ristretto255 encoding length. */
export const POINT_BYTES = 32;
/** Output key length of each base OT (κ = 256 bits). */
export const BASE_OT_KEY_BYTES = 32;

/**
 * A private copy of the generator with a width-8 fixed-base table. Building it costs ~35 ms once per
 * process; afterwards every a·G / b·G is a table walk (constant time: one add per window whatever the
 * digit). Using a copy rather than `Point.BASE` keeps noble from blinding the scalar with 128 extra
 * bits, which would make each fixed-base multiply twice as slow for no gain here.
 */
let generatorTable: RPoint | undefined;
function generator(): RPoint {
  if (generatorTable === undefined) {
    generatorTable = Point.BASE.add(Point.ZERO);
    generatorTable.precompute(8, false);
  }
  return generatorTable;
}

/** Uniform non-zero scalar from 64 random bytes (bias < 2^-250). Returned as 32 LE bytes. */
function randomScalarBytes(rng: RandomBytes): Uint8Array {
  for (;;) {
    const wide = rng(64);
    const k = Fn.create(bytesToNumberLE(wide));
    zeroize(wide);
    if (k !== 0n) return Fn.toBytes(k);
  }
}

function scalarFromBytes(b: Uint8Array): bigint {
  return Fn.fromBytes(b);
}

// Public branch labels j = 0, 1 as hash fields. (The receiver's secret c gets its own 1-byte array
// filled by value, so no table lookup is indexed by a secret.)
const U8 = [Uint8Array.of(0), Uint8Array.of(1)] as const;

/** H(sid, i, j, r): random oracle onto ristretto255. `j` is passed as bytes so no branch selects it. */
function hashToGroup(sid: Uint8Array, iBytes: Uint8Array, j: Uint8Array, r: Uint8Array): RPoint {
  const uniform = taggedExpand(64, TAGS.baseOtHashToGroup, sid, iBytes, j, r);
  return ristretto255_hasher.deriveToCurve!(uniform);
}

/** H′(sid, i, j, r_0, r_1, B, K): the OT output key, bound to the whole per-index transcript. */
function deriveKey(
  sid: Uint8Array,
  iBytes: Uint8Array,
  j: Uint8Array,
  r0: Uint8Array,
  r1: Uint8Array,
  B: Uint8Array,
  K: Uint8Array,
): Uint8Array {
  return taggedHash(TAGS.baseOtKey, sid, iBytes, j, r0, r1, B, K);
}

/** Constant-time conditional swap of two equal-length byte arrays (swap iff bit = 1). */
export function ctSwap(bit: number, a: Uint8Array, b: Uint8Array): void {
  const mask = -(bit & 1) & 0xff;
  for (let k = 0; k < a.length; k++) {
    const t = (a[k]! ^ b[k]!) & mask;
    a[k] = a[k]! ^ t;
    b[k] = b[k]! ^ t;
  }
}

/** Bit i of a packed little-endian bit vector. */
export function getBit(bits: Uint8Array, i: number): number {
  return (bits[i >>> 3]! >>> (i & 7)) & 1;
}

function isZero32(b: Uint8Array, off: number): boolean {
  let acc = 0;
  for (let k = 0; k < POINT_BYTES; k++) acc |= b[off + k]!;
  return acc === 0;
}

function equal32(b: Uint8Array, x: number, y: number): boolean {
  let acc = 0;
  for (let k = 0; k < POINT_BYTES; k++) acc |= b[x + k]! ^ b[y + k]!;
  return acc === 0;
}

/** Decode one received point: canonical ristretto255 bytes and not the identity, else ban `peer`. */
function decodePoint(bytes: Uint8Array, off: number, peer: string, what: string): RPoint {
  // The identity encodes as 32 zero bytes and nothing else does (encodings are canonical).
  if (isZero32(bytes, off)) throw banError('INVALID_POINT', peer, `${what} is the identity`, 'base-ot');
  try {
    return Point.fromBytes(bytes.subarray(off, off + POINT_BYTES));
  } catch {
    throw banError('INVALID_POINT', peer, `${what} is not a canonical ristretto255 encoding`, 'base-ot');
  }
}

function checkSid(sid: Uint8Array): void {
  if (!(sid instanceof Uint8Array) || sid.length !== 32)
    throw new TssError('INVALID_PARAMETERS', 'base-OT session id must be 32 bytes');
}

function checkCount(count: number): void {
  if (!Number.isInteger(count) || count <= 0 || count % 8 !== 0)
    throw new TssError('INVALID_PARAMETERS', 'base-OT count must be a positive multiple of 8');
}

/** Receiver's secret state between its two steps. */
export interface BaseOtReceiverState {
  readonly count: number;
  /** Packed choice bits, bit i = (choiceBits[i>>3] >> (i&7)) & 1. Secret. */
  readonly choiceBits: Uint8Array;
  /** a_i as 32-byte little-endian scalars, count × 32 bytes. Secret. */
  readonly scalars: Uint8Array;
  /** The message sent, count × (r_0 ‖ r_1); public, kept because the keys hash the transcript. */
  readonly message: Uint8Array;
  destroy(): void;
}

export interface BaseOtSenderOutput {
  /** The sender's reply: count × B_i (32 bytes each). */
  readonly message: Uint8Array;
  /** ρ_0 of every OT, count × 32 bytes. Secret. */
  readonly keys0: Uint8Array;
  /** ρ_1 of every OT, count × 32 bytes. Secret. */
  readonly keys1: Uint8Array;
}

export interface BaseOtReceiverOutput {
  /** Packed choice bits (a copy). Secret. */
  readonly choiceBits: Uint8Array;
  /** ρ_{c_i} of every OT, count × 32 bytes. Secret. */
  readonly keys: Uint8Array;
}

export function baseOtReceiverMessageBytes(count: number): number {
  return count * 2 * POINT_BYTES;
}

export function baseOtSenderMessageBytes(count: number): number {
  return count * POINT_BYTES;
}

/** Receiver, step 1: pick random choice bits and produce (r_0, r_1) for every OT. */
export function baseOtReceiverStart(sid: Uint8Array, rng: RandomBytes, count: number): BaseOtReceiverState {
  checkSid(sid);
  checkCount(count);
  const G = generator();
  const choiceBits = rng(count / 8);
  const scalars = new Uint8Array(count * 32);
  const message = new Uint8Array(baseOtReceiverMessageBytes(count));
  for (let i = 0; i < count; i++) {
    const c = getBit(choiceBits, i);
    const cByte = Uint8Array.of(c);
    const iBytes = u32be(i);
    const aBytes = randomScalarBytes(rng);
    scalars.set(aBytes, i * 32);
    const A = G.multiply(scalarFromBytes(aBytes));
    zeroize(aBytes);
    // r_{1−c}: a uniform group element from fresh randomness (Elligator of 64 uniform bytes).
    const seed = rng(64);
    const other = ristretto255_hasher.deriveToCurve!(seed).toBytes();
    zeroize(seed);
    const chosen = A.subtract(hashToGroup(sid, iBytes, cByte, other)).toBytes();
    // (chosen, other) is (r_0, r_1) when c = 0 and must be swapped when c = 1.
    ctSwap(c, chosen, other);
    cByte[0] = 0;
    message.set(chosen, i * 64);
    message.set(other, i * 64 + 32);
  }
  return {
    count,
    choiceBits,
    scalars,
    message,
    destroy() {
      zeroize(choiceBits, scalars);
    },
  };
}

/**
 * Sender: validate the receiver's message and answer with B_i; output both keys of every OT.
 * Every defect in the received bytes bans `peer`.
 */
export function baseOtSenderRespond(
  sid: Uint8Array,
  receiverMessage: Uint8Array,
  rng: RandomBytes,
  peer: string,
  count: number,
): BaseOtSenderOutput {
  checkSid(sid);
  checkCount(count);
  if (
    !(receiverMessage instanceof Uint8Array) ||
    receiverMessage.length !== baseOtReceiverMessageBytes(count)
  )
    throw banError('BAD_LENGTH', peer, 'base-OT receiver message has the wrong length', 'base-ot');
  const G = generator();
  const message = new Uint8Array(baseOtSenderMessageBytes(count));
  const keys0 = new Uint8Array(count * BASE_OT_KEY_BYTES);
  const keys1 = new Uint8Array(count * BASE_OT_KEY_BYTES);
  // Pass 1, public work only: validate every received point and compute M_0, M_1 for every OT, so
  // a malformed message is rejected before any secret is used.
  const M: RPoint[] = new Array(2 * count);
  for (let i = 0; i < count; i++) {
    const off = i * 64;
    const iBytes = u32be(i);
    const R0 = decodePoint(receiverMessage, off, peer, `r_0[${i}]`);
    const R1 = decodePoint(receiverMessage, off + 32, peer, `r_1[${i}]`);
    // Equal encodings ⇔ equal points (canonical). r_0 = r_1 is never produced honestly.
    if (equal32(receiverMessage, off, off + 32))
      throw banError('BASE_OT_FAILED', peer, `r_0[${i}] equals r_1[${i}]`, 'base-ot');
    const M0 = R0.add(hashToGroup(sid, iBytes, U8[0], receiverMessage.subarray(off + 32, off + 64)));
    const M1 = R1.add(hashToGroup(sid, iBytes, U8[1], receiverMessage.subarray(off, off + 32)));
    // An honest receiver has M_c = a·G with a ≠ 0; an identity M can only be crafted.
    if (M0.is0() || M1.is0()) throw banError('BASE_OT_FAILED', peer, `M[${i}] is the identity`, 'base-ot');
    M[2 * i] = M0;
    M[2 * i + 1] = M1;
  }
  // Pass 2: fresh b per OT, B = b·G, and both keys.
  for (let i = 0; i < count; i++) {
    const off = i * 64;
    const iBytes = u32be(i);
    const r0 = receiverMessage.subarray(off, off + 32);
    const r1 = receiverMessage.subarray(off + 32, off + 64);
    const bBytes = randomScalarBytes(rng);
    const b = scalarFromBytes(bBytes);
    zeroize(bBytes);
    const B = G.multiply(b).toBytes();
    message.set(B, i * 32);
    const K0 = M[2 * i]!.multiply(b).toBytes();
    const K1 = M[2 * i + 1]!.multiply(b).toBytes();
    keys0.set(deriveKey(sid, iBytes, U8[0], r0, r1, B, K0), i * 32);
    keys1.set(deriveKey(sid, iBytes, U8[1], r0, r1, B, K1), i * 32);
    zeroize(K0, K1);
  }
  return { message, keys0, keys1 };
}

/** Receiver, step 2: validate every B_i and derive ρ_{c_i}. Does not destroy `state`. */
export function baseOtReceiverFinish(
  sid: Uint8Array,
  state: BaseOtReceiverState,
  senderMessage: Uint8Array,
  peer: string,
): BaseOtReceiverOutput {
  checkSid(sid);
  const { count } = state;
  if (!(senderMessage instanceof Uint8Array) || senderMessage.length !== baseOtSenderMessageBytes(count))
    throw banError('BAD_LENGTH', peer, 'base-OT sender message has the wrong length', 'base-ot');
  // Validate every B_i before touching the secret scalars.
  const Bs: RPoint[] = new Array(count);
  for (let i = 0; i < count; i++) Bs[i] = decodePoint(senderMessage, i * 32, peer, `B[${i}]`);
  const keys = new Uint8Array(count * BASE_OT_KEY_BYTES);
  const cByte = new Uint8Array(1);
  const m = state.message;
  for (let i = 0; i < count; i++) {
    const a = scalarFromBytes(state.scalars.subarray(i * 32, i * 32 + 32));
    const K = Bs[i]!.multiply(a).toBytes();
    cByte[0] = getBit(state.choiceBits, i);
    const key = deriveKey(
      sid,
      u32be(i),
      cByte,
      m.subarray(i * 64, i * 64 + 32),
      m.subarray(i * 64 + 32, i * 64 + 64),
      senderMessage.subarray(i * 32, i * 32 + 32),
      K,
    );
    keys.set(key, i * 32);
    zeroize(K, key);
  }
  cByte[0] = 0;
  return { choiceBits: state.choiceBits.slice(), keys };
}
