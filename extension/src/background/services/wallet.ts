/**
 * Wallet lifecycle: onboarding (keyring + device identity in one transaction), unlock with throttle
 * and KDF upgrade, lock, auto-lock and status. The source of truth for "is the wallet unlocked" is
 * the `KeySession`; this service decides when sessions start and end.
 */

import type { BackupSource } from '@concord/tss/backup';
import { KEY_LENGTH } from '../../crypto/aead.ts';
import type { KdfPolicy } from '../../crypto/kdf.ts';
import {
  confirmKeyringPassphrase,
  createKeyring,
  type KeyringHeader,
  unlockKeyring,
} from '../../crypto/keyring-header.ts';
import { zeroize } from '../../shared/bytes.ts';
import { ExtensionError, isExtensionError } from '../../shared/errors.ts';
import type { DeviceInfo, WalletStatus } from '../../shared/messages.ts';
import { assessPassphrase } from '../../shared/passphrase.ts';
import { authenticateLegacyRecords } from '../../storage/record-auth.ts';
import type { Repositories } from '../../storage/repositories/index.ts';
import type { Platform } from '../platform.ts';
import { type DeviceService, deviceInfoOf } from './device.ts';
import type { DeviceIdentity } from './identity-api.ts';
import { restoreRecord } from './restore.ts';
import type { KeySession } from './session.ts';
import type { UnlockThrottle } from './throttle.ts';

export interface WalletServiceDeps {
  repos: Repositories;
  platform: Platform;
  session: KeySession;
  throttle: UnlockThrottle;
  device: DeviceService;
  kdf: KdfPolicy;
}

export class WalletService {
  /** Serialises unlock/onboard/lock so two pages racing cannot interleave KDF work and writes. */
  private queue: Promise<unknown> = Promise.resolve();

  constructor(private readonly d: WalletServiceDeps) {
    d.session.onEnd(() => d.device.forget());
  }

  private exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.queue.then(fn, fn);
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async idleMs(): Promise<number> {
    return (await this.d.repos.settings.get()).autoLockMinutes * 60_000;
  }

  async isOnboarded(): Promise<boolean> {
    return (
      (await this.d.repos.meta.getKeyringHeader()) !== undefined && (await this.d.repos.identity.exists())
    );
  }

  /**
   * The session key if unlocked, after a worker restart re-checked against the stored identity, so
   * "unlocked" always means the identity is decryptable and loaded.
   */
  private async liveSession() {
    const s = await this.d.session.current();
    if (s === null) return null;
    if (!this.d.device.isLoaded) {
      try {
        await this.d.device.load(s.dek);
      } catch {
        // A session key that no longer opens the identity is useless: drop it rather than half-unlock.
        await this.d.session.end();
        return null;
      }
    }
    return s;
  }

  async status(): Promise<WalletStatus> {
    const onboarded = await this.isOnboarded();
    const s = onboarded ? await this.liveSession() : null;
    return {
      onboarded,
      unlocked: s !== null,
      autoLockAt: s?.expiresAt ?? null,
      retryAfterMs: await this.d.throttle.retryAfterMs(),
    };
  }

  /** Throws `LOCKED` unless unlocked; returns the DEK for services that seal or open records. */
  async requireKey(): Promise<Uint8Array> {
    const s = await this.liveSession();
    if (s === null) throw new ExtensionError('LOCKED', 'Concord is locked.');
    return s.dek;
  }

  /**
   * Sets up this device: keyring, identity and session. With `restored` (a device restored from its
   * backup) the identity is the backup's and the restored share is stored in the same transaction.
   */
  onboard(
    passphrase: string,
    restored?: { identity: DeviceIdentity; source: BackupSource },
  ): Promise<DeviceInfo> {
    return this.exclusive(async () => {
      if (await this.isOnboarded()) {
        throw new ExtensionError('ALREADY_ONBOARDED', 'This device is already set up.');
      }
      const assessment = assessPassphrase(passphrase);
      if (!assessment.acceptable) throw new ExtensionError('WEAK_PASSPHRASE', assessment.message);

      const now = this.d.platform.now();
      const { header, dek } = await createKeyring(passphrase, this.d.kdf, now, this.d.platform.rng);
      try {
        const record = this.d.device.createRecord(dek, now, restored?.identity);
        const restoreRow =
          restored === undefined ? undefined : restoreRecord(restored.source, dek, now, this.d.platform.rng);
        const { db } = this.d.repos;
        await db.transaction('rw', [db.meta, db.identity, db.settings, db.restores], async () => {
          await this.d.repos.meta.putKeyringHeader(header);
          await this.d.repos.identity.put(record);
          await this.d.repos.meta.putThrottle({ failures: 0, notBefore: 0 });
          if (restoreRow !== undefined) await db.restores.put(restoreRow);
        });
        await this.d.session.start(dek, header.keyId, await this.idleMs());
        await this.d.device.load(dek);
        return deviceInfoOf(record);
      } catch (e) {
        zeroize(dek);
        throw e;
      }
    });
  }

