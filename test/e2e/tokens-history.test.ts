/**
 * Token list and vault history end to end in Debian Chromium: two browser profiles with the built
 * extension, a real bridge (SQLite in a temp directory), a real Hardhat node with a real ERC-20 and
 * ERC-721 (test/helpers/contracts.ts).
 *  - Tokens: an address with no code and an ERC-721 are refused on the field with the reason; the
 *    ERC-20 is added with the name, symbol and decimals its contract returns; Home shows the vault's
 *    balance of the tokens minted to it, formatted with its symbol;
 *  - Send: the listed token is chosen as the asset; the reviewed summary shows the token amount and
 *    the recipient; the other profile approves; it is mined and the recipient holds exactly that;
 *  - History: the mined send with its status, amount and hash (the hash of the mined transaction,
 *    copied by its button: a paste elsewhere gives it), no explorer link on the local chain until an explorer
 *    is set for it in Settings, then a link to <explorer>/tx/<hash>; the vault's creation;
 *  - axe-core finds no serious or critical violation on each new screen.
 * Screens are saved under test/artifacts/ after their content is asserted.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type RunningBridge, startBridge } from '@concord/bridge-server/relay';
import { getAddress } from 'viem';
import { build } from 'vite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DeployedToken, deployNft, deployToken } from '../helpers/contracts.ts';
import { type HardhatNode, startHardhat } from '../helpers/hardhat.ts';
import { axeSerious } from './helpers/a11y.ts';
import { REPO_ROOT } from './helpers/browser.ts';
import { createVault, onboard, type Profile, text } from './helpers/flows.ts';

const ETH = 10n ** 18n;
const RECIPIENT = getAddress('0x00000000000000000000000000000000000bee08');
const EXPLORER = 'https://explorer.test';

const tmp = mkdtempSync(join(tmpdir(), 'concord-e2e-tokens-'));
const extensionDir = join(tmp, 'extension');
let bridge: RunningBridge;
let chain: HardhatNode;
let bridgeBase: string;
let token: DeployedToken;
let nft: `0x${string}`;
let A: Profile;
let B: Profile;
let address: `0x${string}`;
let vaultId: string;
let requestId: string;

async function goto(p: Profile, hash: string, testid: string): Promise<void> {
  await p.page.evaluate((h) => {
    location.hash = h;
  }, hash);
  await p.page.getByTestId(testid).waitFor();
}

/** axe on the current screen, then a screenshot; the page title names the view. */
async function check(p: Profile, shot: string, title: string): Promise<void> {
  await expect.poll(() => p.page.title()).toBe(`${title} · Concord`);
  await p.page.waitForFunction(() => document.getAnimations().length === 0);
  expect(await p.page.locator('h1').count()).toBe(1);
  expect(await axeSerious(p.page)).toEqual([]);
  await p.browser.screenshot(p.page, shot);
}

