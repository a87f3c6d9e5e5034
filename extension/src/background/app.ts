/**
 * Composition root of the background: opens the database, builds the services over the platform
 * adapter and returns the router plus the alarm handler. No browser globals here, so the whole
 * background can be assembled in a unit test with a fake platform.
 */
import { DEFAULT_KDF_POLICY, type KdfPolicy } from '../crypto/kdf.ts';
import type { ConcordDb } from '../storage/db.ts';
import { repositories } from '../storage/repositories/index.ts';
import type { Platform } from './platform.ts';
import { createRouter, type Route } from './router.ts';
import { DeviceService } from './services/device.ts';
import { AUTO_LOCK_ALARM, KeySession } from './services/session.ts';
import { UnlockThrottle } from './services/throttle.ts';
import { WalletService } from './services/wallet.ts';

export interface BackgroundOptions {
  db: ConcordDb;
  platform: Platform;
  runtimeId: string;
  extensionOrigin: string;
  kdf?: KdfPolicy;
  logError?: (code: string, error: unknown) => void;
}

export interface Background {
  route: Route;
  onAlarm(name: string): Promise<void>;
  wallet: WalletService;
  session: KeySession;
}

export function createBackground(o: BackgroundOptions): Background {
  const repos = repositories(o.db);
  const session = new KeySession(o.platform);
  const throttle = new UnlockThrottle(repos.meta, () => o.platform.now());
  const device = new DeviceService(repos.identity, o.platform.rng);
  const wallet = new WalletService({
    repos,
    platform: o.platform,
    session,
    throttle,
    device,
    kdf: o.kdf ?? DEFAULT_KDF_POLICY,
  });

  const route = createRouter({
    runtimeId: o.runtimeId,
    extensionOrigin: o.extensionOrigin,
    onActivity: () => wallet.activity(),
    ...(o.logError ? { logError: o.logError } : {}),
    handlers: {
      status: () => wallet.status(),
      'onboarding.create': (r) => wallet.onboard(r.passphrase),
      unlock: (r) => wallet.unlock(r.passphrase),
      lock: () => wallet.lock(),
      activity: () => wallet.status(),
      'device.get': () => device.info(),
      'settings.get': () => repos.settings.get(),
      'settings.update': async (r) => {
        const next = await repos.settings.update(r.patch);
        if (r.patch.autoLockMinutes !== undefined) await wallet.autoLockChanged(next.autoLockMinutes);
        return next;
      },
    },
  });

  return {
    route,
    wallet,
    session,
    async onAlarm(name) {
      if (name === AUTO_LOCK_ALARM) await wallet.onAutoLockAlarm();
    },
  };
}
