/**
 * The WalletConnect relay's typed error: a stable `code` per refusal, mapped to the JSON-RPC 2.0
 * error code the client sees (JSON-RPC 2.0 §5.1 for the standard ones; -32000…-32099, the range the
 * spec leaves to servers, for the relay's own limits). Messages name the field or limit at fault and
 * never echo message bodies (they are ciphertext, but still not the relay's to log).
 */

export const WC_RELAY_ERRORS = {
  /** The frame is not JSON. */
  PARSE_ERROR: -32700,
  /** JSON, but not a JSON-RPC 2.0 request or response. */
  INVALID_REQUEST: -32600,
  METHOD_NOT_FOUND: -32601,
  /** A parameter is missing or out of range (topic not 32-byte hex, ttl, tag, batch size, ...). */
  INVALID_PARAMS: -32602,
  INTERNAL: -32603,
  /** A message or frame is larger than the relay's limit. */
  PAYLOAD_TOO_LARGE: -32010,
  /** The socket already holds the most subscriptions it may. */
  TOO_MANY_TOPICS: -32011,
  /** The topic's mailbox (or the relay's count of mailboxes) is full; the relay refuses, never evicts. */
  MAILBOX_FULL: -32012,
  /** Connection refused at the upgrade: missing or invalid `auth` JWT or `projectId` (HTTP 401). */
  UNAUTHORIZED: -32013,
} as const;

export type WcRelayErrorCode = keyof typeof WC_RELAY_ERRORS;

export class WcRelayError extends Error {
  override name = 'WcRelayError';
  readonly code: WcRelayErrorCode;

  constructor(code: WcRelayErrorCode, message: string) {
    super(message);
    this.code = code;
  }

  /** The JSON-RPC error object sent to the client. */
  toRpcError(): { code: number; message: string } {
    return { code: WC_RELAY_ERRORS[this.code], message: this.message };
  }
}

export function isWcRelayError(e: unknown, code?: WcRelayErrorCode): e is WcRelayError {
  return e instanceof WcRelayError && (code === undefined || e.code === code);
}
