/**
 * The offline recovery page (tss/recovery-kit), built into one file and opened from `file://` in
 * Debian's Chromium, against `concord-recover` on the same files. Backups are made from a real
 * weighted DKG vault (fixture [2,1,1] t=3) with the production KDF (the page accepts nothing
 * weaker), mixing a device backup bundle and bare backups. Network: the browser context is offline,
 * every routed request is recorded and aborted, every request the context sees is recorded, and the
 * suite asserts none left the page. Accessibility: axe-core on the page in its main states.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Wallet } from 'ethers';
import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBackup } from '../../src/backup/backup.ts';
import { DEVICE_BACKUP_FORMAT } from '../../src/backup/bundle.ts';
import { fromHex } from '../../src/bytes.ts';
import { keyShareToBackupSource } from '../../src/keyshare-backup.ts';
import { p2wpkhAddress, toWif } from '../../src/recovery/bitcoin.ts';
import { seededRandom } from '../../src/testing/rng.ts';
import { loadFixture } from '../fixtures/index.ts';

const ROOT = resolve(import.meta.dirname, '../../..');
const CLI = join(ROOT, 'tss/bin/concord-recover.ts');
const TSX = pathToFileURL(join(ROOT, 'node_modules/tsx/dist/loader.mjs')).href;
const VITE = join(ROOT, 'node_modules/vite/bin/vite.js');
const PAGE_FILE = 'concord-recovery.html';

const PASS = {
  heavy: 'granite-orchard-lantern-tide-42',
  a: 'velvet-compass-harbor-nine-17',
  b: 'amber-meadow-kettle-frost-88',
  other: 'quiet-saddle-river-plum-63',
};
const KEYSTORE_PW = 'orchid-lantern-basalt-meadow-71';

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** Run `concord-recover` in `dir` on relative file names, so its labels match the page's (`#1 (x.json)`). */
function cli(dir: string, files: string[], passphrases: string[]): Promise<Run> {
  const passFile = join(dir, `pass-${Math.random().toString(36).slice(2)}.txt`);
  writeFileSync(passFile, `${passphrases.join('\n')}\n`);
  return new Promise((done) =>
    execFile(
      process.execPath,
      ['--import', TSX, CLI, '--passphrase-file', passFile, ...files],
      { cwd: dir, timeout: 110_000 },
      (err, stdout, stderr) =>
        done({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, stdout, stderr }),
    ),
  );
}

const cliLines = (r: Run): string[] => r.stdout.split('\n').map((l) => l.trim());

function buildPage(outDir: string): Promise<void> {
  return new Promise((done, fail) =>
    execFile(
      process.execPath,
      [VITE, 'build', '--config', 'tss/recovery-kit/vite.config.ts'],
      { cwd: ROOT, env: { ...process.env, CONCORD_RECOVERY_OUT_DIR: outDir }, timeout: 110_000 },
      (err, _out, stderr) => (err ? fail(new Error(`build failed: ${stderr}`)) : done()),
    ),
  );
}

