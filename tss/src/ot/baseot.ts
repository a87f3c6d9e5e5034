/**
 * Batched endemic 1-of-2 random OT over ristretto255: Masny–Rindal, "Endemic Oblivious Transfer"
 * (CCS'19, ePrint 2019/706), the two-message OT from key agreement (Fig. 8), instantiated with
 * Diffie–Hellman in ristretto255 and a random oracle H onto the group, with the sender's
 * key-agreement message shared by the whole batch (docs/PROTOCOL.md "Base OT v2").
 *
 * For each OT index i (one of `count`, 256 per ordered pair):
 *   receiver (choice c):  a_i ← Z_ℓ*, r_{1−c} ← uniform group element,
 *                          r_c := a_i·G − H(sid, i, c, r_{1−c});           sends (r_0, r_1)
 * once per batch, sender: β ← Z_ℓ*, B := β·G;                                sends B
 *                          T := H_T(sid, all (r_0, r_1), B)   (the whole transcript)
 *   sender, per index:    M_j := r_j + H(sid, i, j, r_{1−j})   (j = 0, 1)
 *                          ρ_j := H′(sid, T, i, j, r_0, r_1, enc([2]·β·M_j))
 *   receiver, per index:  ρ_c := H′(sid, T, i, c, r_0, r_1, enc([2]·a_i·B))   (M_c = a_i·G)
 * The DH value K enters the key as enc([2]K) rather than enc(K): an injective function of the same
 * shared element, chosen because [2]K can be encoded in a batch with one shared inversion (see
 * `doubleAndEncodeBatch`). For the same reason r_{1−c} = [2]·(uniform) is generated as a double;
 * it is still uniform.
 *
 * One B for the batch (as libOTe's Masny–Rindal sender does): every key is still bound to its own
 * index i and, through T, to the whole transcript, so each OT's key is an independent random-oracle
 * output; the receiver's a_i·B all run against one fixed point with a precomputed table. H is the
 * RFC 9496 element derivation (two Elligator maps) applied to 64 bytes of tagged SHA-256 output, so
 * it is a random oracle onto the prime-order group whose outputs have unknown discrete logs; the
 * unused r_{1−c} is a genuinely uniform group element (Elligator of fresh random bytes), never raw
 * random bytes ("Devious Transfer", PROTOCOL.md 8.2).
 *
 * Side channels: secret scalars only meet constant-time multiplies, one addition per window whatever
 * the digit: a_i the cached-table walks of `fixedbase.ts` (of G and of B), β the same-scalar fixed-window walk of
 * `samescalar.ts` (β recoded once for the 512 M_j); the choice bit only enters as hash input bytes
 * and through a masked byte swap, never through a branch.
 */
import { ed25519, ristretto255 } from '@noble/curves/ed25519.js';
import { bytesToNumberLE, numberToBytesLE } from '@noble/curves/utils.js';
import { u32be, zeroize } from '../bytes.ts';
import { banError, TssError } from '../errors.ts';
import { taggedExpand, taggedHash } from '../hash.ts';
import type { RandomBytes } from '../random.ts';
import { TAGS } from '../tags.ts';
import { addExtended, type Extended, negateExtended } from './edwards25519.ts';
import { deriveToEdwards } from './elligator.ts';
import { FixedBaseTable } from './fixedbase.ts';
import { multiplySameScalar } from './samescalar.ts';

type RPoint = InstanceType<typeof ristretto255.Point>;
type EPoint = InstanceType<typeof ed25519.Point>;
const Point = ristretto255.Point;
const Fn = Point.Fn;
const Fp = Point.Fp;

/** Canonical ristretto255 encoding length. */
export const POINT_BYTES = 32;
/** Output key length of each base OT (κ = 256 bits). */
export const BASE_OT_KEY_BYTES = 32;

/**
 * The generator's width-8 fixed-base table (`fixedbase.ts`). Building it costs tens of ms once per
 * process; afterwards every a·G / β·G is a table walk (constant time: one addition per window
 * whatever the digit).
 */
let generatorTable: FixedBaseTable | undefined;
function generator(): FixedBaseTable {
  if (generatorTable === undefined) generatorTable = new FixedBaseTable(ed25519.Point.BASE, 8);
  return generatorTable;
}

