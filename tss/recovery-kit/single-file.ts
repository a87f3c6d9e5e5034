/**
 * Vite plugin that turns the recovery page's build into one self-contained HTML file and gives it a
 * Content Security Policy (CSP Level 3, W3C) that allows exactly what the page is: its one inline
 * script and one inline style sheet by SHA-256 hash, a Worker from a blob URL, and nothing else
 * (`default-src 'none'`, `connect-src 'none'`: no fetch, XHR, WebSocket, beacon or EventSource).
 * The policy is a `<meta http-equiv>` because a file opened from a USB stick has no server to send
 * headers; `frame-ancestors` and `sandbox` are not available in a meta policy, which is fine for a
 * page opened from disk. After writing, prints the file's SHA-256 and writes it next to it in
 * `sha256sum` format, so a copy can be checked before it is trusted.
 */
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Plugin, Rolldown } from 'vite';

type OutputChunk = Rolldown.OutputChunk;

const sha256b64 = (s: string): string => createHash('sha256').update(s, 'utf8').digest('base64');

/** The page's policy for a script and a style sheet with these hashes. */
export function recoveryCsp(scriptHash: string, styleHash: string): string {
  return [
    "default-src 'none'",
    `script-src 'sha256-${scriptHash}'`,
    `style-src 'sha256-${styleHash}'`,
    'worker-src blob:',
    "connect-src 'none'",
    "img-src 'none'",
    "font-src 'none'",
    "media-src 'none'",
    "object-src 'none'",
    "frame-src 'none'",
    "manifest-src 'none'",
    "base-uri 'none'",
    "form-action 'none'",
  ].join('; ');
}

/** `</script` or `</style` inside inlined code would end the element early. */
function escapeClosing(code: string, tag: 'script' | 'style'): string {
  return code.replace(new RegExp(`</(${tag})`, 'gi'), '<\\/$1');
}

function attrEscape(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/"/g, '&quot;');
}

export function singleFile(fileName: string): Plugin {
  let outDir = '';
  return {
    name: 'concord:recovery-single-file',
    apply: 'build',
    enforce: 'post',
    configResolved(config) {
      outDir = config.build.outDir;
    },
    generateBundle(_options, bundle) {
      const html = Object.values(bundle).find((o) => o.type === 'asset' && o.fileName.endsWith('.html'));
      if (!html || html.type !== 'asset') this.error('no HTML page in the bundle');
      const chunks = Object.values(bundle).filter((o): o is OutputChunk => o.type === 'chunk');
      const styles = Object.values(bundle).filter((o) => o.type === 'asset' && o.fileName.endsWith('.css'));
      const others = Object.values(bundle).filter(
        (o) => o !== html && o.type !== 'chunk' && !styles.includes(o),
      );
      if (chunks.length !== 1 || !chunks[0]!.isEntry) {
        this.error(`expected one entry chunk, got ${chunks.map((c) => c.fileName).join(', ')}`);
      }
      if (styles.length !== 1) this.error(`expected one style sheet, got ${styles.length}`);
      if (others.length > 0)
        this.error(`unexpected output files: ${others.map((o) => o.fileName).join(', ')}`);
      const chunk = chunks[0]!;
      const styleAsset = styles[0]!;
      if (chunk.type !== 'chunk' || styleAsset.type !== 'asset') this.error('unexpected output types');
      const script = escapeClosing(chunk.code, 'script');
      const css = escapeClosing(String(styleAsset.source), 'style');

      let page = String(html.source);
      const scriptTag = /<script\b[^>]*\bsrc="[^"]*"[^>]*><\/script>\s*/g;
      const linkTag = /<link\b[^>]*\brel="stylesheet"[^>]*>\s*/g;
      if ((page.match(scriptTag) ?? []).length !== 1 || (page.match(linkTag) ?? []).length !== 1) {
        this.error('the built page must reference exactly one script and one style sheet');
      }
      page = page.replace(scriptTag, '').replace(linkTag, '');
      if (/\b(?:src|href)=/i.test(page)) this.error('the page references another file');
      const csp = recoveryCsp(sha256b64(script), sha256b64(css));
      // The policy must precede every script and style so it governs them; the charset stays first.
      const charset = /<meta charset="utf-8" \/>/i;
      if (!charset.test(page)) this.error('the page must declare <meta charset="utf-8" />');
      page = page.replace(
        charset,
        (m) => `${m}\n    <meta http-equiv="Content-Security-Policy" content="${attrEscape(csp)}" />`,
      );
      // Function replacements: a string one would expand `$&`, `$'` … inside the code.
      page = page.replace('</head>', () => `<style>${css}</style>\n  </head>`);
      // A module script runs after parsing like `defer`; at the end of body it also reads as it runs.
      page = page.replace('</body>', () => `<script type="module">${script}</script>\n  </body>`);

      for (const name of Object.keys(bundle)) delete bundle[name];
      this.emitFile({ type: 'asset', fileName, source: page });
    },
    writeBundle() {
      const path = join(outDir, fileName);
      const digest = createHash('sha256').update(readFileSync(path)).digest('hex');
      writeFileSync(`${path}.sha256`, `${digest}  ${fileName}\n`);
      this.info(`${fileName} SHA-256 ${digest}`);
      process.stdout.write(`\n${path}\nSHA-256 ${digest}\n(also in ${path}.sha256)\n`);
    },
  };
}
