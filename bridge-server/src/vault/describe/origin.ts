/**
 * The requesting origin as a co-signer should read it (THREATS.md part C, item 56): the full
 * origin, its host decoded from Punycode, and warnings for plain http, mixed-script labels
 * (UTS #39 §5.1 "single script" restriction, simplified to the scripts domains are spoofed with),
 * confusable look-alikes of well-known DeFi domains (a UTS #39-style skeleton over a short table of
 * Cyrillic/Greek/digit confusables, plus one-edit typos), and long subdomain chains.
 */
import { hostToUnicode } from './punycode.ts';
import { type Warning, warning } from './warnings.ts';

export interface OriginView {
  /** Exactly as the browser reported it. */
  origin: string;
  scheme: string;
  /** ASCII host (A-labels). */
  host: string;
  /** Host with Punycode labels decoded. */
  hostUnicode: string;
  /** What to show: scheme, Unicode host and port. */
  display: string;
  warnings: Warning[];
}

/** Registrable domains of widely used DeFi front ends: the targets look-alikes imitate. */
export const WELL_KNOWN_DOMAINS: readonly string[] = [
  'uniswap.org',
  'aave.com',
  'curve.fi',
  'lido.fi',
  'opensea.io',
  '1inch.io',
  'compound.finance',
  'metamask.io',
  'safe.global',
  'balancer.fi',
  'sushi.com',
  'pancakeswap.finance',
  'makerdao.com',
  'spark.fi',
  'etherscan.io',
  'across.to',
  'stargate.finance',
  'eigenlayer.xyz',
  'pendle.finance',
  'morpho.org',
  'gmx.io',
  'cow.fi',
  'ens.domains',
  'blur.io',
  'rabby.io',
];

/** Characters that render like Latin letters (from the Unicode confusables table, abridged). */
const CONFUSABLES: Record<string, string> = {
  а: 'a',
  в: 'b',
  е: 'e',
  ё: 'e',
  һ: 'h',
  і: 'i',
  ї: 'i',
  ј: 'j',
  к: 'k',
  ӏ: 'l',
  м: 'm',
  н: 'h',
  о: 'o',
  р: 'p',
  с: 'c',
  т: 't',
  у: 'y',
  х: 'x',
  ѕ: 's',
  ԁ: 'd',
  ԛ: 'q',
  ԝ: 'w',
  ɡ: 'g',
  ı: 'i',
  ɩ: 'i',
  α: 'a',
  β: 'b',
  ε: 'e',
  ι: 'i',
  κ: 'k',
  ν: 'v',
  ο: 'o',
  ρ: 'p',
  τ: 't',
  υ: 'u',
  χ: 'x',
  ω: 'w',
  ꮃ: 'w',
  ᴠ: 'v',
  ⅼ: 'l',
  ｏ: 'o',
  à: 'a',
  á: 'a',
  â: 'a',
  ä: 'a',
  å: 'a',
  è: 'e',
  é: 'e',
  ê: 'e',
  ë: 'e',
  ì: 'i',
  í: 'i',
  î: 'i',
  ï: 'i',
  ò: 'o',
  ó: 'o',
  ô: 'o',
  ö: 'o',
  ù: 'u',
  ú: 'u',
  û: 'u',
  ü: 'u',
  ý: 'y',
  ÿ: 'y',
  ñ: 'n',
  ç: 'c',
  ś: 's',
  ź: 'z',
  ż: 'z',
};

/** A comparison key: confusables folded to Latin, then ASCII look-alike sequences folded. */
export function skeleton(text: string): string {
  let s = '';
  for (const ch of text.normalize('NFKC').toLowerCase()) s += CONFUSABLES[ch] ?? ch;
  return s
    .replace(/rn/g, 'm')
    .replace(/vv/g, 'w')
    .replace(/0/g, 'o')
    .replace(/[1|]/g, 'l')
    .replace(/5/g, 's');
}

const SCRIPTS = [
  'Latin',
  'Cyrillic',
  'Greek',
  'Armenian',
  'Hebrew',
  'Arabic',
  'Georgian',
  'Cherokee',
  'Han',
  'Hiragana',
  'Katakana',
  'Hangul',
  'Thai',
] as const;
const SCRIPT_RE = SCRIPTS.map((s) => [s, new RegExp(`\\p{Script=${s}}`, 'u')] as const);
const COMMON_RE = /[\p{Script=Common}\p{Script=Inherited}]/u;
/** Script mixes that are ordinary writing, not spoofing (Japanese, Korean). */
const ALLOWED_MIXES = [
  new Set(['Han', 'Hiragana', 'Katakana', 'Latin']),
  new Set(['Han', 'Hangul', 'Latin']),
];

export function scriptsOf(label: string): Set<string> {
  const out = new Set<string>();
  for (const ch of label) {
    if (COMMON_RE.test(ch)) continue;
    const hit = SCRIPT_RE.find(([, re]) => re.test(ch));
    out.add(hit ? hit[0] : 'Other');
  }
  return out;
}

