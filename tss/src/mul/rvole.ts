/**
 * Two-party random vector OLE of DKLs23 (Doerner–Kondi–Lee–shelat, ePrint 2023/765), Protocol 5.2
 * ("OT-based random vector OLE"), with L = 2 sender inputs and ρ = 1 random check column, on top of
 * the SoftSpokenOT random OTs of `../ot/softspoken.ts` (DKLs23 Functionality 5.1, ξ = κ + 2λ_s = 512
 * OTs of width L + ρ = 3 scalars). PROTOCOL.md §4 rounds 1–3 describe where the three steps run.
 *
 *  Round 1 (receiver, input b): encode b as ξ choice bits β with ⟨g, β⟩ = b, where the gadget vector
 *    g is (2^0, …, 2^255, g_256, …, g_511) and the last 256 entries are pseudo-random from the
 *    instance id (the DKLs19 encoding: β_256..511 are uniformly random and the low 256 bits are the
 *    binary expansion of b − Σ_{j≥256} g_j β_j, so any few β_j a selective-failure attack could
 *    probe say nothing about b). Run the OT-extension receiver on β.
 *  Round 2 (sender, inputs a = (a_1, a_2)): random OTs give α_{0,j}, α_{1,j} ∈ Z_n^3; send
 *    ã_j = α_{0,j} − α_{1,j} + (a_1, a_2, η̂), θ = H(ã), η = η̂ + Σ θ_i a_i and
 *    μ = H({α_{0,j,3} + Σ_i θ_i α_{0,j,i}}_j); output c_i = −Σ_j g_j α_{0,j,i}.
 *  Round 3 (receiver): d̃_j = γ_j + β_j ã_j (= α_{0,j} + β_j (a, η̂)); check
 *    μ = H({d̃_{j,3} + Σ_i θ_i d̃_{j,i} − β_j η}_j) and output d_i = Σ_j g_j d̃_{j,i}.
 *  Then c_i + d_i = Σ_j g_j β_j a_i = b · a_i.
 *
 * Every failure here may reveal bits of a fixed correlation (β through the OT, Δ through the OT
 * check) and is therefore a ban of the counterparty (PROTOCOL.md §8.1, TOB-SILA-12).
 *
 * Hashes (all bound to the instance id): θ_i = H(rvoleChi, instance, H(rvoleChi, instance, ã), i) as
 * scalars; μ = SHA-512 under rvoleMu (64 bytes, as PROTOCOL.md §4 and SL); g_256..511 from a
 * ChaCha20 stream keyed by H(rvoleSession, instance, "gadget"), a field list distinct from the
 * signing layer's instance-id derivation under the same tag.
 *
 * Wire format: fixed-length raw concatenations of 32-byte big-endian scalars, no length prefixes or
 * headers (the enclosing signing message carries version and type); lengths are checked exactly.
 *
 * Side channels: JS BigInt arithmetic is not constant time. We avoid every branch and memory index
 * that depends on a secret bit: choice-dependent terms are selected byte-wise with masks between
 * the encoding of the value and the encoding of n (≡ 0 mod n), so the BigInt operand has the same
 * width whichever way the bit goes.
 */

import { chacha20 } from '@noble/ciphers/chacha.js';
import { equalBytes, u32be, utf8, zeroize } from '../bytes.ts';
import { banError, TssError } from '../errors.ts';
import { hashToScalar, taggedHash, taggedHash512 } from '../hash.ts';
import { N, randomScalar } from '../math/scalar.ts';
import {
  OTE_BATCH,
  OTE_CHOICE_BYTES,
  OTE_RECEIVER_MESSAGE_BYTES,
  softSpokenReceive,
  softSpokenReceiverPads,
  softSpokenSend,
} from '../ot/softspoken.ts';
import type { AboFullSeeds, AboPuncturedSeeds } from '../ot/types.ts';
import type { RandomBytes } from '../random.ts';
import { TAGS } from '../tags.ts';

