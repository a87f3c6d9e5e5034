/**
 * Service-worker entry. Registers every listener synchronously at top level (MV3 only delivers
 * events to listeners registered in the first turn), adapts `webextension-polyfill` to the small
 * `Platform` interface, and hands everything to the composition root. Keep this file thin.
 */

import type { WebSocketCtor } from '@concord/bridge-server/client';
import browser from 'webextension-polyfill';
import { cryptoRandomBytes } from '../crypto/aead.ts';
import { openDb } from '../storage/db.ts';
import { type Background, createBackground } from './app.ts';
import { DappPortHost, type HostPort } from './dapp/port-host.ts';
import type { Platform } from './platform.ts';
import { isUiMessage, type SenderInfo } from './router.ts';

const platform: Platform = {
  session: {
    async get(key) {
      return (await browser.storage.session.get(key))[key];
    },
    async set(key, value) {
      await browser.storage.session.set({ [key]: value });
    },
    async remove(key) {
      await browser.storage.session.remove(key);
    },
  },
  alarms: {
    async create(name, when) {
      await browser.alarms.create(name, { when });
    },
    async clear(name) {
      await browser.alarms.clear(name);
    },
  },
  now: () => Date.now(),
  rng: cryptoRandomBytes,
  // The DOM WebSocket satisfies the bridge client's structural `WebSocketLike`.
  WebSocket: globalThis.WebSocket as unknown as WebSocketCtor,
  fetch: (...args) => globalThis.fetch(...args),
  async badge(text) {
    await browser.action.setBadgeBackgroundColor({ color: '#b45309' });
    await browser.action.setBadgeText({ text });
  },
  async notify(id, title, message) {
    if (browser.notifications === undefined) return;
    await browser.notifications.create(`concord-${id}`, {
      type: 'basic',
      iconUrl: browser.runtime.getURL('icon-128.png'),
      title,
      message,
    });
  },
  async openWindow(path) {
    const w = await browser.windows.create({
      url: browser.runtime.getURL(path),
      type: 'popup',
      width: 420,
      height: 640,
      focused: true,
    });
    return w.id;
  },
  async closeWindow(windowId) {
    await browser.windows.remove(windowId);
  },
};

/**
 * What the worker's console shows of an error: class, stable code where it has one, and the first
 * 200 characters of its message. No error raised here or by the crypto libraries carries secret
 * material in its message (PROTOCOL.md, error handling), and without the message an intermittent
 * failure cannot be told from the log.
 */
function describeError(error: unknown): string {
  if (!(error instanceof Error)) return 'error';
  const code = (error as { code?: unknown }).code;
  return `${error.name}${typeof code === 'string' ? ` ${code}` : ''}: ${error.message.slice(0, 200)}`;
}

const extensionOrigin = browser.runtime.getURL('').replace(/\/$/, '');

// One database and one service graph per worker lifetime, created on first use.
let background: Promise<Background> | undefined;
const dappHost = new DappPortHost({
  runtimeId: browser.runtime.id,
  service: () => getBackground().then((bg) => bg.dapp),
  log: (code, error) => console.error(`[concord] ${code}`, describeError(error)),
});
function getBackground(): Promise<Background> {
  background ??= openDb().then((db) =>
    createBackground({
      db,
      platform,
      runtimeId: browser.runtime.id,
      extensionOrigin,
      dappNotify: (origin) => dappHost.notify(origin),
      logError: (code, error) => console.error(`[concord] ${code}`, describeError(error)),
    }),
  );
  return background;
}

browser.runtime.onMessage.addListener((message: unknown, sender: browser.Runtime.MessageSender) => {
  // Synchronous pre-checks: foreign senders and other channels get no reply and never open the
  // database (the router repeats every check; this only keeps other listeners' replies possible).
  if (sender.id !== browser.runtime.id || !isUiMessage(message)) return undefined;
  const info: SenderInfo = { id: sender.id, url: sender.url, origin: (sender as { origin?: string }).origin };
  return getBackground().then((bg) => bg.route(message, info));
});

// dApp pages (through our content script); the host checks the sender before anything else.
browser.runtime.onConnect.addListener((port) => dappHost.attach(port as unknown as HostPort));

// Closing a dApp approval window without deciding rejects its request (EIP-1193 4001).
browser.windows.onRemoved.addListener((windowId) => {
  if (background !== undefined) void background.then((bg) => bg.dappApprovals.windowClosed(windowId));
});

browser.alarms.onAlarm.addListener((alarm) => {
  void getBackground().then((bg) => bg.onAlarm(alarm.name));
});

// A click on a "needs your approval" notification opens that request (ids are `concord-<request id>`).
browser.notifications?.onClicked.addListener((id) => {
  const m = /^concord-([0-9a-f]{32})$/.exec(id);
  if (m === null) return;
  void browser.tabs.create({ url: browser.runtime.getURL(`app.html#/request/${m[1]}`) });
  void browser.notifications.clear(id);
});

browser.runtime.onInstalled.addListener((details) => {
  // First install: open the onboarding page so the user is not left guessing where to start.
  if (details.reason === 'install')
    void browser.tabs.create({ url: browser.runtime.getURL('app.html#/welcome') });
});