function isMixed(scripts: Set<string>): boolean {
  if (scripts.size <= 1) return false;
  return !ALLOWED_MIXES.some((allowed) => [...scripts].every((s) => allowed.has(s)));
}

function editDistanceAtMostOne(a: string, b: string): boolean {
  if (a === b) return true;
  if (Math.abs(a.length - b.length) > 1) return false;
  let i = 0;
  let j = 0;
  let edits = 0;
  while (i < a.length && j < b.length) {
    if (a[i] === b[j]) {
      i++;
      j++;
      continue;
    }
    if (++edits > 1) return false;
    if (a.length > b.length) i++;
    else if (b.length > a.length) j++;
    else {
      // A swap of two neighbours also counts as one edit ("unsiwap").
      if (a[i + 1] === b[j] && a[i] === b[j + 1] && a.slice(i + 2) === b.slice(j + 2)) return true;
      i++;
      j++;
    }
  }
  return edits + (a.length - i) + (b.length - j) <= 1;
}

const LOCAL_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]']);
const MAX_LABELS = 5;
const MAX_HOST_LENGTH = 60;

export function describeOrigin(origin: string): OriginView {
  const warnings: Warning[] = [];
  let url: URL;
  try {
    url = new URL(origin);
  } catch {
    return {
      origin,
      scheme: '',
      host: '',
      hostUnicode: '',
      display: origin,
      warnings: [
        warning('ORIGIN_UNPARSEABLE', `The request's origin "${origin.slice(0, 200)}" is not a web origin.`),
      ],
    };
  }
  const scheme = url.protocol.replace(/:$/, '');
  const host = url.hostname.toLowerCase();
  if (url.origin === 'null' || (scheme !== 'https' && scheme !== 'http')) {
    warnings.push(
      warning(
        'ORIGIN_UNPARSEABLE',
        `The request's origin "${origin.slice(0, 200)}" is not an http(s) origin.`,
      ),
    );
  }
  const { unicode, hadPunycode, invalid } = hostToUnicode(host);
  const display = `${scheme}://${unicode}${url.port ? `:${url.port}` : ''}`;
  if (scheme === 'http' && !LOCAL_HOSTS.has(host)) {
    warnings.push(
      warning(
        'ORIGIN_INSECURE',
        `${display} is not served over https; anyone on the network could have changed the page.`,
      ),
    );
  }
  if (hadPunycode) {
    warnings.push(
      warning(
        'ORIGIN_PUNYCODE',
        invalid
          ? `The address ${host} contains an internationalised label that does not decode; treat it as suspicious.`
          : `The address ${host} is internationalised; it reads as ${unicode}.`,
      ),
    );
  }
  const labels = unicode.split('.');
  for (const label of labels) {
    const scripts = scriptsOf(label);
    if (isMixed(scripts)) {
      warnings.push(
        warning(
          'ORIGIN_MIXED_SCRIPTS',
          `The name "${label}" mixes ${[...scripts].join(' and ')} letters, a common way to imitate another site.`,
        ),
      );
    }
  }
  const lookalike = lookalikeOf(unicode);
  if (lookalike) {
    warnings.push(warning('ORIGIN_LOOKALIKE', `${unicode} looks like ${lookalike} but is a different site.`));
  }
  if (labels.length > MAX_LABELS || host.length > MAX_HOST_LENGTH) {
    warnings.push(
      warning(
        'ORIGIN_LONG_SUBDOMAIN',
        `The address has a long chain of names (${labels.length} parts); the site is ${labels.slice(-2).join('.')}.`,
      ),
    );
  }
  return { origin, scheme, host, hostUnicode: unicode, display, warnings };
}

/** The well-known domain `host` imitates, or null (also null for the domain itself and its subdomains). */
export function lookalikeOf(host: string): string | null {
  const labels = host.split('.');
  const registrable = labels.slice(-2).join('.');
  if (WELL_KNOWN_DOMAINS.includes(registrable)) return null;
  const skel = skeleton(host);
  const regSkel = skeleton(registrable);
  const mainLabel = regSkel.split('.')[0] ?? '';
  for (const known of WELL_KNOWN_DOMAINS) {
    const knownLabel = known.split('.')[0] ?? '';
    // Homograph: folds to the same text as the known domain.
    if (regSkel === skeleton(known)) return known;
    // The known domain used as a subdomain of another site ("uniswap.org.claim-rewards.xyz").
    if (skel.includes(`${skeleton(known)}.`)) return known;
    // Typo-squat or confusable label under any top-level domain ("uniswep.org", "un1swap.com").
    if (knownLabel.length >= 5 && editDistanceAtMostOne(mainLabel, skeleton(knownLabel))) return known;
    // The brand glued to other words ("uniswap-airdrop.com").
    if (knownLabel.length >= 5 && mainLabel.split('-').includes(skeleton(knownLabel))) return known;
  }
  return null;
}
