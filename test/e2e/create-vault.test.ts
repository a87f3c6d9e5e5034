/**
 * End-to-end "create a vault" across three Chromium profiles and a real bridge (in-process
 * `startBridge`, SQLite in a temp directory). Each profile onboards and points its settings at the
 * bridge; A proposes "Family savings" with powers [Laptop 2, Phone 1, Tablet 1] and threshold 3,
 * adding B and C by their device codes; B and C see the full proposal, the same safety code, and
 * accept; the weighted DKG runs over the bridge, each party in a Worker of its profile's offscreen
 * document (the service worker only relays, seals and stores: its crypto-host counters say so, and its
 * event loop is sampled for stalls meanwhile); all three show the same address and list the vault.
 * B's service worker is restarted while the invitation waits for its answer (the proposal is in
 * IndexedDB and resumes). Every new screen is asserted on its key content and saved under
 * test/artifacts/create-vault-*.png.
 *
 * The extension is built into its own temp directory so this file can run in parallel with
 * extension.test.ts (which builds dist/extension).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type RunningBridge, startBridge } from '@concord/bridge-server/relay';
import { build } from 'vite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from './helpers/browser.ts';
import { onboard, type Profile, text } from './helpers/flows.ts';

const SAFETY_CODE = /^\d{5}( \d{5}){5}$/;
const ADDRESS = /^0x[0-9a-fA-F]{40}$/;

const tmp = mkdtempSync(join(tmpdir(), 'concord-e2e-vault-'));
const extensionDir = join(tmp, 'extension');
let bridge: RunningBridge;
const profiles: Profile[] = [];

/** What background/services/crypto-host.ts counts on the service worker's global scope. */
interface CryptoHostStats {
  documentsCreated: number;
  sessionsOpened: number;
  calls: number;
  open: boolean;
}
interface ProbeGlobal {
  __concordCryptoHost?: CryptoHostStats;
  __lagProbe?: { max: number; timer?: ReturnType<typeof setInterval> };
  chrome: { runtime: { getContexts(f: { contextTypes: string[] }): Promise<unknown[]> } };
}

/** Samples the service worker's event loop every 20 ms and keeps the worst delay (a blocked loop). */
async function startLagProbe(p: Profile): Promise<void> {
  const sw = await p.browser.serviceWorker();
  await sw.evaluate(() => {
    const g = globalThis as unknown as ProbeGlobal;
    let last = performance.now();
    const probe: { max: number; timer?: ReturnType<typeof setInterval> } = { max: 0 };
    probe.timer = setInterval(() => {
      const now = performance.now();
      probe.max = Math.max(probe.max, now - last - 20);
      last = now;
    }, 20);
    g.__lagProbe = probe;
  });
}