/** ξ: OTs (gadget entries) per RVOLE. */
const XI = OTE_BATCH; // 512
/** Bits of the binary part of the gadget (κ = |n| = 256). */
const KAPPA = 256;
/** L: sender inputs. */
const L = 2;
/** Width of each OT: L inputs + ρ = 1 check column. */
const WIDTH = L + 1;
const SB = 32; // scalar bytes
const A_TILDE_BYTES = XI * WIDTH * SB; // 49,152
const MU_BYTES = 64;

/** Receiver → sender (round 1): the SoftSpoken message. 9,232 bytes. */
export const RVOLE_RECEIVER_MESSAGE_BYTES = OTE_RECEIVER_MESSAGE_BYTES;
/** Sender → receiver (round 2): ã (512 × 3 × 32) ‖ η (32) ‖ μ (64). 49,248 bytes. */
export const RVOLE_SENDER_MESSAGE_BYTES = A_TILDE_BYTES + SB + MU_BYTES;

const MASK64 = (1n << 64n) - 1n;
const N_BYTES = bigToBytes(N);
const N2 = 2n * N;

function bigToBytes(v: bigint): Uint8Array {
  const out = new Uint8Array(SB);
  writeBig(view(out), 0, v);
  return out;
}

function view(b: Uint8Array): DataView {
  return new DataView(b.buffer, b.byteOffset, b.byteLength);
}

/** Big-endian 32-byte encoding of 0 ≤ v < 2^256 at `off`. */
function writeBig(dv: DataView, off: number, v: bigint): void {
  dv.setBigUint64(off, (v >> 192n) & MASK64, false);
  dv.setBigUint64(off + 8, (v >> 128n) & MASK64, false);
  dv.setBigUint64(off + 16, (v >> 64n) & MASK64, false);
  dv.setBigUint64(off + 24, v & MASK64, false);
}

/** Big-endian 256-bit integer at `off`. */
function readBig(dv: DataView, off: number): bigint {
  return (
    (((((dv.getBigUint64(off, false) << 64n) | dv.getBigUint64(off + 8, false)) << 64n) |
      dv.getBigUint64(off + 16, false)) <<
      64n) |
    dv.getBigUint64(off + 24, false)
  );
}

/** A 256-bit random-OT pad as a scalar. Reducing 256 uniform bits mod n has bias < 2^-127. */
function padScalar(dv: DataView, off: number): bigint {
  const v = readBig(dv, off);
  return v >= N ? v - N : v;
}

/** enc(x) if bit = 1 else enc(n), chosen byte-wise with a mask (see the header). */
function selectOrN(src: Uint8Array, off: number, bit: number, tmp: Uint8Array, tmpView: DataView): bigint {
  const m = -bit & 0xff;
  for (let k = 0; k < SB; k++) tmp[k] = N_BYTES[k]! ^ (m & (src[off + k]! ^ N_BYTES[k]!));
  return readBig(tmpView, 0);
}

/** Public-data check that the 32 bytes at `off` encode an integer below n (lexicographic compare). */
function belowN(b: Uint8Array, off: number): boolean {
  for (let k = 0; k < SB; k++) {
    const d = b[off + k]! - N_BYTES[k]!;
    if (d !== 0) return d < 0;
  }
  return false;
}

function checkInstanceId(instanceId: Uint8Array): void {
  if (!(instanceId instanceof Uint8Array) || instanceId.length !== 32) {
    throw new TssError('INVALID_PARAMETERS', 'instanceId must be 32 bytes', { round: 'rvole' });
  }
}

/**
 * g_256..g_511: pseudo-random public scalars derived from the instance id (48 bytes each reduced mod
 * n, bias < 2^-128), returned with their 32-byte encodings. g_0..g_255 are the powers of two.
 */
