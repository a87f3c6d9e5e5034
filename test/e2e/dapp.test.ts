/**
 * The dApp provider end to end in Debian Chromium: two browser profiles with the built extension, a
 * real bridge and a real Hardhat node create a [1,1] threshold-2 vault; a test dApp served on
 * 127.0.0.1 uses real client libraries (mipd for EIP-6963, viem `custom()`, ethers `BrowserProvider`):
 *  - discovery finds Concord; an unconnected site sees [];
 *  - connecting through the connect window (screenshot, axe-core) makes the vault the account;
 *  - eth_getBalance through the wallet equals the chain's; a chain switch emits chainChanged;
 *  - eth_sign (and, for now, wallet_sendCalls) is refused with 4200; another origin (localhost) still sees [];
 *  - revoking in "Connected sites" (screenshot) empties eth_accounts and emits accountsChanged([]);
 *  - a locked wallet shows its unlock form in the connect window before anything else.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type RunningBridge, startBridge } from '@concord/bridge-server/relay';
import type { Page } from 'playwright-core';
import { build } from 'vite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type HardhatNode, startHardhat } from '../helpers/hardhat.ts';
import { type DappServer, startDappServer } from './dapp/server.ts';
import { REPO_ROOT } from './helpers/browser.ts';
import { createVault, onboard, PASSPHRASE, type Profile } from './helpers/flows.ts';

const tmp = mkdtempSync(join(tmpdir(), 'concord-e2e-dapp-'));
const extensionDir = join(tmp, 'extension');
let bridge: RunningBridge;
let chain: HardhatNode;
let server: DappServer;
const profiles: Profile[] = [];
let address: string;
let site: Page;

type Raw = { ok: boolean; result?: unknown; code?: number; message?: string };
// biome-ignore lint/suspicious/noExplicitAny: the page's `window.dapp` is typed in page.ts, not here.
type DappWindow = { dapp: any };

const raw = (page: Page, method: string, params: unknown[] = []): Promise<Raw> =>
  page.evaluate(([m, p]) => (window as unknown as DappWindow).dapp.raw(m, p), [method, params] as const);

async function openSite(p: Profile, host: string): Promise<Page> {
  const page = await p.browser.context.newPage();
  await page.goto(`http://${host}:${server.port}/`);
  await page.locator('#status', { hasText: 'ready' }).waitFor();
  return page;
}

/** Starts `fn` in the page and returns the approval window the wallet opens for it. */
async function approvalWindow(p: Profile, start: () => Promise<unknown>): Promise<Page> {
  const popup = p.browser.context.waitForEvent('page', {
    predicate: (pg) => pg.url().includes('#/dapp/'),
    timeout: 30_000,
  });
  void start();
  const page = await popup;
  await page.waitForLoadState('domcontentloaded');
  return page;
}

async function axeViolations(page: Page): Promise<string[]> {
  const source = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
  // Through the DevTools protocol, which the extension page's CSP does not govern.
  await page.evaluate(source);
  return page.evaluate(async () => {
    // biome-ignore lint/suspicious/noExplicitAny: axe is injected at run time, untyped here.
    const axe = (window as any).axe;
    const r = await axe.run(document, { resultTypes: ['violations'] });
    return (r.violations as { id: string; impact: string; nodes: { target: string[] }[] }[])
      .filter((v) => v.impact === 'serious' || v.impact === 'critical')
      .map((v) => `${v.id}: ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`);
  });
}