  unlock(passphrase: string): Promise<WalletStatus> {
    return this.exclusive(async () => {
      const header = await this.d.repos.meta.getKeyringHeader();
      if (header === undefined)
        throw new ExtensionError('NOT_ONBOARDED', 'This device has not been set up yet.');
      await this.d.throttle.check();

      let result: Awaited<ReturnType<typeof unlockKeyring>>;
      try {
        result = await unlockKeyring(
          header,
          passphrase,
          this.d.kdf,
          this.d.platform.now(),
          this.d.platform.rng,
        );
      } catch (e) {
        if (!isExtensionError(e, 'WRONG_PASSPHRASE')) throw e;
        const wait = await this.d.throttle.recordFailure();
        if (wait > 0) {
          throw new ExtensionError('WRONG_PASSPHRASE', e.message, { retryAfterMs: wait });
        }
        throw e;
      }
      const { dek, upgraded } = result;
      if (dek.length !== KEY_LENGTH) throw new ExtensionError('CORRUPT_RECORD', 'The keyring is invalid.');
      // Re-wrap a header that predates the current KDF parameters now, while we hold the passphrase.
      if (upgraded !== null) {
        if (header.records === 1) await this.d.repos.meta.putKeyringHeader(upgraded);
        else await this.authenticateRecords(upgraded, dek);
      }
      await this.d.throttle.reset();
      await this.d.session.start(dek, header.keyId, await this.idleMs());
      try {
        await this.d.device.load(dek);
      } catch (e) {
        await this.d.session.end();
        throw e;
      }
      return this.status();
    });
  }

  /**
   * Re-checks the wallet passphrase while unlocked, before an action that hands secrets out of the
   * wallet (a backup export carries the share and the device identity): an unlocked session alone,
   * e.g. a browser left open, must not be enough. The passphrase must unwrap the keyring to the
   * session's own data key. A wrong one counts against the same persisted throttle as unlocking, so
   * an open session is no faster oracle for guessing it than the lock screen; nothing else is stored.
   */
  confirmPassphrase(passphrase: string): Promise<void> {
    return this.exclusive(async () => {
      const s = await this.liveSession();
      if (s === null) throw new ExtensionError('LOCKED', 'Concord is locked.');
      const header = await this.d.repos.meta.getKeyringHeader();
      if (header === undefined)
        throw new ExtensionError('NOT_ONBOARDED', 'This device has not been set up yet.');
      await this.d.throttle.check();
      try {
        await confirmKeyringPassphrase(header, passphrase, this.d.kdf, s.dek);
      } catch (e) {
        if (!isExtensionError(e, 'WRONG_PASSPHRASE')) throw e;
        const wait = await this.d.throttle.recordFailure();
        throw new ExtensionError(
          'WRONG_PASSPHRASE',
          'That is not the passphrase that unlocks Concord.',
          wait > 0 ? { retryAfterMs: wait } : {},
        );
      }
      await this.d.throttle.reset();
    });
  }

  /**
   * The one-time upgrade of a profile from before record authentication (schema ≤ 2): every vault
   * and share row is authenticated under the DEK and the header gains its `records` flag, in one
   * transaction (storage/record-auth.ts). A row that already carries a wrong `auth` aborts it all.
   */
  private async authenticateRecords(upgraded: KeyringHeader, dek: Uint8Array): Promise<void> {
    const { db } = this.d.repos;
    try {
      await db.transaction('rw', [db.meta, db.vaults, db.shares], async () => {
        await authenticateLegacyRecords(db, dek);
        await this.d.repos.meta.putKeyringHeader(upgraded);
      });
    } catch (e) {
      zeroize(dek);
      throw e;
    }
  }

  lock(): Promise<WalletStatus> {
    return this.exclusive(async () => {
      await this.d.session.end();
      return this.status();
    });
  }

  /** User activity: push the auto-lock deadline back (no-op while locked). */
  async activity(): Promise<void> {
    if ((await this.liveSession()) !== null) await this.d.session.touch();
  }

  /** Applies a changed auto-lock time to the running session. */
  async autoLockChanged(minutes: number): Promise<void> {
    if ((await this.d.session.current()) !== null) await this.d.session.touch(minutes * 60_000);
  }

  /** The auto-lock alarm fired. Locks unless activity moved the deadline after the alarm was set. */
  async onAutoLockAlarm(): Promise<void> {
    await this.exclusive(async () => {
      const s = await this.d.session.current(); // ends the session itself if past the deadline
      if (s !== null && this.d.platform.now() >= s.expiresAt - 1_000) await this.d.session.end();
    });
  }
}
