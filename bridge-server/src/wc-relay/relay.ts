/**
 * The WalletConnect relay's state machine, independent of sockets: connections, subscriptions,
 * mailboxes, `irn_subscription` pushes and their acknowledgements ("Relay Server RPC": the client
 * answers each push with `result: true`; only then is the message marked delivered to that client).
 * A push that is not acknowledged before the socket goes away is pushed again when the client
 * subscribes to the topic again (2.x clients re-subscribe every topic on reconnect and drop
 * duplicates by message hash).
 */
import type { WcRelayLimits } from './config.ts';
import { isWcRelayError, WcRelayError } from './errors.ts';
import {
  errorFrame,
  isMethod,
  type ParamSchemas,
  paramSchemas,
  parseFrame,
  parseParams,
  type RpcId,
  resultFrame,
  salvageId,
} from './frames.ts';
import { type HandlerContext, handlers } from './handlers.ts';
import { Mailboxes, type PublishInput, type StoredMessage } from './mailbox.ts';
import { Subscriptions, subscriptionId } from './subscriptions.ts';

/** One client socket, as the relay core sees it. */
export interface WcConnection {
  readonly clientId: string;
  send(frame: string): void;
  /** Close the socket (the relay gave up on it, e.g. after too many malformed frames). */
  close(code: number, reason: string): void;
}

/** Malformed frames a socket may send before the relay closes it (policy violation, 1008). */
const MAX_BAD_FRAMES = 20;

interface ConnState {
  /** Pushed, not yet acknowledged: push rpc id → message. */
  inflight: Map<number, StoredMessage>;
  badFrames: number;
}

export interface WcRelayEvents {
  /** A request was served (for logs: which methods clients use). */
  onServed?(clientId: string, method: string): void;
  /** A method failed; `code` is the relay error code (for logs). */
  onError?(clientId: string, method: string | undefined, error: WcRelayError): void;
}

export class WcRelayCore {
  readonly mailboxes: Mailboxes;
  private readonly subs: Subscriptions<WcConnection>;
  private readonly conns = new Map<WcConnection, ConnState>();
  private readonly schemas: ParamSchemas;
  private readonly methods = handlers<WcConnection>();
  private readonly ctx: HandlerContext<WcConnection>;
  /** Push ids: safe integers (< 2^53), unique for the relay's life. */
  private nextPushId = Date.now() * 1000;

  constructor(
    private readonly limits: WcRelayLimits,
    private readonly now: () => number,
    private readonly events: WcRelayEvents = {},
  ) {
    this.mailboxes = new Mailboxes(limits, now);
    this.subs = new Subscriptions(limits);
    this.schemas = paramSchemas(limits);
    this.ctx = {
      subscribe: (conn, topic) => this.subs.add(conn, topic).id,
      assertRoom: (conn, topics) => {
        if (this.subs.room(conn, topics) < 0) {
          throw new WcRelayError(
            'TOO_MANY_TOPICS',
            `a socket may hold ${limits.maxTopicsPerSocket} subscriptions`,
          );
        }
      },
      unsubscribe: (conn, topic, id) => {
        this.subs.remove(conn, topic, id);
      },
      publish: (input) => this.publish(input),
      deliverPending: (conn, topic) => this.deliverPending(conn, topic),
      fetch: (conn, topics) => this.fetch(conn, topics),
    };
  }

  get connectionCount(): number {
    return this.conns.size;
  }

  open(conn: WcConnection): void {
    this.conns.set(conn, { inflight: new Map(), badFrames: 0 });
  }

  closed(conn: WcConnection): void {
    this.subs.drop(conn);
    this.conns.delete(conn);
  }

