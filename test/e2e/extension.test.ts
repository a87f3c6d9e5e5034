/**
 * End-to-end: the built extension in real Chromium. Builds dist/extension with Vite's build API,
 * loads it unpacked in a fresh profile and walks the foundation flows a user sees: onboarding to the
 * device code, home, settings, popup, service-worker restart while unlocked (THREATS 61), lock,
 * unlock with a wrong then the right passphrase (THREATS 60), and the storage placement and framing
 * rules (THREATS 49, 62). Each screen is asserted on its key content and saved to test/artifacts/.
 * The tests in this file share one browser and run in order.
 */
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { build } from 'vite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ExtensionBrowser, launchExtension, REPO_ROOT } from './helpers/browser.ts';

const PASSPHRASE = 'orbit lantern velvet cascade 1987';
const FINGERPRINT = /^[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}$/;
const POPUP = { width: 360, height: 600 };

let browser: ExtensionBrowser;
let app: Page;
let fingerprint = '';

/** Reads a `chrome.storage` area from inside the service worker (the only place it is reachable). */
async function storageArea(area: 'local' | 'session'): Promise<Record<string, unknown>> {
  const sw = await browser.serviceWorker();
  return sw.evaluate(async (a) => {
    const c = (
      globalThis as unknown as { chrome: { storage: Record<string, { get(k: null): Promise<object> }> } }
    ).chrome;
    return (await c.storage[a]!.get(null)) as Record<string, unknown>;
  }, area);
}

