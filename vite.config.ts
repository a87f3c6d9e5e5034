/**
 * One Vite config for the repo: the test runner (vitest) and the MV3 extension build, which turns the
 * root manifest.json plus `extension/src` into an unpacked extension in dist/extension:
 *   background.js        module service worker (extension/src/background/index.ts)
 *   popup.html app.html options.html   svelte pages (extension/src/ui/*.html)
 *   offscreen.html offscreen.js   the offscreen document (extension/src/offscreen) hosting the
 *                        ceremony Worker, assets/ceremony-worker-*.js (from `new Worker(new URL(…))`)
 *   content.js inpage.js the dApp provider's content scripts (extension/src/provider), classic
 *                        scripts bundled alone by extension/build/content-scripts-plugin.ts
 *   manifest.json        stamped and policy-checked by extension/build/manifest-plugin.ts
 * Build-only settings are applied for `vite build` alone so vitest's resolution is unchanged.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { svelte } from '@sveltejs/vite-plugin-svelte';
import type { Plugin, UserConfig } from 'vite';
import { defineConfig } from 'vitest/config';
import { contentScriptsPlugin } from './extension/build/content-scripts-plugin.ts';
import { manifestPlugin } from './extension/build/manifest-plugin.ts';

const fromRoot = (p: string): string => fileURLToPath(new URL(p, import.meta.url));

/** Entries loaded by a fixed file name: the manifest's worker, and the offscreen page's script. */
const FIXED_NAMES = new Set(['background', 'offscreen']);

/**
 * Emits offscreen.html next to the other pages. It lives outside the UI root, and Vite emits HTML
 * inputs relative to the root (`../offscreen/…`, which Rolldown refuses), so the page (which loads
 * only `/offscreen.js`) is copied as an asset instead of being an HTML input.
 */
function offscreenPage(): Plugin {
  return {
    name: 'concord:offscreen-page',
    apply: 'build',
    generateBundle(_options, bundle) {
      if (!('offscreen.js' in bundle)) this.error('the offscreen entry was not emitted as offscreen.js');
      this.emitFile({
        type: 'asset',
        fileName: 'offscreen.html',
        source: readFileSync(fromRoot('./extension/src/offscreen/offscreen.html'), 'utf8'),
      });
    },
  };
}

const extensionBuild: UserConfig = {
  // HTML entries are emitted relative to `root`, so the pages land at the top of dist/extension.
  root: fromRoot('./extension/src/ui'),
  base: '/',
  publicDir: false,
  plugins: [
    svelte(),
    contentScriptsPlugin([
      { entry: fromRoot('./extension/src/provider/content-main.ts'), fileName: 'content.js' },
      { entry: fromRoot('./extension/src/provider/inpage-main.ts'), fileName: 'inpage.js' },
    ]),
    manifestPlugin({
      manifestPath: fromRoot('./manifest.json'),
      packageJsonPath: fromRoot('./package.json'),
      extraPages: ['app.html', 'offscreen.html'],
      staticDir: fromRoot('./extension/public'),
    }),
    offscreenPage(),
  ],
  // The ceremony Worker is started with `{ type: 'module' }`; ES output also allows shared chunks.
  worker: { format: 'es' },
  build: {
    outDir: fromRoot('./dist/extension'),
    emptyOutDir: true,
    target: 'chrome116',
    // The preload polyfill touches `document`; it must never end up in a chunk the worker imports.
    modulePreload: false,
    sourcemap: false,
    reportCompressedSize: false,
    rolldownOptions: {
      input: {
        background: fromRoot('./extension/src/background/index.ts'),
        popup: fromRoot('./extension/src/ui/popup.html'),
        app: fromRoot('./extension/src/ui/app.html'),
        options: fromRoot('./extension/src/ui/options.html'),
        // The offscreen document's script; its page is copied by `offscreenPage` below.
        offscreen: fromRoot('./extension/src/offscreen/offscreen.ts'),
      },
      output: {
        // The manifest names the worker by a fixed file name; everything else is content-hashed.
        entryFileNames: (chunk) => (FIXED_NAMES.has(chunk.name) ? '[name].js' : 'assets/[name]-[hash].js'),
        chunkFileNames: 'assets/[name]-[hash].js',
        assetFileNames: 'assets/[name]-[hash][extname]',
      },
    },
  },
};

export default defineConfig(({ command }) => ({
  ...(command === 'build' ? extensionBuild : {}),
  test: {
    include: [
      'tss/test/**/*.test.ts',
      'bridge-server/test/**/*.test.ts',
      'extension/test/**/*.test.ts',
      'test/**/*.test.ts',
    ],
    exclude: ['**/node_modules/**'],
    testTimeout: 120_000,
    hookTimeout: 600_000,
    reporters: ['default', './test/helpers/summary-reporter.ts'],
    pool: 'forks',
    globalSetup: ['./tss/test/fixtures/global-setup.ts'],
  },
}));