describe('recovery kit page (file:// in Chromium, offline) agrees with concord-recover', () => {
  let dir = '';
  let outDir = '';
  let address = '';
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  /** Every request the browser context saw, and every one the route trap aborted. */
  const seen: string[] = [];
  const trapped: string[] = [];
  const cspViolations: string[] = [];
  const pageErrors: string[] = [];
  const workers: string[] = [];

  const file = (name: string): string => join(dir, name);
  const item = (label: string) => page.locator(`li.file[data-label="${label}"]`);
  const offPage = (): string[] =>
    seen.filter((u) => u !== pathToFileURL(join(outDir, PAGE_FILE)).href && !u.startsWith('blob:null/'));

  async function addFiles(names: string[]): Promise<void> {
    await page.setInputFiles(
      '#files',
      names.map((n) => file(n)),
    );
    await expect.poll(() => page.locator('li.file').count()).toBeGreaterThanOrEqual(names.length);
  }

  async function unlock(label: string, passphrase: string, expectValid = true): Promise<string> {
    const li = item(label);
    await li.locator('input[type=password]').fill(passphrase);
    await li.getByRole('button', { name: 'Unlock' }).click();
    const state = li.locator(expectValid ? '.state.valid' : '.state.invalid');
    await state.waitFor({ timeout: 60_000 });
    // A refresh of the result follows every successful unlock; wait until its panel names this file.
    if (expectValid) {
      await expect.poll(() => page.locator('#vaults').innerText(), { timeout: 30_000 }).toContain(label);
    }
    return (await state.innerText()).trim();
  }

  async function clear(): Promise<void> {
    await page.getByRole('button', { name: 'Clear everything' }).click();
    await expect.poll(() => page.locator('li.file').count()).toBe(0);
  }

  async function axeViolations(): Promise<string[]> {
    const source = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
    // Evaluated through the DevTools protocol, which the page's CSP does not govern (a <script> tag would be refused).
    await page.evaluate(source);
    const result = await page.evaluate(async () => {
      // biome-ignore lint/suspicious/noExplicitAny: axe is injected at run time, untyped here.
      const axe = (window as any).axe;
      const r = await axe.run(document, { resultTypes: ['violations'] });
      return (r.violations as { id: string; nodes: { target: string[] }[] }[]).map(
        (v) => `${v.id}: ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`,
      );
    });
    return result;
  }

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'concord-recovery-kit-'));
    outDir = mkdtempSync(join(tmpdir(), 'concord-recovery-build-'));
    const build = buildPage(outDir);

    const f = loadFixture('2-1-1_t3');
    address = f.shares[0]!.descriptor.address;
    const heavy = f.shares.findIndex((ks) => ks.shares.length === 2);
    const [la, lb] = f.shares.map((_, i) => i).filter((i) => i !== heavy);
    const src = (i: number) => keyShareToBackupSource(f.shares[i]!);
    const other = keyShareToBackupSource(loadFixture('1-1-1_t2').shares[0]!);
    // Production KDF (N = 2^17): what the page and the CLI accept.
    const seal = (s: ReturnType<typeof src>, pass: string, seed: string) =>
      createBackup(s, pass, { rng: seededRandom(seed) });
    const heavyText = await seal(src(heavy), PASS.heavy, 'kit-heavy');
    // The extension's export: a device backup bundle wrapping the tss backup text.
    writeFileSync(
      file('heavy.json'),
      JSON.stringify({
        format: DEVICE_BACKUP_FORMAT,
        version: 1,
        share: heavyText,
        device: { name: 'laptop' },
      }),
    );
    const aText = await seal(src(la!), PASS.a, 'kit-a');
    writeFileSync(file('light-a.json'), aText);
    writeFileSync(file('light-b.json'), await seal(src(lb!), PASS.b, 'kit-b'));
    // The same party's backup as if made after a reshare: epoch 1 (its shares do not matter here,
    // recovery refuses to mix epochs before it interpolates anything).
    writeFileSync(file('light-b-epoch1.json'), await seal({ ...src(lb!), epoch: 1 }, PASS.b, 'kit-b1'));
    writeFileSync(file('other-vault.json'), await seal(other, PASS.other, 'kit-other'));
    const damaged = JSON.parse(aText) as { headerDigest: string };
    damaged.headerDigest = `${damaged.headerDigest[0] === '0' ? '1' : '0'}${damaged.headerDigest.slice(1)}`;
    writeFileSync(file('damaged.json'), JSON.stringify(damaged));
    await build;

    browser = await chromium.launch({
      executablePath: '/usr/bin/chromium',
      args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking'],
    });
    context = await browser.newContext({ acceptDownloads: true });
    await context.setOffline(true);
    context.on('request', (r) => seen.push(r.url()));
    await context.route(/^(?!file:|blob:|data:)/, async (route) => {
      trapped.push(route.request().url());
      await route.abort('blockedbyclient');
    });
    page = await context.newPage();
    page.on('console', (m) => {
      if (/Content Security Policy/i.test(m.text())) cspViolations.push(m.text());
    });
    page.on('pageerror', (e) => pageErrors.push(e.message));
    page.on('websocket', (ws) => trapped.push(ws.url()));
    page.on('worker', (w) => workers.push(w.url()));
    await page.goto(pathToFileURL(join(outDir, PAGE_FILE)).href);
    await page.locator('html[data-ready=true]').waitFor();
  });

  afterAll(async () => {
    await browser?.close();
  });

  it('the built file is self-contained, its CSP is as specified and pins its inline script and style', () => {
    const html = readFileSync(join(outDir, PAGE_FILE), 'utf8');
    const digest = createHash('sha256')
      .update(readFileSync(join(outDir, PAGE_FILE)))
      .digest('hex');
    expect(readFileSync(join(outDir, `${PAGE_FILE}.sha256`), 'utf8')).toBe(`${digest}  ${PAGE_FILE}\n`);

    const csp = /<meta http-equiv="Content-Security-Policy" content="([^"]+)"/.exec(html)?.[1];
    expect(csp).toBeDefined();
    const directives = new Map(
      csp!.split(';').map((d) => {
        const [k, ...v] = d.trim().split(/\s+/);
        return [k!, v.join(' ')] as const;
      }),
    );
    expect(directives.get('default-src')).toBe("'none'");
    expect(directives.get('connect-src')).toBe("'none'");
    expect(directives.get('worker-src')).toBe('blob:');
    const scripts = [...html.matchAll(/<script([^>]*)>([\s\S]*?)<\/script>/g)];
    const styles = [...html.matchAll(/<style>([\s\S]*?)<\/style>/g)];
    expect(scripts).toHaveLength(1);
    expect(styles).toHaveLength(1);
    expect(scripts[0]![1]).toBe(' type="module"');
    const b64 = (s: string) => createHash('sha256').update(s, 'utf8').digest('base64');
    expect(directives.get('script-src')).toBe(`'sha256-${b64(scripts[0]![2]!)}'`);
    expect(directives.get('style-src')).toBe(`'sha256-${b64(styles[0]![1]!)}'`);
    // The policy comes before the script and the style it governs.
    expect(html.indexOf('Content-Security-Policy')).toBeLessThan(html.indexOf('<style>'));
    // No remote resource anywhere: no src/href attribute at all, no URL handed to fetch/import/Worker/WebSocket.
    expect(html).not.toMatch(/\s(?:src|href)\s*=\s*["']?(?:https?|wss?):/i);
    expect(html).not.toMatch(
      /(?:fetch|import|Worker|WebSocket|EventSource|sendBeacon)\s*\(\s*["'`](?:https?|wss?):/i,
    );
    expect(html).not.toMatch(/serviceWorker\.register|localStorage|sessionStorage|indexedDB\.open/);
  });

  it('recovers the vault address from a bundle and a bare backup, after a wrong passphrase, like the CLI', async () => {
    await addFiles(['heavy.json', 'light-a.json']);
    const heavy = item('#1 (heavy.json)');
    // Public facts shown before any passphrase: vault, member, power, epoch.
    const facts = await heavy.locator('dl.facts').innerText();
    expect(facts).toMatch(/Vault\s+[0-9a-f]{16}…/);
    expect(facts).toMatch(/Member\s+[0-9a-f]{16}…/);
    expect(facts).toMatch(/Power\s+2 \(points \d,\d\)/);
    expect(facts).toMatch(/Epoch\s+0/);

    const wrong = await unlock('#1 (heavy.json)', PASS.a, false);
    const cliWrong = await cli(dir, ['heavy.json'], [PASS.a]);
    const cliWrongLine = cliLines(cliWrong).find((l) => l.startsWith('backup #1 (heavy.json):'))!;
    expect(cliWrongLine).toContain('WRONG_PASSPHRASE');
    expect(wrong).toBe(`invalid: ${cliWrongLine.replace('backup #1 (heavy.json): ', '')} (try again)`);

    expect(await unlock('#1 (heavy.json)', PASS.heavy)).toMatch(/^valid: opened and verified \[vault/);
    expect(await unlock('#2 (light-a.json)', PASS.a)).toMatch(/^valid: opened and verified/);
    const vault = page.locator('#vaults article.vault');
    await expect.poll(() => vault.getAttribute('class')).toContain('ok');
    expect(await vault.locator('.power').innerText()).toBe(
      'Signing power collected (epoch 0): 3 of threshold 3',
    );
    // Nothing about the key is on the page until asked for.
    expect(await page.content()).not.toContain(address.slice(2).toLowerCase());
    expect(await page.content()).not.toContain(address.slice(2));

    await vault.getByRole('button', { name: 'Show outputs…' }).click();
    await expect.poll(() => page.locator('dialog#warning').getAttribute('open')).toBe('');
    expect(await axeViolations()).toEqual([]);
    await page.getByRole('button', { name: 'I understand, show the outputs' }).click();
    const shown = (await vault.locator('dd.address').innerText()).trim();
    expect(shown).toBe(address);

    const run = await cli(dir, ['heavy.json', 'light-a.json'], [PASS.heavy, PASS.a]);
    expect(run.code).toBe(0);
    expect(cliLines(run)).toContain(`Ethereum address (EIP-55): ${shown}`);
    expect(cliLines(run)).toContain((await vault.locator('.verdict').innerText()).split('; ')[0]);
    expect(await axeViolations()).toEqual([]);
  });

  it('outputs hex, WIF and keystore V3 only on request; the keystore opens in ethers with the same address', async () => {
    const vault = page.locator('#vaults article.vault');
    await vault.getByRole('button', { name: 'Show private key (hex)' }).click();
    const hexBox = vault.getByLabel('Private key (hex)');
    await hexBox.waitFor();
    const hex = (await hexBox.innerText()).trim();
    expect(hex).toMatch(/^0x[0-9a-f]{64}$/);
    expect(new Wallet(hex).address).toBe(address);

    const [hexDownload] = await Promise.all([
      page.waitForEvent('download'),
      vault.getByRole('button', { name: 'Download private key (hex)' }).click(),
    ]);
    expect(readFileSync(await hexDownload.path(), 'utf8')).toBe(`${hex}\n`);

    await vault.getByLabel('Network').selectOption('testnet');
    await vault.getByRole('button', { name: 'Show WIF' }).click();
    const wifBox = vault.getByLabel('Bitcoin private key (WIF)');
    await wifBox.waitFor();
    const key = fromHex(hex.slice(2));
    expect((await wifBox.innerText()).trim()).toBe(toWif(key, 'testnet'));
    const pub = new Wallet(hex).signingKey.compressedPublicKey;
    expect(await vault.locator('.outputs p[role=status]').last().innerText()).toBe(
      `Bitcoin testnet P2WPKH address: ${p2wpkhAddress(fromHex(pub.slice(2)), 'testnet')}`,
    );

    // Keystore: mismatched and weak passwords are refused with the CLI's wording, nothing downloaded.
    const ks1 = vault.getByLabel('New keystore password');
    const ks2 = vault.getByLabel('Repeat the keystore password');
    const ksButton = vault.getByRole('button', { name: 'Download keystore V3' });
    const ksMsg = vault.locator('form.keystore p[role=status]');
    await ks1.fill(KEYSTORE_PW);
    await ks2.fill(`${KEYSTORE_PW}x`);
    await ksButton.click();
    expect(await ksMsg.innerText()).toBe('the keystore passwords differ');
    await ks1.fill('password1234');
    await ks2.fill('password1234');
    await ksButton.click();
    await expect.poll(() => page.locator('#status').innerText()).toMatch(/^Keystore V3: WEAK_PASSPHRASE/);

    await ks1.fill(KEYSTORE_PW);
    await ks2.fill(KEYSTORE_PW);
    const [ksDownload] = await Promise.all([
      page.waitForEvent('download', { timeout: 60_000 }),
      ksButton.click(),
    ]);
    const json = readFileSync(await ksDownload.path(), 'utf8');
    expect(JSON.parse(json)).toMatchObject({ version: 3, crypto: { kdf: 'scrypt' } });
    const wallet = await Wallet.fromEncryptedJson(json, KEYSTORE_PW);
    expect(wallet.address).toBe(address);
  });

  it('a backup of another vault is reported as its own vault, as the CLI does; clear wipes the page', async () => {
    await addFiles(['other-vault.json']);
    await unlock('#3 (other-vault.json)', PASS.other);
    await expect.poll(() => page.locator('#vaults article.vault').count()).toBe(2);
    const run = await cli(
      dir,
      ['heavy.json', 'light-a.json', 'other-vault.json'],
      [PASS.heavy, PASS.a, PASS.other],
    );
    expect(run.code).toBe(1);
    const refused = page.locator('#vaults article.vault.refused');
    const verdict = (await refused.locator('.verdict').innerText()).trim();
    expect(verdict).toMatch(
      /^FAILED: BELOW_THRESHOLD: vault [0-9a-f]{12}… epoch 0 needs signing power 2, these backups hold 1/,
    );
    expect(cliLines(run)).toContain(verdict);
    // Rebuilding again hid the outputs: nothing about the key is left on the page.
    expect(await page.content()).not.toContain(address.slice(2));

    await clear();
    expect(await page.locator('#vaults').innerText()).toContain('Nothing to rebuild yet');
    expect(await page.locator('#status').innerText()).toMatch(/^Everything was cleared/);
  });

  const refusals: { name: string; files: string[]; pass: string[]; code: RegExp }[] = [
    {
      name: 'below threshold, with the missing power',
      files: ['light-a.json', 'light-b.json'],
      pass: [PASS.a, PASS.b],
      code: /^FAILED: BELOW_THRESHOLD: vault [0-9a-f]{12}… epoch 0 needs signing power 3, these backups hold 2; 1 more point of signing power missing/,
    },
    {
      name: 'mixed epochs',
      files: ['light-a.json', 'light-b-epoch1.json'],
      pass: [PASS.a, PASS.b],
      code: /^FAILED: EPOCH_MISMATCH: epoch mismatch: vault [0-9a-f]{12}… has backups from 2 epochs/,
    },
    {
      name: 'the same backup twice',
      files: ['light-a.json', 'light-a.json'],
      pass: [PASS.a, PASS.a],
      code: /^FAILED: CONFLICTING_DUPLICATE: duplicate backup: #1 \(light-a\.json\) and #2 \(light-a\.json\) are the same backup given twice/,
    },
  ];
  for (const r of refusals) {
    it(`refuses ${r.name} with the CLI's message`, async () => {
      await clear();
      await addFiles(r.files);
      for (let i = 0; i < r.files.length; i++) await unlock(`#${i + 1} (${r.files[i]})`, r.pass[i]!);
      const vault = page.locator('#vaults article.vault.refused');
      await vault.waitFor();
      const verdict = (await vault.locator('.verdict').innerText()).trim();
      expect(verdict).toMatch(r.code);
      expect(await page.locator('#vaults article.vault.ok').count()).toBe(0);
      const run = await cli(dir, r.files, r.pass);
      expect(run.code).toBe(1);
      expect(cliLines(run)).toContain(verdict);
      for (const line of await vault.locator('ul.report li').allInnerTexts()) {
        expect(cliLines(run)).toContain(line.trim());
      }
      // A refused vault and its files (facts, valid states) are as accessible as a recovered one.
      expect(await axeViolations()).toEqual([]);
      await clear();
    });
  }

  it('a damaged file is invalid before any passphrase, with the CLI message', async () => {
    await clear();
    await addFiles(['damaged.json']);
    const state = (await item('#1 (damaged.json)').locator('.state.invalid').innerText()).trim();
    const run = await cli(dir, ['damaged.json'], [PASS.a]);
    const line = cliLines(run).find((l) => l.startsWith('backup #1 (damaged.json):'))!;
    expect(line).toContain('CORRUPT_BACKUP');
    expect(state).toBe(`invalid: ${line.replace('backup #1 (damaged.json): ', '')}`);
    expect(await item('#1 (damaged.json)').locator('input[type=password]').count()).toBe(0);
    await clear();
  });

  it('verify mode checks one backup and its passphrase without rebuilding a key', async () => {
    await clear();
    await page.getByLabel('Verify my backup (no key is rebuilt)').check();
    await page.getByLabel('Backup file', { exact: true }).setInputFiles(file('light-b.json'));
    await page.getByLabel('Passphrase', { exact: true }).fill(PASS.a);
    await page.getByRole('button', { name: 'Verify' }).click();
    const result = page.locator('#verify-result .verdict');
    await expect
      .poll(() => result.innerText(), { timeout: 60_000 })
      .toMatch(/^invalid: light-b\.json: WRONG_PASSPHRASE/);
    await page.getByLabel('Passphrase', { exact: true }).fill(PASS.b);
    await page.getByRole('button', { name: 'Verify' }).click();
    await expect
      .poll(() => result.innerText(), { timeout: 60_000 })
      .toMatch(
        /^valid: light-b\.json opened and verified \[vault [0-9a-f]{16}, epoch 0, .*; no key was rebuilt$/,
      );
    expect(await axeViolations()).toEqual([]);
    await page.getByLabel('Recover the key from a threshold of backups').check();
  });

  it('made no network request, hit no CSP violation, stored nothing and registered no service worker', async () => {
    expect(pageErrors).toEqual([]);
    expect(cspViolations).toEqual([]);
    expect(trapped).toEqual([]);
    expect(offPage()).toEqual([]);
    // The Worker really ran, from a blob URL (the only script source the policy allows besides the hash).
    expect(workers.length).toBeGreaterThan(0);
    expect(workers.every((u) => u.startsWith('blob:null/'))).toBe(true);
    const stored = await page.evaluate(async () => ({
      local: localStorage.length,
      session: sessionStorage.length,
      idb: (await indexedDB.databases()).length,
      // A file:// page cannot have a service worker at all; Chromium says so when asked.
      sw: await navigator.serviceWorker?.getRegistrations().then(
        (r) => r.length,
        (e: unknown) => String(e),
      ),
    }));
    expect(stored).toMatchObject({ local: 0, session: 0, idb: 0 });
    expect(String(stored.sw)).toMatch(/^(?:0|undefined|SecurityError: .*not supported.*)$/);
  });

  it('control: the page policy blocks a fetch, and the traps see attempts that get past it', async () => {
    const before = cspViolations.length;
    const blocked = await page.evaluate(() =>
      fetch('https://example.com/').then(
        () => 'fetched',
        (e: unknown) => String(e),
      ),
    );
    expect(blocked).toMatch(/TypeError/);
    await expect.poll(() => cspViolations.length).toBeGreaterThan(before);
    // A second page without the policy: its request reaches the route trap and the request log.
    const probe = await context.newPage();
    await probe.goto('about:blank');
    await probe.evaluate(() => fetch('http://127.0.0.1:9/probe').catch(() => undefined));
    await expect.poll(() => trapped.includes('http://127.0.0.1:9/probe')).toBe(true);
    expect(seen).toContain('http://127.0.0.1:9/probe');
    await probe.close();
  });
});
