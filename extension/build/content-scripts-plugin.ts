/**
 * Builds the two content scripts (the isolated-world relay and the MAIN-world provider) as
 * self-contained classic scripts and emits them at fixed names. Content scripts cannot be ES
 * modules, so they must not share chunks with the rest of the build: each one is bundled by its own
 * nested Vite build in IIFE format and added to the extension's bundle as an asset.
 */
import { build, type Plugin, type Rollup } from 'vite';

export interface ContentScriptEntry {
  /** Absolute path of the entry module. */
  entry: string;
  /** File name in the extension, e.g. `content.js` (the manifest names it). */
  fileName: string;
}

async function bundleIife(entry: string): Promise<string> {
  const out = await build({
    configFile: false,
    logLevel: 'warn',
    publicDir: false,
    build: {
      write: false,
      target: 'chrome116',
      minify: false,
      sourcemap: false,
      modulePreload: false,
      reportCompressedSize: false,
      rolldownOptions: {
        input: entry,
        output: { format: 'iife', entryFileNames: 'out.js', codeSplitting: false },
      },
    },
  });
  const outputs = (Array.isArray(out) ? out : [out]) as Rollup.RollupOutput[];
  const chunks = outputs.flatMap((o) => o.output).filter((c): c is Rollup.OutputChunk => c.type === 'chunk');
  if (chunks.length !== 1)
    throw new Error(`content script ${entry} must bundle into one file, got ${chunks.length}`);
  // The entries export nothing, so the IIFE defines no global on the page.
  return chunks[0]!.code;
}

export function contentScriptsPlugin(entries: readonly ContentScriptEntry[]): Plugin {
  return {
    name: 'concord:content-scripts',
    apply: 'build',
    async generateBundle() {
      for (const e of entries) {
        this.emitFile({ type: 'asset', fileName: e.fileName, source: await bundleIife(e.entry) });
      }
    },
  };
}
