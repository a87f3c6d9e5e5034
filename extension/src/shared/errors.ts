/**
 * Typed errors for the extension. Every failure that crosses the UI ↔ background boundary carries a
 * stable `code` the UI can switch on; messages are written for people and never contain secret bytes,
 * passphrases or key material (THREATS 64).
 */

export type ExtensionErrorCode =
  /** The request did not match the message schema. */
  | 'INVALID_REQUEST'
  /** No device identity yet: onboarding has not been completed. */
  | 'NOT_ONBOARDED'
  /** Onboarding was requested but this profile already has an identity. */
  | 'ALREADY_ONBOARDED'
  /** The operation needs the wallet unlocked. */
  | 'LOCKED'
  /** Unlock failed. Deliberately generic: it does not say which part was wrong. */
  | 'WRONG_PASSPHRASE'
  /** Too many failed unlocks; `retryAfterMs` says when the next attempt is accepted. */
  | 'UNLOCK_THROTTLED'
  /** The chosen passphrase does not meet the policy (length ≥ 12 and strength score ≥ 3). */
  | 'WEAK_PASSPHRASE'
  /** A stored key-derivation header is weaker than the floor; refusing to use it (THREATS 58). */
  | 'KDF_BELOW_FLOOR'
  /** Authenticated decryption failed: wrong key, tampering, or a blob moved between records. */
  | 'DECRYPT_FAILED'
  /** A stored record is structurally invalid or of an unknown version. */
  | 'CORRUPT_RECORD'
  /** Settings failed validation. */
  | 'INVALID_SETTINGS'
  /** The page is framed by another document and refuses to act (THREATS 49). */
  | 'FRAMED'
  /** The background could not be reached or answered nonsense. */
  | 'UNAVAILABLE'
  /** The chain is not configured (no RPC URL) or its RPC answered with an error / not at all. */
  | 'CHAIN_UNAVAILABLE'
  /** The RPC refused the signed transaction (message says why: funds, nonce, gas). */
  | 'BROADCAST_FAILED'
  /** A request or proposal is not (or no longer) in a state that allows the action. */
  | 'REQUEST_CLOSED'
  /** The vault, request or share does not exist on this device. */
  | 'NOT_FOUND'
  /** A backup file could not be read, is for another vault/party, or its passphrase is wrong. */
  | 'BACKUP_INVALID'
  /** A stored vault or share record was changed outside Concord (its authentication fails). */
  | 'RECORD_TAMPERED'
  /** A new vault's id is already used by a vault or share on this device (refused, nothing written). */
  | 'VAULT_ID_COLLISION'
  /** Anything else; details are logged in the background, not sent. */
  | 'INTERNAL';

export interface ExtensionErrorOptions {
  cause?: unknown;
  retryAfterMs?: number;
}

export class ExtensionError extends Error {
  override readonly name = 'ExtensionError';
  readonly code: ExtensionErrorCode;
  /** For `UNLOCK_THROTTLED`: milliseconds until the next attempt is accepted. */
  readonly retryAfterMs: number | undefined;

  constructor(code: ExtensionErrorCode, message: string, opts: ExtensionErrorOptions = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.code = code;
    this.retryAfterMs = opts.retryAfterMs;
  }
}

/** The serialisable form sent over `runtime.sendMessage`. */
export interface WireError {
  code: ExtensionErrorCode;
  message: string;
  retryAfterMs?: number;
}

/** Converts any thrown value into a wire error; unknown errors become a generic `INTERNAL`. */
export function toWireError(e: unknown): WireError {
  if (e instanceof ExtensionError) {
    const out: WireError = { code: e.code, message: e.message };
    if (e.retryAfterMs !== undefined) out.retryAfterMs = e.retryAfterMs;
    return out;
  }
  // Unknown errors may carry library messages with data in them; never forward those.
  return { code: 'INTERNAL', message: 'Something went wrong inside Concord. Please try again.' };
}

export function fromWireError(w: WireError): ExtensionError {
  const opts: ExtensionErrorOptions = {};
  if (w.retryAfterMs !== undefined) opts.retryAfterMs = w.retryAfterMs;
  return new ExtensionError(w.code, w.message, opts);
}

export function isExtensionError(e: unknown, code?: ExtensionErrorCode): e is ExtensionError {
  return e instanceof ExtensionError && (code === undefined || e.code === code);
}
