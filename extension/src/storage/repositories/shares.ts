/**
 * Repository for this device's key shares. Each share is sealed under the DEK with associated data
 * (share, `${vaultId}:${epoch}`, epoch): moving party A's blob into party B's row, or an old epoch's
 * blob into a new epoch's row, fails to decrypt (THREATS 59). Activation of a pending share and
 * deletion of the previous epoch happen in one transaction.
 */
import { open, type RandomBytes, type RecordContext, seal } from '../../crypto/aead.ts';
import { ExtensionError } from '../../shared/errors.ts';
import type { ConcordDb } from '../db.ts';
import type { ShareRecord, ShareStatus } from '../records.ts';

export function shareId(vaultId: string, epoch: number): string {
  return `${vaultId}:${epoch}`;
}

export function shareContext(r: Pick<ShareRecord, 'id' | 'epoch'>): RecordContext {
  return { type: 'share', id: r.id, version: r.epoch };
}

export interface NewShare {
  vaultId: string;
  epoch: number;
  status: ShareStatus;
  /** Canonical share encoding; the caller zeroes it afterwards. */
  secret: Uint8Array;
  createdAt: number;
}

export class SharesRepository {
  constructor(private readonly db: ConcordDb) {}

  static build(s: NewShare, dek: Uint8Array, rng?: RandomBytes): ShareRecord {
    const id = shareId(s.vaultId, s.epoch);
    return {
      id,
      vaultId: s.vaultId,
      epoch: s.epoch,
      status: s.status,
      createdAt: s.createdAt,
      sealed: seal(dek, s.secret, shareContext({ id, epoch: s.epoch }), rng),
    };
  }

  static openSecret(r: ShareRecord, dek: Uint8Array): Uint8Array {
    return open(dek, r.sealed, shareContext(r));
  }

  async add(s: NewShare, dek: Uint8Array, rng?: RandomBytes): Promise<ShareRecord> {
    const record = SharesRepository.build(s, dek, rng);
    await this.db.shares.add(record);
    return record;
  }

  get(id: string): Promise<ShareRecord | undefined> {
    return this.db.shares.get(id);
  }

  /**
   * Adds the first share of a newly created vault, refusing (`VAULT_ID_COLLISION`) when any share
   * of that vault id is already stored: a new vault writing into an existing vault's id would leave
   * two `active` rows (and `active()` would pick either). Run inside the caller's transaction, so the
   * check and the write are one step.
   */
  async addFirst(record: ShareRecord): Promise<void> {
    if ((await this.db.shares.where('vaultId').equals(record.vaultId).count()) > 0) {
      throw vaultIdCollision();
    }
    await this.db.shares.add(record);
  }

  listForVault(vaultId: string): Promise<ShareRecord[]> {
    return this.db.shares.where('vaultId').equals(vaultId).sortBy('epoch');
  }

  async active(vaultId: string): Promise<ShareRecord | undefined> {
    return this.db.shares.where('[vaultId+status]').equals([vaultId, 'active']).first();
  }

  /** Promotes the pending share at `epoch` and deletes every other share of the vault, atomically. */
  async activate(vaultId: string, epoch: number): Promise<void> {
    await this.db.transaction('rw', this.db.shares, async () => {
      const target = await this.db.shares.get(shareId(vaultId, epoch));
      if (target === undefined || target.status !== 'pending') {
        throw new ExtensionError('CORRUPT_RECORD', 'There is no pending share for that epoch.');
      }
      const others = (await this.listForVault(vaultId)).filter((r) => r.epoch !== epoch).map((r) => r.id);
      await this.db.shares.bulkDelete(others);
      await this.db.shares.update(target.id, { status: 'active' });
    });
  }
}

export function vaultIdCollision(): ExtensionError {
  return new ExtensionError(
    'VAULT_ID_COLLISION',
    'A vault with the same id already exists on this device; the new vault was not stored.',
  );
}
