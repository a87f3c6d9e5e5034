/**
 * Binds threshold-protocol sessions (tss `RoundEngine`: `DkgSession`, `SignSession`) to one bridge
 * session, end to end encrypted (BRIDGE.md §7–§8): in process with `run`, or through an
 * `AsyncRoundEngine` (a session in the offscreen document's Worker, remote-engine.ts) with `runAsync`.
 * Shared by the extension's ceremony service and the cross-package bridge test
 * (test/bridge/ceremony-over-bridge.test.ts), so both run the same wire format:
 *
 * - plaintext framing of a protocol message inside an envelope: `[v=1][round][flags][payload]`, flag
 *   bit 0 = broadcast (the envelope is per recipient, so "to everyone" must travel inside);
 * - tag `<label>/r<round>`, msgId `<label>:r<round>:<first 16 chars of the recipient's base64url id>`:
 *   deterministic, so a resend after a worker or relay restart is the same message and the relay's
 *   (msgId, body) idempotence and the client's dedupe both apply;
 * - messages that arrive before a protocol session is bound (catch-up after a reconnect, a fast peer)
 *   are buffered per label, never dropped;
 * - tags without a `/` are application control messages (proposal decisions) and go to `onControl`;
 *   they are sealed in the envelope's `static` mode (signed, no secret inside);
 * - per-ceremony ephemeral keys (envelope v2, tss/src/transport/ceremony-keys.ts): binding a run
 *   with label L first sends every peer an announcement (tag `L/hs`, msgId `L:hs:<recipient>`) of a
 *   fresh X25519 key for L; the run's protocol messages are sealed in `ephemeral` mode and wait per
 *   peer until that peer's announcement has arrived. Inbound protocol messages in any other mode are
 *   refused (`NOT_EPHEMERAL`: no downgrade to keys a stolen backup could open). When the run has
 *   finished or aborted and nothing is waiting to be sealed, its ephemeral secret is wiped, so the
 *   relay's stored ciphertext of the run is unreadable from then on, to any static key.
 *
 * Opening mirrors `SecureBridgeSession` (bridge-server/src/client/secure-session.ts): the relay's
 * routing fields must equal the signed inner header. It is re-implemented here rather than reused
 * because the ceremony service must also feed it messages it received *before* it knew the member
 * list (`deliver`), which that class does not expose.
 */
import type { BridgeClient, DeliveredMessage } from '@concord/bridge-server/client';
import type { Progress, ProtocolMessage, RoundEngine } from '@concord/tss';
import { TssError } from '@concord/tss';
import { toHex } from '@concord/tss/bytes';
import type { DeviceIdentity, PublicDeviceIdentity } from '@concord/tss/transport';
import { type EnvelopeHeader, EnvelopeSession, toBase64url } from '@concord/tss/transport';

export const FRAME_VERSION = 1;

/** An opened, routing-checked message. */
export interface OpenedMessage {
  header: EnvelopeHeader;
  plaintext: Uint8Array;
  delivered: DeliveredMessage;
}

/** Plaintext framing of a protocol message inside an envelope: [v=1][round][flags][payload]. */
export function frame(m: ProtocolMessage): Uint8Array {
  const out = new Uint8Array(3 + m.payload.length);
  out.set([FRAME_VERSION, m.round, m.to === null ? 1 : 0]);
  out.set(m.payload, 3);
  return out;
}

export function unframe(s: Pick<OpenedMessage, 'header' | 'plaintext'>): ProtocolMessage {
  const p = s.plaintext;
  if (p.length < 3 || p[0] !== FRAME_VERSION) throw new TssError('DECODE_FAILED', 'unknown frame version');
  return { from: s.header.from, to: p[2] === 1 ? null : s.header.to, round: p[1]!, payload: p.subarray(3) };
}

/** Deterministic per-recipient message id of a protocol message. */
export function protocolMsgId(label: string, round: number, to: Uint8Array): string {
  return `${label}:r${round}:${toBase64url(to).slice(0, 16)}`;
}