describe('token list and vault history across two profiles, a real bridge and a real chain', () => {
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
    token = await deployToken(chain, { name: 'Test USD', symbol: 'TUSD', decimals: 6 });
    nft = (await deployNft(chain)).address;
  }, 240_000);

  afterAll(async () => {
    for (const p of [A, B]) await p?.browser.close().catch(() => {});
    await bridge?.close();
    await chain?.stop();
    rmSync(tmp, { recursive: true, force: true });
  });

  it('two profiles create a vault; it is funded and the token is minted to it', async () => {
    [A, B] = [
      await onboard('A', { extensionDir, bridgeBase, rpcUrl: chain.url }),
      await onboard('B', { extensionDir, bridgeBase, rpcUrl: chain.url }),
    ];
    const vault = await createVault(A, [{ profile: B, power: 1 }], {
      name: 'Treasury',
      creatorPower: 1,
      threshold: 2,
    });
    address = vault.address as `0x${string}`;
    vaultId = (await A.page.getByTestId('vault-row').first().getAttribute('data-id')) ?? '';
    await chain.fund(address, 2n * ETH);
    await token.mint(address, 1_234_500_000n);
    expect(vaultId).toMatch(/^[0-9a-f]{32}$/);
    expect(await token.balanceOf(address)).toBe(1_234_500_000n);
  }, 600_000);

  it('Tokens refuses an address with no code and an ERC-721, adds the ERC-20 from its own metadata; Home shows its balance', async () => {
    await goto(A, '#/', 'home');
    await A.page.getByTestId('vault-tokens-manage').click();
    await A.page.getByTestId('tokens-view').waitFor();
    await A.page.getByTestId('tokens-empty').waitFor();
    const field = A.page.getByTestId('token-address');
    const add = A.page.getByTestId('token-add');
    expect(await add.isDisabled()).toBe(true);
    expect(await text(A.page, 'token-add-why')).toBe('Enter the token’s contract address.');

    await field.fill(RECIPIENT);
    await add.click();
    await expect
      .poll(() => text(A.page, 'token-address-error'), { timeout: 30_000 })
      .toBe(
        `There is no contract at ${RECIPIENT} on Local development chain; check the address and the network.`,
      );
    await field.fill(nft);
    await add.click();
    await expect
      .poll(() => text(A.page, 'token-address-error'), { timeout: 30_000 })
      .toMatch(/did not answer decimals\(\); is it an ERC-20 contract on Local development chain\?/);
    expect(await A.page.getByTestId('token-row').count()).toBe(0);

    await field.fill(token.address.toLowerCase());
    await add.click();
    const row = A.page.getByTestId('token-row');
    await row.waitFor({ timeout: 30_000 });
    expect(await row.getAttribute('data-address')).toBe(getAddress(token.address));
    expect(await row.textContent()).toMatch(/Test USD\s*TUSD.*6 decimals/s);
    expect(await text(A.page, 'token-added')).toBe('Added Test USD (TUSD).');
    // A duplicate is refused on the field.
    await field.fill(getAddress(token.address));
    await add.click();
    await expect
      .poll(() => text(A.page, 'token-address-error'), { timeout: 30_000 })
      .toContain('is already in the list for this network');
    await field.fill('');
    await check(A, 'ux-17-tokens', 'Tokens');

    await goto(A, '#/', 'home');
    const balance = A.page.getByTestId('vault-token-balance');
    await balance.waitFor({ timeout: 30_000 });
    expect(await balance.getAttribute('data-exact')).toBe('1,234.5 TUSD');
    expect(await text(A.page, 'vault-token-balance')).toBe('1,234.5 TUSD');
    await check(A, 'ux-18-home-token-balance', 'Home');
  }, 300_000);

  it('sends the listed token: reviewed as a token amount, approved on B, mined; the recipient holds exactly that', async () => {
    await A.page.getByTestId('vault-send').click();
    await A.page.getByTestId('send-form').waitFor();
    await expect
      .poll(() => A.page.getByTestId('send-asset').locator('option').allTextContents())
      .toContain('TUSD — Test USD');
    await A.page.getByTestId('send-asset').selectOption(getAddress(token.address));
    await expect.poll(() => text(A.page, 'send-balance')).toContain('1,234.5 TUSD');
    await A.page.getByTestId('send-to').fill(RECIPIENT);
    await A.page.getByTestId('send-amount').fill('200.1234567');
    await expect
      .poll(() => A.page.locator('#send-amount-help').textContent())
      .toBe('TUSD has at most 6 decimal places; this has 7.');
    await A.page.getByTestId('send-amount').fill('2000');
    await expect
      .poll(() => A.page.locator('#send-amount-help').textContent())
      .toBe('More than the vault holds (1,234.5 TUSD).');
    await A.page.getByTestId('send-amount').fill('200.25');
    await A.page.getByTestId('send-review').click();
    await A.page.getByTestId('send-summary').waitFor({ timeout: 30_000 });
    expect(await A.page.getByTestId('send-summary-amount').getAttribute('data-exact')).toBe('200.25 TUSD');
    expect(await text(A.page, 'send-summary-recipient')).toBe(RECIPIENT);
    await check(A, 'ux-19-send-token-review', 'Send');
    await A.page.getByTestId('send-submit').click();
    await A.page.getByTestId('request-view').waitFor();
    requestId = /#\/request\/([0-9a-f]{32})/.exec(A.page.url())?.[1] ?? '';
    expect(requestId).toMatch(/^[0-9a-f]{32}$/);

    await goto(B, `#/request/${requestId}`, 'request-view');
    await B.page.getByTestId('request-approve').click({ timeout: 60_000 });
    for (const page of [A.page, B.page]) {
      await expect
        .poll(() => page.getByTestId('request-view').getAttribute('data-phase'), {
          timeout: 120_000,
          interval: 250,
        })
        .toBe('mined');
    }
    expect(await token.balanceOf(RECIPIENT)).toBe(200_250_000n);
    expect(await token.balanceOf(address)).toBe(1_034_250_000n);
  }, 300_000);

  it('History shows the mined send with its hash (copyable), an explorer link only once one is set, and the creation', async () => {
    await goto(A, '#/', 'home');
    await A.page.getByTestId('vault-history').click();
    await A.page.getByTestId('history-view').waitFor();
    const send = A.page.locator(`[data-testid="history-entry"][data-id="${requestId}"]`);
    await send.waitFor({ timeout: 30_000 });
    expect(await send.getAttribute('data-kind')).toBe('send');
    expect(await send.getAttribute('data-phase')).toBe('mined');
    expect(await send.getByTestId('history-amount').getAttribute('data-exact')).toBe('200.25 TUSD');
    expect(await send.getByTestId('history-status').textContent()).toMatch(/^Mined in block \d+$/);
    expect(await send.getByTestId('history-decisions').textContent()).toBe(
      'Approved by A (this device), Approved by B',
    );
    const hash = ((await send.getByTestId('history-hash').textContent()) ?? '').trim() as `0x${string}`;
    // The hash is the mined ERC-20 transfer from the vault to the token contract.
    const receipt = await chain.publicClient.getTransactionReceipt({ hash });
    expect(receipt.status).toBe('success');
    expect(getAddress(receipt.from)).toBe(getAddress(address));
    expect(getAddress(receipt.to ?? '')).toBe(getAddress(token.address));
    expect(await send.getByTestId('history-no-explorer').textContent()).toBe(
      'No block explorer set for Local development chain',
    );
    expect(await send.getByTestId('history-explorer').count()).toBe(0);

    await send.getByTestId('history-copy-hash').click();
    await expect.poll(() => send.getByTestId('history-copy-hash').getAttribute('data-state')).toBe('copied');
    const created = A.page.locator('[data-testid="history-entry"][data-kind="created"]');
    expect(await created.count()).toBe(1);
    expect(await created.getByTestId('history-decisions').textContent()).toBe(
      'Approved by A (this device), Approved by B',
    );
    await check(A, 'ux-20-history-no-explorer', 'History');
    // What the button copied is what a paste gives: the hash (pasted into a text field elsewhere).
    await goto(A, '#/tokens', 'tokens-view');
    await A.page.getByTestId('token-address').focus();
    await A.page.keyboard.press('Control+V');
    expect(await A.page.getByTestId('token-address').inputValue()).toBe(hash);
    await A.page.getByTestId('token-address').fill('');

    // An explorer for the local chain, set in Settings: the hash now links to its page.
    await goto(A, '#/settings', 'settings');
    await A.page.locator('#explorer-31337').fill(EXPLORER);
    await A.page.getByTestId('settings-save').click();
    await A.page.getByTestId('settings-saved').waitFor();
    await goto(A, `#/history/${vaultId}`, 'history-view');
    const link = A.page
      .locator(`[data-testid="history-entry"][data-id="${requestId}"]`)
      .getByTestId('history-explorer');
    await link.waitFor({ timeout: 30_000 });
    expect(await link.getAttribute('href')).toBe(`${EXPLORER}/tx/${hash}`);
    expect(await link.getAttribute('rel')).toBe('noreferrer noopener');
    await check(A, 'ux-21-history-explorer', 'History');
  }, 180_000);
});
