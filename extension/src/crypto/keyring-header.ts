/**
 * The keyring header: a random 32-byte data-encryption key (DEK) wrapped under a key derived from
 * the passphrase. Records (device identity, shares, ceremony state) are sealed under the DEK, so a
 * passphrase change or a KDF upgrade re-wraps 48 bytes instead of re-encrypting every record, and the
 * unlocked session holds the DEK, never the passphrase.
 *
 * The wrap's associated data binds the header revision, the KDF parameters, the salt and the key id,
 * so editing any stored field makes the unwrap fail rather than silently deriving something else.
 */
import { sha256 } from '@noble/hashes/sha2.js';
import { concatBytes, toHex, u32be, utf8, zeroize } from '../shared/bytes.ts';
import { ExtensionError, isExtensionError } from '../shared/errors.ts';
import {
  cryptoRandomBytes,
  KEY_LENGTH,
  open,
  type RandomBytes,
  type RecordContext,
  type SealedBlob,
  seal,
} from './aead.ts';
import {
  assertScryptParams,
  deriveKek,
  enforceFloor,
  isBelowCurrent,
  type KdfPolicy,
  SALT_LENGTH,
  type ScryptParams,
} from './kdf.ts';

export const KEYRING_HEADER_VERSION = 1;

export interface KeyringHeader {
  v: typeof KEYRING_HEADER_VERSION;
  /** Incremented on every re-wrap (KDF upgrade, passphrase change). */
  revision: number;
  kdf: ScryptParams;
  salt: Uint8Array;
  /** Public check value of the DEK (hex), to recognise a stale session key. */
  keyId: string;
  wrapped: SealedBlob;
  createdAt: number;
  updatedAt: number;
  /**
   * 1 once every vault and share row is authenticated under this DEK (storage/record-auth.ts); from
   * then on a row without authentication is tampering. Bound into the wrap's associated data, so
   * removing it breaks the header instead of re-opening the legacy path. Absent on older headers.
   */
  records?: 1;
}

/** A public, non-invertible identifier of a DEK. */
export function keyIdOf(dek: Uint8Array): string {
  return toHex(sha256(concatBytes(utf8('concord/ext/key-id/v1'), dek)).subarray(0, 16));
}

function wrapContext(
  h: Pick<KeyringHeader, 'revision' | 'kdf' | 'salt' | 'keyId' | 'records'>,
): RecordContext {
  const kdf = utf8(`${h.kdf.alg}:N=${h.kdf.N}:r=${h.kdf.r}:p=${h.kdf.p}:dkLen=${h.kdf.dkLen}`);
  // Headers from before record authentication have no flag and keep their exact old context.
  const records = h.records === 1 ? utf8('|records=1') : new Uint8Array(0);
  return {
    type: 'keyring',
    id: 'keyring',
    version: h.revision,
    extra: concatBytes(u32be(kdf.length), kdf, u32be(h.salt.length), h.salt, utf8(h.keyId), records),
  };
}

async function wrap(
  dek: Uint8Array,
  passphrase: string,
  kdf: ScryptParams,
  revision: number,
  rng: RandomBytes,
  createdAt: number,
  now: number,
  recordAuth = true,
): Promise<KeyringHeader> {
  const salt = rng(SALT_LENGTH);
  const keyId = keyIdOf(dek);
  const records = recordAuth ? (1 as const) : undefined;
  const kek = await deriveKek(passphrase, salt, kdf);
  try {
    const wrapped = seal(kek, dek, wrapContext({ revision, kdf, salt, keyId, records }), rng);
    return {
      v: KEYRING_HEADER_VERSION,
      revision,
      kdf: { ...kdf },
      salt,
      keyId,
      wrapped,
      createdAt,
      updatedAt: now,
      ...(records === undefined ? {} : { records }),
    };
  } finally {
    zeroize(kek);
  }
}

