/**
 * A WebSocket for simulated devices whose deliveries can be "lost after acknowledgement": a rule
 * picks relay `deliver` frames that are acknowledged to the relay at once and never reach the bridge
 * client — what the relay sees when a service worker received a message, acked it, and died before
 * it stored what the message meant. Another rule holds frames back until the test releases them (a
 * slow link). Everything else passes through the real `ws` socket untouched.
 * Controlled delivery for deterministic liveness tests (request-liveness.test.ts); not a mock of the
 * relay, which stays the real one.
 */

import type { WebSocketCtor, WebSocketLike } from '@concord/bridge-server/client';
import WebSocket from 'ws';

/** The routing fields of a delivered message (as the relay sends them, ciphertext aside). */
export interface DeliveredFrame {
  sid: string;
  from: string;
  to: string;
  tag: string;
  msgId: string;
  seq: number;
}

export interface LossRule {
  /** Returns true to acknowledge the message and swallow it. Null: deliver everything. */
  drop: ((m: DeliveredFrame) => boolean) | null;
  /** Returns true to hold a delivered message back until `release` (deliver frames only). */
  hold?: ((m: DeliveredFrame) => boolean) | null;
  /** Delivers the held messages, in order (set by the device's current socket). */
  release?: () => void;
}

type Frame = { t: string; messages?: DeliveredFrame[] } & Partial<DeliveredFrame>;

export function lossySocket(rule: LossRule): WebSocketCtor {
  return class LossySocket implements WebSocketLike {
    private readonly ws: WebSocket;
    private readonly held: string[] = [];
    onopen: ((ev: unknown) => void) | null = null;
    onmessage: ((ev: { data: unknown }) => void) | null = null;
    onclose: ((ev: { code: number; reason: string }) => void) | null = null;
    onerror: ((ev: unknown) => void) | null = null;

    constructor(url: string, protocols?: string | string[]) {
      this.ws = new WebSocket(url, protocols);
      this.ws.onopen = (ev) => this.onopen?.(ev);
      this.ws.onclose = (ev) => this.onclose?.({ code: ev.code, reason: ev.reason });
      this.ws.onerror = (ev) => this.onerror?.(ev);
      this.ws.onmessage = (ev) => this.inbound(ev.data);
      rule.release = () => {
        for (const data of this.held.splice(0)) this.onmessage?.({ data });
      };
    }

    private inbound(data: unknown): void {
      const hold = rule.hold ?? null;
      if (hold !== null && typeof data === 'string') {
        const f = JSON.parse(data) as Frame;
        if (f.t === 'deliver' && hold(f as DeliveredFrame)) {
          this.held.push(data);
          return;
        }
      }
      const drop = rule.drop;
      if (drop === null || typeof data !== 'string') {
        this.onmessage?.({ data });
        return;
      }
      const f = JSON.parse(data) as Frame;
      const lost: number[] = [];
      let out: string | null = data;
      if (f.t === 'deliver' && drop(f as DeliveredFrame)) {
        lost.push(f.seq as number);
        out = null;
      } else if (f.t === 'batch' && f.messages !== undefined) {
        const kept = f.messages.filter((m) => {
          if (!drop(m)) return true;
          lost.push(m.seq);
          return false;
        });
        if (lost.length > 0) out = JSON.stringify({ ...f, messages: kept });
      }
      if (lost.length > 0) this.ws.send(JSON.stringify({ t: 'ack', seqs: lost }));
      if (out !== null) this.onmessage?.({ data: out });
    }

    get readyState(): number {
      return this.ws.readyState;
    }

    send(data: string): void {
      this.ws.send(data);
    }

    close(code?: number, reason?: string): void {
      this.ws.close(code, reason);
    }
  };
}
