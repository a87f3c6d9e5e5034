/**
 * DKG wire messages (PROTOCOL.md 3.1): what each round sends, separate from what a party keeps.
 * Canonical binary: [version u8][type u8][fields…]; decoders check every count against the
 * parameters (exactly t Feldman entries and t proofs, exactly w shares) and every point/scalar.
 */
import { exactCount, messageReader, messageWriter, WIRE_VERSION } from '../codec/binary.ts';
import type { Point } from '../math/scalar.ts';
import { decodeSchnorr, encodeSchnorr, SCHNORR_PROOF_BYTES, type SchnorrProof } from '../proofs/schnorr.ts';
import { ZERO_SEED_CONFIRMATION_BYTES } from '../zero-seed.ts';

export { WIRE_VERSION };

/**
 * Layout version of the confirm messages (dkg.r4, reshare.r4). 2 adds the zero-share seed
 * confirmations (zero-seed.ts); a version-1 confirm message is refused with UNSUPPORTED_VERSION,
 * so a party on the old layout can never finish a ceremony whose pairs were not confirmed.
 */
export const CONFIRM_VERSION = 2;
/**
 * Layout version of the messages that carry the pairwise OT setup (dkg.r2/r3, reshare.r2/r3). 2:
 * OT setup v2 (one sender key-agreement message per batch, ot/baseot.ts). A version-1 message is
 * refused with UNSUPPORTED_VERSION before its OT bytes are read, as for the confirm messages.
 */
export const OT_CARRIER_VERSION = 2;
export const MSG_TYPE = {
  dkgR1: 0x11,
  dkgR2: 0x12,
  dkgR3: 0x13,
  dkgR4: 0x14,
} as const;

/** Largest OT setup payload we accept inside a DKG message. */
export const MAX_OT_PAYLOAD = 128 * 1024;
const MAX_LIST = 4096;

/** Round 1, broadcast: a random session contribution and a commitment to the Feldman vector. */
export interface DkgR1Broadcast {
  readonly contribution: Uint8Array;
  readonly commitment: Uint8Array;
}

/** Round 2, to one peer: echo of round 1, opening (F_i, salt), t proofs, base-OT receiver message. */
export interface DkgR2ToPeer {
  readonly echo: Uint8Array;
  readonly feldman: readonly Point[];
  readonly salt: Uint8Array;
  readonly proofs: readonly SchnorrProof[];
  readonly ot: Uint8Array;
}

/** Round 3, to one peer: echo of round 2's broadcast parts, the peer's point shares, seed, OT reply. */
export interface DkgR3ToPeer {
  readonly echo: Uint8Array;
  readonly shares: readonly bigint[];
  readonly zeroSeed: Uint8Array;
  readonly ot: Uint8Array;
}

/**
 * Round 4, broadcast: the transcript hash, a proof of each of the sender's public shares and, for
 * each other party holding pairwise state with the sender (in id order), the confirmation of their
 * combined zero-share seed (zero-seed.ts).
 */
export interface DkgR4Broadcast {
  readonly transcript: Uint8Array;
  readonly proofs: readonly SchnorrProof[];
  readonly zeroSeedConfirmations: readonly Uint8Array[];
}

/*
 * Round 1 (commit), round 2 (open) and round 4 (confirm) have one layout shared by the DKG and the
 * reshare; only the type byte (and the expected counts) differ, so these take them as parameters.
 */
export function encodeCommitMessage(type: number, m: DkgR1Broadcast): Uint8Array {
  return messageWriter(type).raw(m.contribution).raw(m.commitment).finish();
}

export function decodeCommitMessage(b: Uint8Array, type: number, what: string): DkgR1Broadcast {
  const r = messageReader(b, type, what);
  const out = { contribution: r.raw(32), commitment: r.raw(32) };
  r.end();
  return out;
}

export function encodeOpeningMessage(type: number, m: DkgR2ToPeer): Uint8Array {
  return messageWriter(type, OT_CARRIER_VERSION)
    .raw(m.echo)
    .list(m.feldman, (w, P) => w.point(P))
    .raw(m.salt)
    .list(m.proofs, (w, p) => w.raw(encodeSchnorr(p)))
    .bytes(m.ot)
    .finish();
}

