/**
 * Bridge configuration: limits (BRIDGE.md §2, §5, §13–§16) with a `default` profile for real
 * deployments and a `loadtest` profile for the loopback benchmark (every client shares 127.0.0.1,
 * so per-IP limits are lifted there). Every limit can be overridden individually.
 */

export interface RateSpec {
  /** Tokens added per second. */
  ratePerSec: number;
  /** Bucket size (largest burst). */
  burst: number;
}

export interface BridgeLimits {
  /** ws `maxPayload`: largest inbound frame in bytes; above it ws closes with 1009. */
  maxPayloadBytes: number;
  /** Largest `ct` (base64url characters) in a `send`; DKG OT messages are ~40 KB per peer, signing ~50 KB. */
  maxCiphertextChars: number;
  /** Time to authenticate after connecting; also the challenge lifetime. */
  authTimeoutMs: number;
  challengeTtlMs: number;
  /** Protocol ping interval; a socket that misses one pong is terminated. */
  heartbeatMs: number;
  /** Unacknowledged deliveries are re-sent after this long (and on every reconnect via fetch). */
  redeliverAfterMs: number;
  sweepIntervalMs: number;
  maxSessionTtlMs: number;
  defaultSessionTtlMs: number;
  maxMessageTtlMs: number;
  maxSessionsPerDevice: number;
  maxMembersPerSession: number;
  maxMessagesPerSession: number;
  maxMailboxMessages: number;
  /** Pending messages for one recipient in one session: no session takes the whole mailbox. */
  maxSessionMailboxMessages: number;
  /** Pending messages from one sender across all recipients and sessions. */
  maxSenderPendingMessages: number;
  /**
   * Pending messages for one recipient from sessions it has not joined (`join` is consent; the
   * creator has joined its own): strangers adding a device to sessions fill only this slice.
   */
  maxUnjoinedMailboxMessages: number;
  /** Pending ciphertext per mailbox, in base64url characters. */
  maxMailboxBytes: number;
  maxConnections: number;
  /**
   * Concurrent connections from one client IP (per node). Every device behind one NAT shares it,
   * so it is well above one household's devices; a proxy in front must set `--trust-proxy`.
   */
  maxConnectionsPerIp: number;
  /** Per client IP, before auth: connections and `hello` frames. */
  ipRate: RateSpec;
  /** Per device, after auth: every frame. */
  deviceRate: RateSpec;
  /** Frames refused while rate-limited before the socket is closed with 1008. */
  rateLimitStrikes: number;
  /** Invalid frames tolerated from an authenticated client before closing (4400). */
  maxInvalidFrames: number;
  /** A socket whose unsent buffer exceeds this is a slow consumer and is closed (THREATS B39). */
  maxBufferedBytes: number;
  /** Page size ceiling for `fetch`. */
  fetchPageSize: number;
  /**
   * Ciphertext characters per `fetch` page (at least one message is always returned). Capped at
   * half of `maxBufferedBytes` by the relay, so one page never trips the slow-consumer check.
   */
  fetchPageChars: number;
  /**
   * Re-reading messages already delivered on the connection and not acknowledged costs one
   * device-rate token per this many ciphertext characters (first reads are free: the sender paid).
   */
  rereadCharsPerToken: number;
  /** Time given to sockets to close during shutdown before they are terminated. */
  shutdownGraceMs: number;
}

const MIN = 60_000;

/** Production defaults. */
const DEFAULT_LIMITS = {
  maxPayloadBytes: 256 * 1024,
  maxCiphertextChars: 250 * 1024,
  authTimeoutMs: 10_000,
  challengeTtlMs: 10_000,
  heartbeatMs: 30_000,
  redeliverAfterMs: 30_000,
  sweepIntervalMs: 10_000,
  maxSessionTtlMs: 24 * 60 * MIN,
  defaultSessionTtlMs: 15 * MIN,
  maxMessageTtlMs: 24 * 60 * MIN,
  maxSessionsPerDevice: 32,
  maxMembersPerSession: 16,
  maxMessagesPerSession: 20_000,
  maxMailboxMessages: 2_000,
  maxSessionMailboxMessages: 500,
  maxSenderPendingMessages: 1_000,
  maxUnjoinedMailboxMessages: 500,
  maxMailboxBytes: 64 * 1024 * 1024,
  maxConnections: 10_000,
  maxConnectionsPerIp: 64,
  ipRate: { ratePerSec: 10, burst: 40 },
  deviceRate: { ratePerSec: 200, burst: 400 },
  rateLimitStrikes: 50,
  maxInvalidFrames: 10,
  maxBufferedBytes: 8 * 1024 * 1024,
  fetchPageSize: 100,
  fetchPageChars: 4 * 1024 * 1024,
  rereadCharsPerToken: 64 * 1024,
  shutdownGraceMs: 2_000,
} as const satisfies BridgeLimits;

export const PROFILES = {
  default: DEFAULT_LIMITS,
  /** Loopback load tests: the defaults with the caps a load generator would trip raised. */
  loadtest: {
    ...DEFAULT_LIMITS,
    authTimeoutMs: 30_000,
    challengeTtlMs: 30_000,
    maxMessagesPerSession: 10_000_000,
    maxMailboxMessages: 100_000,
    maxSessionMailboxMessages: 100_000,
    maxSenderPendingMessages: 1_000_000,
    maxUnjoinedMailboxMessages: 100_000,
    maxMailboxBytes: 256 * 1024 * 1024,
    maxConnections: 50_000,
    maxConnectionsPerIp: 50_000,
    ipRate: { ratePerSec: 1_000_000, burst: 1_000_000 },
    deviceRate: { ratePerSec: 10_000, burst: 20_000 },
    rateLimitStrikes: 1000,
    maxBufferedBytes: 64 * 1024 * 1024,
  },
} as const satisfies Record<string, BridgeLimits>;

export type ProfileName = keyof typeof PROFILES;

export function limitsFor(profile: ProfileName, overrides: Partial<BridgeLimits> = {}): BridgeLimits {
  const base = PROFILES[profile];
  if (base === undefined) throw new Error(`unknown profile ${String(profile)}`);
  return { ...base, ...overrides };
}
