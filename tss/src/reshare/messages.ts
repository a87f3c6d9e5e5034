/**
 * Reshare wire messages, separate from what a party keeps (same layout rules as dkg/messages.ts:
 * `[version u8][type u8][fields…]`, exact counts, every point and scalar validated at parse).
 * Which fields are present depends on the roles of sender and recipient, and the decoders take the
 * expected counts from the reshare context, so an absent part must be empty and a present one
 * must be exactly the expected size:
 *  - Feldman vector and coefficient proofs: t_new entries from a dealer, none otherwise;
 *  - point shares: one per recipient's new point from a dealer to a new party, none otherwise;
 *  - zero-seed contribution and OT setup messages: only between two new parties;
 *  - zero-seed confirmations (round 4, a broadcast): one per other new party from a new party.
 */
import { exactCount, messageReader, messageWriter, type Reader } from '../codec/binary.ts';
import {
  type DkgR1Broadcast,
  type DkgR2ToPeer,
  type DkgR3ToPeer,
  type DkgR4Broadcast,
  decodeCommitMessage,
  decodeConfirmMessage,
  encodeCommitMessage,
  encodeConfirmMessage,
  encodeOpeningMessage,
  MAX_OT_PAYLOAD,
  OT_CARRIER_VERSION,
} from '../dkg/messages.ts';
import { TssError } from '../errors.ts';
import { decodeSchnorr, SCHNORR_PROOF_BYTES, type SchnorrProof } from '../proofs/schnorr.ts';

/** Distinct from the DKG (0x1_) and signing (0x2_) types, so no message parses as another kind. */
export const RESHARE_MSG_TYPE = {
  r1: 0x31,
  r2: 0x32,
  r3: 0x33,
  r4: 0x34,
} as const;

const MAX_LIST = 4096;

/*
 * The reshare's messages have the DKG's shapes (commit, open, share, confirm); what differs is who
 * sends which parts (non-dealers send an empty opening, only new pairs exchange OT messages), which
 * `Expect` below captures, and the message types above.
 */
export type ReshareR1Broadcast = DkgR1Broadcast;
export type ReshareR2ToPeer = DkgR2ToPeer;
export type ReshareR3ToPeer = DkgR3ToPeer;
export type ReshareR4Broadcast = DkgR4Broadcast;

/** What a recipient expects from one sender, derived from both parties' roles. */
export interface Expect {
  /** t_new when the sender deals, else 0. */
  readonly feldman: number;
  /** Recipient's new power when the sender deals to a new recipient, else 0. */
  readonly shares: number;
  /** Both are new parties: zero seed and OT messages present. */
  readonly pair: boolean;
  /** Sender's new power (public-share proofs in round 4), 0 for a leaving dealer. */
  readonly senderPower: number;
  /**
   * Zero-seed confirmations in the sender's round 4: one per other new party when the sender is a
   * new party, else 0. A broadcast, so it depends on the sender alone.
   */
  readonly zeroSeedConfirmations: number;
}

function proofs(r: Reader, what: string): SchnorrProof[] {
  return r.list(0, MAX_LIST, (rr, i) => decodeSchnorr(rr.raw(SCHNORR_PROOF_BYTES), `${what}[${i}]`));
}

function otBytes(r: Reader, present: boolean, what: string): Uint8Array {
  const ot = r.bytes(MAX_OT_PAYLOAD);
  if (present !== ot.length > 0)
    throw new TssError('BAD_LENGTH', `${what}: OT message ${present ? 'missing' : 'unexpected'}`);
  return ot;
}

export function encodeReshareR1(m: ReshareR1Broadcast): Uint8Array {
  return encodeCommitMessage(RESHARE_MSG_TYPE.r1, m);
}

export function decodeReshareR1(b: Uint8Array): ReshareR1Broadcast {
  return decodeCommitMessage(b, RESHARE_MSG_TYPE.r1, 'reshare.r1');
}

export function encodeReshareR2(m: ReshareR2ToPeer): Uint8Array {
  return encodeOpeningMessage(RESHARE_MSG_TYPE.r2, m);
}

export function decodeReshareR2(b: Uint8Array, e: Expect): ReshareR2ToPeer {
  const r = messageReader(b, RESHARE_MSG_TYPE.r2, 'reshare.r2', OT_CARRIER_VERSION);
  const echo = r.raw(32);
  const feldman = r.list(0, MAX_LIST, (rr, k) => rr.point(`feldman[${k}]`));
  exactCount(feldman.length, e.feldman, 'reshare.r2 Feldman commitment');
  const salt = r.raw(32);
  const ps = proofs(r, 'reshare.r2.proof');
  exactCount(ps.length, e.feldman, 'reshare.r2 proofs');
  const ot = otBytes(r, e.pair, 'reshare.r2');
  r.end();
  return { echo, feldman, salt, proofs: ps, ot };
}

export function encodeReshareR3(m: ReshareR3ToPeer): Uint8Array {
  return messageWriter(RESHARE_MSG_TYPE.r3, OT_CARRIER_VERSION)
    .raw(m.echo)
    .list(m.shares, (w, s) => w.scalar(s))
    .bytes(m.zeroSeed)
    .bytes(m.ot)
    .finish();
}

export function decodeReshareR3(b: Uint8Array, e: Expect): ReshareR3ToPeer {
  const r = messageReader(b, RESHARE_MSG_TYPE.r3, 'reshare.r3', OT_CARRIER_VERSION);
  const echo = r.raw(32);
  const shares = r.list(0, MAX_LIST, (rr, i) => rr.scalar(`share[${i}]`));
  exactCount(shares.length, e.shares, 'reshare.r3 shares');
  const zeroSeed = r.bytes(32);
  if (zeroSeed.length !== (e.pair ? 32 : 0)) throw new TssError('BAD_LENGTH', 'reshare.r3: zero seed length');
  const ot = otBytes(r, e.pair, 'reshare.r3');
  r.end();
  return { echo, shares, zeroSeed, ot };
}

export function encodeReshareR4(m: ReshareR4Broadcast): Uint8Array {
  return encodeConfirmMessage(RESHARE_MSG_TYPE.r4, m);
}

export function decodeReshareR4(b: Uint8Array, e: Expect): ReshareR4Broadcast {
  return decodeConfirmMessage(b, RESHARE_MSG_TYPE.r4, 'reshare.r4', e.senderPower, e.zeroSeedConfirmations);
}
