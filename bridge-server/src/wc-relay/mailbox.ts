/**
 * Per-topic mailboxes of the WalletConnect relay ("Relay Server RPC": a message is cached for its
 * `ttl` seconds and delivered to subscribers of its topic, including ones that subscribe later).
 * A message is kept until its TTL whatever happens; what changes is, per client id, whether that
 * client acknowledged it (then it is never pushed to that client again). The publisher's own client
 * id never receives its message (a topic has two peers; the real relay does not echo either).
 * Bounded: messages per topic, mailboxes and stored characters per relay; when full the relay
 * refuses, it never evicts.
 */
import type { WcRelayLimits } from './config.ts';
import { WcRelayError } from './errors.ts';

export interface StoredMessage {
  /** Relay-wide sequence number (delivery order within a topic). */
  seq: number;
  topic: string;
  message: string;
  tag: number;
  /** Unix ms, as clients expect in `irn_subscription` `publishedAt`. */
  publishedAt: number;
  expiresAt: number;
  attestation?: string;
  publisher: string;
  /** Client ids that acknowledged (or fetched) it. */
  acked: Set<string>;
}

export interface PublishInput {
  topic: string;
  message: string;
  ttlSeconds: number;
  tag: number;
  attestation?: string;
  publisher: string;
}

export class Mailboxes {
  private readonly topics = new Map<string, StoredMessage[]>();
  private nextSeq = 1;
  private storedChars = 0;

  constructor(
    private readonly limits: WcRelayLimits,
    private readonly now: () => number,
  ) {}

  /**
   * Store a message. An identical message already stored on the topic (a client retrying its
   * publish) is returned instead of stored twice, with `fresh: false`.
   */
  put(input: PublishInput): { stored: StoredMessage; fresh: boolean } {
    const list = this.live(input.topic);
    const same = list.find((m) => m.message === input.message);
    if (same) return { stored: same, fresh: false };
    if (list.length >= this.limits.maxMailboxMessages) {
      throw new WcRelayError(
        'MAILBOX_FULL',
        `topic mailbox holds ${this.limits.maxMailboxMessages} messages`,
      );
    }
    if (list.length === 0 && this.topics.size >= this.limits.maxMailboxes) {
      this.sweep();
      if (this.topics.size >= this.limits.maxMailboxes) {
        throw new WcRelayError('MAILBOX_FULL', `the relay holds ${this.limits.maxMailboxes} mailboxes`);
      }
    }
    if (this.storedChars + input.message.length > this.limits.maxStoredChars) {
      this.sweep();
      if (this.storedChars + input.message.length > this.limits.maxStoredChars) {
        throw new WcRelayError(
          'MAILBOX_FULL',
          `the relay holds ${this.limits.maxStoredChars} characters of messages`,
        );
      }
    }
    const now = this.now();
    const stored: StoredMessage = {
      seq: this.nextSeq++,
      topic: input.topic,
      message: input.message,
      tag: input.tag,
      publishedAt: now,
      expiresAt: now + input.ttlSeconds * 1000,
      publisher: input.publisher,
      acked: new Set(),
      ...(input.attestation === undefined ? {} : { attestation: input.attestation }),
    };
    list.push(stored);
    this.storedChars += stored.message.length;
    this.topics.set(input.topic, list);
    return { stored, fresh: true };
  }

  /** Unexpired messages on `topic` that `clientId` did not publish and has not acknowledged. */
  pendingFor(topic: string, clientId: string): StoredMessage[] {
    return this.live(topic).filter((m) => m.publisher !== clientId && !m.acked.has(clientId));
  }

  ack(message: StoredMessage, clientId: string): void {
    message.acked.add(clientId);
  }

  /** Messages currently held for a topic (tests and metrics). */
  size(topic: string): number {
    return this.live(topic).length;
  }

  /** Characters of message currently held. */
  get chars(): number {
    return this.storedChars;
  }

  get mailboxCount(): number {
    return this.topics.size;
  }

  /** Drop expired messages everywhere. */
  sweep(): void {
    for (const topic of [...this.topics.keys()]) this.live(topic);
  }

  /** The topic's unexpired messages (expired ones are dropped here, so reads never see them). */
  private live(topic: string): StoredMessage[] {
    const list = this.topics.get(topic);
    if (!list) return [];
    const now = this.now();
    const kept = list.filter((m) => m.expiresAt > now);
    for (const m of list) if (m.expiresAt <= now) this.storedChars -= m.message.length;
    if (kept.length === 0) this.topics.delete(topic);
    else if (kept.length !== list.length) this.topics.set(topic, kept);
    return kept;
  }
}
