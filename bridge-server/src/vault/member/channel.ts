/**
 * One member's end of one bridge session, end to end encrypted (BRIDGE.md §7–§8), for a headless
 * member whose ceremonies run in process. It speaks exactly the wire format of the extension's
 * `SessionChannel` (extension/src/background/services/ceremony-runner.ts), which is the reference:
 *
 * - protocol message plaintext `[v=1][round][flags][payload]`, flag bit 0 = broadcast;
 * - tag `<label>/r<round>`, msgId `<label>:r<round>:<first 16 chars of the recipient's base64url id>`;
 * - per-run ephemeral keys (envelope v2): binding run L first announces a fresh X25519 key to every
 *   peer (tag `L/hs`, msgId `L:hs:<recipient16>`); protocol messages are sealed `ephemeral` and wait
 *   per peer for its announcement; inbound protocol messages in another mode are refused
 *   (`NOT_EPHEMERAL`); a finished run's ephemeral secret is wiped once nothing waits on it;
 * - tags without `/` are control messages, sealed `static`, handed to `onControl`;
 * - every opened envelope's signed header must equal the relay's routing fields.
 *
 * It lives here, and not shared with the extension, because the extension keeps its own copy until
 * its background is rewired onto this runtime (docs/ARCHITECTURE.md, "What is not there yet"). Only
 * the synchronous `run` (a session in this process) is needed here.
 */
import type { ProtocolMessage, RoundEngine } from '@concord/tss';
import { TssError } from '@concord/tss';
import { toHex } from '@concord/tss/bytes';
import {
  type DeviceIdentity,
  type EnvelopeHeader,
  EnvelopeSession,
  type PublicDeviceIdentity,
  toBase64url,
} from '@concord/tss/transport';
import type { BridgeClient, DeliveredMessage } from '../../client/client.ts';

const FRAME_VERSION = 1;
/** Upper bound of buffered messages per label: a DKG with 16 members needs 4 × 15. */
const MAX_BUFFERED = 256;

export interface OpenedMessage {
  header: EnvelopeHeader;
  plaintext: Uint8Array;
}

export function frame(m: ProtocolMessage): Uint8Array {
  const out = new Uint8Array(3 + m.payload.length);
  out.set([FRAME_VERSION, m.round, m.to === null ? 1 : 0]);
  out.set(m.payload, 3);
  return out;
}

export function unframe(s: OpenedMessage): ProtocolMessage {
  const p = s.plaintext;
  if (p.length < 3 || p[0] !== FRAME_VERSION) throw new TssError('DECODE_FAILED', 'unknown frame version');
  return { from: s.header.from, to: p[2] === 1 ? null : s.header.to, round: p[1]!, payload: p.subarray(3) };
}

export function protocolMsgId(label: string, round: number, to: Uint8Array): string {
  return `${label}:r${round}:${toBase64url(to).slice(0, 16)}`;
}

export interface RunHooks {
  onError?: (e: unknown) => void;
  /** After `start()` and after every inbound message. */
  onStep?: () => void;
}

export interface ChannelOptions {
  client: BridgeClient;
  identity: DeviceIdentity;
  sid: string;
  members: readonly PublicDeviceIdentity[];
  onControl?: (m: OpenedMessage) => void;
  onReject?: (code: string) => void;
  ttlMs?: number;
}

interface Run {
  feed: ((m: OpenedMessage) => void) | undefined;
  buffer: OpenedMessage[];
  waiting: Map<string, (() => void)[]>;
  over: boolean;
  stopped: boolean;
}

export class MemberChannel {
  readonly sid: string;
  private readonly envelopes: EnvelopeSession;
  private readonly peers: PublicDeviceIdentity[];
  private readonly runs = new Map<string, Run>();
  private readonly unsubscribe: () => void;
  private closed = false;

  constructor(private readonly o: ChannelOptions) {
    this.sid = o.sid;
    const self = toHex(o.identity.deviceId);
    this.peers = o.members.filter((m) => toHex(m.deviceId) !== self);
    this.envelopes = new EnvelopeSession({ identity: o.identity, sid: o.sid, peers: this.peers });
    this.unsubscribe = o.client.on('message', (d) => {
      if (d.sid === o.sid) this.deliver(d);
    });
  }

  /** Opens and routes one message (also those received before this channel existed). */
  deliver(d: DeliveredMessage): void {
    if (this.closed) return;
    let opened: OpenedMessage;
    try {
      const { header, plaintext } = this.envelopes.open(d.envelope);
      if (
        toBase64url(header.from) !== d.from ||
        toBase64url(header.to) !== d.to ||
        header.sid !== d.sid ||
        header.tag !== d.tag ||
        header.msgId !== d.msgId
      ) {
        this.o.onReject?.('ROUTING_MISMATCH');
        return;
      }
      opened = { header, plaintext };
    } catch (e) {
      this.o.onReject?.(e instanceof TssError ? e.code : 'INTERNAL');
      return;
    }
    const slash = opened.header.tag.indexOf('/');
    if (slash < 0) {
      this.o.onControl?.(opened);
      return;
    }
    const label = opened.header.tag.slice(0, slash);
    this.flush(label, opened.header.from);
    if (opened.header.mode === 'announce') return;
    if (opened.header.mode !== 'ephemeral') {
      this.o.onReject?.('NOT_EPHEMERAL');
      return;
    }
    const run = this.runFor(label);
    if (run.feed) run.feed(opened);
    else if (run.buffer.length < MAX_BUFFERED) run.buffer.push(opened);
  }