describe('create a vault across three browser profiles over a real bridge', () => {
  beforeAll(async () => {
    await build({
      configFile: join(REPO_ROOT, 'vite.config.ts'),
      logLevel: 'warn',
      build: { outDir: extensionDir, emptyOutDir: true },
    });
    bridge = await startBridge({
      port: 0,
      dataDir: join(tmp, 'bridge'),
      logLevel: 'warn',
      defaultMetrics: false,
    });
    const base = bridge.url.replace(/\/v1$/, '');
    // Sequential: three Chromium launches at once starve a small CI machine.
    for (const n of ['A', 'B', 'C']) profiles.push(await onboard(n, { extensionDir, bridgeBase: base }));
  }, 180_000);

  afterAll(async () => {
    for (const p of profiles) await p.browser.close().catch(() => {});
    await bridge?.close();
    rmSync(tmp, { recursive: true, force: true });
  });

  it('A proposes [2,1,1] t=3, B and C accept, everyone shows the same safety code and address', async () => {
    const [A, B, C] = profiles as [Profile, Profile, Profile];

    // --- A composes the proposal.
    await A.page.getByTestId('create-vault-open').click();
    await A.page.getByTestId('create-vault').waitFor();
    await A.page.getByTestId('vault-name').fill('Family savings');
    await A.page.getByTestId('self-label').fill('Laptop');
    await A.page.getByTestId('self-power').fill('2');
    for (const [p, label] of [
      [B, 'Phone'],
      [C, 'Tablet'],
    ] as const) {
      await A.page.getByTestId('signer-code').fill(p.code);
      await A.page.getByTestId('signer-label').fill(label);
      await A.page.getByTestId('signer-power').fill('1');
      await A.page.getByTestId('signer-add').click();
      await expect.poll(() => A.page.getByTestId('signer-row').filter({ hasText: label }).count()).toBe(1);
      // The background parsed the code and shows that device's own fingerprint to compare.
      expect(await A.page.getByTestId('signer-row').filter({ hasText: label }).textContent()).toContain(
        p.fingerprint,
      );
    }
    await A.page.getByTestId('threshold').fill('3');
    await expect.poll(() => text(A.page, 'quorum-needs')).toBe('Needs 3 of 4 power to sign');
    const groups = await A.page.getByTestId('quorum-group').allTextContents();
    expect(groups.map((g) => g.trim())).toEqual(['Laptop (2) + Phone (1)', 'Laptop (2) + Tablet (1)']);
    await A.browser.screenshot(A.page, 'create-vault-01-compose');

    await A.page.getByTestId('propose').click();
    await A.page.getByTestId('ceremony').waitFor();
    await expect.poll(() => A.page.getByTestId('ceremony').getAttribute('data-phase')).toBe('waiting');
    const code = await text(A.page, 'safety-code');
    expect(code).toMatch(SAFETY_CODE);
    expect(await text(A.page, 'ceremony-waiting')).toContain('Phone');
    expect(await text(A.page, 'ceremony-waiting')).toContain('Tablet');
    await A.browser.screenshot(A.page, 'create-vault-02-proposal-sent');

    // --- B and C receive the invitation over the bridge and review it.
    for (const [p, i] of [
      [B, 3],
      [C, 4],
    ] as const) {
      // The invitation shows up without a reload (Home polls) and in the popup.
      const item = p.page.getByTestId('home-ceremony');
      await item.waitFor({ timeout: 30_000 });
      expect(await item.getAttribute('data-phase')).toBe('invited');
      expect(await item.textContent()).toContain('Family savings');
      await p.browser.screenshot(p.page, `create-vault-0${i}-${p.name}-home-invitation`);
      await p.page.getByTestId('home-ceremony-open').click();
      await p.page.getByTestId('ceremony').waitFor();
      expect(await p.page.getByTestId('ceremony').getAttribute('data-phase')).toBe('invited');
      expect(await text(p.page, 'ceremony-name')).toBe('Family savings');
      const members = (await p.page.getByTestId('ceremony-member').allTextContents()).join('\n');
      for (const who of [A, B, C]) expect(members).toContain(who.fingerprint);
      for (const label of ['Laptop', 'Phone', 'Tablet']) expect(members).toContain(label);
      expect(await text(p.page, 'quorum-needs')).toBe('Needs 3 of 4 power to sign');
      // The same safety code on every device, before any key material exists.
      expect(await text(p.page, 'safety-code')).toBe(code);
    }
    await B.browser.screenshot(B.page, 'create-vault-05-B-review');

    // B's service worker restarts before B answers: the invitation lives in IndexedDB, the page's next
    // poll wakes the worker, which reconnects to the bridge and rebuilds the session from storage.
    await B.browser.stopServiceWorker();
    await B.page.reload();
    await B.page.getByTestId('ceremony').waitFor();
    await expect.poll(() => B.page.getByTestId('ceremony').getAttribute('data-phase')).toBe('invited');
    expect(await text(B.page, 'safety-code')).toBe(code);

    for (const p of [A, B, C]) await startLagProbe(p);
    await B.page.getByTestId('ceremony-accept').click();
    await expect.poll(() => B.page.getByTestId('ceremony').getAttribute('data-phase')).toBe('waiting');
    expect(await text(B.page, 'ceremony-waiting')).toContain('Tablet');
    await B.browser.screenshot(B.page, 'create-vault-06-B-accepted');
    await C.page.getByTestId('ceremony-accept').click();

    // --- The DKG runs; every device ends with the same address.
    const addresses: string[] = [];
    for (const p of [A, B, C]) {
      const ceremony = p.page.getByTestId('ceremony');
      await expect
        .poll(() => ceremony.getAttribute('data-phase'), { timeout: 120_000, interval: 250 })
        .toMatch(/running|done|failed/);
      if ((await ceremony.getAttribute('data-phase')) === 'running' && p === A) {
        expect(await text(p.page, 'ceremony-progress')).toMatch(/round [1-4] of 4/);
        await p.browser.screenshot(p.page, 'create-vault-07-A-generating');
      }
      await expect
        .poll(() => ceremony.getAttribute('data-phase'), { timeout: 120_000, interval: 250 })
        .toMatch(/done|failed/);
      expect(await ceremony.getAttribute('data-phase'), await text(p.page, 'ceremony-status')).toBe('done');
      expect(await text(p.page, 'safety-code')).toBe(code);
      addresses.push(await text(p.page, 'vault-address'));
      await p.browser.screenshot(p.page, `create-vault-08-${p.name}-done`);
    }
    expect(addresses[0]).toMatch(ADDRESS);
    expect(new Set(addresses).size).toBe(1);

    // --- Each party ran in its offscreen document's Worker, which is closed again afterwards.
    for (const p of [A, B, C]) {
      const sw = await p.browser.serviceWorker();
      await expect
        .poll(() =>
          sw.evaluate(
            async () =>
              (
                await (globalThis as unknown as ProbeGlobal).chrome.runtime.getContexts({
                  contextTypes: ['OFFSCREEN_DOCUMENT'],
                })
              ).length,
          ),
        )
        .toBe(0);
      const stats = await sw.evaluate(() => (globalThis as unknown as ProbeGlobal).__concordCryptoHost);
      expect(stats, `${p.name}: the DKG did not use the offscreen host`).toBeDefined();
      expect(stats!.sessionsOpened).toBe(1);
      expect(stats!.documentsCreated).toBe(1);
      // open, start, one receive per peer message (2 peers × 4 rounds), output, dispose.
      expect(stats!.calls).toBeGreaterThanOrEqual(12);
      const lag = await sw.evaluate(() => {
        const probe = (globalThis as unknown as ProbeGlobal).__lagProbe;
        if (probe !== undefined) clearInterval(probe.timer);
        return probe?.max ?? -1;
      });
      // Diagnostic, not a gate (timing on a shared machine): with the DKG in the service worker the
      // worst delay measured 1.0–1.7 s per profile; with it in the offscreen Worker, 0.1–0.3 s.
      process.stdout.write(
        `[create-vault] ${p.name}: worst service-worker event-loop delay ${lag.toFixed(0)} ms\n`,
      );
    }

    // --- Home lists the vault with its address and quorum on every device.
    for (const p of [A, B, C]) {
      await p.page.getByTestId('ceremony-home').click();
      const row = p.page.getByTestId('vault-row');
      await row.waitFor();
      expect(await text(p.page, 'vault-row-address')).toBe(addresses[0]);
      expect(await row.textContent()).toContain('Needs 3 of 4 power');
      expect(await p.page.getByTestId('vaults-empty').count()).toBe(0);
    }
    await A.browser.screenshot(A.page, 'create-vault-09-A-home-vault');
    expect(await A.page.getByTestId('bridge-state').getAttribute('data-state')).toBe('ready');

    // The toolbar popup lists the vault too.
    const popup = await A.browser.openPage('popup.html', { width: 360, height: 600 });
    await popup.getByTestId('popup-vaults').waitFor();
    expect(await popup.getByTestId('popup-vaults').textContent()).toContain(addresses[0]);
    await A.browser.screenshot(popup, 'create-vault-10-A-popup');
    for (const p of profiles) expect(p.browser.cspViolations).toEqual([]);
  }, 240_000);
});
