/**
 * Signing from a site end to end in Debian Chromium: two browser profiles with the built extension,
 * a real bridge and a real Hardhat node with a real ERC-20 (test/contracts/TestToken.sol, compiled
 * offline) hold a [1,1] threshold-2 vault. The test dApp (viem over EIP-6963) asks A's wallet; A's
 * user reviews the request in the approval window and proposes it; B's user sees it decoded on
 * B's own request screen (origin, calldata, typed-data tree, warnings; screenshots, axe-core) and
 * approves or rejects:
 *  - personal_sign → a signature viem's `verifyMessage` accepts for the vault address;
 *  - eth_signTypedData_v4 "Mail" → a signature `verifyTypedData` accepts;
 *  - an ERC-20 approve of 2^256−1 → shown on B as an unlimited approval before B approves, then
 *    mined (the allowance read on chain);
 *  - B rejecting → the dApp gets 4001;
 *  - typed data for another chain → refused (-32602) before anyone is asked.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type RunningBridge, startBridge } from '@concord/bridge-server/relay';
import type { Page } from 'playwright-core';
import { encodeFunctionData, erc20Abi, maxUint256, verifyMessage, verifyTypedData } from 'viem';
import { build } from 'vite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DeployedToken, deployToken } from '../helpers/contracts.ts';
import { type HardhatNode, startHardhat } from '../helpers/hardhat.ts';
import { type DappServer, startDappServer } from './dapp/server.ts';
import { REPO_ROOT } from './helpers/browser.ts';
import { createVault, onboard, type Profile } from './helpers/flows.ts';

const tmp = mkdtempSync(join(tmpdir(), 'concord-e2e-dapp-sign-'));
const extensionDir = join(tmp, 'extension');
let bridge: RunningBridge;
let chain: HardhatNode;
let server: DappServer;
let token: DeployedToken;
const profiles: Profile[] = [];
let address: `0x${string}`;
let site: Page;
const SPENDER = '0x5555555555555555555555555555555555555555';

type Raw = { ok: boolean; result?: unknown; code?: number; message?: string };
// biome-ignore lint/suspicious/noExplicitAny: the page's `window.dapp` is typed in page.ts, not here.
type DappWindow = { dapp: any };

const MAIL = {
  types: {
    Person: [
      { name: 'name', type: 'string' },
      { name: 'wallet', type: 'address' },
    ],
    Mail: [
      { name: 'from', type: 'Person' },
      { name: 'to', type: 'Person' },
      { name: 'contents', type: 'string' },
    ],
  },
  primaryType: 'Mail',
  domain: {
    name: 'Ether Mail',
    version: '1',
    chainId: 31337,
    verifyingContract: '0xCcCCccccCCCCcCCCCCCcCcCccCcCCCcCcccccccC',
  },
  message: {
    from: { name: 'Cow', wallet: '0xCD2a3d9F938E13CD947Ec05AbC7FE734Df8DD826' },
    to: { name: 'Bob', wallet: '0xbBbBBBBbbBBBbbbBbbBbbbbBBbBbbbbBbBbbBBbB' },
    contents: 'Hello, Bob!',
  },
} as const;

const dapp = <T = Raw>(f: string, ...args: unknown[]): Promise<T> =>
  site.evaluate(([name, a]) => (window as unknown as DappWindow).dapp[name](...a), [f, args] as const);

async function axeViolations(page: Page): Promise<string[]> {
  const source = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
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

/** Starts a site request; A's user approves it in the approval window (checked first by `check`). */
async function proposeOnA(
  start: () => Promise<unknown>,
  check?: (win: Page) => Promise<void>,
): Promise<void> {
  const [A] = profiles as [Profile];
  const popup = A.browser.context.waitForEvent('page', {
    predicate: (pg) => pg.url().includes('#/dapp/'),
    timeout: 30_000,
  });
  void start();
  const win = await popup;
  await win.locator('[data-testid="dapp-approval"][data-kind="sign"]').waitFor();
  expect(await win.getByTestId('describe-origin').textContent()).toContain(`127.0.0.1:${server.port}`);
  if (check) await check(win);
  await win.getByTestId('dapp-approve').click();
}

/** B opens the request that waits for it (from Home) and returns once its description shows. */
async function openOnB(): Promise<Page> {
  const [, B] = profiles as [Profile, Profile];
  await B.page.bringToFront();
  await B.page.evaluate(() => {
    location.hash = '#/';
  });
  await B.page.getByTestId('home').waitFor();
  const row = B.page
    .getByTestId('request-row')
    .filter({ has: B.page.getByTestId('request-needs-you') })
    .first();
  await row.waitFor({ timeout: 60_000 });
  await row.getByTestId('request-open').click();
  await B.page.getByTestId('request-view').waitFor();
  await B.page.getByTestId('describe').waitFor();
  expect(await B.page.getByTestId('describe-origin').textContent()).toContain(`127.0.0.1:${server.port}`);
  return B.page;
}

async function decideOnB(approve: boolean): Promise<void> {
  const [, B] = profiles as [Profile, Profile];
  if (approve) await B.page.getByTestId('request-approve').click();
  else {
    await B.page.getByTestId('request-reject').click();
    await B.page.getByTestId('request-reject-confirm').click();
  }
  await B.page.getByTestId('request-decided').waitFor({ timeout: 15_000 });
}

