/**
 * This device's identity: creates it at onboarding (tss `generateDeviceIdentity`), seals its secret
 * encoding under the DEK, and while unlocked keeps the decoded `DeviceIdentity` in memory for the
 * bridge client and ceremonies. The public half (device id, device code, fingerprint) is readable
 * while locked: it is what other devices need and reveals nothing.
 */
import type { RandomBytes } from '../../crypto/aead.ts';
import { toHex, zeroize } from '../../shared/bytes.ts';
import { ExtensionError } from '../../shared/errors.ts';
import type { DeviceInfo } from '../../shared/messages.ts';
import type { IdentityRecord } from '../../storage/records.ts';
import { IdentityRepository } from '../../storage/repositories/identity.ts';
import {
  type DeviceIdentity,
  decodeDeviceIdentity,
  deviceCode,
  deviceFingerprint,
  encodeDeviceIdentity,
  encodePublicIdentity,
  generateDeviceIdentity,
  publicIdentity,
} from './identity-api.ts';

export function deviceInfoOf(r: IdentityRecord): DeviceInfo {
  return {
    deviceId: r.deviceId,
    deviceCode: r.deviceCode,
    fingerprint: r.fingerprint,
    createdAt: r.createdAt,
  };
}

export class DeviceService {
  private loaded: DeviceIdentity | null = null;

  constructor(
    private readonly repo: IdentityRepository,
    private readonly rng: RandomBytes,
  ) {}

  /**
   * The record that stores an identity sealed under `dek` (not yet saved): a new one, or `restored`
   * (from a backup; consumed: it is destroyed here like a generated one).
   */
  createRecord(dek: Uint8Array, now: number, restored?: DeviceIdentity): IdentityRecord {
    const identity = restored ?? generateDeviceIdentity(this.rng);
    const secret = encodeDeviceIdentity(identity);
    try {
      const pub = publicIdentity(identity);
      return IdentityRepository.build(
        {
          deviceId: toHex(pub.deviceId),
          publicIdentity: encodePublicIdentity(pub),
          deviceCode: deviceCode(pub),
          fingerprint: deviceFingerprint(pub),
          createdAt: now,
        },
        secret,
        dek,
        this.rng,
      );
    } finally {
      zeroize(secret);
      identity.destroy();
    }
  }

  async info(): Promise<DeviceInfo> {
    const r = await this.repo.get();
    if (r === undefined) throw new ExtensionError('NOT_ONBOARDED', 'This device has not been set up yet.');
    return deviceInfoOf(r);
  }

  /**
   * Decrypts and decodes the identity into memory. Doubles as the proof that a session key is the
   * right one: a stale or wrong DEK fails authentication here.
   */
  async load(dek: Uint8Array): Promise<DeviceIdentity> {
    if (this.loaded !== null && !this.loaded.destroyed) return this.loaded;
    const r = await this.repo.get();
    if (r === undefined) throw new ExtensionError('NOT_ONBOARDED', 'This device has not been set up yet.');
    const secret = IdentityRepository.openSecret(r, dek);
    try {
      this.loaded = decodeDeviceIdentity(secret);
    } catch (cause) {
      throw new ExtensionError('CORRUPT_RECORD', 'The stored device identity is invalid.', { cause });
    } finally {
      zeroize(secret);
    }
    return this.loaded;
  }

  /** True while a decoded identity is held in memory. */
  get isLoaded(): boolean {
    return this.loaded !== null && !this.loaded.destroyed;
  }

  /** Drops the in-memory identity (on lock). */
  forget(): void {
    this.loaded?.destroy();
    this.loaded = null;
  }
}