export interface RunHooks {
  /** After each accepted inbound protocol message (for delivery counting and progress). */
  onDelivered?: (m: ProtocolMessage) => void;
  /** A send failed or the protocol session threw (an abort); the run stops feeding on abort. */
  onError?: (e: unknown) => void;
  /** After `start()` and after every inbound message, whatever happened. */
  onStep?: () => void;
}

/** The public part of an abort: a `TssError`'s `code`, `message` and `culprits` (a TssError fits). */
export interface EngineAbort {
  readonly code: string;
  readonly message: string;
  readonly culprits: readonly string[];
}

/**
 * A protocol session that lives elsewhere (a Worker in the offscreen document, remote-engine.ts) and
 * is driven through calls that take time. `progress`, `finished` and `abortError` are snapshots as of
 * the last reply. `receive` rejects on a refusal (state unchanged) and on an abort (`abortError` then
 * set), like `RoundEngine.receive` throws.
 */
export interface AsyncRoundEngine<Output> {
  start(): Promise<ProtocolMessage[]>;
  receive(m: ProtocolMessage): Promise<ProtocolMessage[]>;
  readonly progress: Progress;
  readonly finished: boolean;
  readonly abortError: EngineAbort | undefined;
  /** What the caller needs of the result (e.g. the DKG's encoded key share and descriptor). */
  output(): Promise<Output>;
  /** Releases the session wherever it lives; called by `SessionChannel.close`. Idempotent. */
  dispose(): void;
}

export interface ChannelOptions {
  client: BridgeClient;
  identity: DeviceIdentity;
  sid: string;
  /** Every member of the bridge session (self included or not; self is skipped). */
  members: readonly PublicDeviceIdentity[];
  /** Application control messages (tags without `/`). */
  onControl?: (m: OpenedMessage) => void;
  /** Envelopes that failed to open or whose routing did not match (no payload). */
  onReject?: (code: string, d: DeliveredMessage) => void;
  /** Envelope time to live, ms. */
  ttlMs?: number;
}

interface Run {
  feed: ((m: OpenedMessage) => void) | undefined;
  buffer: OpenedMessage[];
  /** Protocol messages waiting for the recipient's announcement, by recipient hex id. */
  waiting: Map<string, { send: () => void }[]>;
  /** The bound session has finished or aborted: the context ends once `waiting` is empty. */
  over: boolean;
  /** Set by `stopRun`: the run's session is abandoned; nothing more is fed, sent or reported. */
  stopped: boolean;
  /** The engine bound with `runAsync`, released by `stopRun`. */
  engine?: AsyncRoundEngine<unknown>;
}

/** Upper bound of buffered messages per label: a DKG with 16 members needs 4 × 15. */
const MAX_BUFFERED = 256;

/** One device's end of one bridge session: seal, send, open, and route to runs or control. */
export class SessionChannel {
  readonly sid: string;
  private readonly envelopes: EnvelopeSession;
  private readonly peers: PublicDeviceIdentity[];
  private readonly runs = new Map<string, Run>();
  /** Engines bound with `runAsync`, released when the channel closes. */
  private readonly engines = new Set<AsyncRoundEngine<unknown>>();
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

  /** Whether `peer`'s announcement of its key for run `label` has arrived. */
  hasAnnouncement(peer: Uint8Array, label: string): boolean {
    return this.envelopes.hasPeerEphemeral(peer, label);
  }

  /** Device ids of the other members. */
  get peerIds(): Uint8Array[] {
    return this.peers.map((p) => p.deviceId);
  }

  /** Opens and routes one delivered message; also used for messages received before this channel. */
  deliver(d: DeliveredMessage): void {
    if (this.closed) return;
    const opened = this.open(d);
    if (opened === undefined) return;
    const slash = opened.header.tag.indexOf('/');
    if (slash < 0) {
      this.o.onControl?.(opened);
      return;
    }
    const label = opened.header.tag.slice(0, slash);
    // The sender's key for the run is now known (from its announcement, or from a protocol message
    // that overtook it): seal what was waiting for it.
    this.flush(label, opened.header.from);
    if (opened.header.mode === 'announce') return;
    if (opened.header.mode !== 'ephemeral') {
      this.o.onReject?.('NOT_EPHEMERAL', d);
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

  private open(d: DeliveredMessage): OpenedMessage | undefined {
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
        this.o.onReject?.('ROUTING_MISMATCH', d);
        return undefined;
      }
      return { header, plaintext, delivered: d };
    } catch (e) {
      this.o.onReject?.(e instanceof TssError ? e.code : 'INTERNAL', d);
      return undefined;
    }
  }

