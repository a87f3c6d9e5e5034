/**
 * Build of the offline recovery page (`npm run build:recovery`): tss/recovery-kit/index.html and its
 * script become one self-contained file, dist/concord-recovery.html (plus its .sha256), by the
 * `singleFile` plugin. The Worker is inlined (`?worker&inline`, started from a blob URL). The output
 * folder can be changed with CONCORD_RECOVERY_OUT_DIR (the browser test builds into a temporary one).
 * `emptyOutDir` is off: dist/ also holds the extension build.
 */
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';
import { singleFile } from './single-file.ts';

const here = (p: string): string => fileURLToPath(new URL(p, import.meta.url));

export const RECOVERY_FILE = 'concord-recovery.html';

export default defineConfig({
  root: here('.'),
  base: './',
  publicDir: false,
  logLevel: 'warn',
  plugins: [singleFile(RECOVERY_FILE)],
  worker: { format: 'iife' },
  build: {
    outDir: process.env.CONCORD_RECOVERY_OUT_DIR ?? here('../../dist'),
    emptyOutDir: false,
    target: ['chrome109', 'firefox115'],
    modulePreload: false,
    cssCodeSplit: false,
    assetsInlineLimit: 0,
    sourcemap: false,
    reportCompressedSize: false,
    rolldownOptions: {
      input: here('./index.html'),
      output: { codeSplitting: false },
    },
  },
});
