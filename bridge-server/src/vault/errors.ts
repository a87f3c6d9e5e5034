/**
 * The vault runtime's typed error: a stable `code` for every refusal of the co-approval protocol and
 * its request kinds, a message written for people, never secret bytes. Adapters (the extension's
 * background, a headless member) map codes to their own errors; `INVALID_REQUEST` is bad input from
 * the caller or a peer, `REQUEST_CLOSED` an action on a request that no longer allows it.
 */

export type VaultErrorCode =
  /** A request, body, control message or signed transaction is malformed or refused. */
  | 'INVALID_REQUEST'
  /** The request can no longer take the action (expired, decided, signed, attempts used up). */
  | 'REQUEST_CLOSED';

export class VaultError extends Error {
  override name = 'VaultError';
  readonly code: VaultErrorCode;

  constructor(code: VaultErrorCode, message: string, options: { cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
  }
}

export function isVaultError(e: unknown, code?: VaultErrorCode): e is VaultError {
  return e instanceof VaultError && (code === undefined || e.code === code);
}

/**
 * A request or control message that does not decode, or a start a device must refuse. Kept as its
 * own class (and name) because logs and callers already know it; its code is `INVALID_REQUEST`.
 */
export class RequestError extends VaultError {
  constructor(message: string, options: { cause?: unknown } = {}) {
    super('INVALID_REQUEST', message, options);
    this.name = 'RequestError';
  }
}
