/**
 * The wallet end to end in Debian Chromium: three (then four) browser profiles with the built
 * extension, a real bridge (SQLite in a temp directory) and a real Hardhat node on 127.0.0.1.
 * A [2,1,1] threshold-3 vault is created through the UI and funded from a Hardhat account; then,
 * all through the pages:
 *  - A proposes sending 1 ETH, B sees the transaction decoded on its own screen and approves; it is
 *    mined and the recipient's balance rises by exactly 1 ETH (viem);
 *  - a rejection ends a request everywhere; an approval short of the threshold stays pending;
 *  - B's service worker is stopped (CDP) right after it approves: one mined transaction, never two;
 *  - a reshare adds a fourth profile: the address stays and the new committee signs;
 *  - A and B (power 3 together) export backups from the Backup page (after re-entering the wallet
 *    passphrase; a wrong one is refused on its field); `concord-recover` rebuilds
 *    the vault's address from the two files.
 * Each main screen is saved under test/artifacts/ after asserting its key content.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type RunningBridge, startBridge } from '@concord/bridge-server/relay';
import { toHex } from '@concord/tss/bytes';
import { parseDeviceCode } from '@concord/tss/transport';
import type { Page } from 'playwright-core';
import { build } from 'vite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type HardhatNode, startHardhat } from '../helpers/hardhat.ts';
import { REPO_ROOT } from './helpers/browser.ts';
import { createVault, onboard, PASSPHRASE, type Profile, restoreProfile, text } from './helpers/flows.ts';

const ETH = 10n ** 18n;
const RECIPIENT = '0x00000000000000000000000000000000000bee01';
const RECIPIENT2 = '0x00000000000000000000000000000000000bee02';
const BACKUP_PASSPHRASE = 'granite harbor whistle marmalade 4412';

const tmp = mkdtempSync(join(tmpdir(), 'concord-e2e-wallet-'));
const extensionDir = join(tmp, 'extension');
let bridge: RunningBridge;
let chain: HardhatNode;
let bridgeBase: string;
const profiles: Profile[] = [];
let address: `0x${string}`;

async function phaseOf(p: Profile): Promise<string | null> {
  return p.page.getByTestId('request-view').getAttribute('data-phase');
}

/** Back to Home through the hash route (the Home button only exists on other screens). */
async function goHome(p: Profile): Promise<void> {
  await p.page.evaluate(() => {
    location.hash = '#/';
  });
  await p.page.getByTestId('home').waitFor();
}

/** Opens the request `id` on `p` (from Home's request list). */
async function openRequest(p: Profile, id: string): Promise<void> {
  await goHome(p);
  const row = p.page.locator(`[data-testid="request-row"][data-id="${id}"]`);
  await row.waitFor({ timeout: 30_000 });
  await row.getByTestId('request-open').click();
  await p.page.getByTestId('request-view').waitFor();
}

async function waitPhase(p: Profile, want: RegExp, timeout = 90_000): Promise<void> {
  try {
    await expect.poll(() => phaseOf(p), { timeout, interval: 250 }).toMatch(want);
  } catch (e) {
    // What each open profile's extension logged (error codes and names, never secrets): an
    // intermittent stall must be diagnosable from the CI log alone.
    for (const q of profiles) console.error(`--- ${q.name} console ---\n${q.browser.consoleLog.join('\n')}`);
    throw e;
  }
}

/** A composes a send on its Send page and proposes it; returns the request id. */
async function propose(p: Profile, to: string, amount: string, shot?: string): Promise<string> {
  await goHome(p);
  await p.page.getByTestId('vault-send').first().click();
  await p.page.getByTestId('send-form').waitFor();
  await p.page.getByTestId('send-to').fill(to);
  await p.page.getByTestId('send-amount').fill(amount);
  await p.page.getByTestId('send-review').click();
  await p.page.getByTestId('send-summary').waitFor({ timeout: 30_000 });
  expect((await text(p.page, 'send-summary-recipient')).toLowerCase()).toContain(to.toLowerCase());
  expect(await text(p.page, 'send-summary-amount')).toContain(`${amount} ETH`);
  if (shot) await p.browser.screenshot(p.page, shot);
  await p.page.getByTestId('send-submit').click();
  await p.page.getByTestId('request-view').waitFor();
  const id = /#\/request\/([0-9a-f]{32})/.exec(p.page.url())?.[1];
  expect(id).toBeDefined();
  return id!;
}

