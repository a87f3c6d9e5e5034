/**
 * User flows shared by the Chromium end-to-end tests, driven through the built extension's pages
 * exactly as a person would: onboard a profile (and point it at the test bridge and chain), and
 * create a vault across profiles (compose, accept, wait for the DKG). Each step waits on what the
 * page shows, never on timers.
 */
import type { Page } from 'playwright-core';
import { expect } from 'vitest';
import { type ExtensionBrowser, launchExtension } from './browser.ts';

export const PASSPHRASE = 'orbit lantern velvet cascade 1987';

export interface Profile {
  name: string;
  browser: ExtensionBrowser;
  page: Page;
  code: string;
  fingerprint: string;
}

export async function text(page: Page, testid: string): Promise<string> {
  return ((await page.getByTestId(testid).first().textContent()) ?? '').trim();
}

/** A new Chromium profile with the extension: onboarding, then the bridge URL and the local RPC. */
export async function onboard(
  name: string,
  o: { extensionDir: string; bridgeBase: string; rpcUrl?: string },
): Promise<Profile> {
  const browser = await launchExtension({ extensionDir: o.extensionDir });
  const page = await browser.openPage('app.html');
  await page.getByTestId('onboarding-start').click();
  await page.getByTestId('new-passphrase').fill(PASSPHRASE);
  await page.getByTestId('confirm-passphrase').fill(PASSPHRASE);
  await page.getByTestId('acknowledge').check();
  await page.getByTestId('onboarding-create').click();
  await page.getByTestId('onboarding-device').waitFor({ timeout: 60_000 });
  const code = await text(page, 'device-code-text');
  const fingerprint = await text(page, 'device-fingerprint');
  await page.getByTestId('onboarding-finish').click();
  await page.getByTestId('home').waitFor();
  await configure(page, o);
  return { name, browser, page, code, fingerprint };
}

/** Points a profile at the test bridge (and the local chain's RPC) through the Settings page. */
export async function configure(page: Page, o: { bridgeBase: string; rpcUrl?: string }): Promise<void> {
  await page.getByTestId('nav-settings').click();
  await page.getByTestId('settings-bridge').fill(o.bridgeBase);
  if (o.rpcUrl !== undefined) {
    await page.getByTestId('settings-chain-31337').locator('input').first().fill(o.rpcUrl);
  }
  await page.getByTestId('settings-save').click();
  await page.getByTestId('settings-saved').waitFor();
  await page.getByTestId('nav-home').click();
  await page.getByTestId('home').waitFor();
}

/** A new profile restored from a backup file (onboarding → "Restore from a backup"). */
export async function restoreProfile(
  name: string,
  o: {
    extensionDir: string;
    bridgeBase: string;
    rpcUrl?: string;
    file: string;
    backupPassphrase: string;
    shot?: (page: Page, browser: ExtensionBrowser) => Promise<void>;
  },
): Promise<Profile> {
  const browser = await launchExtension({ extensionDir: o.extensionDir });
  const page = await browser.openPage('app.html');
  await page.getByTestId('onboarding-restore-start').click();
  await page.getByTestId('restore-form').waitFor();
  await page.getByTestId('restore-file').setInputFiles(o.file);
  await page.getByTestId('restore-backup-passphrase').fill(o.backupPassphrase);
  await page.getByTestId('restore-new-passphrase').fill(PASSPHRASE);
  await page.getByTestId('restore-confirm-passphrase').fill(PASSPHRASE);
  if (o.shot) await o.shot(page, browser);
  await page.getByTestId('restore-submit').click();
  await page.getByTestId('onboarding-device').waitFor({ timeout: 120_000 });
  const code = await text(page, 'device-code-text');
  const fingerprint = await text(page, 'device-fingerprint');
  await page.getByTestId('onboarding-finish').click();
  await page.getByTestId('home').waitFor();
  await configure(page, o);
  return { name, browser, page, code, fingerprint };
}

/**
 * `creator` proposes a vault with the given powers and threshold to `others`, who accept; resolves
 * with the address once every profile shows the finished ceremony (same address and safety code).
 */
export async function createVault(
  creator: Profile,
  others: { profile: Profile; power: number }[],
  o: { name: string; creatorPower: number; threshold: number },
): Promise<{ address: string; safetyCode: string }> {
  const A = creator;
  await A.page.getByTestId('create-vault-open').click();
  await A.page.getByTestId('create-vault').waitFor();
  await A.page.getByTestId('vault-name').fill(o.name);
  await A.page.getByTestId('self-label').fill(A.name);
  await A.page.getByTestId('self-power').fill(String(o.creatorPower));
  for (const { profile, power } of others) {
    await A.page.getByTestId('signer-code').fill(profile.code);
    await A.page.getByTestId('signer-label').fill(profile.name);
    await A.page.getByTestId('signer-power').fill(String(power));
    await A.page.getByTestId('signer-add').click();
    await expect
      // By fingerprint: a one-letter label can also occur inside another row's fingerprint.
      .poll(() => A.page.getByTestId('signer-row').filter({ hasText: profile.fingerprint }).count())
      .toBe(1);
  }
  await A.page.getByTestId('threshold').fill(String(o.threshold));
  await A.page.getByTestId('propose').click();
  await A.page.getByTestId('ceremony').waitFor();
  const safetyCode = await text(A.page, 'safety-code');
  for (const { profile: p } of others) {
    await p.page.getByTestId('home-ceremony').first().waitFor({ timeout: 30_000 });
    await p.page.getByTestId('home-ceremony-open').first().click();
    await p.page.getByTestId('ceremony').waitFor();
    expect(await text(p.page, 'safety-code')).toBe(safetyCode);
    await p.page.getByTestId('ceremony-accept').click();
  }
  const addresses: string[] = [];
  for (const p of [A, ...others.map((x) => x.profile)]) {
    const ceremony = p.page.getByTestId('ceremony');
    await expect
      .poll(() => ceremony.getAttribute('data-phase'), { timeout: 180_000, interval: 250 })
      .toMatch(/done|failed/);
    expect(await ceremony.getAttribute('data-phase'), await text(p.page, 'ceremony-status')).toBe('done');
    expect(await text(p.page, 'safety-code')).toBe(safetyCode);
    addresses.push(await text(p.page, 'vault-address'));
    await p.page.getByTestId('ceremony-home').click();
    await p.page.getByTestId('vault-row').first().waitFor();
  }
  expect(new Set(addresses).size).toBe(1);
  return { address: addresses[0]!, safetyCode };
}
