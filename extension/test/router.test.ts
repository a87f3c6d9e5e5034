/** The background router (THREATS 46–47): who may ask, and what happens to malformed requests. */
import { describe, expect, it, vi } from 'vitest';
import { createRouter, type Handlers } from '../src/background/router.ts';
import { ExtensionError } from '../src/shared/errors.ts';
import { UI_CHANNEL } from '../src/shared/messages.ts';
import { defaultSettings } from '../src/shared/settings.ts';
import { ORIGIN, PAGE_SENDER, RUNTIME_ID } from './helpers.ts';

function locked(): never {
  throw new ExtensionError('LOCKED', 'locked');
}

function handlers(): Handlers {
  const status = { onboarded: true, unlocked: false, autoLockAt: null, retryAfterMs: 0 };
  const device = { deviceId: 'aa', deviceCode: 'c', fingerprint: 'f', createdAt: 0 };
  return {
    status: vi.fn(async () => status),
    'onboarding.create': vi.fn(async () => device),
    unlock: vi.fn(async () => status),
    lock: vi.fn(async () => status),
    activity: vi.fn(async () => status),
    'device.get': vi.fn(async () => device),
    'settings.get': vi.fn(async () => defaultSettings()),
    'settings.update': vi.fn(async () => defaultSettings()),
    'device.inspect': vi.fn(async () => ({ deviceId: 'aa', fingerprint: 'f' })),
    'vault.propose': vi.fn(async () => {
      throw new ExtensionError('LOCKED', 'locked');
    }),
    'vault.list': vi.fn(async () => []),
    'ceremony.list': vi.fn(async () => []),
    'ceremony.respond': vi.fn(async () => {
      throw new ExtensionError('LOCKED', 'locked');
    }),
    'bridge.status': vi.fn(async () => ({ state: 'off', url: null })),
    'send.preview': vi.fn(async () => locked()),
    'send.create': vi.fn(async () => locked()),
    'request.list': vi.fn(async () => []),
    'request.get': vi.fn(async () => locked()),
    'request.decide': vi.fn(async () => locked()),
    'request.reopen': vi.fn(async () => locked()),
    'vault.balance': vi.fn(async () => locked()),
    'send.max': vi.fn(async () => locked()),
    'connection.status': vi.fn(async () => locked()),
    'connection.retry': vi.fn(async () => locked()),
    'backup.export': vi.fn(async () => locked()),
    'backup.verify': vi.fn(async () => locked()),
    'reshare.propose': vi.fn(async () => locked()),
    'onboarding.restore': vi.fn(async () => locked()),
    'restore.list': vi.fn(async () => []),
    'dapp.approval.get': vi.fn(async () => locked()),
    'dapp.approval.decide': vi.fn(async () => null),
    'dapp.sites.list': vi.fn(async () => []),
    'dapp.sites.revoke': vi.fn(async () => []),
    'token.list': vi.fn(async () => []),
    'token.add': vi.fn(async () => locked()),
    'token.remove': vi.fn(async () => []),
    'token.balances': vi.fn(async () => []),
  };
}

const msg = (request: unknown) => ({ channel: UI_CHANNEL, request });