async function decide(p: Profile, id: string, approve: boolean): Promise<void> {
  await openRequest(p, id);
  if (approve) await p.page.getByTestId('request-approve').click();
  else {
    await p.page.getByTestId('request-reject').click();
    await p.page.getByTestId('request-reject-confirm').click();
  }
  await p.page.getByTestId('request-decided').waitFor({ timeout: 15_000 });
}

async function download(page: Page, click: () => Promise<void>, path: string): Promise<void> {
  const pending = page.waitForEvent('download', { timeout: 60_000 });
  await click();
  await (await pending).saveAs(path);
}

describe('the wallet across browser profiles, a real bridge and a real chain', () => {
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
    for (const n of ['A', 'B', 'C']) {
      profiles.push(await onboard(n, { extensionDir, bridgeBase, rpcUrl: chain.url }));
    }
  }, 240_000);

  afterAll(async () => {
    for (const p of profiles) await p.browser.close().catch(() => {});
    await bridge?.close();
    await chain?.stop();
    rmSync(tmp, { recursive: true, force: true });
  });

  it('three profiles create a [2,1,1] threshold-3 vault (same address and safety code) and fund it', async () => {
    const [A, B, C] = profiles as [Profile, Profile, Profile];
    const vault = await createVault(
      A,
      [
        { profile: B, power: 1 },
        { profile: C, power: 1 },
      ],
      { name: 'Treasury', creatorPower: 2, threshold: 3 },
    );
    address = vault.address as `0x${string}`;
    await chain.fund(address, 10n * ETH);
  }, 300_000);

  it('A proposes 1 ETH, B approves on its own screen: mined, recipient +1 ETH exactly', async () => {
    const [A, B, C] = profiles as [Profile, Profile, Profile];
    await goHome(A);
    await expect.poll(() => text(A.page, 'vault-balance'), { timeout: 30_000 }).toContain('10');
    await A.browser.screenshot(A.page, 'wallet-01-A-home-funded');
    const before = await chain.publicClient.getBalance({ address: RECIPIENT });

    const id = await propose(A, RECIPIENT, '1', 'wallet-02-A-send-review');
    await waitPhase(A, /pending/);
    expect(await text(A.page, 'request-power')).toContain('2 of 3 power approved');
    await A.browser.screenshot(A.page, 'wallet-03-A-request-pending');

    // B's Home lists it as waiting for B; B's own decoding shows recipient, amount, chain and fee.
    await goHome(B);
    const row = B.page.locator(`[data-testid="request-row"][data-id="${id}"]`);
    await row.waitFor({ timeout: 30_000 });
    expect(await row.getByTestId('request-needs-you').count()).toBe(1);
    await B.browser.screenshot(B.page, 'wallet-04-B-home-request');
    await openRequest(B, id);
    expect((await text(B.page, 'request-recipient')).toLowerCase()).toContain(RECIPIENT);
    expect(await text(B.page, 'request-amount')).toContain('1 ETH');
    expect(await text(B.page, 'request-chain')).toContain('Local development chain');
    expect(await text(B.page, 'request-fee')).toMatch(/ETH/);
    const members = B.page.getByTestId('request-member');
    expect(await members.count()).toBe(3);
    await B.browser.screenshot(B.page, 'wallet-05-B-review');
    await B.page.getByTestId('request-approve').click();

    for (const p of [A, B]) await waitPhase(p, /mined/);
    await openRequest(C, id);
    await waitPhase(C, /mined/);
    expect(await text(A.page, 'request-txhash')).toMatch(/0x[0-9a-f]{64}/);
    expect(await text(C.page, 'request-txhash')).toBe(await text(A.page, 'request-txhash'));
    // Its own nonce is now used by itself: no "nonce already used" warning on a mined request.
    await expect.poll(() => A.page.getByTestId('request-warnings').count(), { timeout: 15_000 }).toBe(0);
    await A.browser.screenshot(A.page, 'wallet-06-A-mined');
    await C.browser.screenshot(C.page, 'wallet-07-C-mined');
    expect((await chain.publicClient.getBalance({ address: RECIPIENT })) - before).toBe(ETH);
  }, 240_000);

  it('a rejection ends the request everywhere; an approval short of the threshold stays pending', async () => {
    const [A, B, C] = profiles as [Profile, Profile, Profile];
    // C (1) proposes, A (2) rejects: 1 approved + 1 undecided can no longer reach 3.
    const rejected = await propose(C, RECIPIENT2, '0.1');
    await decide(A, rejected, false);
    for (const p of [A, C]) {
      if (p !== A) await openRequest(p, rejected);
      await waitPhase(p, /rejected/, 30_000);
    }
    await C.browser.screenshot(C.page, 'wallet-08-C-rejected');

    // C (1) proposes, B (1) approves: 2 of 3 — pending on every device, nothing signed.
    const pending = await propose(C, RECIPIENT2, '0.2');
    await decide(B, pending, true);
    await expect
      .poll(() => text(C.page, 'request-power'), { timeout: 30_000 })
      .toContain('2 of 3 power approved');
    await new Promise((r) => setTimeout(r, 2_000));
    for (const p of [B, C]) expect(await phaseOf(p)).toBe('pending');
    await openRequest(A, pending);
    expect(await phaseOf(A)).toBe('pending');
    expect(await A.page.getByTestId('request-approve').count()).toBe(1);
    await B.browser.screenshot(B.page, 'wallet-09-B-short-of-threshold');
    expect(await chain.publicClient.getBalance({ address: RECIPIENT2 })).toBe(0n);
  }, 180_000);

  it('a service-worker restart right after approving still ends in exactly one mined transaction', async () => {
    const [A, B] = profiles as [Profile, Profile, Profile];
    const before = await chain.publicClient.getBalance({ address: RECIPIENT });
    const nonce = await chain.publicClient.getTransactionCount({ address });
    const id = await propose(A, RECIPIENT, '0.5');
    await openRequest(B, id);
    await B.page.getByTestId('request-approve').click();
    await B.browser.stopServiceWorker();
    // The page's next poll wakes the worker; it reconnects, re-sends its decision and asks for a
    // new signing attempt if it had started one.
    for (const p of [A, B]) await waitPhase(p, /mined/, 120_000);
    expect((await chain.publicClient.getBalance({ address: RECIPIENT })) - before).toBe(ETH / 2n);
    expect(await chain.publicClient.getTransactionCount({ address })).toBe(nonce + 1);
    await B.browser.screenshot(B.page, 'wallet-10-B-mined-after-restart');
  }, 240_000);

  it("the coordinator's service worker stopped in the middle of the signing ceremony: one mined transaction", async () => {
    const [A, B] = profiles as [Profile, Profile, Profile];
    const before = await chain.publicClient.getBalance({ address: RECIPIENT });
    const nonce = await chain.publicClient.getTransactionCount({ address });
    const id = await propose(A, RECIPIENT, '0.125');
    await openRequest(B, id);
    // Watch A's own storage from its worker: as soon as A has joined signing attempt 1 and holds no
    // signed transaction yet, stop the worker (its in-memory round state dies with it).
    const sw = await A.browser.serviceWorker();
    const watch = sw.evaluate(async (rid) => {
      const read = (store: string): Promise<unknown> =>
        new Promise((resolve, reject) => {
          const open = indexedDB.open('concord');
          open.onerror = () => reject(open.error);
          open.onsuccess = () => {
            const db = open.result;
            const get = db.transaction(store, 'readonly').objectStore(store).get(rid);
            get.onsuccess = () => {
              db.close();
              resolve(get.result);
            };
            get.onerror = () => reject(get.error);
          };
        });
      for (let i = 0; i < 3000; i++) {
        const c = (await read('ceremonies')) as { myAttempt?: number } | undefined;
        if (c?.myAttempt === 1) return (await read('transactions')) === undefined;
        await new Promise((r) => setTimeout(r, 5));
      }
      return false;
    }, id);
    await B.page.getByTestId('request-approve').click();
    const midCeremony = await watch;
    await A.browser.stopServiceWorker();
    for (const p of [A, B]) await waitPhase(p, /mined/, 120_000);
    expect((await chain.publicClient.getBalance({ address: RECIPIENT })) - before).toBe(ETH / 8n);
    expect(await chain.publicClient.getTransactionCount({ address })).toBe(nonce + 1);
    const attempt = Number(await A.page.getByTestId('request-view').getAttribute('data-attempt'));
    process.stdout.write(
      `[wallet] coordinator stopped ${midCeremony ? 'mid-ceremony' : 'after signing'}; final attempt ${attempt}\n`,
    );
    // Stopped while its round state was live, the request ends either through a second attempt or,
    // when B already held A's last-round message, through B's signature of attempt 1; either way
    // the assertions above hold: one transaction, one nonce.
    expect(attempt).toBeGreaterThanOrEqual(1);
  }, 240_000);

  it('a reshare adds a fourth profile: same address, and the new committee signs', async () => {
    const [A, B] = profiles as [Profile, Profile, Profile];
    const D = await onboard('D', { extensionDir, bridgeBase, rpcUrl: chain.url });
    profiles.push(D);
    await goHome(A);
    await A.page.getByTestId('vault-reshare').first().click();
    await A.page.getByTestId('reshare-form').waitFor();
    await A.page.getByTestId('reshare-add-code').fill(D.code);
    await A.page.getByTestId('reshare-add-label').fill('D');
    await A.page.getByTestId('reshare-add-power').fill('1');
    await A.page.getByTestId('reshare-add').click();
    await A.page.getByTestId('reshare-added-row').waitFor();
    await A.page.getByTestId('reshare-threshold').fill('3');
    await A.browser.screenshot(A.page, 'wallet-11-A-reshare-compose');
    await A.page.getByTestId('reshare-submit').click();
    await A.page.getByTestId('request-view').waitFor();
    const id = /#\/request\/([0-9a-f]{32})/.exec(A.page.url())![1]!;
    const code = await text(A.page, 'request-safety-code');
    expect(code).toMatch(/^\d{5}( \d{5}){5}$/);

    await openRequest(D, id);
    expect(await text(D.page, 'request-safety-code')).toBe(code);
    await D.browser.screenshot(D.page, 'wallet-12-D-reshare-invite');
    await D.page.getByTestId('request-approve').click();
    await decide(B, id, true);
    for (const p of [A, B, D]) await waitPhase(p, /done/, 180_000);
    await A.page.getByTestId('reshare-backup-prompt').waitFor();
    // D's part of the reshare ran in its offscreen Worker, not in the service worker.
    const dWorker = await D.browser.serviceWorker();
    const stats = await dWorker.evaluate(
      () => (globalThis as { __concordCryptoHost?: { sessionsOpened: number } }).__concordCryptoHost,
    );
    expect(stats?.sessionsOpened ?? 0).toBeGreaterThanOrEqual(1);
    await A.browser.screenshot(A.page, 'wallet-13-A-reshare-done');

    await goHome(D);
    await expect.poll(() => text(D.page, 'vault-row-address'), { timeout: 30_000 }).toBe(address);
    await D.browser.screenshot(D.page, 'wallet-14-D-home-member');

    // The new committee signs: D (1) proposes, A (2) approves.
    const before = await chain.publicClient.getBalance({ address: RECIPIENT2 });
    const send = await propose(D, RECIPIENT2, '1');
    await decide(A, send, true);
    for (const p of [A, D]) await waitPhase(p, /mined/, 120_000);
    expect((await chain.publicClient.getBalance({ address: RECIPIENT2 })) - before).toBe(ETH);
  }, 420_000);

  it('backups exported by A and B (power 3) rebuild the address with concord-recover', async () => {
    const [A, B] = profiles as [Profile, Profile, Profile];
    const files: string[] = [];
    for (const p of [A, B]) {
      await goHome(p);
      await p.page.getByTestId('vault-backup').first().click();
      await p.page.getByTestId('backup-view').waitFor();
      await p.page.getByTestId('backup-passphrase').fill(BACKUP_PASSPHRASE);
      await p.page.getByTestId('backup-confirm').fill(BACKUP_PASSPHRASE);
      if (p === A) {
        // The wallet passphrase is asked again; a wrong one is refused on its field, nothing exported.
        await p.page.getByTestId('backup-wallet-passphrase').fill(BACKUP_PASSPHRASE);
        await p.page.getByTestId('backup-export').click();
        const help = p.page.locator('#backup-wallet-passphrase-help');
        await help.waitFor();
        expect(await help.textContent()).toContain('not the passphrase that unlocks Concord');
        expect(await p.page.getByTestId('backup-download').count()).toBe(0);
      }
      await p.page.getByTestId('backup-wallet-passphrase').fill(PASSPHRASE);
      const file = join(tmp, `backup-${p.name}.json`);
      await download(p.page, () => p.page.getByTestId('backup-export').click(), file);
      files.push(file);
      if (p === A) await A.browser.screenshot(A.page, 'wallet-15-A-backup-exported');
    }
    const pass = join(tmp, 'passphrases.txt');
    writeFileSync(pass, `${BACKUP_PASSPHRASE}\n${BACKUP_PASSPHRASE}\n`, { mode: 0o600 });
    const out = execFileSync(
      process.execPath,
      ['--import', 'tsx', join(REPO_ROOT, 'tss/bin/concord-recover.ts'), '--passphrase-file', pass, ...files],
      { cwd: REPO_ROOT, encoding: 'utf8', timeout: 120_000 },
    );
    expect(out.toLowerCase()).toContain(address.toLowerCase());
  }, 240_000);

  it("B's browser is lost: a profile restored from B's backup rejoins through a refresh", async () => {
    const [A, B] = profiles as [Profile, Profile, Profile];
    const file = join(tmp, 'backup-B.json');
    await B.browser.close();
    const B2 = await restoreProfile('B2', {
      extensionDir,
      bridgeBase,
      rpcUrl: chain.url,
      file,
      backupPassphrase: BACKUP_PASSPHRASE,
      shot: (page, browser) => browser.screenshot(page, 'wallet-16-B2-restore-form').then(() => {}),
    });
    profiles[1] = B2;
    // Same signer as before: the same Ed25519 device key (device id, tss party id). Its envelope
    // key is the one the vault lists for B — rotated by the reshare that added D (docs/PROTOCOL.md,
    // envelope-key rotation) — so the restored code and fingerprint differ from B's first ones.
    const restored = parseDeviceCode(B2.code);
    const original = parseDeviceCode(B.code);
    expect(toHex(restored.deviceId)).toBe(toHex(original.deviceId));
    expect(toHex(restored.agreementKey)).not.toBe(toHex(original.agreementKey));
    const restoreRow = B2.page.getByTestId('restore-row');
    await restoreRow.waitFor({ timeout: 30_000 });
    expect(await restoreRow.textContent()).toContain(address);
    await B2.browser.screenshot(B2.page, 'wallet-17-B2-home-restored');

    // A proposes a refresh: the signer-change page with nothing changed.
    await goHome(A);
    await A.page.getByTestId('vault-reshare').first().click();
    await A.page.getByTestId('reshare-form').waitFor();
    expect(await text(A.page, 'reshare-submit')).toContain('Refresh');
    await A.page.getByTestId('reshare-submit').click();
    await A.page.getByTestId('request-view').waitFor();
    const id = /#\/request\/([0-9a-f]{32})/.exec(A.page.url())![1]!;
    await decide(B2, id, true);
    for (const p of [A, B2]) await waitPhase(p, /done/, 180_000);
    await goHome(B2);
    await expect.poll(() => text(B2.page, 'vault-row-address'), { timeout: 30_000 }).toBe(address);
    expect(await B2.page.getByTestId('restore-row').count()).toBe(0);
    await B2.browser.screenshot(B2.page, 'wallet-18-B2-home-refreshed');
  }, 420_000);
});
