/**
 * Everyday wallet screens end to end in Debian Chromium: two browser profiles with the built
 * extension, a real bridge (SQLite in a temp directory) and a real Hardhat node on 127.0.0.1.
 *  - onboarding: the passphrase meter speaks English, not zxcvbn keys;
 *  - This device: the QR code decodes (jsQR on a screenshot) to exactly the device code;
 *  - the invite field refuses this device's own code, a duplicate and a malformed code at once;
 *  - Home puts the vault first; Receive shows the address and a QR code that decodes to it;
 *  - Send: balance shown, inline errors on the fields (checksum, zero, decimals, above balance),
 *    self-send warning, Review disabled with a reason; Max fills balance − fee ceiling, the other
 *    profile approves, it is mined, and the recipient receives exactly that amount;
 *  - the popup's Review opens the waiting request itself;
 *  - with the bridge down, Home says why with a retry, and Send refuses to propose at once;
 *  - a lock-out after five wrong passphrases is explained in words;
 *  - axe-core finds no serious or critical violation on each main screen.
 * Every changed screen is saved under test/artifacts/ after its content is asserted.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type RunningBridge, startBridge } from '@concord/bridge-server/relay';
import type { Page } from 'playwright-core';
import { build } from 'vite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, type HardhatNode, startHardhat } from '../helpers/hardhat.ts';
import { axeSerious, decodeQr } from './helpers/a11y.ts';
import { REPO_ROOT } from './helpers/browser.ts';
import { configure, createVault, onboard, type Profile, text } from './helpers/flows.ts';

const ETH = 10n ** 18n;
const RECIPIENT = '0x00000000000000000000000000000000000bee07';
const CHECKSUMMED = '0x52908400098527886E0F7030069857D2E4169EE7';
const POPUP = { width: 360, height: 600 };

const tmp = mkdtempSync(join(tmpdir(), 'concord-e2e-ux-'));
const extensionDir = join(tmp, 'extension');
let bridge: RunningBridge;
let chain: HardhatNode;
let bridgeBase: string;
let A: Profile;
let B: Profile;
let address: `0x${string}`;

async function goto(p: Profile, hash: string, testid: string): Promise<void> {
  await p.page.evaluate((h) => {
    location.hash = h;
  }, hash);
  await p.page.getByTestId(testid).waitFor();
}

/** axe on the current screen, then a screenshot; the page title names the view. */
async function check(p: Profile, shot: string, title: string): Promise<void> {
  await expect.poll(() => p.page.title()).toBe(`${title} · Concord`);
  // A settled screen: colours mid-transition (a button changing variant) are not what a person reads.
  await p.page.waitForFunction(() => document.getAnimations().length === 0);
  expect(await p.page.locator('h1').count()).toBe(1);
  expect(await axeSerious(p.page)).toEqual([]);
  await p.browser.screenshot(p.page, shot);
}

async function helpText(page: Page, id: string): Promise<string> {
  const help = page.locator(`#${id}-help`);
  await help.waitFor();
  return ((await help.textContent()) ?? '').trim();
}