  /**
   * Seals `plaintext` for `to` and queues it; resolves once the relay has persisted it. `ephemeral`
   * mode needs both announcements of the tag's run (runs use it through `run`/`runAsync`).
   */
  send(
    to: Uint8Array,
    tag: string,
    msgId: string,
    plaintext: Uint8Array,
    mode: 'static' | 'ephemeral' = 'static',
  ): Promise<unknown> {
    return this.o.client.send({
      sid: this.sid,
      to: toBase64url(to),
      tag,
      msgId,
      envelope: this.seal(to, tag, msgId, plaintext, mode),
      ...(this.o.ttlMs === undefined ? {} : { ttlMs: this.o.ttlMs }),
    });
  }

  /** The sealed envelope alone (the proposal wraps it with the sender's public identity). */
  seal(
    to: Uint8Array,
    tag: string,
    msgId: string,
    plaintext: Uint8Array,
    mode: 'static' | 'ephemeral' = 'static',
  ): Uint8Array {
    return this.envelopes.seal(
      { to, tag, msgId, mode, ...(this.o.ttlMs === undefined ? {} : { ttl: this.o.ttlMs }) },
      plaintext,
    );
  }

  /**
   * Announces this device's ephemeral key for run `label` to every peer (before any of its
   * protocol messages). Deterministic msgIds: a resend is the same message for the relay.
   */
  announce(label: string, onError: (e: unknown) => void): void {
    for (const p of this.peers) {
      const msgId = `${label}:hs:${toBase64url(p.deviceId).slice(0, 16)}`;
      let envelope: Uint8Array;
      try {
        envelope = this.envelopes.announce({
          to: p.deviceId,
          context: label,
          msgId,
          ...(this.o.ttlMs === undefined ? {} : { ttl: this.o.ttlMs }),
        });
      } catch (e) {
        onError(e);
        continue;
      }
      this.o.client
        .send({
          sid: this.sid,
          to: toBase64url(p.deviceId),
          tag: `${label}/hs`,
          msgId,
          envelope,
          ...(this.o.ttlMs === undefined ? {} : { ttlMs: this.o.ttlMs }),
        })
        .catch(onError);
    }
  }