describe('Concord extension in Chromium', () => {
  beforeAll(async () => {
    await build({ configFile: join(REPO_ROOT, 'vite.config.ts'), logLevel: 'warn' });
    browser = await launchExtension();
  });

  afterAll(async () => {
    await browser?.close();
  });

  it('onboarding: welcome → passphrase with strength meter → device code', async () => {
    app = await browser.openPage('app.html');
    const welcome = app.getByTestId('onboarding-welcome');
    await expect.poll(() => welcome.isVisible()).toBe(true);
    expect(await welcome.textContent()).toContain('Welcome to Concord');
    await browser.screenshot(app, '01-onboarding-welcome');

    await app.getByTestId('onboarding-start').click();
    const pass = app.getByTestId('new-passphrase');
    await pass.waitFor();
    // Secret inputs: type=password, autocomplete=off (THREATS 63).
    for (const id of ['new-passphrase', 'confirm-passphrase']) {
      expect(await app.getByTestId(id).getAttribute('type')).toBe('password');
      expect(await app.getByTestId(id).getAttribute('autocomplete')).toBe('off');
    }

    await pass.fill('password1234');
    await app.getByTestId('confirm-passphrase').fill('password1234');
    await app.getByTestId('acknowledge').check();
    const meter = app.getByTestId('strength-meter');
    expect(Number(await meter.getAttribute('data-score'))).toBeLessThan(3);
    expect(await app.getByTestId('onboarding-create').isDisabled()).toBe(true);
    await browser.screenshot(app, '02-onboarding-weak-passphrase');

    await pass.fill(PASSPHRASE);
    await app.getByTestId('confirm-passphrase').fill(PASSPHRASE);
    expect(Number(await meter.getAttribute('data-score'))).toBeGreaterThanOrEqual(3);
    expect(await app.getByTestId('onboarding-create').isEnabled()).toBe(true);
    await browser.screenshot(app, '03-onboarding-passphrase');

    await app.getByTestId('onboarding-create').click();
    const device = app.getByTestId('onboarding-device');
    await device.waitFor({ timeout: 60_000 });
    fingerprint = (await app.getByTestId('device-fingerprint').textContent())?.trim() ?? '';
    const code = (await app.getByTestId('device-code-text').textContent())?.trim() ?? '';
    expect(fingerprint).toMatch(FINGERPRINT);
    expect(code.startsWith('concord-device-v1.')).toBe(true);
    expect(code.endsWith(`.${fingerprint}`)).toBe(true);
    expect(await device.textContent()).toContain('This device is ready');
    await browser.screenshot(app, '04-onboarding-device-code');
  });

  it('home shows the device code and the empty vault state', async () => {
    await app.getByTestId('onboarding-finish').click();
    await app.getByTestId('vaults-empty').waitFor();
    expect(await app.getByTestId('vaults-empty').textContent()).toContain('No vaults yet');
    await expect
      .poll(async () => (await app.getByTestId('device-fingerprint').textContent())?.trim())
      .toBe(fingerprint);
    await browser.screenshot(app, '05-home');
  });

  it('secrets stay out of chrome.storage.local; the session key lives in storage.session', async () => {
    expect(await storageArea('local')).toEqual({});
    const session = await storageArea('session');
    expect(Object.keys(session)).toEqual(['concord.session.v1']);
    const stored = JSON.stringify(session);
    expect(stored).not.toContain(PASSPHRASE);
  });

  it('settings: defaults are shown and a change is saved', async () => {
    await app.getByTestId('nav-settings').click();
    const bridge = app.getByTestId('settings-bridge');
    await bridge.waitFor();
    expect(await bridge.inputValue()).toBe('ws://127.0.0.1:8787');
    expect(await app.getByTestId('settings-autolock').inputValue()).toBe('15');
    expect(await app.locator('#rpc-31337').inputValue()).toBe('http://127.0.0.1:8545');
    expect(await app.getByTestId('settings-chain-1').textContent()).toContain('Ethereum');
    expect(await app.getByTestId('settings-chain-11155111').textContent()).toContain('Sepolia');

    await app.getByTestId('settings-autolock').fill('10');
    await app.getByTestId('settings-save').click();
    await app.getByTestId('settings-saved').waitFor();
    await browser.screenshot(app, '06-settings');
    await app.getByTestId('nav-home').click();
    await app.getByTestId('home').waitFor();
  });

  it('popup while unlocked shows the fingerprint', async () => {
    const popup = await browser.openPage('popup.html', POPUP);
    await expect
      .poll(async () => (await popup.getByTestId('popup-state').textContent())?.trim())
      .toBe('Unlocked');
    expect((await popup.getByTestId('device-fingerprint').textContent())?.trim()).toBe(fingerprint);
    expect(await popup.getByTestId('popup-vaults-empty').textContent()).toContain('No vaults yet');
    await browser.screenshot(popup, '07-popup-unlocked');
    await popup.close();
  });

  it('a service-worker restart while unlocked keeps the session', async () => {
    await browser.stopServiceWorker();
    await app.reload();
    await app.getByTestId('home').waitFor();
    await expect
      .poll(async () => (await app.getByTestId('device-fingerprint').textContent())?.trim())
      .toBe(fingerprint);
    expect(await app.getByTestId('unlock-screen').count()).toBe(0);
    await browser.screenshot(app, '08-home-after-worker-restart');
  });

  it('lock, then unlock with a wrong and then the right passphrase', async () => {
    await app.getByTestId('lock').click();
    const unlock = app.getByTestId('unlock-screen');
    await unlock.waitFor();
    expect(await unlock.textContent()).toContain('Concord is locked');
    const input = app.getByTestId('unlock-passphrase');
    expect(await input.getAttribute('type')).toBe('password');
    expect(await input.getAttribute('autocomplete')).toBe('off');
    // Locking removed the session key.
    expect(await storageArea('session')).toEqual({});
    await browser.screenshot(app, '09-unlock');

    await input.fill('not the passphrase at all');
    await app.getByTestId('unlock-submit').click();
    const error = app.getByTestId('unlock-error');
    await error.waitFor({ timeout: 60_000 });
    expect(await error.textContent()).toContain('That passphrase is not correct.');
    await browser.screenshot(app, '10-unlock-wrong-passphrase');

    await input.fill(PASSPHRASE);
    await app.getByTestId('unlock-submit').click();
    await app.getByTestId('home').waitFor({ timeout: 60_000 });
    await expect
      .poll(async () => (await app.getByTestId('device-fingerprint').textContent())?.trim())
      .toBe(fingerprint);
  });

  it('after lock, a worker restart does not unlock; the popup shows the unlock form', async () => {
    await app.getByTestId('lock').click();
    await app.getByTestId('unlock-screen').waitFor();
    await browser.stopServiceWorker();
    const popup = await browser.openPage('popup.html', POPUP);
    await expect
      .poll(async () => (await popup.getByTestId('popup-state').textContent())?.trim())
      .toBe('Locked');
    await popup.getByTestId('unlock-form').waitFor();
    await browser.screenshot(popup, '11-popup-locked');
    await popup.close();
  });

  it('options page shows settings while locked', async () => {
    const options = await browser.openPage('options.html');
    await options.getByTestId('settings').waitFor();
    expect(await options.getByTestId('settings-autolock').inputValue()).toBe('10');
    await browser.screenshot(options, '12-options');
    await options.close();
  });

  it('extension pages cannot be framed (frame-ancestors none)', async () => {
    const host = await browser.openPage('popup.html', POPUP);
    const blocked = browser.cspViolations.length;
    await host.evaluate((url) => {
      const f = document.createElement('iframe');
      f.src = url;
      document.body.append(f);
    }, `${browser.origin}/app.html`);
    await expect.poll(() => browser.cspViolations.length, { timeout: 10_000 }).toBeGreaterThan(blocked);
    expect(browser.cspViolations.at(-1)).toContain('frame-ancestors');
    const frame = host.frames().find((f) => f.url().endsWith('/app.html'));
    expect(frame === undefined || (await frame.locator('#app').count()) === 0).toBe(true);
    browser.cspViolations.splice(blocked);
    await host.close();
  });

  it('no CSP violations on any screen', () => {
    expect(browser.cspViolations).toEqual([]);
  });
});