// ---------------------------------------------------------------------------------------------
// Batched "double and encode" (RFC 9496 encoding of [2]P without a square root per point; the
// formula of curve25519-dalek's `double_and_compress_batch`). A plain ristretto encode costs one
// inverse square root (~250 field squarings) per point; encoding [2]P needs only an inversion,
// which Montgomery's trick shares across the whole batch. We use it wherever the protocol may as
// well publish or hash [2]P: the unused r_{1−c} (2·uniform is uniform), B = (2b)·G, and the DH
// values (both sides hash enc([2]K) for the same K). r_c = a·G − H(…) is encoded normally.

const EDWARDS_D = ed25519.Point.CURVE().d;
// RFC 9496 §4.1 constants.
const SQRT_M1 = 19681161376707505956807079304988542015446066515923890162744021073123829784752n;
const INVSQRT_A_MINUS_D = 54469307008909316920995813868745141605393597292927456921205312896311721017578n;

/**
 * The Edwards representative inside a noble ristretto point. noble 2.4 keeps it in the protected
 * field `ep`; read it through Reflect and check its type, so a layout change fails loudly (and the
 * tests comparing against `toBytes()` catch any mistake).
 */
export function edwardsOf(P: RPoint): EPoint {
  const ep: unknown = Reflect.get(P, 'ep');
  if (!(ep instanceof ed25519.Point)) throw new Error('unsupported @noble/curves ristretto255 layout');
  return ep;
}

/** Branch-free select on field elements: c = 1 → a, c = 0 → b. */
function sel(c: bigint, a: bigint, b: bigint): bigint {
  const m = -c; // 0n or -1n (all ones)
  return (a & m) | (b & ~m);
}

function isOddN(x: bigint): bigint {
  return x & 1n;
}

/** enc([2]P) for every P of `points` (none may be the identity). */
export function doubleAndEncodeBatch(points: readonly RPoint[]): Uint8Array[] {
  return doubleAndEncodeExtended(points.map(edwardsOf));
}

/**
 * enc([2]P) for ristretto255 elements given by Edwards representatives in canonical extended
 * coordinates (none may represent the identity).
 */
function doubleAndEncodeExtended(points: readonly Extended[]): Uint8Array[] {
  const n = points.length;
  const e: bigint[] = new Array(n);
  const f: bigint[] = new Array(n);
  const g: bigint[] = new Array(n);
  const h: bigint[] = new Array(n);
  const eg: bigint[] = new Array(n);
  const fh: bigint[] = new Array(n);
  const prod: bigint[] = new Array(n);
  for (let i = 0; i < n; i++) {
    const { X, Y, Z, T } = points[i]!;
    const zz = Fp.sqr(Z);
    const dtt = Fp.mul(EDWARDS_D, Fp.sqr(T));
    e[i] = Fp.mul(X, Fp.add(Y, Y)); // 2XY
    f[i] = Fp.add(zz, dtt); // Z² + dT²
    g[i] = Fp.add(Fp.sqr(Y), Fp.sqr(X)); // Y² − aX², a = −1
    h[i] = Fp.sub(zz, dtt); // Z² − dT²
    eg[i] = Fp.mul(e[i]!, g[i]!);
    fh[i] = Fp.mul(f[i]!, h[i]!);
    prod[i] = Fp.mul(eg[i]!, fh[i]!);
    // Zero only for torsion representatives, i.e. the identity element: never a valid input here.
    if (prod[i] === 0n) throw new Error('doubleAndEncodeBatch: identity point');
  }
  const inv = Fp.invertBatch(prod);
  const out: Uint8Array[] = new Array(n);
  for (let i = 0; i < n; i++) {
    const zInv = Fp.mul(eg[i]!, inv[i]!);
    const tInv = Fp.mul(fh[i]!, inv[i]!);
    const neg1 = isOddN(Fp.mul(eg[i]!, zInv));
    const e1 = sel(neg1, g[i]!, e[i]!);
    let g1 = sel(neg1, Fp.neg(e[i]!), g[i]!);
    const h1 = sel(neg1, Fp.mul(f[i]!, SQRT_M1), h[i]!);
    const magic = sel(neg1, SQRT_M1, INVSQRT_A_MINUS_D);
    const neg2 = isOddN(Fp.mul(Fp.mul(h1, e1), zInv));
    g1 = sel(neg2, Fp.neg(g1), g1);
    let sv = Fp.mul(Fp.sub(h1, g1), Fp.mul(magic, Fp.mul(g1, tInv)));
    sv = sel(isOddN(sv), Fp.neg(sv), sv);
    out[i] = numberToBytesLE(sv, 32);
  }
  return out;
}