describe('sites sign through a Concord vault; every co-signer sees what it signs', () => {
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

  it('a [1,1] threshold-2 vault, funded, with a deployed ERC-20, connected to the site', async () => {
    const [A, B] = profiles as [Profile, Profile];
    const vault = await createVault(A, [{ profile: B, power: 1 }], {
      name: 'Treasury',
      creatorPower: 1,
      threshold: 2,
    });
    address = vault.address as `0x${string}`;
    await chain.fund(address, 3n * 10n ** 18n);
    token = await deployToken(chain);
    site = await A.browser.context.newPage();
    await site.goto(`http://127.0.0.1:${server.port}/`);
    await site.locator('#status', { hasText: 'ready' }).waitFor();
    const popup = A.browser.context.waitForEvent('page', { predicate: (pg) => pg.url().includes('#/dapp/') });
    const requested = dapp<string[]>('viemRequestAddresses');
    const win = await popup;
    await win.getByTestId('dapp-connect').click();
    expect(await requested).toEqual([address]);
  }, 300_000);

  it('personal_sign: B sees the text and the origin; the signature verifies for the vault (viem)', async () => {
    const signed = dapp('viemSignMessage', address, 'Sign in to the test dApp\nNonce: 7');
    await proposeOnA(
      () => signed,
      async (win) => {
        expect(await win.getByTestId('describe-message-text').textContent()).toContain('Nonce: 7');
      },
    );
    const b = await openOnB();
    expect(await b.getByTestId('describe-message-text').textContent()).toBe(
      'Sign in to the test dApp\nNonce: 7',
    );
    await profiles[1]!.browser.screenshot(b, 'dapp-sign-message-cosigner');
    expect(await axeViolations(b)).toEqual([]);
    await decideOnB(true);
    const r = await signed;
    expect(r).toMatchObject({ ok: true });
    const signature = r.result as `0x${string}`;
    expect(signature).toMatch(/^0x[0-9a-f]{130}$/);
    expect(await verifyMessage({ address, message: 'Sign in to the test dApp\nNonce: 7', signature })).toBe(
      true,
    );
    expect(await verifyMessage({ address, message: 'something else', signature })).toBe(false);
  }, 240_000);

  it('eth_signTypedData_v4 "Mail": B sees the tree; verifyTypedData accepts the signature', async () => {
    const signed = dapp('viemSignTypedData', address, MAIL);
    await proposeOnA(() => signed);
    const b = await openOnB();
    expect(await b.getByTestId('describe-title').textContent()).toContain(
      'Signs a Mail message for Ether Mail',
    );
    expect(await b.getByTestId('describe-typed-data').textContent()).toContain('Hello, Bob!');
    await profiles[1]!.browser.screenshot(b, 'dapp-sign-typed-data-cosigner');
    expect(await axeViolations(b)).toEqual([]);
    await decideOnB(true);
    const r = await signed;
    expect(r).toMatchObject({ ok: true });
    expect(
      await verifyTypedData({ address, ...MAIL, signature: r.result as `0x${string}` } as Parameters<
        typeof verifyTypedData
      >[0]),
    ).toBe(true);
  }, 240_000);

  it('an unlimited ERC-20 approve is shown decoded as such on B before it approves, then mined', async () => {
    const data = encodeFunctionData({ abi: erc20Abi, functionName: 'approve', args: [SPENDER, maxUint256] });
    const sent = dapp('raw', 'eth_sendTransaction', [{ from: address, to: token.address, data }]);
    await proposeOnA(
      () => sent,
      async (win) => {
        await win.getByTestId('describe-warning-UNLIMITED_APPROVAL').waitFor();
        await profiles[0]!.browser.screenshot(win, 'dapp-sign-approve-initiator');
      },
    );
    const b = await openOnB();
    await b.getByTestId('describe-warning-UNLIMITED_APPROVAL').waitFor();
    expect(await b.getByTestId('describe-call-signature').first().textContent()).toContain(
      'approve(address,uint256)',
    );
    expect(await b.getByTestId('describe-title').textContent()).not.toMatch(/^Contract call/);
    await profiles[1]!.browser.screenshot(b, 'dapp-sign-approve-cosigner');
    expect(await axeViolations(b)).toEqual([]);
    expect(await token.allowance(address, SPENDER)).toBe(0n);
    await decideOnB(true);
    const r = await sent;
    expect(r).toMatchObject({ ok: true });
    const receipt = await chain.publicClient.waitForTransactionReceipt({ hash: r.result as `0x${string}` });
    expect(receipt.status).toBe('success');
    expect(await token.allowance(address, SPENDER)).toBe(maxUint256);
  }, 240_000);

  it('B rejecting gives the site 4001', async () => {
    const signed = dapp('viemSignMessage', address, 'Please reject me');
    await proposeOnA(() => signed);
    const b = await openOnB();
    expect(await b.getByTestId('describe-message-text').textContent()).toBe('Please reject me');
    await decideOnB(false);
    expect(await signed).toMatchObject({ ok: false, code: 4001 });
  }, 240_000);

  it('typed data for another chain is refused before anyone is asked', async () => {
    const opened: string[] = [];
    const onPage = (pg: Page) => opened.push(pg.url());
    profiles[0]!.browser.context.on('page', onPage);
    for (const chainId of [1, '0x1', '1']) {
      const td = {
        ...MAIL,
        types: {
          EIP712Domain: [
            { name: 'name', type: 'string' },
            { name: 'version', type: 'string' },
            { name: 'chainId', type: 'uint256' },
            { name: 'verifyingContract', type: 'address' },
          ],
          ...MAIL.types,
        },
        domain: { ...MAIL.domain, chainId },
      };
      const r = await dapp('raw', 'eth_signTypedData_v4', [address, JSON.stringify(td)]);
      expect(r).toMatchObject({ ok: false, code: -32602 });
      expect(r.message).toContain('typed data is for chain 1');
    }
    profiles[0]!.browser.context.off('page', onPage);
    expect(opened.filter((u) => u.includes('#/dapp/'))).toEqual([]);
  });
});
