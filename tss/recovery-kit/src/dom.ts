/**
 * Small DOM helpers for the recovery page. Text always goes in through `textContent` (file names
 * and file contents are untrusted; nothing is parsed as HTML), and no inline `style` attribute is
 * ever set (the page's CSP allows only its one hashed style sheet).
 */

type Attrs = Record<string, string | boolean | undefined>;
type Child = Node | string | null | undefined | false;

export function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Attrs = {},
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === false) continue;
    e.setAttribute(k, v === true ? '' : v);
  }
  for (const c of children) if (c !== null && c !== undefined && c !== false) e.append(c);
  return e;
}

export function byId<T extends HTMLElement>(id: string): T {
  const e = document.getElementById(id);
  if (!e) throw new Error(`page element #${id} is missing`);
  return e as T;
}

/** Object URLs of downloads made so far; revoked by `revokeDownloads` ("clear everything"). */
const urls: string[] = [];

/** Offer `text` as a file download through a Blob URL (never a network request, never storage). */
export function download(fileName: string, text: string, type = 'text/plain'): void {
  const url = URL.createObjectURL(new Blob([text], { type }));
  urls.push(url);
  const a = el('a', { href: url, download: fileName });
  document.body.append(a);
  a.click();
  a.remove();
}

export function revokeDownloads(): void {
  for (const u of urls.splice(0)) URL.revokeObjectURL(u);
}
