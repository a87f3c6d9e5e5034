/**
 * The few browser facilities the background services use, as small interfaces. The entry point
 * (index.ts) adapts `webextension-polyfill` to them; unit tests pass a typed fake. Keeping services
 * off the global `browser` object is what lets them be tested without a browser.
 */
import type { WebSocketCtor } from '@concord/bridge-server/client';
import type { RandomBytes } from '../crypto/aead.ts';

/** `chrome.storage.session`: memory-only, cleared when the browser closes, trusted contexts only. */
export interface SessionArea {
  get(key: string): Promise<unknown>;
  set(key: string, value: unknown): Promise<void>;
  remove(key: string): Promise<void>;
}

/** `chrome.alarms`, reduced to one-shot alarms. */
export interface AlarmScheduler {
  /** Creates or replaces the named alarm to fire once at `when` (epoch ms). */
  create(name: string, when: number): Promise<void>;
  clear(name: string): Promise<void>;
}

export interface Platform {
  session: SessionArea;
  alarms: AlarmScheduler;
  now(): number;
  rng: RandomBytes;
  /** The browser's WebSocket (the bridge connection); absent in unit tests that do not need it. */
  WebSocket?: WebSocketCtor;
  /** `fetch` for chain RPC calls; the global one when absent. */
  fetch?: typeof fetch;
  /** `chrome.action.setBadgeText`: the count of requests waiting for this device. */
  badge?: (text: string) => Promise<void>;
  /** `chrome.notifications.create` (best effort; absent when the permission is not granted). */
  notify?: (id: string, title: string, message: string) => Promise<void>;
}
