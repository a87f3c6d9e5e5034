/**
 * This device's envelope identities (PROTOCOL.md "Envelope-key rotation at every reshare"): the base
 * identity (the device code's, kept in the identity row) and, per vault that went through a reshare,
 * the rotated identity its certificate bound — the same Ed25519 device key with a fresh X25519 key,
 * sealed under the data key in `envelopeKeys` (schema v4). Which identity a bridge session uses is
 * the one whose X25519 key the session's member list names for this device (`identityFor`); an
 * invitation, whose recipient key is not named, is opened by trying each (`all`).
 *
 * Keys no one may still seal to are deleted from storage and zeroed in memory (`prune`, with
 * envelope-rotation.ts `keysInUse`): that is what makes a backup taken before a reshare useless for
 * later control traffic. A key drawn for a run still in progress is kept in memory as in flight, so a
 * prune between drawing it and storing the certificate signature cannot drop it.
 */
import { toHex } from '@concord/tss/bytes';
import { rotateAgreementKey } from '@concord/tss/transport';
import { open, type RandomBytes, type RecordContext, seal } from '../../crypto/aead.ts';
import { zeroize } from '../../shared/bytes.ts';
import type { ConcordDb } from '../../storage/db.ts';
import type { EnvelopeKeyRecord } from '../../storage/records.ts';
import type { DeviceIdentity, PublicDeviceIdentity } from './identity-api.ts';
import { decodeDeviceIdentity, encodeDeviceIdentity } from './identity-api.ts';

function context(r: Pick<EnvelopeKeyRecord, 'id' | 'vaultId' | 'epoch'>): RecordContext {
  return { type: 'envelope-key', id: `${r.vaultId}:${r.id}`, version: r.epoch };
}

export class EnvelopeKeyring {
  private base: DeviceIdentity | null = null;
  private readonly byKey = new Map<string, DeviceIdentity>();
  private readonly inFlight = new Set<string>();

  constructor(
    private readonly db: ConcordDb,
    private readonly rng: RandomBytes,
  ) {}

  /** Loads the stored keys for `base` (idempotent while the same identity stays loaded). */
  async load(base: DeviceIdentity, dek: Uint8Array): Promise<void> {
    if (this.base === base && !base.destroyed) return;
    this.forget();
    for (const row of await this.db.envelopeKeys.toArray()) {
      const secret = open(dek, row.sealed, context(row));
      try {
        const id = decodeDeviceIdentity(secret);
        // Only this device's keys (a row of another identity, e.g. before a restore, is ignored).
        if (toHex(id.deviceId) === toHex(base.deviceId)) this.byKey.set(row.id, id);
        else id.destroy();
      } finally {
        zeroize(secret);
      }
    }
    this.base = base;
  }

  /** Zeroes every rotated key held in memory (on lock). */
  forget(): void {
    for (const id of this.byKey.values()) id.destroy();
    this.byKey.clear();
    this.inFlight.clear();
    this.base = null;
  }

  /** The identity whose X25519 key `listed` names; the base identity when none is named or held. */
  identityFor(listed: PublicDeviceIdentity | undefined): DeviceIdentity | null {
    const base = this.base;
    if (listed === undefined || base === null) return base;
    return this.byKey.get(toHex(listed.agreementKey)) ?? base;
  }

  /** Every identity this device can open with: the base first, then the rotated ones. */
  all(): DeviceIdentity[] {
    return this.base === null ? [] : [this.base, ...this.byKey.values()];
  }

  /**
   * Draws this device's next envelope identity for `vaultId`'s epoch `epoch` and stores it sealed
   * before anything is signed over it, so a certificate that completes after a restart finds it.
   */
  async draw(vaultId: string, epoch: number, dek: Uint8Array, now: number): Promise<DeviceIdentity> {
    const base = this.base;
    if (base === null) throw new Error('envelope keys are not loaded');
    const next = rotateAgreementKey(base, this.rng);
    const id = toHex(next.agreementKey);
    const secret = encodeDeviceIdentity(next);
    try {
      const row = { id, vaultId, epoch, createdAt: now };
      await this.db.envelopeKeys.put({ ...row, sealed: seal(dek, secret, context(row), this.rng) });
    } finally {
      zeroize(secret);
    }
    this.byKey.set(id, next);
    this.inFlight.add(id);
    return next;
  }

  /** The run that drew `key` is over (its signature is stored, or it aborted): prunable from now on. */
  settle(key: Uint8Array): void {
    this.inFlight.delete(toHex(key));
  }

  /** Deletes and zeroes every rotated key outside `inUse` (hex X25519 keys) and not in flight. */
  async prune(inUse: ReadonlySet<string>): Promise<string[]> {
    const rows = await this.db.envelopeKeys.toArray();
    const drop = rows.map((r) => r.id).filter((id) => !inUse.has(id) && !this.inFlight.has(id));
    if (drop.length === 0) return [];
    await this.db.envelopeKeys.bulkDelete(drop);
    for (const id of drop) {
      this.byKey.get(id)?.destroy();
      this.byKey.delete(id);
    }
    return drop;
  }
}

/**
 * Opens an invitation (whose recipient key is not named) with the first identity that can: the
 * base key for a device not in the vault yet, a vault's rotated key for its members. Rethrows the
 * last failure when none can.
 */
export function openWithAny<T>(identities: readonly DeviceIdentity[], open: (id: DeviceIdentity) => T): T {
  let last: unknown = new Error('no envelope identity loaded');
  for (const id of identities) {
    try {
      return open(id);
    } catch (e) {
      last = e;
    }
  }
  throw last;
}
