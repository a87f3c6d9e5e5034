/**
 * The pairwise OT setup the DKG runs once per ordered pair (S → R), PROTOCOL.md 3.4:
 * 256 endemic base OTs (MR19, `baseot.ts`) in which R is receiver and S is sender, then their
 * conversion into 64 all-but-one-of-16 OTs (SoftSpokenOT k = 4, `allbutone.ts`).
 *
 *   R: otSetupReceiverStart  → message 1 (R → S), keep
 *   S: otSetupSenderRespond  → message 2 (S → R), AboFullSeeds      (S is done)
 *   R: otSetupReceiverFinish → AboPuncturedSeeds                    (R is done)
 *
 * Wire format (compact binary, fixed length; the DKG message codec carries these bytes):
 *   message 1: version (2) ‖ kind 0x01 ‖ 256 × (r_0 ‖ r_1)            = 16,386 bytes
 *   message 2: version (2) ‖ kind 0x02 ‖ B ‖ 64 × PPRF block (320)     = 20,514 bytes
 * Version 2 (one sender key-agreement message B per batch, keys bound to the whole transcript;
 * docs/PROTOCOL.md "Base OT v2") replaced version 1 (one B per OT, 28,674-byte message 2); a
 * version-1 message is refused with a ban like any other malformed message, since an honest peer
 * of this release never sends one.
 * Anything wrong in a received message aborts with `abortKind: 'ban'` naming `peer`: a party that
 * sends a malformed or inconsistent OT message is misbehaving, and OT failures may leak choice bits.
 *
 * The caller's pairwise sid is split into one sub-sid per component (tagged hashes), so the base
 * OTs and the PPRF never share a random-oracle domain.
 */
import { equalBytes, zeroize } from '../bytes.ts';
import { banError, TssError } from '../errors.ts';
import { taggedHash } from '../hash.ts';
import type { RandomBytes } from '../random.ts';
import { TAGS } from '../tags.ts';
import { ABO_MESSAGE_BYTES, aboReceiverEval, aboSenderBuild } from './allbutone.ts';
import {
  type BaseOtReceiverState,
  baseOtReceiverFinish,
  baseOtReceiverMessageBytes,
  baseOtReceiverStart,
  baseOtSenderMessageBytes,
  baseOtSenderRespond,
} from './baseot.ts';
import { type AboFullSeeds, type AboPuncturedSeeds, BASE_OT_COUNT } from './types.ts';

export const OT_SETUP_VERSION = 2;
const KIND_RECEIVER = 0x01;
const KIND_SENDER = 0x02;
const HEADER_BYTES = 2;

/** Byte size of message 1 (R → S): 16,386. */
export const OT_SETUP_RECEIVER_MESSAGE_BYTES = HEADER_BYTES + baseOtReceiverMessageBytes(BASE_OT_COUNT);
/** Byte size of message 2 (S → R): 20,514. */
export const OT_SETUP_SENDER_MESSAGE_BYTES =
  HEADER_BYTES + baseOtSenderMessageBytes(BASE_OT_COUNT) + ABO_MESSAGE_BYTES;

/** What R keeps between its two steps. Secret: zeroed by `destroy`, consumed by finish. */
export interface OtSetupReceiverKeep {
  readonly kind: 'ot-setup-receiver-keep';
  /** True once finished or destroyed; a keep is single-use (choice bits must never be reused). */
  readonly consumed: boolean;
  destroy(): void;
}

interface KeepInternal extends OtSetupReceiverKeep {
  consumed: boolean;
  readonly sid: Uint8Array;
  readonly base: BaseOtReceiverState;
}

// Module-private registry: callers hold an opaque keep, the secret state never leaves this file.
const keeps = new WeakMap<OtSetupReceiverKeep, KeepInternal>();

function subSessions(sid: Uint8Array): { baseSid: Uint8Array; aboSid: Uint8Array } {
  if (!(sid instanceof Uint8Array) || sid.length !== 32)
    throw new TssError('INVALID_PARAMETERS', 'OT setup session id must be 32 bytes');
  return { baseSid: taggedHash(TAGS.baseOtSession, sid), aboSid: taggedHash(TAGS.aboSession, sid) };
}