  /**
   * Seals one protocol message of run `label` in `ephemeral` mode and sends it, or queues it until
   * the recipient's announcement for the run has arrived.
   */
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
    q.push({ send });
    run.waiting.set(k, q);
  }

  private flush(label: string, from: Uint8Array): void {
    const run = this.runs.get(label);
    if (run === undefined || !this.envelopes.hasPeerEphemeral(from, label)) return;
    const k = toHex(from);
    const q = run.waiting.get(k);
    if (q === undefined) return;
    run.waiting.delete(k);
    for (const w of q) w.send();
    this.maybeEnd(label);
  }

  /** Marks run `label` over; its ephemeral key is wiped once nothing waits to be sealed with it. */
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

  /** Sends `plaintext` to every other member under one tag; msgIds get the recipient suffix. */
  broadcast(tag: string, msgIdPrefix: string, plaintext: Uint8Array): Promise<unknown[]> {
    return Promise.all(
      this.peers.map((p) =>
        this.send(p.deviceId, tag, `${msgIdPrefix}:${toBase64url(p.deviceId).slice(0, 16)}`, plaintext),
      ),
    );
  }

  /**
   * Runs a protocol session over this channel: seals its outputs per recipient, feeds it the inputs
   * tagged `<label>/…` (first the buffered ones). Synchronous: `receive` is pure CPU.
   */
  run<R>(session: RoundEngine<R>, label: string, hooks: RunHooks = {}): void {
    const run = this.runFor(label);
    if (run.feed || run.stopped) throw new TssError('SESSION_STATE', `a ${label} session is already bound`);
    const onError = (e: unknown): void => hooks.onError?.(e);
    const send = (out: ProtocolMessage[]): void => {
      for (const m of out) {
        const targets = m.to === null ? this.peerIds : [m.to];
        for (const to of targets) this.sendProtocol(label, m, to, onError);
      }
    };
    const step = (): void => {
      if (session.finished || session.abortError !== undefined) this.finish(label);
      hooks.onStep?.();
    };
    this.announce(label, onError);
    run.feed = (opened) => {
      let m: ProtocolMessage;
      try {
        m = unframe(opened);
      } catch (e) {
        hooks.onError?.(e);
        return;
      }
      hooks.onDelivered?.(m);
      try {
        send(session.receive(m));
      } catch (e) {
        hooks.onError?.(e);
      }
      step();
    };
    try {
      send(session.start());
    } catch (e) {
      hooks.onError?.(e);
    }
    step();
    for (const m of run.buffer.splice(0)) run.feed(m);
  }

  /**
   * `run` for a session driven through asynchronous calls (a Worker): the same framing, tags and
   * msgIds, but each inbound message waits for the previous call's reply, so the engine sees messages
   * strictly in arrival order (buffered ones first) and never two calls at once. Once the engine has
   * aborted, later messages are dropped rather than sent to it. After `close` nothing more is sent and
   * no hook fires (a reply that lands after a detach must not restart the stall watchdog).
   */
  runAsync<R>(engine: AsyncRoundEngine<R>, label: string, hooks: RunHooks = {}): void {
    const run = this.runFor(label);
    if (run.feed || run.stopped) throw new TssError('SESSION_STATE', `a ${label} session is already bound`);
    this.engines.add(engine);
    run.engine = engine;
    const live = (): boolean => !this.closed && !run.stopped;
    const report = (e: unknown): void => {
      if (live()) hooks.onError?.(e);
    };
    const send = (out: ProtocolMessage[]): void => {
      for (const m of out) {
        const targets = m.to === null ? this.peerIds : [m.to];
        for (const to of targets) this.sendProtocol(label, m, to, report);
      }
    };
    const step = async (call: () => Promise<ProtocolMessage[]>): Promise<void> => {
      try {
        const out = await call();
        if (live()) send(out);
      } catch (e) {
        report(e);
      }
      if (!live()) return;
      if (engine.finished || engine.abortError !== undefined) this.finish(label);
      hooks.onStep?.();
    };
    this.announce(label, report);
    let queue: Promise<void> = Promise.resolve();
    const enqueue = (task: () => Promise<void>): void => {
      // A throwing hook must not stall the queue: every later message would be stuck behind it.
      queue = queue
        .then(() => (live() ? task() : undefined))
        .catch(report)
        .catch(() => undefined);
    };
    run.feed = (opened) =>
      enqueue(async () => {
        if (engine.abortError !== undefined) return;
        let m: ProtocolMessage;
        try {
          m = unframe(opened);
        } catch (e) {
          report(e);
          return;
        }
        hooks.onDelivered?.(m);
        await step(() => engine.receive(m));
      });
    enqueue(() => step(() => engine.start()));
    for (const m of run.buffer.splice(0)) run.feed(m);
  }

  /**
   * Abandons the protocol session bound under `label` (a DKG attempt replaced by a newer one): later
   * messages of that label are dropped, its engine is released, and the label cannot be bound again.
   * The channel and other labels keep working.
   */
  stopRun(label: string): void {
    const run = this.runFor(label);
    run.stopped = true;
    run.feed = () => {};
    run.buffer.length = 0;
    // Nothing more will be sealed for an abandoned attempt: its ephemeral key goes now.
    run.waiting.clear();
    this.finish(label);
    if (run.engine !== undefined) {
      this.engines.delete(run.engine);
      run.engine.dispose();
      run.engine = undefined;
    }
  }

  /** Stops routing, releases engines bound with `runAsync` and forgets the session's envelope keys. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.unsubscribe();
    this.runs.clear();
    for (const engine of this.engines) engine.dispose();
    this.engines.clear();
    this.envelopes.destroy();
  }
}
