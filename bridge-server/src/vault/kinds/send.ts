/**
 * Request kind `send`: one EIP-1559 (type-2) transaction. The body carries the *raw unsigned
 * transaction bytes*; every device decodes them itself (eip1559.ts) and never sees a summary written
 * by the initiator (THREATS C, "no blind signing"). The digest the ceremony signs is keccak256 of
 * those bytes, recomputed on every device.
 */
import { fromBase64url, toBase64url } from '@concord/tss/transport';
import * as v from 'valibot';
import { RequestError } from '../errors.ts';
import { B64 } from '../members.ts';
import { classify, decodeUnsignedTx, type TxClass, txDigest, type UnsignedTx } from './eip1559.ts';
import { decodeOrigin, encodeOrigin, OriginWire } from './origin.ts';

/** Largest unsigned transaction a request may carry (calldata of a big contract call fits). */
export const MAX_TX_BYTES = 128 * 1024;

export interface SendBody {
  kind: 'send';
  chainId: number;
  /** Unsigned EIP-1559 transaction bytes. */
  tx: Uint8Array;
  /** The requesting site's origin (`eth_sendTransaction`); absent for a send from the wallet. */
  origin?: string;
}

/** What a person approves for a send: the decoded transaction and what it does. */
export interface SendDescription {
  kind: 'send';
  tx: UnsignedTx;
  effect: TxClass;
  origin: string | null;
}

export const sendWire = v.strictObject({
  kind: v.literal('send'),
  chainId: v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(2 ** 53 - 1)),
  origin: v.optional(OriginWire),
  tx: B64(Math.ceil((MAX_TX_BYTES * 4) / 3) + 4),
});

export const send = {
  kind: 'send',
  /** The bridge session kind a send's request runs in. */
  session: 'sign',
  wire: sendWire,
  encode(b: SendBody) {
    return {
      kind: 'send',
      chainId: b.chainId,
      ...encodeOrigin(b.origin ?? null),
      tx: toBase64url(b.tx),
    };
  },
  decode(w: v.InferOutput<typeof sendWire>): SendBody {
    const tx = fromBase64url(w.tx, 'transaction');
    if (tx.length === 0 || tx.length > MAX_TX_BYTES) throw new RequestError('transaction size out of range');
    const origin = decodeOrigin(w.origin);
    return { kind: 'send', chainId: w.chainId, ...(origin === null ? {} : { origin }), tx };
  },
  /** The one digest the signing ceremony signs: the EIP-1559 signing hash of the raw bytes. */
  digests(b: SendBody): Uint8Array[] {
    return [txDigest(b.tx)];
  },
  /** Refuses what cannot be shown: the bytes must decode and be for the stated chain. */
  describe(b: SendBody): SendDescription {
    const tx = decodeUnsignedTx(b.tx);
    if (tx.chainId !== b.chainId) throw new RequestError('transaction chain id mismatch');
    return { kind: 'send', tx, effect: classify(tx), origin: b.origin ?? null };
  },
} as const;