describe('dApps see a Concord vault through EIP-6963 / EIP-1193', () => {
  beforeAll(async () => {
    await build({
      configFile: join(REPO_ROOT, 'vite.config.ts'),
      logLevel: 'warn',
      build: { outDir: extensionDir, emptyOutDir: true },
    });
    [bridge, chain, server] = await Promise.all([
      startBridge({ port: 0, dataDir: join(tmp, 'bridge'), logLevel: 'warn', defaultMetrics: false }),
      startHardhat(),
      startDappServer(),
    ]);
    const bridgeBase = bridge.url.replace(/\/v1$/, '');
    for (const n of ['A', 'B'])
      profiles.push(await onboard(n, { extensionDir, bridgeBase, rpcUrl: chain.url }));
  }, 480_000);

  afterAll(async () => {
    for (const p of profiles) await p.browser.close().catch(() => {});
    await server?.close();
    await bridge?.close();
    await chain?.stop();
    rmSync(tmp, { recursive: true, force: true });
  });

  it('two profiles create a [1,1] threshold-2 vault, funded with 3 ETH', async () => {
    const [A, B] = profiles as [Profile, Profile];
    const vault = await createVault(A, [{ profile: B, power: 1 }], {
      name: 'Treasury',
      creatorPower: 1,
      threshold: 2,
    });
    address = vault.address;
    await chain.fund(address as `0x${string}`, 3n * 10n ** 18n);
  }, 300_000);

  it('EIP-6963 discovery finds Concord; an unconnected site gets [] and the chain id', async () => {
    const [A] = profiles as [Profile];
    site = await openSite(A, '127.0.0.1');
    const providers = (await site.evaluate(() => (window as unknown as DappWindow).dapp.providers())) as {
      name: string;
      rdns: string;
      uuid: string;
      icon: string;
      isWindowEthereum: boolean;
    }[];
    expect(providers).toHaveLength(1);
    expect(providers[0]).toMatchObject({
      name: 'Concord',
      rdns: 'app.concord.wallet',
      isWindowEthereum: true,
    });
    expect(providers[0]!.icon).toBe('data:image/svg+xml;base64,');
    await site.evaluate(() => (window as unknown as DappWindow).dapp.listen());
    expect(await site.evaluate(() => (window as unknown as DappWindow).dapp.viemAddresses())).toEqual([]);
    expect(await site.evaluate(() => (window as unknown as DappWindow).dapp.viemChainId())).toBe(31337);
  });

  it('connecting through the connect window makes the vault the account (viem and ethers agree)', async () => {
    const [A] = profiles as [Profile];
    const requested = site.evaluate(() => (window as unknown as DappWindow).dapp.viemRequestAddresses());
    const win = await approvalWindow(A, () => requested);
    await win.getByTestId('dapp-approval').and(win.locator('[data-kind="connect"]')).waitFor();
    expect((await win.getByTestId('dapp-origin').textContent())?.trim()).toBe(
      `http://127.0.0.1:${server.port}`,
    );
    await expect.poll(() => win.getByTestId('dapp-vault').count()).toBe(1);
    expect(await win.getByTestId('dapp-vault').textContent()).toContain(address);
    await A.browser.screenshot(win, 'dapp-connect');
    expect(await axeViolations(win)).toEqual([]);
    await win.getByTestId('dapp-connect').click();
    expect(await requested).toEqual([address]);
    expect(await site.evaluate(() => (window as unknown as DappWindow).dapp.viemAddresses())).toEqual([
      address,
    ]);
    expect(await site.evaluate(() => (window as unknown as DappWindow).dapp.ethersAccounts())).toEqual([
      address,
    ]);
    const events = (await site.evaluate(() => (window as unknown as DappWindow).dapp.events())) as [
      string,
      unknown,
    ][];
    expect(events).toContainEqual(['accountsChanged', [address]]);
  });

  it('eth_getBalance through the wallet equals the chain; block number too', async () => {
    const viaWallet = await site.evaluate(
      (a) => (window as unknown as DappWindow).dapp.ethersBalance(a),
      address,
    );
    const direct = await chain.publicClient.getBalance({ address: address as `0x${string}` });
    expect(viaWallet).toBe(String(direct));
    expect(direct).toBe(3n * 10n ** 18n);
    const block = await site.evaluate(() => (window as unknown as DappWindow).dapp.viemBlockNumber());
    expect(BigInt(block as string)).toBe(await chain.publicClient.getBlockNumber());
  });

  it('wallet_switchEthereumChain emits chainChanged; an unknown chain is 4902', async () => {
    expect(await raw(site, 'wallet_switchEthereumChain', [{ chainId: '0xaa36a7' }])).toEqual({
      ok: true,
      result: null,
    });
    await expect
      .poll(
        async () =>
          (await site.evaluate(() => (window as unknown as DappWindow).dapp.events())) as [string, unknown][],
      )
      .toContainEqual(['chainChanged', '0xaa36a7']);
    expect(await raw(site, 'eth_chainId')).toEqual({ ok: true, result: '0xaa36a7' });
    expect(await raw(site, 'wallet_switchEthereumChain', [{ chainId: '0x2a' }])).toMatchObject({
      ok: false,
      code: 4902,
    });
    await raw(site, 'wallet_switchEthereumChain', [{ chainId: '0x7a69' }]);
    await expect
      .poll(
        async () =>
          (await site.evaluate(() => (window as unknown as DappWindow).dapp.events())) as [string, unknown][],
      )
      .toContainEqual(['chainChanged', '0x7a69']);
  });

  it('eth_sign is 4200; wallet_sendCalls is 4200 "not available yet"; bad params are -32602', async () => {
    expect(await raw(site, 'eth_sign', [address, `0x${'11'.repeat(32)}`])).toMatchObject({
      ok: false,
      code: 4200,
    });
    const calls = await raw(site, 'wallet_sendCalls', [{ version: '2.0.0', calls: [] }]);
    expect(calls).toMatchObject({ ok: false, code: 4200 });
    expect(calls.message).toContain('not available');
    expect(await raw(site, 'eth_getBalance', ['0x12', 'latest'])).toMatchObject({ ok: false, code: -32602 });
  });

  it('another origin (localhost) is not connected: []', async () => {
    const [A] = profiles as [Profile];
    const other = await openSite(A, 'localhost');
    expect(await raw(other, 'eth_accounts')).toEqual({ ok: true, result: [] });
    expect(await raw(other, 'wallet_getPermissions')).toEqual({ ok: true, result: [] });
    await other.close();
  });

  it('revoking in Connected sites empties eth_accounts and emits accountsChanged([])', async () => {
    const [A] = profiles as [Profile];
    await A.page.bringToFront();
    await A.page.evaluate(() => {
      location.hash = '#/sites';
    });
    const row = A.page.getByTestId('site-row').filter({ hasText: `http://127.0.0.1:${server.port}` });
    await row.waitFor();
    expect(await row.textContent()).toContain(address);
    await A.browser.screenshot(A.page, 'dapp-connected-sites');
    await row.getByTestId('site-revoke').click();
    await A.page.getByTestId('sites-empty').waitFor();
    await expect
      .poll(
        async () =>
          (await site.evaluate(() => (window as unknown as DappWindow).dapp.events())) as [string, unknown][],
      )
      .toContainEqual(['accountsChanged', []]);
    expect(await raw(site, 'eth_accounts')).toEqual({ ok: true, result: [] });
  });

  it('a locked wallet asks to unlock in the connect window first, then connects', async () => {
    const [A] = profiles as [Profile];
    await A.page.evaluate(() => {
      location.hash = '#/';
    });
    await A.page.getByTestId('lock').click();
    await A.page.getByTestId('unlock-form').waitFor();
    expect(await raw(site, 'eth_accounts')).toEqual({ ok: true, result: [] });
    const requested = raw(site, 'eth_requestAccounts');
    const win = await approvalWindow(A, () => requested);
    await win.getByTestId('unlock-form').waitFor();
    expect(await win.getByTestId('dapp-approval').count()).toBe(0);
    await win.getByTestId('unlock-passphrase').fill(PASSPHRASE);
    await win.getByTestId('unlock-submit').click();
    await win.getByTestId('dapp-connect').click();
    expect(await requested).toEqual({ ok: true, result: [address] });
  });
});