/**
 * Window of the table the receiver builds for the sender's B: 44 windows × 32 points (≈1,400 point
 * additions, built once per batch) against 256 multiplies by it; wider tables cost more to build
 * than they save at this batch size.
 */
const BATCH_KEY_WINDOW = 6;

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

/**
 * H(sid, i, j, r): random oracle onto ristretto255 (RFC 9496 element derivation, `elligator.ts`),
 * as an Edwards representative. `j` is passed as bytes so no branch selects it.
 */
function hashToGroup(sid: Uint8Array, iBytes: Uint8Array, j: Uint8Array, r: Uint8Array): Extended {
  return deriveToEdwards(taggedExpand(64, TAGS.baseOtHashToGroup, sid, iBytes, j, r));
}

/** Whether a representative (canonical coordinates) is the ristretto255 identity (X = 0 or Y = 0). */
function isIdentity(e: Extended): boolean {
  return e.X === 0n || e.Y === 0n;
}

/** The canonical ristretto255 encoding of the element a representative stands for. */
function encodeExtended(e: Extended): Uint8Array {
  return new Point(new ed25519.Point(e.X, e.Y, e.Z, e.T)).toBytes();
}

/**
 * T = H_T(sid, receiver message, B): the whole transcript of the batch, hashed once and bound into
 * every key, so a change to any index's points or to B changes every key of the batch.
 */
function transcriptHash(sid: Uint8Array, receiverMessage: Uint8Array, B: Uint8Array): Uint8Array {
  return taggedHash(TAGS.baseOtTranscript, sid, receiverMessage, B);
}

/** H′(sid, T, i, j, r_0, r_1, K): the OT output key, bound to the index and the whole transcript. */
function deriveKey(
  sid: Uint8Array,
  T: Uint8Array,
  iBytes: Uint8Array,
  j: Uint8Array,
  r0: Uint8Array,
  r1: Uint8Array,
  K: Uint8Array,
): Uint8Array {
  return taggedHash(TAGS.baseOtKey, sid, T, iBytes, j, r0, r1, K);
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
  return equal32Across(b, x, b, y);
}

