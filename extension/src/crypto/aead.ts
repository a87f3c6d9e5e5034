/**
 * Authenticated encryption of stored records: XChaCha20-Poly1305 (@noble/ciphers) with a fresh
 * 24-byte random nonce per encryption (safe to draw at random at that size) and associated data that
 * binds the record's type, id and version. A blob copied into another record, or into the same record
 * at another version/epoch, fails to open (THREATS 59).
 */
import { xchacha20poly1305 } from '@noble/ciphers/chacha.js';
import { concatBytes, lengthPrefixed, u32be, utf8 } from '../shared/bytes.ts';
import { ExtensionError } from '../shared/errors.ts';

/** Format version of `SealedBlob`; part of the associated data. */
export const SEALED_VERSION = 1;
export const NONCE_LENGTH = 24;
export const KEY_LENGTH = 32;
const AD_TAG = 'concord/ext/sealed-record/v1';

/** Kinds of sealed records; a new secret kind gets a new name here. */
export type SealedRecordType =
  | 'keyring'
  | 'identity'
  | 'share'
  | 'ceremony-state'
  | 'restore'
  /** A vault's envelope (X25519) key of this device after a rotation (envelope-keys.ts). */
  | 'envelope-key'
  /** Authentication tags (empty plaintext) of vault and share rows (storage/record-auth.ts). */
  | 'vault-record'
  | 'share-record';

/** What a sealed blob belongs to. All three fields are authenticated. */
export interface RecordContext {
  type: SealedRecordType;
  /** The record's primary key (or, for the keyring, a fixed name). */
  id: string;
  /** The record's version: schema version, key epoch, or header revision. */
  version: number;
  /** Extra public fields to bind (e.g. KDF parameters and salt for the keyring header). */
  extra?: Uint8Array;
}

export interface SealedBlob {
  v: typeof SEALED_VERSION;
  nonce: Uint8Array;
  /** Ciphertext with the 16-byte Poly1305 tag appended. */
  ct: Uint8Array;
}

export type RandomBytes = (n: number) => Uint8Array;

export const cryptoRandomBytes: RandomBytes = (n) => globalThis.crypto.getRandomValues(new Uint8Array(n));

/** The associated data: tag ‖ blob version ‖ type ‖ id ‖ version ‖ extra, each length-prefixed. */
export function associatedData(ctx: RecordContext): Uint8Array {
  return concatBytes(
    lengthPrefixed(utf8(AD_TAG)),
    u32be(SEALED_VERSION),
    lengthPrefixed(utf8(ctx.type)),
    lengthPrefixed(utf8(ctx.id)),
    u32be(ctx.version),
    lengthPrefixed(ctx.extra ?? new Uint8Array(0)),
  );
}

function checkKey(key: Uint8Array): void {
  if (!(key instanceof Uint8Array) || key.length !== KEY_LENGTH) {
    throw new ExtensionError('INTERNAL', 'Encryption key has the wrong length.');
  }
}

export function seal(
  key: Uint8Array,
  plaintext: Uint8Array,
  ctx: RecordContext,
  rng: RandomBytes = cryptoRandomBytes,
): SealedBlob {
  checkKey(key);
  const nonce = rng(NONCE_LENGTH);
  const ct = xchacha20poly1305(key, nonce, associatedData(ctx)).encrypt(plaintext);
  return { v: SEALED_VERSION, nonce, ct };
}

/** Opens a blob or throws `DECRYPT_FAILED` (or `CORRUPT_RECORD` for a malformed blob). */
export function open(key: Uint8Array, blob: SealedBlob, ctx: RecordContext): Uint8Array {
  checkKey(key);
  if (
    blob === null ||
    typeof blob !== 'object' ||
    blob.v !== SEALED_VERSION ||
    !(blob.nonce instanceof Uint8Array) ||
    blob.nonce.length !== NONCE_LENGTH ||
    !(blob.ct instanceof Uint8Array) ||
    blob.ct.length < 16
  ) {
    throw new ExtensionError('CORRUPT_RECORD', `The stored ${ctx.type} record is malformed.`);
  }
  try {
    return xchacha20poly1305(key, blob.nonce, associatedData(ctx)).decrypt(blob.ct);
  } catch (cause) {
    throw new ExtensionError('DECRYPT_FAILED', `The stored ${ctx.type} record could not be decrypted.`, {
      cause,
    });
  }
}
