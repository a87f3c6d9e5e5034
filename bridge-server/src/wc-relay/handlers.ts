/**
 * The relay's JSON-RPC methods: the `irn_*` methods of the WalletConnect "Relay Server RPC" spec and
 * the two Sign 2.5 methods @walletconnect/sign-client 2.2x sends instead of plain publishes when a
 * session is proposed and approved (engine `sendProposeSession` / `sendApproveSession`):
 *
 * - `wc_proposeSession {pairingTopic, sessionProposal}`: the dApp created the pairing with
 *   `skipSubscribe`, so the relay subscribes it to the pairing topic (to hear the answer) and
 *   publishes the proposal there with the spec's wc_sessionPropose request tag (1100).
 * - `wc_approveSession {pairingTopic, sessionTopic, sessionProposalResponse,
 *   sessionSettlementRequest}`: the wallet subscribed to the session topic with `skipSubscribe`, so
 *   the relay subscribes it, publishes the proposal response on the pairing topic (tag 1101) and the
 *   settle request on the session topic (tag 1102); the dApp subscribes to the session topic only
 *   after reading the response, and gets the settle request from the mailbox then.
 *
 * Every handler receives validated params and returns the JSON-RPC result, plus deliveries to run
 * once the result has been sent (so a subscriber sees its subscribe answered before the backlog).
 */

import { WcRelayError } from './errors.ts';
import type { MethodName, ParamsOf } from './frames.ts';
import type { PublishInput, StoredMessage } from './mailbox.ts';

/** wc_sessionPropose / wc_sessionSettle tags and TTL (Sign spec "RPC Methods"). */
export const TAG_SESSION_PROPOSE = 1100;
export const TAG_SESSION_PROPOSE_RESPONSE = 1101;
export const TAG_SESSION_SETTLE = 1102;
export const PROPOSAL_TTL_SECONDS = 300;
/** Tag of a publish that names none (the spec's tags are all > 0; 0 means "untagged"). */
const NO_TAG = 0;

export interface HandlerConn {
  readonly clientId: string;
}

export interface HandlerContext<C extends HandlerConn> {
  subscribe(conn: C, topic: string): string;
  /** Throws TOO_MANY_TOPICS unless all `topics` fit on `conn`. */
  assertRoom(conn: C, topics: readonly string[]): void;
  unsubscribe(conn: C, topic: string, id?: string): void;
  publish(input: PublishInput): void;
  /** Push `conn`'s backlog on `topic`. */
  deliverPending(conn: C, topic: string): void;
  /** Take (and mark acknowledged) up to the fetch limit of `conn`'s backlog on `topics`. */
  fetch(conn: C, topics: readonly string[]): { messages: StoredMessage[]; hasMore: boolean };
}

export interface HandlerOutcome {
  result: unknown;
  after?: () => void;
}

type Handler<C extends HandlerConn, M extends MethodName> = (
  ctx: HandlerContext<C>,
  conn: C,
  params: ParamsOf<M>,
) => HandlerOutcome;

type Handlers<C extends HandlerConn> = {
  [M in MethodName]: Handler<C, M>;
};

function received(messages: readonly StoredMessage[]) {
  return messages.map((m) => ({
    topic: m.topic,
    message: m.message,
    publishedAt: m.publishedAt,
    tag: m.tag,
    ...(m.attestation === undefined ? {} : { attestation: m.attestation }),
  }));
}

export function handlers<C extends HandlerConn>(): Handlers<C> {
  return {
    irn_subscribe: (ctx, conn, p) => {
      const id = ctx.subscribe(conn, p.topic);
      return { result: id, after: () => ctx.deliverPending(conn, p.topic) };
    },
    irn_batchSubscribe: (ctx, conn, p) => {
      ctx.assertRoom(conn, p.topics);
      const ids = p.topics.map((t) => ctx.subscribe(conn, t));
      return {
        result: ids,
        after: () => {
          for (const t of p.topics) ctx.deliverPending(conn, t);
        },
      };
    },
    irn_unsubscribe: (ctx, conn, p) => {
      ctx.unsubscribe(conn, p.topic, p.id);
      return { result: true };
    },
    irn_batchUnsubscribe: (ctx, conn, p) => {
      for (const s of p.subscriptions) ctx.unsubscribe(conn, s.topic, s.id);
      return { result: true };
    },
    irn_publish: (ctx, conn, p) => {
      ctx.publish({ ...p, ttlSeconds: p.ttl, tag: p.tag ?? NO_TAG, publisher: conn.clientId });
      return { result: true };
    },
    irn_batchPublish: (ctx, conn, p) => {
      for (const m of p.messages) {
        ctx.publish({ ...m, ttlSeconds: m.ttl, tag: m.tag ?? NO_TAG, publisher: conn.clientId });
      }
      return { result: true };
    },
    irn_fetchMessages: (ctx, conn, p) => {
      const { messages, hasMore } = ctx.fetch(conn, [p.topic]);
      return { result: { messages: received(messages), hasMore } };
    },
    irn_batchFetchMessages: (ctx, conn, p) => {
      const { messages, hasMore } = ctx.fetch(conn, p.topics);
      return { result: { messages: received(messages), hasMore } };
    },
    wc_proposeSession: (ctx, conn, p) => {
      ctx.subscribe(conn, p.pairingTopic);
      ctx.publish({
        topic: p.pairingTopic,
        message: p.sessionProposal,
        ttlSeconds: p.ttl ?? PROPOSAL_TTL_SECONDS,
        tag: TAG_SESSION_PROPOSE,
        publisher: conn.clientId,
        ...(p.attestation ? { attestation: p.attestation } : {}),
      });
      return { result: true, after: () => ctx.deliverPending(conn, p.pairingTopic) };
    },
    wc_approveSession: (ctx, conn, p) => {
      if (p.pairingTopic === p.sessionTopic) {
        throw new WcRelayError(
          'INVALID_PARAMS',
          'wc_approveSession params: sessionTopic equals pairingTopic',
        );
      }
      ctx.subscribe(conn, p.sessionTopic);
      const ttlSeconds = p.ttl ?? PROPOSAL_TTL_SECONDS;
      ctx.publish({
        topic: p.pairingTopic,
        message: p.sessionProposalResponse,
        ttlSeconds,
        tag: TAG_SESSION_PROPOSE_RESPONSE,
        publisher: conn.clientId,
      });
      ctx.publish({
        topic: p.sessionTopic,
        message: p.sessionSettlementRequest,
        ttlSeconds,
        tag: TAG_SESSION_SETTLE,
        publisher: conn.clientId,
      });
      return { result: true, after: () => ctx.deliverPending(conn, p.sessionTopic) };
    },
  };
}
