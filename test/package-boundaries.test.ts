/**
 * Package boundaries (ARCHITECTURE.md "Layout"): the workspaces depend one way, extension →
 * bridge-server → tss, and reach each other only through the subpaths each lists in its
 * package.json `exports`. A relative import into another workspace (`../../tss/src/…`) would make
 * that boundary fictional — private modules become API by accident and a change inside one package
 * silently breaks another — so this test reads every tracked source file and fails on:
 *   - a relative import into another workspace's `src/` (its fixtures and build scripts are not code
 *     other packages run, so tests and the root Vite config may still reach them);
 *   - an `@concord/*` import of a subpath the target package does not export;
 *   - an import against the direction of the arrows (tss importing anything of ours,
 *     bridge-server importing the extension);
 *   - a package importing a workspace it does not declare in its `dependencies`.
 * Cross-package tests in `test/` may import any workspace, but only through its exports too.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join, normalize } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = normalize(join(dirname(new URL(import.meta.url).pathname), '..'));
const WORKSPACES = ['tss', 'bridge-server', 'extension'] as const;
type Workspace = (typeof WORKSPACES)[number];
const NAME: Record<Workspace, string> = {
  tss: '@concord/tss',
  'bridge-server': '@concord/bridge-server',
  extension: '@concord/extension',
};
/** Who may import whom (the arrows); `test/` and root scripts may import every workspace. */
const ALLOWED: Record<Workspace, readonly Workspace[]> = {
  tss: [],
  'bridge-server': ['tss'],
  extension: ['bridge-server', 'tss'],
};

interface PackageJson {
  exports?: Record<string, string>;
  dependencies?: Record<string, string>;
}
const pkg = (ws: Workspace): PackageJson =>
  JSON.parse(readFileSync(join(ROOT, ws, 'package.json'), 'utf8')) as PackageJson;

// Static imports, re-exports, side-effect imports and dynamic import() with a literal specifier.
const SPECIFIER = /(?:\bfrom\s*|\bimport\s*\(?\s*)['"]([^'"]+)['"]/g;

function importsOf(text: string): string[] {
  return [...text.matchAll(SPECIFIER)].map((m) => m[1] as string);
}

function workspaceOf(path: string): Workspace | undefined {
  return WORKSPACES.find((w) => path === w || path.startsWith(`${w}/`));
}

interface Violation {
  file: string;
  specifier: string;
  why: string;
}

function checkFile(file: string, text: string): Violation[] {
  const own = workspaceOf(file);
  const out: Violation[] = [];
  for (const specifier of importsOf(text)) {
    if (specifier.startsWith('.')) {
      const target = normalize(join(dirname(file), specifier));
      const ws = workspaceOf(target);
      // Only a package's `src/` is its code; its tests' fixtures and build scripts are not API.
      if (ws && ws !== own && target.startsWith(`${ws}/src/`)) {
        out.push({
          file,
          specifier,
          why: `relative import into ${ws}; use its package exports (${NAME[ws]}/…)`,
        });
      }
      continue;
    }
    const m = /^@concord\/([^/]+)(\/.*)?$/.exec(specifier);
    if (!m) continue;
    const ws = WORKSPACES.find((w) => NAME[w] === `@concord/${m[1]}`);
    if (!ws) {
      out.push({ file, specifier, why: 'no such workspace' });
      continue;
    }
    const subpath = `.${m[2] ?? ''}`;
    if (!(subpath in (pkg(ws).exports ?? {}))) {
      out.push({ file, specifier, why: `${NAME[ws]} does not export "${subpath}"` });
    }
    if (own && ws !== own) {
      if (!ALLOWED[own].includes(ws)) out.push({ file, specifier, why: `${own} must not depend on ${ws}` });
      else if (!(NAME[ws] in (pkg(own).dependencies ?? {}))) {
        out.push({ file, specifier, why: `${own}/package.json does not declare ${NAME[ws]}` });
      }
    }
  }
  return out;
}

describe('package boundaries', () => {
  it('every cross-workspace import goes through a declared, exported subpath in the allowed direction', () => {
    const files = execFileSync('git', ['ls-files', '*.ts', '*.mts', '*.mjs', '*.js', '*.svelte'], {
      cwd: ROOT,
      encoding: 'utf8',
    })
      .split('\n')
      .filter((f) => f !== '' && !f.includes('node_modules/'))
      // This file's own examples are strings, not imports.
      .filter((f) => f !== 'test/package-boundaries.test.ts');
    expect(files.length).toBeGreaterThan(100);
    const violations = files.flatMap((f) => checkFile(f, readFileSync(join(ROOT, f), 'utf8')));
    expect(violations).toEqual([]);
  });

  it('every exported subpath points at a file that exists', () => {
    for (const ws of WORKSPACES) {
      for (const [sub, target] of Object.entries(pkg(ws).exports ?? {})) {
        expect(() => readFileSync(join(ROOT, ws, target)), `${NAME[ws]} "${sub}"`).not.toThrow();
      }
    }
  });

  // The checker itself: each rule catches what it names (a check that cannot fail is no check).
  it('flags a relative import into another workspace', () => {
    const v = checkFile('extension/src/x.ts', "import { toHex } from '../../tss/src/bytes.ts';");
    expect(v.map((x) => x.why)).toEqual([
      'relative import into tss; use its package exports (@concord/tss/…)',
    ]);
  });

  it('flags an unexported subpath, a reversed arrow and an undeclared dependency', () => {
    expect(checkFile('extension/src/x.ts', "import '@concord/tss/math/scalar.ts';")[0]?.why).toBe(
      '@concord/tss does not export "./math/scalar.ts"',
    );
    expect(
      checkFile('tss/src/x.ts', "import { BridgeClient } from '@concord/bridge-server/client';")[0]?.why,
    ).toBe('tss must not depend on bridge-server');
    expect(
      checkFile('bridge-server/src/x.ts', "const m = await import('@concord/extension/ceremony-channel');")[0]
        ?.why,
    ).toBe('bridge-server must not depend on extension');
  });

  it('accepts imports inside a workspace and through exports from test/', () => {
    expect(checkFile('extension/src/a/b.ts', "import { x } from '../c.ts';")).toEqual([]);
    expect(
      checkFile('test/e2e/x.test.ts', "import { startBridge } from '@concord/bridge-server/relay';"),
    ).toEqual([]);
  });
});