function gadgetTail(instanceId: Uint8Array): { g: bigint[]; enc: Uint8Array } {
  const key = taggedHash(TAGS.rvoleSession, instanceId, utf8('gadget'));
  const stream = chacha20(key, new Uint8Array(12), new Uint8Array((XI - KAPPA) * 48));
  const g: bigint[] = [];
  const enc = new Uint8Array((XI - KAPPA) * SB);
  const sv = view(stream);
  const ev = view(enc);
  for (let j = 0; j < XI - KAPPA; j++) {
    const hi = readBig(sv, j * 48);
    const lo = readBig(sv, j * 48 + 16) & ((1n << 128n) - 1n);
    const v = ((hi << 128n) | lo) % N;
    g.push(v);
    writeBig(ev, j * SB, v);
  }
  return { g, enc };
}

/** θ_1, θ_2 = H(instance, ã): one digest of the 49 KB then a scalar per index. */
function thetas(instanceId: Uint8Array, aTilde: Uint8Array): [bigint, bigint] {
  const h = taggedHash(TAGS.rvoleChi, instanceId, aTilde);
  return [
    hashToScalar(TAGS.rvoleChi, instanceId, h, u32be(0)),
    hashToScalar(TAGS.rvoleChi, instanceId, h, u32be(1)),
  ];
}

/** Secret state the RVOLE receiver keeps from round 1 to round 3. Single use. */
export class RvoleReceiverKeep {
  #instanceId: Uint8Array;
  #beta: Uint8Array;
  #rows: Uint8Array;
  #live = true;

  /** @internal Built by `rvoleReceiverRound1` only. */
  constructor(instanceId: Uint8Array, beta: Uint8Array, rows: Uint8Array) {
    this.#instanceId = instanceId;
    this.#beta = beta;
    this.#rows = rows;
  }

