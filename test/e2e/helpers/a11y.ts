/**
 * Accessibility and QR checks for the end-to-end tests, run in the real page:
 *  - `axeSerious`: axe-core (injected through the DevTools protocol, which the extension's CSP does
 *    not govern) over the whole document; returns the serious and critical violations, one line each.
 *  - `decodeQr`: screenshots an element, turns the PNG into pixels in the page (createImageBitmap on
 *    a Blob: no URL, so no CSP question) and decodes them with jsQR in Node: what a phone would read.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import jsQR from 'jsqr';
import type { Locator, Page } from 'playwright-core';

const require = createRequire(import.meta.url);
let axeSource: string | undefined;

export async function axeSerious(page: Page): Promise<string[]> {
  axeSource ??= readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');
  await page.evaluate(axeSource);
  return page.evaluate(async () => {
    // biome-ignore lint/suspicious/noExplicitAny: axe is injected at run time, untyped here.
    const axe = (window as any).axe;
    const r = await axe.run(document, {
      resultTypes: ['violations'],
      runOnly: {
        type: 'tag',
        values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa', 'best-practice'],
      },
    });
    return (
      r.violations as { id: string; impact: string; nodes: { target: string[]; failureSummary: string }[] }[]
    )
      .filter((v) => v.impact === 'serious' || v.impact === 'critical')
      .map(
        (v) =>
          `${v.id} (${v.impact}): ${v.nodes.map((n) => `${n.target.join(' ')} — ${n.failureSummary}`).join('; ')}`,
      );
  });
}

export async function decodeQr(page: Page, element: Locator): Promise<string | null> {
  const png = await element.screenshot();
  const pixels = await page.evaluate(async (b64: string) => {
    const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
    const bitmap = await createImageBitmap(new Blob([bytes], { type: 'image/png' }));
    const canvas = new OffscreenCanvas(bitmap.width, bitmap.height);
    const ctx = canvas.getContext('2d');
    if (ctx === null) throw new Error('no 2d context');
    ctx.drawImage(bitmap, 0, 0);
    const data = ctx.getImageData(0, 0, bitmap.width, bitmap.height);
    return { width: data.width, height: data.height, data: Array.from(data.data) };
  }, png.toString('base64'));
  const code = jsQR(Uint8ClampedArray.from(pixels.data), pixels.width, pixels.height);
  return code?.data ?? null;
}
