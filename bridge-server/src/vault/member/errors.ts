/**
 * Typed errors of a headless member's own ports (its store), with stable codes; the protocol's
 * refusals stay `VaultError`s (../errors.ts). Messages are for operators and never carry secrets.
 */
export type MemberErrorCode =
  /** The passphrase does not open the store's data key (nothing was written). */
  | 'WRONG_PASSPHRASE'
  /** The file is not a member store, or was written by a newer schema, or names bad KDF costs. */
  | 'STORE_VERSION'
  /** A sealed record does not open (tampered with, or moved to another row). */
  | 'STORE_CORRUPT'
  /** No store at the path, or no such vault, share or request on this member. */
  | 'NOT_FOUND'
  /** A DKG finished for a vault id this member already holds (nothing was written). */
  | 'VAULT_EXISTS';

export class MemberError extends Error {
  override name = 'MemberError';

  constructor(
    readonly code: MemberErrorCode,
    message: string,
  ) {
    super(message);
  }
}

export function isMemberError(e: unknown, code?: MemberErrorCode): e is MemberError {
  return e instanceof MemberError && (code === undefined || e.code === code);
}
