/**
 * Browser harness for end-to-end tests: launches Debian Chromium with the unpacked extension from
 * dist/extension in a fresh persistent profile (extensions only load in a persistent context),
 * finds the extension id from its service worker, opens extension pages, restarts the service worker
 * through CDP (`ServiceWorker.stopAllWorkers`) and saves screenshots under test/artifacts/.
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { type BrowserContext, chromium, type Page, type Worker } from 'playwright-core';

export const REPO_ROOT = resolve(import.meta.dirname, '../../..');
export const EXTENSION_DIR = join(REPO_ROOT, 'dist/extension');
export const ARTIFACTS_DIR = join(REPO_ROOT, 'test/artifacts');
export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/** Console lines kept per browser (see `ExtensionBrowser.consoleLog`). */
const CONSOLE_LOG_CAP = 400;

export interface LaunchOptions {
  extensionDir?: string;
  /** Default true; set `HEADED=1` to watch. */
  headless?: boolean;
}

export interface ExtensionBrowser {
  context: BrowserContext;
  extensionId: string;
  /** `chrome-extension://<id>`. */
  origin: string;
  /** The current service worker (waits for one if it is stopped or restarting). */
  serviceWorker(): Promise<Worker>;
  /** Opens an extension page (e.g. `app.html#/settings`) in a new tab. */
  openPage(path: string, viewport?: { width: number; height: number }): Promise<Page>;
  /** Stops every service worker via CDP and waits until ours is gone. */
  stopServiceWorker(): Promise<void>;
  /** Saves a full-page screenshot as test/artifacts/<name>.png and returns its path. */
  screenshot(page: Page, name: string): Promise<string>;
  /** Console messages from extension pages and the worker that mention a CSP violation. */
  cspViolations: string[];
  /**
   * The extension's own console output (service worker and pages; the extension logs error codes
   * and error class names only, never secrets), newest last, capped: printed by a test that fails
   * so an intermittent failure can be diagnosed from the CI log alone.
   */
  consoleLog: string[];
  close(): Promise<void>;
}

function extensionIdOf(url: string): string | null {
  const m = /^chrome-extension:\/\/([a-p]{32})\//.exec(url);
  return m ? m[1]! : null;
}

export async function launchExtension(opts: LaunchOptions = {}): Promise<ExtensionBrowser> {
  const extensionDir = opts.extensionDir ?? EXTENSION_DIR;
  const userDataDir = mkdtempSync(join(tmpdir(), 'concord-e2e-'));
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: CHROMIUM_PATH,
    headless: opts.headless ?? process.env.HEADED !== '1',
    args: [
      `--disable-extensions-except=${extensionDir}`,
      `--load-extension=${extensionDir}`,
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
      '--disable-dev-shm-usage',
    ],
    viewport: { width: 1100, height: 820 },
    deviceScaleFactor: 1,
  });

  const cspViolations: string[] = [];
  const consoleLog: string[] = [];
  const watchConsole = (source: Page | Worker): void => {
    source.on('console', (msg) => {
      const text = msg.text();
      if (/Content Security Policy/i.test(text)) cspViolations.push(text);
      // The worker's messages are also reported on every page: keep them once, from the worker.
      if (extensionIdOf(source.url()) === null || (msg.worker() !== null && msg.worker() !== source)) return;
      consoleLog.push(
        `${new Date().toISOString().slice(11, 23)} ${msg.type()} ${source.url().replace(/^.*\//, '')}: ${text}`,
      );
      if (consoleLog.length > CONSOLE_LOG_CAP) consoleLog.splice(0, consoleLog.length - CONSOLE_LOG_CAP);
    });
  };
  context.on('page', watchConsole);
  context.on('serviceworker', watchConsole);

  const findWorker = (): Worker | undefined =>
    context
      .serviceWorkers()
      .find((w) => extensionIdOf(w.url()) !== null && w.url().endsWith('/background.js'));

  let worker = findWorker() ?? (await context.waitForEvent('serviceworker', { timeout: 30_000 }));
  const extensionId = extensionIdOf(worker.url());
  if (extensionId === null) throw new Error(`unexpected service worker url ${worker.url()}`);
  watchConsole(worker);
  const origin = `chrome-extension://${extensionId}`;

  mkdirSync(ARTIFACTS_DIR, { recursive: true });

  return {
    context,
    extensionId,
    origin,
    cspViolations,
    consoleLog,
    async serviceWorker() {
      const live = findWorker();
      if (live) {
        worker = live;
        return live;
      }
      worker = await context.waitForEvent('serviceworker', { timeout: 30_000 });
      return worker;
    },
    async openPage(path, viewport) {
      const page = await context.newPage();
      if (viewport) await page.setViewportSize(viewport);
      await page.goto(`${origin}/${path}`);
      return page;
    },
    async stopServiceWorker() {
      // The CDP host must be a page of the extension: a session on another origin's page does not
      // see the extension's worker. manifest.json is a page of ours that runs no script (so it does
      // not wake the worker back up by itself).
      const host = await context.newPage();
      try {
        await host.goto(`${origin}/manifest.json`);
        const cdp = await context.newCDPSession(host);
        const scriptUrl = `${origin}/background.js`;
        const stopped = new Promise<void>((resolveStopped, reject) => {
          const timer = setTimeout(() => reject(new Error('service worker did not stop')), 15_000);
          cdp.on('ServiceWorker.workerVersionUpdated', (e) => {
            if (e.versions.some((v) => v.scriptURL === scriptUrl && v.runningStatus === 'stopped')) {
              clearTimeout(timer);
              resolveStopped();
            }
          });
        });
        await cdp.send('ServiceWorker.enable');
        await cdp.send('ServiceWorker.stopAllWorkers');
        await stopped;
        await cdp.detach();
      } finally {
        await host.close();
      }
    },
    async screenshot(page, name) {
      const path = join(ARTIFACTS_DIR, `${name}.png`);
      await page.screenshot({ path, fullPage: true });
      return path;
    },
    async close() {
      await context.close();
      rmSync(userDataDir, { recursive: true, force: true });
    },
  };
}