/**
 * Creates a fresh DEK and its header. The caller owns (and must zero) the returned DEK.
 * `recordAuth: false` makes a header as it was before record authentication (tests of the upgrade).
 */
export async function createKeyring(
  passphrase: string,
  policy: KdfPolicy,
  now: number,
  rng: RandomBytes = cryptoRandomBytes,
  recordAuth = true,
): Promise<{ header: KeyringHeader; dek: Uint8Array }> {
  const dek = rng(KEY_LENGTH);
  const header = await wrap(dek, passphrase, policy.current, 1, rng, now, now, recordAuth);
  return { header, dek };
}

export interface UnlockResult {
  dek: Uint8Array;
  /**
   * Set when the stored header used weaker parameters than current policy, or predates record
   * authentication (then the caller authenticates the records in the same step): store this instead.
   */
  upgraded: KeyringHeader | null;
}

/**
 * Unwraps the DEK. Throws `KDF_BELOW_FLOOR` before spending any work on a downgraded header,
 * `CORRUPT_RECORD` for a malformed one, and `WRONG_PASSPHRASE` when authentication fails (a wrong
 * passphrase and a tampered header are indistinguishable by design).
 */
export async function unlockKeyring(
  header: KeyringHeader,
  passphrase: string,
  policy: KdfPolicy,
  now: number,
  rng: RandomBytes = cryptoRandomBytes,
): Promise<UnlockResult> {
  const dek = await openKeyring(header, passphrase, policy);
  const stale = isBelowCurrent(header.kdf, policy);
  const upgraded =
    stale || header.records !== 1
      ? await wrap(
          dek,
          passphrase,
          stale ? policy.current : header.kdf,
          header.revision + 1,
          rng,
          header.createdAt,
          now,
        )
      : null;
  return { dek, upgraded };
}

/**
 * Re-verifies the passphrase of an unlocked wallet (before a sensitive action such as exporting a
 * backup): the same KEK derivation and unwrap as unlocking, and the unwrapped key must be the
 * session's `dek`. Nothing is stored, nothing is upgraded. Throws like `unlockKeyring`.
 */
export async function confirmKeyringPassphrase(
  header: KeyringHeader,
  passphrase: string,
  policy: KdfPolicy,
  dek: Uint8Array,
): Promise<void> {
  const opened = await openKeyring(header, passphrase, policy);
  try {
    if (!equalBytes(opened, dek)) {
      // The header opens with this passphrase but wraps another key than the session holds.
      throw new ExtensionError('CORRUPT_RECORD', 'The stored keyring does not match this session.');
    }
  } finally {
    zeroize(opened);
  }
}

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i]! ^ b[i]!;
  return diff === 0;
}

/** Validates the header, derives the KEK and unwraps the DEK (caller zeroes it). */
async function openKeyring(
  header: KeyringHeader,
  passphrase: string,
  policy: KdfPolicy,
): Promise<Uint8Array> {
  if (
    header?.v !== KEYRING_HEADER_VERSION ||
    !(header.salt instanceof Uint8Array) ||
    !Number.isInteger(header.revision)
  ) {
    throw new ExtensionError('CORRUPT_RECORD', 'The stored keyring header is malformed.');
  }
  assertScryptParams(header.kdf);
  enforceFloor(header.kdf, policy);
  const kek = await deriveKek(passphrase, header.salt, header.kdf);
  let dek: Uint8Array;
  try {
    dek = open(kek, header.wrapped, wrapContext(header));
  } catch (e) {
    if (isExtensionError(e, 'DECRYPT_FAILED')) {
      throw new ExtensionError('WRONG_PASSPHRASE', 'That passphrase is not correct.');
    }
    throw e;
  } finally {
    zeroize(kek);
  }
  if (dek.length !== KEY_LENGTH || keyIdOf(dek) !== header.keyId) {
    zeroize(dek);
    throw new ExtensionError('CORRUPT_RECORD', 'The stored keyring header is inconsistent.');
  }
  return dek;
}
