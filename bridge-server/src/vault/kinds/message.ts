/**
 * Request kind `message`: an EIP-191 personal message (`personal_sign`, version byte 0x45). The body
 * carries the raw message bytes as the dApp sent them; every device shows them itself (as text when
 * they are printable, else as hex: describe/message.ts) and recomputes the digest the ceremony
 * signs, keccak256("\x19Ethereum Signed Message:\n" ‖ len ‖ bytes). Raw 32-byte hashes are not a
 * kind of their own: `eth_sign` is refused (THREATS C 52).
 */
import { fromBase64url, toBase64url } from '@concord/tss/transport';
import * as v from 'valibot';
import { bytesToHex, hashMessage, hexToBytes } from 'viem';
import { type MessageView, messageView } from '../describe/message.ts';
import { RequestError } from '../errors.ts';
import { B64 } from '../members.ts';
import { decodeOrigin, encodeOrigin, OriginWire } from './origin.ts';

/** Largest message a request may carry (the describer shows up to this much). */
export const MAX_MESSAGE_BYTES = 64 * 1024;

export interface MessageBody {
  kind: 'message';
  /** The chain the requesting site was on (shown; the EIP-191 digest does not bind it). */
  chainId: number;
  /** The requesting site's origin, or null when proposed from the wallet itself. */
  origin: string | null;
  message: Uint8Array;
}

export interface MessageDescription {
  kind: 'message';
  origin: string | null;
  view: MessageView;
}

export const messageWire = v.strictObject({
  kind: v.literal('message'),
  chainId: v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(2 ** 53 - 1)),
  origin: v.optional(OriginWire),
  message: B64(Math.ceil((MAX_MESSAGE_BYTES * 4) / 3) + 4),
});

/** The EIP-191 personal-message digest of `bytes`. */
export function messageDigest(bytes: Uint8Array): Uint8Array {
  return hexToBytes(hashMessage({ raw: bytes }));
}

export const message = {
  kind: 'message',
  session: 'sign',
  wire: messageWire,
  encode(b: MessageBody) {
    return {
      kind: 'message',
      chainId: b.chainId,
      ...encodeOrigin(b.origin),
      message: toBase64url(b.message),
    };
  },
  decode(w: v.InferOutput<typeof messageWire>): MessageBody {
    const bytes = fromBase64url(w.message, 'message');
    if (bytes.length === 0 || bytes.length > MAX_MESSAGE_BYTES) {
      throw new RequestError('message size out of range');
    }
    return { kind: 'message', chainId: w.chainId, origin: decodeOrigin(w.origin), message: bytes };
  },
  digests(b: MessageBody): Uint8Array[] {
    return [messageDigest(b.message)];
  },
  describe(b: MessageBody): MessageDescription {
    return { kind: 'message', origin: b.origin, view: messageView(bytesToHex(b.message)) };
  },
} as const;
