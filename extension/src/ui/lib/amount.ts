/**
 * Amounts for display and input, in one place: every screen that shows a value in base units (wei,
 * token units) formats it here, and every amount field parses with `parseAmount`.
 *
 * Display rules: the whole part is always shown in full, grouped by thousands ("1,234,567"); the
 * fraction is cut (never rounded up, so a balance is never overstated) to a few significant digits
 * — six in all for values of 1 and more, four after the leading zeros below 1 — and a cut value
 * ends in "…". `full` is the exact value, shown on hover and on expand. The unit is always appended.
 * `parseAmount(format(x).full) === x` for every x (tested with fast-check).
 */

/** Significant digits shown for values ≥ 1 (whole part included, at least two decimals kept). */
const SIG_LARGE = 6;
/** Significant digits shown after the leading zeros of values < 1. */
const SIG_SMALL = 4;
/** The largest amount a uint256 can hold. */
const UINT256_MAX = 2n ** 256n - 1n;

export interface FormattedAmount {
  /** Short form with unit: "8.99996… ETH". */
  short: string;
  /** Exact form with unit: "8.999964928826793 ETH". */
  full: string;
  /** The short form is the exact value. */
  exact: boolean;
}

/** "1234567" → "1,234,567". */
export function groupThousands(digits: string): string {
  return digits.replace(/\B(?=(\d{3})+(?!\d))/g, ',');
}

/** Whole and fractional digit strings of `units / 10^decimals`, fraction without trailing zeros. */
function split(units: bigint, decimals: number): { whole: string; frac: string } {
  if (units < 0n) throw new RangeError('negative amount');
  if (!Number.isInteger(decimals) || decimals < 0 || decimals > 255) throw new RangeError('bad decimals');
  const s = units.toString().padStart(decimals + 1, '0');
  const whole = s.slice(0, s.length - decimals);
  const frac = s.slice(s.length - decimals).replace(/0+$/, '');
  return { whole, frac };
}

/** Exact decimal text without grouping ("1234.5"): what goes into an amount field. */
export function formatUnitsExact(units: bigint, decimals: number): string {
  const { whole, frac } = split(units, decimals);
  return frac === '' ? whole : `${whole}.${frac}`;
}

function withUnit(n: string, symbol: string): string {
  return symbol === '' ? n : `${n} ${symbol}`;
}

/** Formats `units` (base units of an asset with `decimals` decimals) for display. */
export function formatAmount(units: bigint, decimals: number, symbol: string): FormattedAmount {
  const { whole, frac } = split(units, decimals);
  const grouped = groupThousands(whole);
  const fullNumber = frac === '' ? grouped : `${grouped}.${frac}`;
  let keep: number;
  if (whole !== '0') keep = Math.max(2, SIG_LARGE - whole.length);
  else keep = frac.length - frac.replace(/^0+/, '').length + SIG_SMALL;
  const cut = frac.slice(0, keep).replace(/0+$/, '');
  const exact = cut.length === frac.length;
  const shortNumber = `${cut === '' ? grouped : `${grouped}.${cut}`}${exact ? '' : '…'}`;
  return { short: withUnit(shortNumber, symbol), full: withUnit(fullNumber, symbol), exact };
}

/** Convenience for decimal strings of base units as carried in messages ("1000000000000000000"). */
export function formatUnitsText(units: string, decimals: number, symbol: string): FormattedAmount {
  return formatAmount(/^\d+$/.test(units) ? BigInt(units) : 0n, decimals, symbol);
}

export type ParsedAmount = { ok: true; units: bigint } | { ok: false; error: string };

/**
 * Decimal text → base units, refusing rather than rounding: a sign, an exponent, a comma used as the
 * decimal point, more fractional digits than the asset has, zero (unless `allowZero`), more than a
 * uint256. Thousands separators are accepted only where they belong ("1,234.5", not "1,23").
 */
export function parseAmount(
  text: string,
  decimals: number,
  opts: { symbol?: string; allowZero?: boolean } = {},
): ParsedAmount {
  const t = text.trim().replace(/\s+[A-Za-z]{1,16}$/, '');
  if (t === '') return { ok: false, error: 'Enter an amount.' };
  const m = /^(\d{1,3}(?:,\d{3})+|\d*)(?:\.(\d*))?$/.exec(t);
  if (m === null) {
    if (/^-/.test(t)) return { ok: false, error: 'The amount cannot be negative.' };
    if (/^\d+,\d{1,2}$/.test(t) || /^\d+,\d{4,}$/.test(t)) {
      return { ok: false, error: 'Use a dot for decimals, as in 0.25.' };
    }
    return { ok: false, error: 'Use digits and a dot, as in 1 or 0.25.' };
  }
  const whole = (m[1] ?? '').replaceAll(',', '');
  const frac = m[2] ?? '';
  if (whole === '' && frac === '') return { ok: false, error: 'Use digits and a dot, as in 1 or 0.25.' };
  const unit = opts.symbol ?? 'This asset';
  if (frac.length > decimals) {
    return {
      ok: false,
      error:
        decimals === 0
          ? `${unit} has no decimal places; enter a whole number.`
          : `${unit} has at most ${decimals} decimal places; this has ${frac.length}.`,
    };
  }
  const units = BigInt(`${whole || '0'}${frac.padEnd(decimals, '0')}`);
  if (units === 0n && opts.allowZero !== true)
    return { ok: false, error: 'The amount must be more than zero.' };
  if (units > UINT256_MAX) return { ok: false, error: 'The amount is too large.' };
  return { ok: true, units };
}
