/**
 * The order-enforcing driver shared by every ceremony (DKG, signing, reshare). It owns message
 * bookkeeping so round functions stay pure:
 *  - only members may send; a message must be addressed to this party (P2P rounds) or to all
 *    (broadcast rounds);
 *  - a message for the round being collected, or the next one (a faster peer may already be
 *    there), is stored; any other round is refused without changing state;
 *  - an identical duplicate is a no-op (the bridge delivers at least once); the same sender and
 *    round with different bytes aborts naming the sender (THREATS A17);
 *  - when a round has every peer's message, the subclass runs the next pure round function.
 * Refusals throw but leave the session usable; aborts are final.
 */
import { sha256 } from '@noble/hashes/sha2.js';
import { equalBytes, toHex } from '../bytes.ts';
import { TssError } from '../errors.ts';

export interface ProtocolMessage {
  readonly from: Uint8Array;
  /** Recipient id, or null for a broadcast (the transport seals one copy per recipient). */
  readonly to: Uint8Array | null;
  readonly round: number;
  readonly payload: Uint8Array;
}

export type RoundKind = 'broadcast' | 'p2p';

export interface Progress {
  /** Round whose messages are being collected (1-based); `rounds` + 1 when done. */
  readonly round: number;
  readonly rounds: number;
  readonly received: number;
  readonly expected: number;
  readonly state: SessionState;
}

export type SessionState = 'idle' | 'running' | 'done' | 'aborted';

export abstract class RoundEngine<Result> {
  protected readonly selfId: Uint8Array;
  private readonly peerHex: ReadonlySet<string>;
  private readonly kinds: readonly RoundKind[];
  private awaiting = 1;
  private state: SessionState = 'idle';
  private error: TssError | undefined;
  private result: Result | undefined;
  /** Raw payloads of rounds not yet processed. */
  private readonly pending = new Map<number, Map<string, Uint8Array>>();
  /** Digests of every accepted payload, kept for duplicate detection after the raw bytes are gone. */
  private readonly seen = new Map<string, Uint8Array>();

  protected constructor(selfId: Uint8Array, peerIds: readonly Uint8Array[], kinds: readonly RoundKind[]) {
    this.selfId = selfId;
    this.peerHex = new Set(peerIds.map(toHex));
    this.kinds = kinds;
  }

  /** Run the first round; returns the messages to send. */
  start(): ProtocolMessage[] {
    if (this.state !== 'idle') throw new TssError('SESSION_STATE', 'session already started');
    this.state = 'running';
    return this.guard(() => [...this.firstRound(), ...this.drain()]);
  }

  /** Feed one received message; returns any messages to send as a result. */
  receive(msg: ProtocolMessage): ProtocolMessage[] {
    const from = toHex(msg.from);
    if (!this.peerHex.has(from)) {
      throw new TssError('UNKNOWN_SENDER', `message from non-member ${from.slice(0, 16)}…`);
    }
    const key = `${msg.round}:${from}`;
    const digest = sha256(msg.payload);
    const prior = this.seen.get(key);
    if (prior) {
      if (equalBytes(prior, digest)) return []; // identical duplicate: at-least-once delivery
      const e = new TssError('CONFLICTING_DUPLICATE', `two different round-${msg.round} messages`, {
        culprits: [from],
        abortKind: 'ban',
        round: String(msg.round),
      });
      // A finished session keeps its result; only a running one is aborted.
      if (this.state !== 'running') throw e;
      return this.abort(e);
    }
    if (this.state === 'aborted') throw this.error!;
    if (this.state === 'done') throw new TssError('SESSION_STATE', 'session already finished');
    if (this.state === 'idle') throw new TssError('SESSION_STATE', 'session not started');
    const kind = this.kinds[msg.round - 1];
    if (kind === undefined || (msg.round !== this.awaiting && msg.round !== this.awaiting + 1)) {
      throw new TssError(
        'WRONG_ROUND',
        `round-${msg.round} message while collecting round ${this.awaiting}`,
        {
          culprits: [from],
        },
      );
    }
    if (kind === 'broadcast' ? msg.to !== null : msg.to === null || !equalBytes(msg.to, this.selfId)) {
      throw new TssError('WRONG_RECIPIENT', `round-${msg.round} message is not addressed to this party`, {
        culprits: [from],
      });
    }
    this.seen.set(key, digest);
    const bucket = this.pending.get(msg.round) ?? new Map<string, Uint8Array>();
    this.pending.set(msg.round, bucket);
    bucket.set(from, msg.payload);
    return this.guard(() => this.drain());
  }