describe('router', () => {
  it('answers our own pages', async () => {
    const h = handlers();
    const route = createRouter({ runtimeId: RUNTIME_ID, extensionOrigin: ORIGIN, handlers: h });
    const r = await route(msg({ type: 'status' }), PAGE_SENDER);
    expect(r).toEqual({
      ok: true,
      result: { onboarded: true, unlocked: false, autoLockAt: null, retryAfterMs: 0 },
    });
    expect(h.status).toHaveBeenCalledOnce();
  });

  it('ignores messages from another extension id, or with no id, without replying', () => {
    const h = handlers();
    const route = createRouter({ runtimeId: RUNTIME_ID, extensionOrigin: ORIGIN, handlers: h });
    const other = 'ponmlkjihgfedcbaponmlkjihgfedcba';
    expect(
      route(msg({ type: 'lock' }), { id: other, url: `chrome-extension://${other}/x.html` }),
    ).toBeUndefined();
    expect(route(msg({ type: 'lock' }), { url: `${ORIGIN}/app.html` })).toBeUndefined();
    // Even a forged URL claiming our origin does not help a foreign id.
    expect(route(msg({ type: 'lock' }), { id: other, url: `${ORIGIN}/app.html` })).toBeUndefined();
    expect(h.lock).not.toHaveBeenCalled();
  });

  it('ignores content scripts (our id, but a web origin) and trusts the browser’s origin over the URL', () => {
    const h = handlers();
    const route = createRouter({ runtimeId: RUNTIME_ID, extensionOrigin: ORIGIN, handlers: h });
    expect(
      route(msg({ type: 'unlock', passphrase: 'x' }), { id: RUNTIME_ID, url: 'https://evil.test/' }),
    ).toBeUndefined();
    expect(
      route(msg({ type: 'unlock', passphrase: 'x' }), {
        id: RUNTIME_ID,
        url: `${ORIGIN}/app.html`,
        origin: 'https://evil.test',
      }),
    ).toBeUndefined();
    expect(h.unlock).not.toHaveBeenCalled();
  });

  it('leaves messages on other channels to other listeners', () => {
    const route = createRouter({ runtimeId: RUNTIME_ID, extensionOrigin: ORIGIN, handlers: handlers() });
    expect(route({ type: 'status' }, PAGE_SENDER)).toBeUndefined();
    expect(route({ channel: 'concord/inpage/v1', request: { type: 'status' } }, PAGE_SENDER)).toBeUndefined();
    expect(route(null, PAGE_SENDER)).toBeUndefined();
  });

  it('rejects malformed requests, unknown types and extra fields such as a payload origin', async () => {
    const h = handlers();
    const route = createRouter({ runtimeId: RUNTIME_ID, extensionOrigin: ORIGIN, handlers: h });
    for (const bad of [
      { type: 'nope' },
      { type: 'unlock' },
      { type: 'unlock', passphrase: 42 },
      { type: 'lock', origin: 'https://trusted.app' },
      { type: 'settings.update', patch: { bridgeUrl: 7 } },
    ]) {
      expect(await route(msg(bad), PAGE_SENDER)).toEqual({
        ok: false,
        error: { code: 'INVALID_REQUEST', message: 'That request is not understood.' },
      });
    }
    expect(h.unlock).not.toHaveBeenCalled();
    expect(h.lock).not.toHaveBeenCalled();
  });

  it('passes typed errors through and hides unexpected ones', async () => {
    const h = handlers();
    h.unlock = vi.fn(async () => {
      throw new ExtensionError('UNLOCK_THROTTLED', 'Too many attempts.', { retryAfterMs: 1000 });
    });
    h.lock = vi.fn(async () => {
      throw new Error('secret 0xdeadbeef leaked in a library message');
    });
    const logged: string[] = [];
    const route = createRouter({
      runtimeId: RUNTIME_ID,
      extensionOrigin: ORIGIN,
      handlers: h,
      logError: (code) => logged.push(code),
    });
    expect(await route(msg({ type: 'unlock', passphrase: 'p' }), PAGE_SENDER)).toEqual({
      ok: false,
      error: { code: 'UNLOCK_THROTTLED', message: 'Too many attempts.', retryAfterMs: 1000 },
    });
    const r = await route(msg({ type: 'lock' }), PAGE_SENDER);
    expect(r?.ok).toBe(false);
    expect(JSON.stringify(r)).not.toContain('deadbeef');
    expect(logged).toEqual(['INTERNAL']);
  });

  it('reports activity before activity-type requests only', async () => {
    const onActivity = vi.fn(async () => undefined);
    const route = createRouter({
      runtimeId: RUNTIME_ID,
      extensionOrigin: ORIGIN,
      handlers: handlers(),
      onActivity,
    });
    await route(msg({ type: 'status' }), PAGE_SENDER);
    expect(onActivity).not.toHaveBeenCalled();
    await route(msg({ type: 'device.get' }), PAGE_SENDER);
    expect(onActivity).toHaveBeenCalledOnce();
  });
});