describe('everyday wallet screens across two profiles, a real bridge and a real chain', () => {
  beforeAll(async () => {
    await build({
      configFile: join(REPO_ROOT, 'vite.config.ts'),
      logLevel: 'warn',
      build: { outDir: extensionDir, emptyOutDir: true },
    });
    [bridge, chain] = await Promise.all([
      startBridge({ port: 0, dataDir: join(tmp, 'bridge'), logLevel: 'warn', defaultMetrics: false }),
      startHardhat(),
    ]);
    bridgeBase = bridge.url.replace(/\/v1$/, '');
  }, 240_000);

  afterAll(async () => {
    for (const p of [A, B]) await p?.browser.close().catch(() => {});
    await bridge?.close();
    await chain?.stop();
    rmSync(tmp, { recursive: true, force: true });
  });

  it('onboarding explains a weak passphrase in English; This device shows a QR code of its code', async () => {
    const { launchExtension } = await import('./helpers/browser.ts');
    const browser = await launchExtension({ extensionDir });
    const page = await browser.openPage('app.html');
    await page.getByTestId('onboarding-start').click();
    await page.getByTestId('new-passphrase').fill('password1234');
    const meter = page.getByTestId('strength-meter');
    await expect.poll(async () => (await meter.textContent()) ?? '').toMatch(/common|guess|password/i);
    const said = (await meter.textContent()) ?? '';
    // No untranslated zxcvbn key ("similarToCommon", "topHundred", …).
    expect(said).not.toMatch(/\b[a-z]+[A-Z][a-zA-Z]*\b/);
    expect(await axeSerious(page)).toEqual([]);
    await browser.screenshot(page, 'ux-01-onboarding-weak-passphrase');
    await browser.close();

    [A, B] = [
      await onboard('A', { extensionDir, bridgeBase, rpcUrl: chain.url }),
      await onboard('B', { extensionDir, bridgeBase, rpcUrl: chain.url }),
    ];
    await check(A, 'ux-02-home-empty', 'Home');
    expect(await text(A.page, 'device-fingerprint')).toBe(A.fingerprint);
    await A.page.getByTestId('home-device-open').click();
    await A.page.getByTestId('device-view').waitFor();
    expect(await text(A.page, 'device-code-text')).toBe(A.code);
    expect(await decodeQr(A.page, A.page.getByTestId('device-qr'))).toBe(A.code);
    await check(A, 'ux-03-this-device', 'This device');
    await goto(A, '#/settings', 'settings');
    await check(A, 'ux-04-settings', 'Settings');
  }, 300_000);

  it('the invite field refuses this device’s own code, a duplicate and a malformed code as they are typed', async () => {
    await goto(A, '#/create', 'create-vault');
    const field = A.page.getByTestId('signer-code');
    await field.fill(A.code);
    expect(await helpText(A.page, 'signer-code')).toContain('this device’s own code');
    expect(await A.page.getByTestId('signer-add').isDisabled()).toBe(true);
    expect(await text(A.page, 'signer-add-why')).toBe('Fix the device code.');
    await A.browser.screenshot(A.page, 'ux-05-invite-own-code');

    await field.fill(B.code.slice(0, 100));
    expect(await helpText(A.page, 'signer-code')).toMatch(/incomplete|damaged/);
    await field.fill('hello');
    expect(await helpText(A.page, 'signer-code')).toContain('not a Concord device code');

    await field.fill(B.code);
    expect(await helpText(A.page, 'signer-code')).toContain(B.fingerprint);
    await A.page.getByTestId('signer-label').fill('B');
    await A.page.getByTestId('signer-add').click();
    await A.page.getByTestId('signer-row').filter({ hasText: B.fingerprint }).waitFor();
    await field.fill(B.code);
    expect(await helpText(A.page, 'signer-code')).toBe(`Device ${B.fingerprint} is already in the list.`);
    expect(await A.page.getByTestId('signer-add').isDisabled()).toBe(true);
    await check(A, 'ux-06-invite-duplicate', 'Create a vault');
  }, 120_000);

  it('Home shows the vault first; Receive shows its address and a QR code that decodes to it', async () => {
    await goto(A, '#/', 'home');
    const vault = await createVault(A, [{ profile: B, power: 1 }], {
      name: 'Savings',
      creatorPower: 1,
      threshold: 2,
    });
    address = vault.address as `0x${string}`;
    await chain.fund(address, 5n * ETH);
    await goto(A, '#/', 'home');
    // The vault card comes before requests and before this device.
    const order = await A.page
      .locator('[data-testid="home"] > *')
      .evaluateAll((els) => els.map((e) => e.getAttribute('data-testid')));
    expect(order[0]).toBe('home-vaults');
    expect(order.at(-1)).toBe('home-device');
    expect(await A.page.locator('h1').textContent()).toBe('Your vaults');
    await expect.poll(() => text(A.page, 'vault-balance'), { timeout: 30_000 }).toContain('5 ETH');
    await expect.poll(() => A.page.getByTestId('bridge-state').getAttribute('data-state')).toBe('ready');
    await expect.poll(() => A.page.getByTestId('rpc-state').getAttribute('data-ok')).toBe('true');
    await check(A, 'ux-07-home-vault', 'Home');

    await A.page.getByTestId('vault-receive').click();
    await A.page.getByTestId('receive-view').waitFor();
    expect(await text(A.page, 'receive-address')).toBe(address);
    expect(await decodeQr(A.page, A.page.getByTestId('receive-qr'))).toBe(address);
    await check(A, 'ux-08-receive', 'Receive');
  }, 300_000);

  it('Send checks each field as it is typed and says why Review is disabled', async () => {
    await goto(A, '#/', 'home');
    await A.page.getByTestId('vault-send').click();
    await A.page.getByTestId('send-form').waitFor();
    await expect.poll(() => text(A.page, 'send-balance')).toContain('5 ETH');
    const review = A.page.getByTestId('send-review');
    expect(await review.isDisabled()).toBe(true);
    expect(await text(A.page, 'send-review-why')).toBe('Enter a recipient.');

    const to = A.page.getByTestId('send-to');
    // One letter's case changed: the EIP-55 checksum no longer matches.
    await to.fill(CHECKSUMMED.replace('E0F', 'e0F'));
    expect(await helpText(A.page, 'send-to')).toContain('checksum');
    expect(await text(A.page, 'send-review-why')).toBe('Fix the recipient address.');
    await to.fill(address.toLowerCase());
    expect(await helpText(A.page, 'send-to')).toContain('vault’s own address');
    await to.fill(RECIPIENT);
    expect(await helpText(A.page, 'send-to')).toContain('First send from this vault');

    const amount = A.page.getByTestId('send-amount');
    await amount.fill('0');
    expect(await helpText(A.page, 'send-amount')).toBe('The amount must be more than zero.');
    await amount.fill('0.0000000000000000001');
    expect(await helpText(A.page, 'send-amount')).toBe('ETH has at most 18 decimal places; this has 19.');
    await amount.fill('6');
    expect(await helpText(A.page, 'send-amount')).toBe('More than the vault holds (5 ETH).');
    expect(await review.isDisabled()).toBe(true);
    expect(await text(A.page, 'send-review-why')).toBe('Fix the amount.');
    await check(A, 'ux-09-send-inline-errors', 'Send');
  }, 120_000);

  it('Max sends the balance less the fee ceiling: approved on B, mined, the recipient gets exactly that', async () => {
    const before = await chain.publicClient.getBalance({ address: RECIPIENT });
    const balance = await chain.publicClient.getBalance({ address });
    await A.page.getByTestId('send-max').click();
    await expect.poll(() => A.page.getByTestId('send-amount').inputValue()).not.toBe('6');
    const max = parseEther(await A.page.getByTestId('send-amount').inputValue());
    expect(max > 0n && max < balance).toBe(true);
    await A.page.getByTestId('send-review').click();
    await A.page.getByTestId('send-summary').waitFor({ timeout: 30_000 });
    const fee = BigInt((await A.page.getByTestId('send-summary-fee').getAttribute('data-fee-units')) ?? '0');
    expect(max + fee).toBe(balance);
    expect(await A.page.getByTestId('send-summary-amount').getAttribute('data-exact')).toBe(
      `${formatEther(max)} ETH`,
    );
    await check(A, 'ux-10-send-max-review', 'Send');
    await A.page.getByTestId('send-submit').click();
    await A.page.getByTestId('request-view').waitFor();
    const id = /#\/request\/([0-9a-f]{32})/.exec(A.page.url())?.[1] ?? '';
    expect(await text(A.page, 'request-power')).toContain('1 of 2 power approved — 1 more needed');
    await check(A, 'ux-11-request-pending', 'Request');

    // B's popup: "Review it" opens this request, not Home.
    const popup = await B.browser.openPage('popup.html', POPUP);
    await expect
      .poll(() => popup.getByTestId('popup-requests').getAttribute('data-count'), { timeout: 30_000 })
      .toBe('1');
    expect(await axeSerious(popup)).toEqual([]);
    await B.browser.screenshot(popup, 'ux-12-popup-review');
    const opened = B.browser.context.waitForEvent('page');
    await popup.getByTestId('popup-open-requests').click();
    const tab = await opened;
    await tab.getByTestId('request-view').waitFor({ timeout: 30_000 });
    expect(tab.url()).toContain(`#/request/${id}`);
    await tab.getByTestId('request-approve').click();
    for (const page of [A.page, tab]) {
      await expect
        .poll(() => page.getByTestId('request-view').getAttribute('data-phase'), {
          timeout: 120_000,
          interval: 250,
        })
        .toBe('mined');
    }
    expect((await chain.publicClient.getBalance({ address: RECIPIENT })) - before).toBe(max);
    expect(await axeSerious(tab)).toEqual([]);
    await B.browser.screenshot(tab, 'ux-13-request-mined');
    await tab.close();
    await popup.close();
  }, 300_000);

  it('with the bridge down, Home says why with a retry and Send refuses to propose at once', async () => {
    // The Max send left only the fee's change: top the vault up for this send.
    await chain.fund(address, ETH);
    const dead = `ws://127.0.0.1:${await freePort()}`;
    await goto(A, '#/', 'home');
    await configure(A.page, { bridgeBase: dead });
    await expect
      .poll(() => A.page.getByTestId('bridge-state').getAttribute('data-down'), { timeout: 30_000 })
      .toBe('true');
    expect(await text(A.page, 'bridge-reason')).toContain('does not answer');
    await A.page.getByTestId('connection-retry').waitFor();
    await check(A, 'ux-14-home-bridge-down', 'Home');

    await A.page.getByTestId('vault-send').click();
    await A.page.getByTestId('send-to').fill(RECIPIENT);
    await A.page.getByTestId('send-amount').fill('0.01');
    await A.page.getByTestId('send-review').click();
    await A.page.getByTestId('send-summary').waitFor({ timeout: 30_000 });
    await A.page.getByTestId('send-bridge-down').waitFor();
    expect(await A.page.getByTestId('send-submit').isDisabled()).toBe(true);
    expect(await text(A.page, 'send-submit-why')).toBe('Proposing needs the bridge.');
    await check(A, 'ux-15-send-bridge-down', 'Send');

    // Back on the real bridge, it reconnects.
    await goto(A, '#/', 'home');
    await configure(A.page, { bridgeBase });
    await expect
      .poll(() => A.page.getByTestId('bridge-state').getAttribute('data-state'), { timeout: 30_000 })
      .toBe('ready');
  }, 180_000);

  it('five wrong passphrases: the lock-out is explained in words', async () => {
    await B.page.bringToFront();
    await B.page.getByTestId('lock').click();
    await B.page.getByTestId('unlock-screen').waitFor();
    const input = B.page.getByTestId('unlock-passphrase');
    for (let i = 0; i < 5; i++) {
      await input.fill(`wrong passphrase number ${i}`);
      await B.page.getByTestId('unlock-submit').click();
      await expect
        .poll(
          async () =>
            (await B.page.getByTestId('unlock-error').count()) +
            (await B.page.getByTestId('unlock-wait').count()),
          { timeout: 60_000 },
        )
        .toBeGreaterThan(0);
      await expect.poll(() => input.inputValue()).toBe('');
    }
    const wait = B.page.getByTestId('unlock-wait');
    await wait.waitFor({ timeout: 60_000 });
    expect(await wait.textContent()).toMatch(/Too many wrong passphrases — try again in \d+ s/);
    expect(await B.page.getByTestId('unlock-submit').isDisabled()).toBe(true);
    await check(B, 'ux-16-unlock-locked-out', 'Unlock');
  }, 300_000);
});

function parseEther(s: string): bigint {
  const [w, f = ''] = s.split('.');
  return BigInt(`${w}${f.padEnd(18, '0')}`);
}

function formatEther(x: bigint): string {
  const s = x.toString().padStart(19, '0');
  const frac = s.slice(-18).replace(/0+$/, '');
  return frac === '' ? s.slice(0, -18) : `${s.slice(0, -18)}.${frac}`;
}
