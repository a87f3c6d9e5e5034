/**
 * Reports user activity to the background (which pushes the auto-lock deadline back), at most once
 * every 20 seconds, and watches the lock state so an open page notices an auto-lock.
 */
import { call } from './api.ts';

const MIN_INTERVAL_MS = 20_000;

export function trackActivity(): () => void {
  let last = 0;
  const ping = (): void => {
    const now = Date.now();
    if (now - last < MIN_INTERVAL_MS) return;
    last = now;
    void call({ type: 'activity' }).catch(() => undefined);
  };
  const events = ['pointerdown', 'keydown'] as const;
  for (const e of events) window.addEventListener(e, ping, { passive: true });
  return () => {
    for (const e of events) window.removeEventListener(e, ping);
  };
}

/** Polls the status while the page is visible; calls `onChange` when lock state flips. */
export function watchLock(isUnlocked: () => boolean, onChange: () => void, intervalMs = 5_000): () => void {
  const check = async (): Promise<void> => {
    if (document.visibilityState !== 'visible') return;
    try {
      const s = await call({ type: 'status' });
      if (s.unlocked !== isUnlocked()) onChange();
    } catch {
      // The background may be restarting; the next tick retries.
    }
  };
  const timer = setInterval(() => void check(), intervalMs);
  const onVisible = (): void => void check();
  document.addEventListener('visibilitychange', onVisible);
  return () => {
    clearInterval(timer);
    document.removeEventListener('visibilitychange', onVisible);
  };
}