function equal32Across(a: Uint8Array, x: number, b: Uint8Array, y: number): boolean {
  let acc = 0;
  for (let k = 0; k < POINT_BYTES; k++) acc |= a[x + k]! ^ b[y + k]!;
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
  /** The sender's reply: B, its one key-agreement message for the batch (32 bytes). */
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

/** The sender's message is one point whatever the batch size. */
export function baseOtSenderMessageBytes(_count: number): number {
  return POINT_BYTES;
}

/** Receiver, step 1: pick random choice bits and produce (r_0, r_1) for every OT. */
export function baseOtReceiverStart(sid: Uint8Array, rng: RandomBytes, count: number): BaseOtReceiverState {
  checkSid(sid);
  checkCount(count);
  const G = generator();
  const choiceBits = rng(count / 8);
  const scalars = new Uint8Array(count * 32);
  const message = new Uint8Array(baseOtReceiverMessageBytes(count));
  const A: Extended[] = new Array(count);
  const half: Extended[] = new Array(count);
  for (let i = 0; i < count; i++) {
    const aBytes = randomScalarBytes(rng);
    scalars.set(aBytes, i * 32);
    A[i] = G.multiply(scalarFromBytes(aBytes));
    zeroize(aBytes);
    // r_{1−c} = [2]·(Elligator² of 64 fresh random bytes): a uniform group element.
    const seed = rng(64);
    half[i] = deriveToEdwards(seed);
    zeroize(seed);
  }
  const others = doubleAndEncodeExtended(half);
  for (let i = 0; i < count; i++) {
    const c = getBit(choiceBits, i);
    const cByte = Uint8Array.of(c);
    const other = others[i]!;
    const chosen = encodeExtended(
      addExtended(A[i]!, negateExtended(hashToGroup(sid, u32be(i), cByte, other))),
    );
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
  const keys0 = new Uint8Array(count * BASE_OT_KEY_BYTES);
  const keys1 = new Uint8Array(count * BASE_OT_KEY_BYTES);
  // Pass 1, public work only: validate every received point and compute M_0, M_1 for every OT, so
  // a malformed message is rejected before any secret is used.
  const M: Extended[] = new Array(2 * count);
  for (let i = 0; i < count; i++) {
    const off = i * 64;
    const iBytes = u32be(i);
    const R0 = decodePoint(receiverMessage, off, peer, `r_0[${i}]`);
    const R1 = decodePoint(receiverMessage, off + 32, peer, `r_1[${i}]`);
    // Equal encodings ⇔ equal points (canonical). r_0 = r_1 is never produced honestly.
    if (equal32(receiverMessage, off, off + 32))
      throw banError('BASE_OT_FAILED', peer, `r_0[${i}] equals r_1[${i}]`, 'base-ot');
    const M0 = addExtended(
      edwardsOf(R0),
      hashToGroup(sid, iBytes, U8[0], receiverMessage.subarray(off + 32, off + 64)),
    );
    const M1 = addExtended(
      edwardsOf(R1),
      hashToGroup(sid, iBytes, U8[1], receiverMessage.subarray(off, off + 32)),
    );
    // An honest receiver has M_c = a·G with a ≠ 0; an identity M can only be crafted.
    if (isIdentity(M0) || isIdentity(M1))
      throw banError('BASE_OT_FAILED', peer, `M[${i}] is the identity`, 'base-ot');
    M[2 * i] = M0;
    M[2 * i + 1] = M1;
  }
  // Pass 2: one secret β for the batch, B = β·G published once; K_j = β·M_j for every OT.
  const betaBytes = randomScalarBytes(rng);
  const beta = scalarFromBytes(betaBytes);
  zeroize(betaBytes);
  const B = encodeExtended(G.multiply(beta));
  // One constant-time walk per M_j with β recoded once for the batch (`samescalar.ts`).
  const Kenc = doubleAndEncodeExtended(multiplySameScalar(M, beta));
  const T = transcriptHash(sid, receiverMessage, B);
  for (let i = 0; i < count; i++) {
    const off = i * 64;
    const iBytes = u32be(i);
    const r0 = receiverMessage.subarray(off, off + 32);
    const r1 = receiverMessage.subarray(off + 32, off + 64);
    keys0.set(deriveKey(sid, T, iBytes, U8[0], r0, r1, Kenc[2 * i]!), i * 32);
    keys1.set(deriveKey(sid, T, iBytes, U8[1], r0, r1, Kenc[2 * i + 1]!), i * 32);
  }
  zeroize(...Kenc);
  return { message: B, keys0, keys1 };
}

/**
 * Receiver, step 2: validate B and derive ρ_{c_i}. Does not destroy `state`. B must be a canonical
 * encoding of a point other than the identity and other than any point of the receiver's own
 * message (a reflected point is never an honest β·G; refusing it costs 512 byte comparisons).
 */
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
  const m = state.message;
  // Validate B before touching the secret scalars.
  const B = decodePoint(senderMessage, 0, peer, 'B');
  for (let k = 0; k < 2 * count; k++)
    if (equal32Across(senderMessage, 0, m, k * 32))
      throw banError('BASE_OT_FAILED', peer, `B repeats the receiver's point ${k}`, 'base-ot');
  // A fixed-base table for B (public), so each a_i·B is a constant-time table walk.
  const table = new FixedBaseTable(edwardsOf(B), BATCH_KEY_WINDOW);
  const K: Extended[] = new Array(count);
  for (let i = 0; i < count; i++)
    K[i] = table.multiply(scalarFromBytes(state.scalars.subarray(i * 32, i * 32 + 32)));
  const Kenc = doubleAndEncodeExtended(K);
  const T = transcriptHash(sid, m, senderMessage);
  const keys = new Uint8Array(count * BASE_OT_KEY_BYTES);
  const cByte = new Uint8Array(1);
  for (let i = 0; i < count; i++) {
    cByte[0] = getBit(state.choiceBits, i);
    const key = deriveKey(
      sid,
      T,
      u32be(i),
      cByte,
      m.subarray(i * 64, i * 64 + 32),
      m.subarray(i * 64 + 32, i * 64 + 64),
      Kenc[i]!,
    );
    keys.set(key, i * 32);
    zeroize(key);
  }
  cByte[0] = 0;
  zeroize(...Kenc);
  return { choiceBits: state.choiceBits.slice(), keys };
}
