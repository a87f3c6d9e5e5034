/**
 * Failed-unlock throttle (THREATS 60). The first five wrong passphrases cost only the KDF time; from
 * the fifth failure on, the next attempt must wait 30 s, doubling per further failure up to one hour.
 * State lives in IndexedDB, so restarting the worker or the browser does not reset it. Checked before
 * any KDF work, so a throttled attempt costs nothing and reveals nothing.
 */
import { ExtensionError } from '../../shared/errors.ts';
import type { MetaRepository } from '../../storage/repositories/meta.ts';

export const FREE_ATTEMPTS = 5;
export const BACKOFF_BASE_MS = 30_000;
export const BACKOFF_MAX_MS = 60 * 60_000;

/** Wait imposed after `failures` consecutive failures. */
export function backoffMs(failures: number): number {
  if (failures < FREE_ATTEMPTS) return 0;
  return Math.min(BACKOFF_BASE_MS * 2 ** (failures - FREE_ATTEMPTS), BACKOFF_MAX_MS);
}

export class UnlockThrottle {
  constructor(
    private readonly meta: MetaRepository,
    private readonly now: () => number,
  ) {}

  /** Milliseconds until the next attempt is accepted (0 = now). */
  async retryAfterMs(): Promise<number> {
    const s = await this.meta.getThrottle();
    return Math.max(0, s.notBefore - this.now());
  }

  /** Throws `UNLOCK_THROTTLED` if an attempt now is not allowed. */
  async check(): Promise<void> {
    const wait = await this.retryAfterMs();
    if (wait > 0) {
      throw new ExtensionError('UNLOCK_THROTTLED', `Too many attempts. Try again in ${formatWait(wait)}.`, {
        retryAfterMs: wait,
      });
    }
  }

  /** Records a failure; returns the wait now imposed (0 while attempts are still free). */
  async recordFailure(): Promise<number> {
    const s = await this.meta.getThrottle();
    const failures = s.failures + 1;
    const wait = backoffMs(failures);
    await this.meta.putThrottle({ failures, notBefore: wait > 0 ? this.now() + wait : 0 });
    return wait;
  }

  async reset(): Promise<void> {
    await this.meta.putThrottle({ failures: 0, notBefore: 0 });
  }
}

export function formatWait(ms: number): string {
  const s = Math.ceil(ms / 1000);
  if (s < 60) return `${s} second${s === 1 ? '' : 's'}`;
  const m = Math.ceil(s / 60);
  return `${m} minute${m === 1 ? '' : 's'}`;
}