export function encodeConfirmMessage(type: number, m: DkgR4Broadcast): Uint8Array {
  return messageWriter(type, CONFIRM_VERSION)
    .raw(m.transcript)
    .list(m.proofs, (w, p) => w.raw(encodeSchnorr(p)))
    .list(m.zeroSeedConfirmations, (w, c) => w.raw(c))
    .finish();
}

/** Decode a confirm message: exactly `senderPower` proofs and `confirmations` seed confirmations. */
export function decodeConfirmMessage(
  b: Uint8Array,
  type: number,
  what: string,
  senderPower: number,
  confirmations: number,
): DkgR4Broadcast {
  const r = messageReader(b, type, what, CONFIRM_VERSION);
  const transcript = r.raw(32);
  const proofs = r.list(0, MAX_LIST, (rr, i) =>
    decodeSchnorr(rr.raw(SCHNORR_PROOF_BYTES), `${what}.proof[${i}]`),
  );
  exactCount(proofs.length, senderPower, `${what} proofs`);
  const zeroSeedConfirmations = r.list(0, MAX_LIST, (rr) => rr.raw(ZERO_SEED_CONFIRMATION_BYTES));
  exactCount(zeroSeedConfirmations.length, confirmations, `${what} zero-seed confirmations`);
  r.end();
  return { transcript, proofs, zeroSeedConfirmations };
}

export function encodeDkgR1(m: DkgR1Broadcast): Uint8Array {
  return encodeCommitMessage(MSG_TYPE.dkgR1, m);
}

export function decodeDkgR1(b: Uint8Array): DkgR1Broadcast {
  return decodeCommitMessage(b, MSG_TYPE.dkgR1, 'dkg.r1');
}

export function encodeDkgR2(m: DkgR2ToPeer): Uint8Array {
  return encodeOpeningMessage(MSG_TYPE.dkgR2, m);
}

export function decodeDkgR2(b: Uint8Array, threshold: number): DkgR2ToPeer {
  const r = messageReader(b, MSG_TYPE.dkgR2, 'dkg.r2', OT_CARRIER_VERSION);
  const echo = r.raw(32);
  const nF = r.u32();
  exactCount(nF, threshold, 'dkg.r2 Feldman commitment');
  const feldman: Point[] = [];
  for (let k = 0; k < nF; k++) feldman.push(r.point(`feldman[${k}]`));
  const salt = r.raw(32);
  const nP = r.u32();
  exactCount(nP, threshold, 'dkg.r2 proofs');
  const proofs: SchnorrProof[] = [];
  for (let k = 0; k < nP; k++) proofs.push(decodeSchnorr(r.raw(SCHNORR_PROOF_BYTES), `dkg.r2.proof[${k}]`));
  const ot = r.bytes(MAX_OT_PAYLOAD);
  r.end();
  return { echo, feldman, salt, proofs, ot };
}

export function encodeDkgR3(m: DkgR3ToPeer): Uint8Array {
  return messageWriter(MSG_TYPE.dkgR3, OT_CARRIER_VERSION)
    .raw(m.echo)
    .list(m.shares, (w, s) => w.scalar(s))
    .raw(m.zeroSeed)
    .bytes(m.ot)
    .finish();
}

export function decodeDkgR3(b: Uint8Array, recipientPower: number): DkgR3ToPeer {
  const r = messageReader(b, MSG_TYPE.dkgR3, 'dkg.r3', OT_CARRIER_VERSION);
  const echo = r.raw(32);
  const shares = r.list(0, MAX_LIST, (rr, i) => rr.scalar(`share[${i}]`));
  exactCount(shares.length, recipientPower, 'dkg.r3 shares');
  const zeroSeed = r.raw(32);
  const ot = r.bytes(MAX_OT_PAYLOAD);
  r.end();
  return { echo, shares, zeroSeed, ot };
}

export function encodeDkgR4(m: DkgR4Broadcast): Uint8Array {
  return encodeConfirmMessage(MSG_TYPE.dkgR4, m);
}

/** `parties` is the DKG's party count: every other party is a zero-seed partner of the sender. */
export function decodeDkgR4(b: Uint8Array, senderPower: number, parties: number): DkgR4Broadcast {
  return decodeConfirmMessage(b, MSG_TYPE.dkgR4, 'dkg.r4', senderPower, parties - 1);
}
