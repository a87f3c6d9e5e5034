/**
 * End-to-end glue for one bridge session: seals with `EnvelopeSession` (tss/src/transport), sends
 * through a `BridgeClient`, and on receipt opens the envelope and checks that the relay's routing
 * fields (sid, from, to, tag, msgId) equal the signed inner header (THREATS B33, B36). Messages
 * that fail are dropped and reported through `onReject` with a stable code and no payload.
 * It seals in the envelope's `static` mode only: secret-carrying ceremony messages go through the
 * extension's `SessionChannel`, which adds the per-run ephemeral keys (envelope v2 `announce` /
 * `ephemeral` modes) that a stolen static key cannot open.
 */

import { TssError } from '@concord/tss';
import { toHex } from '@concord/tss/bytes';
import { type EnvelopeHeader, type EnvelopeSession, toBase64url } from '@concord/tss/transport';
import type { BridgeClient, DeliveredMessage } from './client.ts';

export interface SecureMessage {
  header: EnvelopeHeader;
  plaintext: Uint8Array;
  /** Routing data from the relay (seq/ts are not authenticated). */
  delivered: DeliveredMessage;
}

export interface Rejection {
  code: string;
  sid: string;
  from: string;
  msgId: string;
  seq: number;
}

export class SecureBridgeSession {
  private readonly unsubscribe: () => void;

  constructor(
    private readonly client: BridgeClient,
    private readonly envelopes: EnvelopeSession,
    onMessage: (m: SecureMessage) => void,
    private readonly onReject: (r: Rejection) => void = () => {},
  ) {
    this.unsubscribe = client.on('message', (d) => {
      if (d.sid !== envelopes.sid) return;
      const opened = this.open(d);
      if (opened !== undefined) onMessage(opened);
    });
  }

  get sid(): string {
    return this.envelopes.sid;
  }

  /** Seal for `to` (32-byte device id) and send; resolves when the relay has persisted it. */
  send(to: Uint8Array, tag: string, msgId: string, plaintext: Uint8Array, ttlMs?: number) {
    const envelope = this.envelopes.seal(
      { to, tag, msgId, ...(ttlMs === undefined ? {} : { ttl: ttlMs }) },
      plaintext,
    );
    return this.client.send({
      sid: this.envelopes.sid,
      to: toBase64url(to),
      tag,
      msgId,
      envelope,
      ...(ttlMs === undefined ? {} : { ttlMs }),
    });
  }

  private open(d: DeliveredMessage): SecureMessage | undefined {
    const reject = (code: string) => {
      this.onReject({ code, sid: d.sid.slice(0, 6), from: d.from.slice(0, 8), msgId: d.msgId, seq: d.seq });
      return undefined;
    };
    try {
      const { header, plaintext } = this.envelopes.open(d.envelope);
      // The relay routed it as (sid, from, to, tag, msgId): those must be what the sender signed.
      if (
        toBase64url(header.from) !== d.from ||
        toBase64url(header.to) !== d.to ||
        header.sid !== d.sid ||
        header.tag !== d.tag ||
        header.msgId !== d.msgId
      ) {
        return reject('ROUTING_MISMATCH');
      }
      return { header, plaintext, delivered: d };
    } catch (e) {
      return reject(e instanceof TssError ? e.code : 'INTERNAL');
    }
  }

  close(): void {
    this.unsubscribe();
  }

  /** Hex id helper for logs and culprits. */
  static idHex(id: Uint8Array): string {
    return toHex(id);
  }
}
