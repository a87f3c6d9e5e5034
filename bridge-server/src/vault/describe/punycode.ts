/**
 * Punycode decoding (RFC 3492 §6.2) and IDNA label display (RFC 5891 §4.4: "xn--" A-labels), so
 * every device can show a host the way a human reads it without relying on a platform API (Node's
 * `url.domainToUnicode` does not exist in extension workers; browsers' URL keeps the A-label).
 * Decoding only: the host we are given is already in its ASCII form.
 */

const BASE = 36;
const T_MIN = 1;
const T_MAX = 26;
const SKEW = 38;
const DAMP = 700;
const INITIAL_BIAS = 72;
const INITIAL_N = 128;
const MAX_INT = 0x7fffffff;

function adapt(delta: number, numPoints: number, firstTime: boolean): number {
  let d = firstTime ? Math.floor(delta / DAMP) : delta >> 1;
  d += Math.floor(d / numPoints);
  let k = 0;
  while (d > ((BASE - T_MIN) * T_MAX) >> 1) {
    d = Math.floor(d / (BASE - T_MIN));
    k += BASE;
  }
  return k + Math.floor(((BASE - T_MIN + 1) * d) / (d + SKEW));
}

function digitOf(cp: number): number {
  if (cp >= 0x30 && cp <= 0x39) return cp - 22; // '0'..'9' → 26..35
  if (cp >= 0x41 && cp <= 0x5a) return cp - 0x41; // 'A'..'Z' → 0..25
  if (cp >= 0x61 && cp <= 0x7a) return cp - 0x61; // 'a'..'z' → 0..25
  return BASE;
}

/** Decodes a Punycode string (without the "xn--" prefix); throws on invalid input. */
export function punycodeDecode(input: string): string {
  const output: number[] = [];
  let n = INITIAL_N;
  let i = 0;
  let bias = INITIAL_BIAS;
  const basic = Math.max(input.lastIndexOf('-'), 0);
  for (let j = 0; j < basic; j++) {
    const cp = input.charCodeAt(j);
    if (cp >= 0x80) throw new Error('non-basic code point before the delimiter');
    output.push(cp);
  }
  for (let index = basic > 0 ? basic + 1 : 0; index < input.length; ) {
    const oldi = i;
    let w = 1;
    for (let k = BASE; ; k += BASE) {
      if (index >= input.length) throw new Error('truncated punycode');
      const digit = digitOf(input.charCodeAt(index++));
      if (digit >= BASE) throw new Error('invalid punycode digit');
      if (digit > Math.floor((MAX_INT - i) / w)) throw new Error('punycode overflow');
      i += digit * w;
      const t = k <= bias ? T_MIN : k >= bias + T_MAX ? T_MAX : k - bias;
      if (digit < t) break;
      if (w > Math.floor(MAX_INT / (BASE - t))) throw new Error('punycode overflow');
      w *= BASE - t;
    }
    const count = output.length + 1;
    bias = adapt(i - oldi, count, oldi === 0);
    if (Math.floor(i / count) > MAX_INT - n) throw new Error('punycode overflow');
    n += Math.floor(i / count);
    i %= count;
    if (n > 0x10ffff || (n >= 0xd800 && n <= 0xdfff))
      throw new Error('punycode decodes to an invalid code point');
    output.splice(i++, 0, n);
  }
  return String.fromCodePoint(...output);
}

/** A host with each "xn--" label shown in Unicode; labels that fail to decode stay as they are. */
export function hostToUnicode(host: string): { unicode: string; hadPunycode: boolean; invalid: boolean } {
  let hadPunycode = false;
  let invalid = false;
  const labels = host.split('.').map((label) => {
    if (!label.toLowerCase().startsWith('xn--')) return label;
    hadPunycode = true;
    try {
      return punycodeDecode(label.slice(4));
    } catch {
      invalid = true;
      return label;
    }
  });
  return { unicode: labels.join('.'), hadPunycode, invalid };
}
