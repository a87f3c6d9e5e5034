/**
 * The one table of bridge error codes (BRIDGE.md §17). Each code has a WebSocket close code, used
 * when the server closes the connection because of it, and a `closes` flag saying whether the
 * server closes immediately or only reports the error and keeps serving. 4000–4999 are
 * application close codes (RFC 6455 §7.4.2); the 44xx/45xx numbers mirror HTTP statuses so they
 * read naturally in logs. Never renumber: clients switch on these.
 */

export const ERROR_CODES = {
  /** Auth signature invalid, challenge unknown/expired/reused, or a frame before auth. */
  UNAUTHORIZED: { close: 4401, closes: true },
  /** No successful `auth` within the auth timeout. */
  AUTH_TIMEOUT: { close: 4408, closes: true },
  /** Frame failed schema validation (malformed JSON, wrong fields, binary frame). Closes after repeats. */
  INVALID_FRAME: { close: 4400, closes: false },
  /** Unknown protocol version (subprotocol or envelope `v`). */
  UNSUPPORTED_VERSION: { close: 4426, closes: true },
  /** Frame larger than the limit (ws itself closes with 1009 above `maxPayload`). */
  PAYLOAD_TOO_LARGE: { close: 1009, closes: true },
  SESSION_NOT_FOUND: { close: 4404, closes: false },
  /** Sender, recipient or fetcher is not a member of the session, or `from` ≠ authenticated device. */
  NOT_A_MEMBER: { close: 4403, closes: false },
  /** Same msgId from the same sender in the same session with a different body (logged as misbehaviour). */
  DUPLICATE_CONFLICT: { close: 4409, closes: false },
  /** Session or message TTL has passed. */
  EXPIRED: { close: 4410, closes: false },
  /** A quota is reached (see the error's `limit`); the server refuses instead of evicting. */
  MAILBOX_FULL: { close: 4507, closes: false },
  /** Token bucket empty; retry after `retryAfterMs`. Closes with 1008 if the client keeps going. */
  RATE_LIMITED: { close: 1008, closes: false },
  /** A newer connection of the same device took over. */
  DISPLACED: { close: 4000, closes: true },
  /** The client does not read fast enough; its send buffer passed the limit. */
  SLOW_CONSUMER: { close: 4429, closes: true },
  /** The server is shutting down. */
  SHUTTING_DOWN: { close: 1001, closes: true },
  INTERNAL: { close: 1011, closes: false },
  /**
   * The relay's shared store (Redis) is unreachable: nothing was stored; retry after
   * `retryAfterMs`. Upgrades are refused with 503 meanwhile.
   */
  STORE_UNAVAILABLE: { close: 4503, closes: false },
} as const satisfies Record<string, { close: number; closes: boolean }>;

export type ErrorCode = keyof typeof ERROR_CODES;

export const ERROR_CODE_LIST = Object.keys(ERROR_CODES) as ErrorCode[];

/** Which quota a `MAILBOX_FULL` refers to. */
export type QuotaLimit =
  | 'sessions_per_device'
  | 'members_per_session'
  | 'messages_per_session'
  | 'mailbox_messages'
  | 'mailbox_bytes'
  | 'session_mailbox_messages'
  | 'sender_pending_messages'
  | 'unjoined_messages'
  | 'connections';

export function closeCodeFor(code: ErrorCode): number {
  return ERROR_CODES[code].close;
}

/** The error code a close code stands for, if it is one of ours. */
export function errorCodeForClose(close: number): ErrorCode | undefined {
  for (const c of ERROR_CODE_LIST) if (ERROR_CODES[c].close === close) return c;
  return undefined;
}
