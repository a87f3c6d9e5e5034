/**
 * The one error type of the threshold core.
 *
 * Every abort carries a stable string `code`, the ids of the parties to blame (`culprits`, hex) and
 * an `abortKind`: `'ban'` when the evidence proves a counterparty misbehaved in a way that may leak
 * secret OT choice bits (DKLs23 §8 pitfalls; Trail of Bits TOB-SILA-12), `'retry'` when the session
 * simply cannot finish (inconsistent views, equivocation the core cannot attribute, bad parameters).
 * Messages never contain secret bytes: only codes, public ids and indices. Modelled on viem's
 * `BaseError` and frost's `Error::culprits()`.
 */

/** Stable error codes. Never renumber or rename: callers and stored ban records depend on them. */
export type TssErrorCode =
  // parameters and local misuse
  | 'INVALID_PARAMETERS'
  | 'BELOW_THRESHOLD'
  | 'BANNED_PARTY'
  | 'REFRESH_REQUIRED'
  | 'SESSION_STATE'
  | 'EPOCH_MISMATCH'
  | 'VAULT_MISMATCH'
  // message handling (THREATS A17)
  | 'UNKNOWN_SENDER'
  | 'WRONG_RECIPIENT'
  | 'WRONG_ROUND'
  | 'CONFLICTING_DUPLICATE'
  | 'MALFORMED_MESSAGE'
  // value validation (THREATS A10, A11, A4)
  | 'INVALID_POINT'
  | 'INVALID_SCALAR'
  | 'BAD_LENGTH'
  // DKG checks
  | 'DECOMMIT_MISMATCH'
  | 'BAD_PROOF'
  | 'FELDMAN_CHECK_FAILED'
  | 'ECHO_MISMATCH'
  | 'TRANSCRIPT_MISMATCH'
  | 'PUBLIC_KEY_MISMATCH'
  // a pair's zero-share seeds differ (DKG and reshare confirm round; never attributable)
  | 'ZERO_SEED_MISMATCH'
  // reshare two-phase finish (THREATS A23, A24)
  | 'CERTIFICATE_INVALID'
  // envelope-key rotation bound into a reshare certificate (reshare/rotation.ts)
  | 'ROTATION_INVALID'
  | 'KEY_NOT_ROTATED'
  // OT and multiplication checks (ban-worthy: selective abort)
  | 'BASE_OT_FAILED'
  | 'ALL_BUT_ONE_FAILED'
  | 'OT_EXTENSION_FAILED'
  | 'RVOLE_FAILED'
  | 'GAMMA_CHECK_FAILED'
  // signing
  | 'SESSION_MISMATCH'
  | 'COMMITMENT_MISMATCH'
  | 'SIGNATURE_INVALID'
  // storage / encodings
  | 'DECODE_FAILED'
  | 'UNSUPPORTED_VERSION'
  // transport envelopes (THREATS B33-B36)
  | 'DECRYPT_FAILED'
  | 'REPLAYED_MESSAGE'
  // per-ceremony ephemeral keys (envelope v2)
  | 'HANDSHAKE_REQUIRED'
  | 'EPHEMERAL_CONFLICT';

export type AbortKind = 'retry' | 'ban';

export interface TssErrorOptions {
  /** Hex ids of the parties to blame. Empty when the evidence names nobody. */
  culprits?: readonly string[];
  /** Defaults to `'retry'`. */
  abortKind?: AbortKind;
  /** Protocol round or step in which the check failed, for diagnostics. */
  round?: string;
  cause?: unknown;
}

export class TssError extends Error {
  override readonly name = 'TssError';
  readonly code: TssErrorCode;
  readonly culprits: readonly string[];
  readonly abortKind: AbortKind;
  readonly round: string | undefined;

  constructor(code: TssErrorCode, message: string, opts: TssErrorOptions = {}) {
    super(`${code}: ${message}`, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.code = code;
    this.culprits = Object.freeze([...(opts.culprits ?? [])]);
    this.abortKind = opts.abortKind ?? 'retry';
    this.round = opts.round;
  }

  /** Public, loggable view (no stack, no cause: a cause may hold library internals). */
  toJSON(): { name: string; code: TssErrorCode; message: string; culprits: string[]; abortKind: AbortKind } {
    return {
      name: this.name,
      code: this.code,
      message: this.message,
      culprits: [...this.culprits],
      abortKind: this.abortKind,
    };
  }
}

/** Shorthand for an abort that bans `culprit` (hex id). */
export function banError(code: TssErrorCode, culprit: string, message: string, round?: string): TssError {
  return new TssError(code, message, { culprits: [culprit], abortKind: 'ban', round });
}

/** Shorthand for an abort that blames `culprit` but only asks for a retry (no OT state is at stake). */
export function blameError(code: TssErrorCode, culprit: string, message: string, round?: string): TssError {
  return new TssError(code, message, { culprits: [culprit], abortKind: 'retry', round });
}

export function isTssError(e: unknown): e is TssError {
  return e instanceof TssError;
}