  /** Handle one inbound text frame from `conn`. */
  frame(conn: WcConnection, text: string): void {
    const state = this.conns.get(conn);
    if (!state) return;
    let parsed: ReturnType<typeof parseFrame>;
    try {
      parsed = parseFrame(text);
    } catch (e) {
      let id: RpcId | null = null;
      try {
        id = salvageId(JSON.parse(text));
      } catch {
        // not JSON: answered with id null, as JSON-RPC 2.0 §5 asks
      }
      this.refuse(conn, state, id, undefined, e);
      return;
    }
    const { frame } = parsed;
    if (frame.kind === 'response') {
      this.acknowledged(conn, state, frame.id, frame.ok);
      return;
    }
    if (!isMethod(this.schemas, frame.method)) {
      this.refuse(
        conn,
        state,
        frame.id,
        frame.method,
        new WcRelayError('METHOD_NOT_FOUND', `unknown method ${frame.method.slice(0, 64)}`),
      );
      return;
    }
    const method = frame.method;
    let outcome: ReturnType<(typeof this.methods)[typeof method]>;
    try {
      const params = parseParams(this.schemas, method, frame.params);
      // biome-ignore lint/suspicious/noExplicitAny: the handler table is indexed by the validated method name; each entry takes that method's params.
      outcome = (this.methods[method] as any)(this.ctx, conn, params);
    } catch (e) {
      this.refuse(conn, state, frame.id, method, e);
      return;
    }
    conn.send(resultFrame(frame.id, outcome.result));
    this.events.onServed?.(conn.clientId, method);
    outcome.after?.();
  }

  /** A non-binary-frame error for a binary frame (2.x clients only send text). */
  binaryFrame(conn: WcConnection): void {
    const state = this.conns.get(conn);
    if (state)
      this.refuse(
        conn,
        state,
        null,
        undefined,
        new WcRelayError('INVALID_REQUEST', 'binary frames are not supported'),
      );
  }

  /** Drop expired messages (called on a timer by the server). */
  sweep(): void {
    this.mailboxes.sweep();
  }

  private refuse(
    conn: WcConnection,
    state: ConnState,
    id: RpcId | null,
    method: string | undefined,
    e: unknown,
  ): void {
    const err = isWcRelayError(e) ? e : new WcRelayError('INTERNAL', 'internal error');
    this.events.onError?.(conn.clientId, method, err);
    conn.send(errorFrame(id, err.toRpcError()));
    if (err.code === 'PARSE_ERROR' || err.code === 'INVALID_REQUEST') {
      state.badFrames += 1;
      if (state.badFrames >= MAX_BAD_FRAMES) conn.close(1008, 'too many malformed frames');
    }
  }

  private publish(input: PublishInput): void {
    const { stored, fresh } = this.mailboxes.put(input);
    if (!fresh) return;
    for (const conn of this.subs.subscribers(input.topic)) {
      if (conn.clientId !== stored.publisher) this.push(conn, stored);
    }
  }

  private deliverPending(conn: WcConnection, topic: string): void {
    for (const m of this.mailboxes.pendingFor(topic, conn.clientId)) this.push(conn, m);
  }

  private fetch(
    conn: WcConnection,
    topics: readonly string[],
  ): { messages: StoredMessage[]; hasMore: boolean } {
    const all = topics
      .flatMap((t) => this.mailboxes.pendingFor(t, conn.clientId))
      .sort((a, b) => a.seq - b.seq);
    const messages = all.slice(0, this.limits.maxFetchMessages);
    for (const m of messages) this.mailboxes.ack(m, conn.clientId);
    return { messages, hasMore: all.length > messages.length };
  }

  private push(conn: WcConnection, m: StoredMessage): void {
    const state = this.conns.get(conn);
    if (!state) return;
    for (const pending of state.inflight.values()) if (pending === m) return;
    const id = this.nextPushId++;
    state.inflight.set(id, m);
    conn.send(
      JSON.stringify({
        id,
        jsonrpc: '2.0',
        method: 'irn_subscription',
        params: {
          id: subscriptionId(m.topic, conn.clientId),
          data: {
            topic: m.topic,
            message: m.message,
            publishedAt: m.publishedAt,
            tag: m.tag,
            ...(m.attestation === undefined ? {} : { attestation: m.attestation }),
          },
        },
      }),
    );
  }

  private acknowledged(conn: WcConnection, state: ConnState, id: RpcId, ok: boolean): void {
    if (typeof id !== 'number') return;
    const m = state.inflight.get(id);
    if (!m) return;
    state.inflight.delete(id);
    if (ok) this.mailboxes.ack(m, conn.clientId);
  }
}