  get progress(): Progress {
    return {
      round: this.state === 'done' ? this.kinds.length + 1 : this.awaiting,
      rounds: this.kinds.length,
      received: this.pending.get(this.awaiting)?.size ?? 0,
      expected: this.peerHex.size,
      state: this.state,
    };
  }

  get finished(): boolean {
    return this.state === 'done';
  }

  /** The output; throws the abort error if the session aborted. */
  output(): Result {
    if (this.state === 'aborted') throw this.error!;
    if (this.state !== 'done' || this.result === undefined)
      throw new TssError('SESSION_STATE', 'not finished');
    return this.result;
  }

  get abortError(): TssError | undefined {
    return this.error;
  }

  /** A message from this party (to: null broadcasts). */
  protected message(round: number, to: Uint8Array | null, payload: Uint8Array): ProtocolMessage {
    return { from: this.selfId, to, round, payload };
  }

  /** Produce round-1 messages. */
  protected abstract firstRound(): ProtocolMessage[];
  /**
   * All messages of `round` are in: run the next round. Return its outgoing messages, or the final
   * result after the last round.
   */
  protected abstract onRound(
    round: number,
    inbox: Map<string, Uint8Array>,
  ): ProtocolMessage[] | { result: Result };
  /** Drop secret state (called on abort and after the result is taken out). */
  protected abstract wipe(): void;

  private drain(): ProtocolMessage[] {
    const out: ProtocolMessage[] = [];
    while (this.state === 'running') {
      const bucket = this.pending.get(this.awaiting) ?? new Map<string, Uint8Array>();
      if (bucket.size < this.peerHex.size) break;
      this.pending.delete(this.awaiting);
      const r = this.onRound(this.awaiting, bucket);
      bucket.clear();
      if (Array.isArray(r)) {
        out.push(...r);
        this.awaiting++;
      } else {
        this.result = r.result;
        this.state = 'done';
        this.awaiting = this.kinds.length + 1;
        this.wipe();
      }
    }
    return out;
  }

  private guard<T>(f: () => T): T {
    try {
      return f();
    } catch (e) {
      return this.abort(
        e instanceof TssError ? e : new TssError('SESSION_STATE', 'internal failure', { cause: e }),
      );
    }
  }

  private abort(e: TssError): never {
    this.state = 'aborted';
    this.error = e;
    this.pending.clear();
    this.wipe();
    throw e;
  }
}

/**
 * Decode a peer's payload; a decode failure blames (and bans) the sender. A message of another
 * layout version (UNSUPPORTED_VERSION) names the sender but only asks for a retry: it is refused
 * before any of its content is used, so it cannot probe OT state, and during a rollout it is what
 * an honest peer on the previous version sends (docs/PROTOCOL.md, confirm message version 2).
 */
export function decodeFrom<T>(senderHex: string, decode: () => T): T {
  try {
    return decode();
  } catch (e) {
    if (e instanceof TssError && e.culprits.length === 0) {
      throw new TssError(e.code, e.message, {
        culprits: [senderHex],
        abortKind: e.code === 'UNSUPPORTED_VERSION' ? 'retry' : 'ban',
        round: e.round,
        cause: e,
      });
    }
    throw e;
  }
}

/** Decode every payload of a round's inbox, blaming each sender for its own malformed message. */
export function decodeInbox<T>(
  inbox: ReadonlyMap<string, Uint8Array>,
  decode: (bytes: Uint8Array, senderHex: string) => T,
): Map<string, T> {
  const out = new Map<string, T>();
  for (const [hex, bytes] of inbox)
    out.set(
      hex,
      decodeFrom(hex, () => decode(bytes, hex)),
    );
  return out;
}