  /** @internal Hands the state to round 3 exactly once. */
  take(): { instanceId: Uint8Array; beta: Uint8Array; rows: Uint8Array } {
    if (!this.#live) throw new TssError('SESSION_STATE', 'RVOLE receiver state already used or destroyed');
    this.#live = false;
    return { instanceId: this.#instanceId, beta: this.#beta, rows: this.#rows };
  }

  get destroyed(): boolean {
    return !this.#live;
  }

  /** Zero the choice bits and OT rows. Idempotent. */
  destroy(): void {
    this.#live = false;
    zeroize(this.#beta, this.#rows);
  }

  toJSON(): string {
    return '[RvoleReceiverKeep: redacted]';
  }
}

/**
 * Round 1, RVOLE receiver with secret scalar b ∈ [1, n): returns the 9,232-byte message for the sender
 * and the kept state for round 3.
 */
export function rvoleReceiverRound1(a: {
  instanceId: Uint8Array;
  seeds: AboFullSeeds;
  b: bigint;
  rng: RandomBytes;
}): { message: Uint8Array; keep: RvoleReceiverKeep } {
  checkInstanceId(a.instanceId);
  if (typeof a.b !== 'bigint' || a.b <= 0n || a.b >= N) {
    throw new TssError('INVALID_PARAMETERS', 'b must be a scalar in [1, n)', { round: 'rvole' });
  }
  const { enc } = gadgetTail(a.instanceId);
  // β_256..511 uniformly random; β_0..255 = bits of b' = b − Σ_{j≥256} g_j β_j (mod n).
  const beta = new Uint8Array(OTE_CHOICE_BYTES);
  const tail = a.rng(OTE_CHOICE_BYTES - KAPPA / 8);
  beta.set(tail, KAPPA / 8);
  zeroize(tail);
  const tmp = new Uint8Array(SB);
  const tmpView = view(tmp);
  let sum = 0n;
  for (let j = KAPPA; j < XI; j++) {
    const bit = (beta[j >>> 3]! >>> (j & 7)) & 1;
    sum += selectOrN(enc, (j - KAPPA) * SB, bit, tmp, tmpView);
  }
  const bPrime = (((a.b - sum) % N) + N) % N;
  sum = 0n;
  writeBig(tmpView, 0, bPrime);
  // Big-endian bytes reversed = LSB-first bit string: β_j = bit j of b'.
  for (let k = 0; k < SB; k++) beta[k] = tmp[SB - 1 - k]!;
  zeroize(tmp);

  const { message, rows } = softSpokenReceive({
    instanceId: a.instanceId,
    seeds: a.seeds,
    choices: beta,
    rng: a.rng,
  });
  return { message, keep: new RvoleReceiverKeep(a.instanceId.slice(), beta, rows) };
}

/**
 * Round 2, RVOLE sender with inputs (a_1, a_2): checks the OT extension, returns the 49,248-byte
 * message for the receiver and the sender's shares c with c_i + d_i = a_i · b.
 *
 * @throws TssError (abortKind 'ban', culprits [peer]): BAD_LENGTH for a wrong-size message,
 * OT_EXTENSION_FAILED when the SoftSpoken check fails. No shares are returned on any failure.
 */
export function rvoleSenderRound2(a: {
  instanceId: Uint8Array;
  seeds: AboPuncturedSeeds;
  inputs: readonly [bigint, bigint];
  receiverMessage: Uint8Array;
  rng: RandomBytes;
  peer: string;
}): { message: Uint8Array; shares: [bigint, bigint] } {
  checkInstanceId(a.instanceId);
  const inputs = a.inputs;
  if (
    !Array.isArray(inputs) ||
    inputs.length !== L ||
    inputs.some((v) => typeof v !== 'bigint' || v < 0n || v >= N)
  ) {
    throw new TssError('INVALID_PARAMETERS', 'inputs must be two scalars in [0, n)', { round: 'rvole' });
  }
  const { pad0, pad1 } = softSpokenSend({
    instanceId: a.instanceId,
    seeds: a.seeds,
    message: a.receiverMessage,
    width: WIDTH,
    peer: a.peer,
  });
  const { g } = gadgetTail(a.instanceId);
  const etaHat = randomScalar(a.rng);
  const cols: readonly bigint[] = [inputs[0], inputs[1], etaHat];

  const message = new Uint8Array(RVOLE_SENDER_MESSAGE_BYTES);
  const mv = view(message);
  const p0 = view(pad0);
  const p1 = view(pad1);
  const alpha0: bigint[] = new Array(XI * WIDTH);
  for (let e = 0; e < XI * WIDTH; e++) {
    const x0 = padScalar(p0, e * SB);
    const x1 = padScalar(p1, e * SB);
    alpha0[e] = x0;
    writeBig(mv, e * SB, (x0 - x1 + cols[e % WIDTH]! + N) % N);
  }
  zeroize(pad0, pad1);

  // c_i = −Σ_j g_j α_{0,j,i}: powers of two by shifting, the rest by multiplying; one reduction.
  const shares: [bigint, bigint] = [0n, 0n];
  for (let i = 0; i < L; i++) {
    let s = 0n;
    for (let j = 0; j < KAPPA; j++) s += alpha0[j * WIDTH + i]! << BigInt(j);
    for (let j = KAPPA; j < XI; j++) s += g[j - KAPPA]! * alpha0[j * WIDTH + i]!;
    shares[i] = (N - (s % N)) % N;
  }

  const [th0, th1] = thetas(a.instanceId, message.subarray(0, A_TILDE_BYTES));
  writeBig(mv, A_TILDE_BYTES, (etaHat + th0 * inputs[0] + th1 * inputs[1]) % N);
  const muIn = new Uint8Array(XI * SB);
  const muView = view(muIn);
  for (let j = 0; j < XI; j++) {
    const e = j * WIDTH;
    writeBig(muView, j * SB, (alpha0[e + 2]! + th0 * alpha0[e]! + th1 * alpha0[e + 1]!) % N);
  }
  alpha0.fill(0n);
  message.set(taggedHash512(TAGS.rvoleMu, a.instanceId, muIn), A_TILDE_BYTES + SB);
  zeroize(muIn);
  return { message, shares };
}

/**
 * Round 3, RVOLE receiver: validates the sender's message, runs the μ check and returns d with
 * c_i + d_i = a_i · b. Consumes `keep` (it is destroyed whether this succeeds or throws).
 *
 * @throws TssError (abortKind 'ban', culprits [peer]): BAD_LENGTH, INVALID_SCALAR (an ã entry or η
 * not below n), RVOLE_FAILED (μ mismatch). No shares are returned on any failure.
 */
export function rvoleReceiverRound3(a: {
  instanceId: Uint8Array;
  keep: RvoleReceiverKeep;
  senderMessage: Uint8Array;
  peer: string;
}): [bigint, bigint] {
  checkInstanceId(a.instanceId);
  const st = a.keep.take();
  try {
    if (!equalBytes(st.instanceId, a.instanceId)) {
      throw new TssError('INVALID_PARAMETERS', 'RVOLE state belongs to another instance', { round: 'rvole' });
    }
    const msg = a.senderMessage;
    if (!(msg instanceof Uint8Array))
      throw banError('DECODE_FAILED', a.peer, 'RVOLE message must be bytes', 'rvole');
    if (msg.length !== RVOLE_SENDER_MESSAGE_BYTES) {
      throw banError(
        'BAD_LENGTH',
        a.peer,
        `RVOLE message must be ${RVOLE_SENDER_MESSAGE_BYTES} bytes, got ${msg.length}`,
        'rvole',
      );
    }
    // Every received scalar must be canonical (< n): ã entries and η.
    for (let e = 0; e <= XI * WIDTH; e++) {
      if (!belowN(msg, e * SB)) {
        throw banError('INVALID_SCALAR', a.peer, `RVOLE scalar ${e} is not below the group order`, 'rvole');
      }
    }
    const aTilde = msg.subarray(0, A_TILDE_BYTES);
    const mu = msg.subarray(A_TILDE_BYTES + SB);

    const pads = softSpokenReceiverPads(st.instanceId, st.rows, WIDTH);
    const pv = view(pads);
    const [th0, th1] = thetas(st.instanceId, aTilde);
    const tmp = new Uint8Array(SB);
    const tmpView = view(tmp);
    // d̃_{j,i} = γ_{j,i} + β_j ã_{j,i}, kept unreduced (< 2n): only sums of them are reduced.
    const dTilde: bigint[] = new Array(XI * WIDTH);
    const muIn = new Uint8Array(XI * SB);
    const muView = view(muIn);
    for (let j = 0; j < XI; j++) {
      const bit = (st.beta[j >>> 3]! >>> (j & 7)) & 1;
      const e = j * WIDTH;
      for (let i = 0; i < WIDTH; i++) {
        dTilde[e + i] = padScalar(pv, (e + i) * SB) + selectOrN(aTilde, (e + i) * SB, bit, tmp, tmpView);
      }
      // −β_j η as (2n − sel) with sel ∈ {η, n}: non-negative and ≡ −β_j η.
      const minusEta = N2 - selectOrN(msg, A_TILDE_BYTES, bit, tmp, tmpView);
      writeBig(muView, j * SB, (dTilde[e + 2]! + th0 * dTilde[e]! + th1 * dTilde[e + 1]! + minusEta) % N);
    }
    zeroize(pads, tmp);
    const ok = equalBytes(taggedHash512(TAGS.rvoleMu, st.instanceId, muIn), mu);
    zeroize(muIn);
    if (!ok) {
      dTilde.fill(0n);
      throw banError('RVOLE_FAILED', a.peer, 'RVOLE μ check failed', 'rvole');
    }

    const { g } = gadgetTail(st.instanceId);
    const out: [bigint, bigint] = [0n, 0n];
    for (let i = 0; i < L; i++) {
      let s = 0n;
      for (let j = 0; j < KAPPA; j++) s += dTilde[j * WIDTH + i]! << BigInt(j);
      for (let j = KAPPA; j < XI; j++) s += g[j - KAPPA]! * dTilde[j * WIDTH + i]!;
      out[i] = s % N;
    }
    dTilde.fill(0n);
    return out;
  } finally {
    zeroize(st.beta, st.rows);
  }
}
