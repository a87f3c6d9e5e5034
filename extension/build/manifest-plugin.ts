/**
 * A small Vite plugin that turns the root `manifest.json` (the source of truth) into the packaged
 * manifest: it stamps the version from package.json, lints the policy (see manifest-lint.ts) and
 * checks that every file the manifest references was actually emitted by this build. No third-party
 * crx plugin: the manifest is small and we want every byte of it reviewed.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Plugin } from 'vite';
import { lintManifest, type ManifestJson, referencedFiles } from './manifest-lint.ts';

export interface ManifestPluginOptions {
  /** Absolute path of the source manifest. */
  manifestPath: string;
  /** Absolute path of the package.json whose version is stamped into the manifest. */
  packageJsonPath: string;
  /** Extra pages the build must emit even if the manifest does not name them (e.g. app.html). */
  extraPages?: readonly string[];
  /** Directory of static files (icons) the manifest names: each one named is emitted as it is. */
  staticDir?: string;
}

export function manifestPlugin(opts: ManifestPluginOptions): Plugin {
  return {
    name: 'concord:manifest',
    apply: 'build',
    enforce: 'post',
    buildStart() {
      this.addWatchFile(opts.manifestPath);
    },
    // `post` so the HTML pages (emitted by Vite's own generateBundle) are already in the bundle.
    generateBundle: {
      order: 'post',
      handler(_options, bundle) {
        const manifest = JSON.parse(readFileSync(opts.manifestPath, 'utf8')) as ManifestJson;
        const pkg = JSON.parse(readFileSync(opts.packageJsonPath, 'utf8')) as { version?: unknown };
        if (typeof pkg.version === 'string') manifest.version = pkg.version;

        const findings = lintManifest(manifest);
        if (findings.length > 0) this.error(`manifest.json policy: ${findings.join('; ')}`);

        const emitted = new Set(Object.keys(bundle));
        for (const file of referencedFiles(manifest)) {
          const path = opts.staticDir === undefined ? undefined : join(opts.staticDir, file);
          if (emitted.has(file) || path === undefined || !existsSync(path)) continue;
          this.emitFile({ type: 'asset', fileName: file, source: readFileSync(path) });
          emitted.add(file);
        }
        for (const file of [...referencedFiles(manifest), ...(opts.extraPages ?? [])]) {
          if (!emitted.has(file))
            this.error(`manifest.json references ${file}, but the build did not emit it`);
        }
        this.emitFile({
          type: 'asset',
          fileName: 'manifest.json',
          source: `${JSON.stringify(manifest, null, 2)}\n`,
        });
      },
    },
  };
}
