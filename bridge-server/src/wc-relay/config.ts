/**
 * Limits of the local WalletConnect relay. Defaults follow the WalletConnect relay RPC spec where it
 * gives a number (batch of at most 500 topics; ttl in seconds, 30 days at most) and are otherwise
 * sized for tests and demos on one machine. Every limit can be overridden.
 */

export interface WcRelayLimits {
  /** ws `maxPayload`: largest inbound frame in bytes (a batch publish carries several messages). */
  maxFrameBytes: number;
  /** Largest `message` (base64 envelope) in characters. */
  maxMessageChars: number;
  /** Subscriptions one socket may hold. */
  maxTopicsPerSocket: number;
  /** Topics in one batch subscribe / fetch / unsubscribe / publish (spec: 500). */
  maxBatch: number;
  /** Messages kept per topic until their TTL (the mailbox refuses past this). */
  maxMailboxMessages: number;
  /** Topics with a non-empty mailbox across the relay. */
  maxMailboxes: number;
  /** Characters of message held across all mailboxes (the relay's memory bound). */
  maxStoredChars: number;
  /** Longest message TTL accepted, seconds. */
  maxTtlSeconds: number;
  /** Messages returned by one fetch before `hasMore`. */
  maxFetchMessages: number;
  /** Open sockets across the relay. */
  maxConnections: number;
  /** ws ping interval; 2.x Node clients drop a socket that saw no ping or message for 35 s. */
  pingIntervalMs: number;
  /** Expired messages are dropped at least this often (and whenever a mailbox is read). */
  sweepIntervalMs: number;
  /** Allowed clock skew for the JWT's `iat`, ms. */
  jwtSkewMs: number;
}

export const DEFAULT_WC_RELAY_LIMITS: WcRelayLimits = {
  maxFrameBytes: 1024 * 1024,
  maxMessageChars: 256 * 1024,
  maxTopicsPerSocket: 1000,
  maxBatch: 500,
  maxMailboxMessages: 500,
  maxMailboxes: 20_000,
  maxStoredChars: 256 * 1024 * 1024,
  maxTtlSeconds: 30 * 24 * 3600,
  maxFetchMessages: 500,
  maxConnections: 1000,
  pingIntervalMs: 20_000,
  sweepIntervalMs: 10_000,
  jwtSkewMs: 60_000,
};
