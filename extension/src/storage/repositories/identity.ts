/**
 * Repository for the device identity. The secret half is sealed under the DEK with associated data
 * (identity, 'device', version) so it cannot be swapped with any other sealed record.
 */
import { open, type RandomBytes, type RecordContext, seal } from '../../crypto/aead.ts';
import type { ConcordDb } from '../db.ts';
import type { IdentityRecord } from '../records.ts';

/** Version of the sealed identity plaintext (tss secret identity encoding v1). */
export const IDENTITY_RECORD_VERSION = 1;

export function identityContext(r: Pick<IdentityRecord, 'id' | 'version'>): RecordContext {
  return { type: 'identity', id: r.id, version: r.version };
}

export type IdentityPublicFields = Omit<IdentityRecord, 'id' | 'version' | 'sealed'>;

export class IdentityRepository {
  constructor(private readonly db: ConcordDb) {}

  get(): Promise<IdentityRecord | undefined> {
    return this.db.identity.get('device');
  }

  async exists(): Promise<boolean> {
    return (await this.db.identity.count()) > 0;
  }

  /** Builds (but does not store) a record sealing `secret` under `dek`. */
  static build(
    fields: IdentityPublicFields,
    secret: Uint8Array,
    dek: Uint8Array,
    rng?: RandomBytes,
  ): IdentityRecord {
    const base = { id: 'device' as const, version: IDENTITY_RECORD_VERSION };
    return { ...base, ...fields, sealed: seal(dek, secret, identityContext(base), rng) };
  }

  put(record: IdentityRecord): Promise<string> {
    return this.db.identity.put(record);
  }

  /** Decrypts the secret identity encoding; the caller zeroes it after decoding. */
  static openSecret(record: IdentityRecord, dek: Uint8Array): Uint8Array {
    return open(dek, record.sealed, identityContext(record));
  }
}
