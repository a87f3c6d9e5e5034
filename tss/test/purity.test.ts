/**
 * Core purity (ARCHITECTURE: "pure state machines: bytes in, bytes out, no I/O"; tss runs in a
 * service worker, Node and a page with runtime deps @noble/* only). Scans every `.ts` file under
 * tss/src except the platform-specific edges (eth/, testing/, recovery/, backup/strength.ts, any
 * bin/ folder) and fails, naming file and line, on: a `node:` import, `Buffer`, `process.`, or an
 * import that is neither relative nor `@noble/*`. Comments are blanked first so prose may mention
 * them; string contents are kept (import specifiers are strings).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const SRC = join(ROOT, 'tss', 'src');

/** Paths relative to tss/src (forward slashes); a trailing slash excludes a whole folder. */
const EXEMPT = ['eth/', 'testing/', 'recovery/', 'backup/strength.ts', 'bin/'];

function isExempt(rel: string): boolean {
  return EXEMPT.some((e) => (e.endsWith('/') ? rel.startsWith(e) || rel.includes(`/${e}`) : rel === e));
}

function listTs(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((d) => {
    const p = join(dir, d.name);
    if (d.isDirectory()) return listTs(p);
    return d.isFile() && d.name.endsWith('.ts') ? [p] : [];
  });
}

/**
 * Replace comment text with spaces (newlines kept, so line numbers stay right). Tracks string,
 * template and regex literals well enough for this codebase: a `/` starts a regex after an operator
 * or opening bracket.
 */
function blankComments(src: string): string {
  let out = '';
  let i = 0;
  let last = ''; // last significant code character
  while (i < src.length) {
    const c = src[i]!;
    const n = src[i + 1];
    if (c === '/' && n === '/') {
      while (i < src.length && src[i] !== '\n') {
        out += ' ';
        i++;
      }
      continue;
    }
    if (c === '/' && n === '*') {
      const end = src.indexOf('*/', i + 2);
      const stop = end === -1 ? src.length : end + 2;
      out += src.slice(i, stop).replace(/[^\n]/g, ' ');
      i = stop;
      continue;
    }
    const regexStart = c === '/' && (last === '' || '(,=:[!&|?{};+-*%<>~^'.includes(last));
    if (c === "'" || c === '"' || c === '`' || regexStart) {
      let j = i + 1;
      let inClass = false;
      while (j < src.length) {
        const d = src[j]!;
        if (d === '\\') {
          j += 2;
          continue;
        }
        if (regexStart && d === '[') inClass = true;
        else if (regexStart && d === ']') inClass = false;
        else if (d === c && !inClass) break;
        if (d === '\n' && c !== '`') break; // unterminated: stop at the line end
        j++;
      }
      out += src.slice(i, j + 1);
      i = j + 1;
      last = 'a';
      continue;
    }
    out += c;
    if (!/\s/.test(c)) last = c;
    i++;
  }
  return out;
}

interface Violation {
  readonly file: string;
  readonly line: number;
  readonly rule: string;
  readonly text: string;
}

const IMPORT_SPEC = [
  /\bimport\s+(?:type\s+)?[^'"`;]*?\bfrom\s*(['"])([^'"]+)\1/g,
  /\bexport\s+(?:type\s+)?[^'"`;]*?\bfrom\s*(['"])([^'"]+)\1/g,
  /\bimport\s*(['"])([^'"]+)\1/g, // side-effect import
  /\bimport\s*\(\s*(['"])([^'"]+)\1/g, // dynamic import
  /\brequire\s*\(\s*(['"])([^'"]+)\1/g,
];

function checkSource(file: string, src: string): Violation[] {
  const code = blankComments(src);
  const lineOf = (idx: number) => code.slice(0, idx).split('\n').length;
  const textOf = (line: number) => src.split('\n')[line - 1]!.trim();
  const out: Violation[] = [];
  const add = (idx: number, rule: string) => {
    const line = lineOf(idx);
    out.push({ file, line, rule, text: textOf(line) });
  };
  for (const re of IMPORT_SPEC) {
    for (const m of code.matchAll(re)) {
      const spec = m[2]!;
      if (spec.startsWith('node:')) add(m.index, `node: import '${spec}'`);
      else if (!(spec.startsWith('./') || spec.startsWith('../') || spec.startsWith('@noble/'))) {
        add(m.index, `import of '${spec}' (only relative paths and @noble/* are allowed)`);
      }
    }
  }
  for (const m of code.matchAll(/\bBuffer\b/g)) add(m.index, 'uses Buffer');
  for (const m of code.matchAll(/\bprocess\s*\./g)) add(m.index, 'uses process.');
  return out;
}

describe('tss core purity', () => {
  it('finds violations in a synthetic file and ignores comments and strings that only look alike', () => {
    const src = [
      "import { readFileSync } from 'node:fs';",
      "import { x } from 'viem';",
      "import { sha256 } from '@noble/hashes/sha2.js';",
      "export { y } from './y.ts';",
      'const b = Buffer.from([1]); // Buffer and process. in a comment are fine',
      '/* import z from "node:crypto"; process.env */',
      "const url = 'https://example.org/process'; const r = /['\"]/g;",
      'if (process.env.X) {}',
      'const u = new ArrayBuffer(1);',
      "await import('node:os');",
    ].join('\n');
    const v = checkSource('synthetic.ts', src);
    expect(v.map((x) => [x.line, x.rule.split(' ')[0]])).toEqual(
      expect.arrayContaining([
        [1, 'node:'],
        [2, 'import'],
        [5, 'uses'],
        [8, 'uses'],
        [10, 'node:'],
      ]),
    );
    expect(v).toHaveLength(5);
  });

  it('keeps every core file free of Node APIs and non-@noble imports', () => {
    const files = listTs(SRC)
      .map((f) => ({ abs: f, rel: relative(SRC, f).split(sep).join('/') }))
      .filter((f) => !isExempt(f.rel));
    // Guard the scan itself: it must see the core, and must not see the exempt folders.
    expect(files.length).toBeGreaterThan(20);
    expect(files.some((f) => f.rel === 'dkg/session.ts')).toBe(true);
    expect(files.some((f) => f.rel.startsWith('eth/') || f.rel.startsWith('testing/'))).toBe(false);
    const violations = files.flatMap((f) => checkSource(`tss/src/${f.rel}`, readFileSync(f.abs, 'utf8')));
    const report = violations.map((v) => `${v.file}:${v.line}: ${v.rule}\n    ${v.text}`).join('\n');
    expect(violations, `core purity violations:\n${report}`).toEqual([]);
  });
});