  private runFor(label: string): Run {
    let r = this.runs.get(label);
    if (r === undefined) {
      r = { feed: undefined, buffer: [], waiting: new Map(), over: false, stopped: false };
      this.runs.set(label, r);
    }
    return r;
  }

  private ttl(): { ttl?: number } {
    return this.o.ttlMs === undefined ? {} : { ttl: this.o.ttlMs };
  }

  private ttlMs(): { ttlMs?: number } {
    return this.o.ttlMs === undefined ? {} : { ttlMs: this.o.ttlMs };
  }

  seal(
    to: Uint8Array,
    tag: string,
    msgId: string,
    plaintext: Uint8Array,
    mode: 'static' | 'ephemeral' = 'static',
  ): Uint8Array {
    return this.envelopes.seal({ to, tag, msgId, mode, ...this.ttl() }, plaintext);
  }

  send(
    to: Uint8Array,
    tag: string,
    msgId: string,
    plaintext: Uint8Array,
    mode: 'static' | 'ephemeral' = 'static',
  ): Promise<unknown> {
    if (this.closed) return Promise.resolve();
    return this.o.client.send({
      sid: this.sid,
      to: toBase64url(to),
      tag,
      msgId,
      envelope: this.seal(to, tag, msgId, plaintext, mode),
      ...this.ttlMs(),
    });
  }

  /** One control message to every other member; msgIds get the recipient suffix. */
  broadcast(tag: string, msgIdPrefix: string, plaintext: Uint8Array): Promise<unknown[]> {
    return Promise.all(
      this.peers.map((p) =>
        this.send(p.deviceId, tag, `${msgIdPrefix}:${toBase64url(p.deviceId).slice(0, 16)}`, plaintext),
      ),
    );
  }

  private announce(label: string, onError: (e: unknown) => void): void {
    for (const p of this.peers) {
      const msgId = `${label}:hs:${toBase64url(p.deviceId).slice(0, 16)}`;
      try {
        const envelope = this.envelopes.announce({ to: p.deviceId, context: label, msgId, ...this.ttl() });
        this.o.client
          .send({
            sid: this.sid,
            to: toBase64url(p.deviceId),
            tag: `${label}/hs`,
            msgId,
            envelope,
            ...this.ttlMs(),
          })
          .catch(onError);
      } catch (e) {
        onError(e);
      }
    }
  }

  private sendProtocol(
    label: string,
    m: ProtocolMessage,
    to: Uint8Array,
    onError: (e: unknown) => void,
  ): void {
    const send = (): void => {
      try {
        this.send(to, `${label}/r${m.round}`, protocolMsgId(label, m.round, to), frame(m), 'ephemeral').catch(
          onError,
        );
      } catch (e) {
        onError(e);
      }
    };
    if (this.envelopes.hasPeerEphemeral(to, label)) {
      send();
      return;
    }
    const run = this.runFor(label);
    const k = toHex(to);
    const q = run.waiting.get(k) ?? [];
    q.push(send);
    run.waiting.set(k, q);
  }

  private flush(label: string, from: Uint8Array): void {
    const run = this.runs.get(label);
    if (run === undefined || !this.envelopes.hasPeerEphemeral(from, label)) return;
    const k = toHex(from);
    const q = run.waiting.get(k);
    if (q === undefined) return;
    run.waiting.delete(k);
    for (const send of q) send();
    this.maybeEnd(label);
  }

  private finish(label: string): void {
    const run = this.runs.get(label);
    if (run === undefined || run.over) return;
    run.over = true;
    this.maybeEnd(label);
  }

  private maybeEnd(label: string): void {
    const run = this.runs.get(label);
    if (run?.over === true && run.waiting.size === 0) this.envelopes.endContext(label);
  }

  /** Runs a protocol session: seals its outputs per recipient, feeds it the inputs tagged `<label>/…`. */
  run<R>(session: RoundEngine<R>, label: string, hooks: RunHooks = {}): void {
    const run = this.runFor(label);
    if (run.feed || run.stopped) throw new TssError('SESSION_STATE', `a ${label} session is already bound`);
    const onError = (e: unknown): void => hooks.onError?.(e);
    const send = (out: ProtocolMessage[]): void => {
      for (const m of out) {
        for (const to of m.to === null ? this.peers.map((p) => p.deviceId) : [m.to]) {
          this.sendProtocol(label, m, to, onError);
        }
      }
    };
    const step = (): void => {
      if (session.finished || session.abortError !== undefined) this.finish(label);
      hooks.onStep?.();
    };
    this.announce(label, onError);
    run.feed = (opened) => {
      if (this.closed || run.stopped) return;
      try {
        send(session.receive(unframe(opened)));
      } catch (e) {
        onError(e);
      }
      step();
    };
    try {
      send(session.start());
    } catch (e) {
      onError(e);
    }
    step();
    for (const m of run.buffer.splice(0)) run.feed(m);
  }

  /** Abandons run `label` (a newer attempt replaces it). */
  stopRun(label: string): void {
    const run = this.runFor(label);
    run.stopped = true;
    run.feed = () => {};
    run.buffer.length = 0;
    run.waiting.clear();
    this.finish(label);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.unsubscribe();
    this.runs.clear();
    this.envelopes.destroy();
  }
}