function checkHeader(msg: Uint8Array, kind: number, length: number, peer: string, what: string): void {
  if (!(msg instanceof Uint8Array))
    throw banError('DECODE_FAILED', peer, `${what} must be bytes`, 'ot-setup');
  if (msg.length !== length)
    throw banError('BAD_LENGTH', peer, `${what} must be ${length} bytes, got ${msg.length}`, 'ot-setup');
  if (msg[0] !== OT_SETUP_VERSION || msg[1] !== kind)
    throw banError('DECODE_FAILED', peer, `${what} has an unknown version or kind`, 'ot-setup');
}

/** R, step 1: choose 256 random choice bits and send the base-OT receiver message. */
export function otSetupReceiverStart(
  sid: Uint8Array,
  rng: RandomBytes,
): { message: Uint8Array; keep: OtSetupReceiverKeep } {
  const { baseSid } = subSessions(sid);
  const base = baseOtReceiverStart(baseSid, rng, BASE_OT_COUNT);
  const message = new Uint8Array(OT_SETUP_RECEIVER_MESSAGE_BYTES);
  message[0] = OT_SETUP_VERSION;
  message[1] = KIND_RECEIVER;
  message.set(base.message, HEADER_BYTES);
  const internal: KeepInternal = {
    kind: 'ot-setup-receiver-keep',
    consumed: false,
    sid: sid.slice(),
    base,
    destroy() {
      internal.consumed = true;
      base.destroy();
    },
  };
  // The public face exposes no secret fields; JSON/inspect show nothing.
  const keep: OtSetupReceiverKeep = {
    kind: 'ot-setup-receiver-keep',
    get consumed() {
      return internal.consumed;
    },
    destroy: () => internal.destroy(),
  };
  Object.defineProperty(keep, 'toJSON', { value: () => ({ kind: keep.kind, redacted: true }) });
  keeps.set(keep, internal);
  return { message, keep };
}

/**
 * S: answer R's message and finish S's side. Returns message 2 and all 1,024 leaves.
 * Throws a ban on `peer` for any defect in `receiverMessage`.
 */
export function otSetupSenderRespond(
  sid: Uint8Array,
  receiverMessage: Uint8Array,
  rng: RandomBytes,
  peer: string,
): { message: Uint8Array; seeds: AboFullSeeds } {
  const { baseSid, aboSid } = subSessions(sid);
  checkHeader(receiverMessage, KIND_RECEIVER, OT_SETUP_RECEIVER_MESSAGE_BYTES, peer, 'OT setup message 1');
  const base = baseOtSenderRespond(baseSid, receiverMessage.subarray(HEADER_BYTES), rng, peer, BASE_OT_COUNT);
  try {
    const abo = aboSenderBuild(aboSid, base.keys0, base.keys1);
    const message = new Uint8Array(OT_SETUP_SENDER_MESSAGE_BYTES);
    message[0] = OT_SETUP_VERSION;
    message[1] = KIND_SENDER;
    message.set(base.message, HEADER_BYTES);
    message.set(abo.message, HEADER_BYTES + base.message.length);
    return { message, seeds: abo.seeds };
  } finally {
    zeroize(base.keys0, base.keys1);
  }
}

/**
 * R, step 2: check S's message and output Δ and the punctured leaves. Consumes `keep` whether it
 * succeeds or throws (a failed setup is never retried with the same choice bits).
 */
export function otSetupReceiverFinish(
  sid: Uint8Array,
  keep: OtSetupReceiverKeep,
  senderMessage: Uint8Array,
  peer: string,
): AboPuncturedSeeds {
  const internal = keeps.get(keep);
  if (internal === undefined) throw new TssError('INVALID_PARAMETERS', 'unknown OT setup keep');
  if (internal.consumed) throw new TssError('SESSION_STATE', 'OT setup keep already used or destroyed');
  const { baseSid, aboSid } = subSessions(sid);
  if (!equalBytes(sid, internal.sid)) throw new TssError('INVALID_PARAMETERS', 'OT setup session id changed');
  try {
    checkHeader(senderMessage, KIND_SENDER, OT_SETUP_SENDER_MESSAGE_BYTES, peer, 'OT setup message 2');
    const split = HEADER_BYTES + baseOtSenderMessageBytes(BASE_OT_COUNT);
    const base = baseOtReceiverFinish(
      baseSid,
      internal.base,
      senderMessage.subarray(HEADER_BYTES, split),
      peer,
    );
    try {
      return aboReceiverEval(aboSid, base.choiceBits, base.keys, senderMessage.subarray(split), peer);
    } finally {
      zeroize(base.choiceBits, base.keys);
    }
  } finally {
    internal.destroy();
  }
}
