/**
 * The amount formatter and parser (extension/src/ui/lib/amount.ts): exact round trips at full
 * precision for any value and decimals (fast-check), short forms that never overstate, grouping,
 * and every refusal of the parser with its message.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { formatAmount, formatUnitsExact, groupThousands, parseAmount } from '../../src/ui/lib/amount.ts';

const UINT256_MAX = 2n ** 256n - 1n;
const units = fc.bigInt({ min: 0n, max: UINT256_MAX });
const decimals = fc.integer({ min: 0, max: 36 });
const strip = (s: string, symbol: string): string => s.slice(0, s.length - symbol.length - 1);

describe('formatAmount', () => {
  it('full form parses back to exactly the same base units, for any value and decimals', () => {
    fc.assert(
      fc.property(units, decimals, (x, d) => {
        const f = formatAmount(x, d, 'ETH');
        expect(f.full.endsWith(' ETH')).toBe(true);
        const p = parseAmount(strip(f.full, 'ETH'), d, { allowZero: true });
        expect(p).toEqual({ ok: true, units: x });
        // The unit may stay on the text: "1,234.5 ETH" parses too.
        expect(parseAmount(f.full, d, { allowZero: true })).toEqual({ ok: true, units: x });
      }),
      { numRuns: 2000 },
    );
  });

  it('exact text (what goes into an amount field) round-trips too', () => {
    fc.assert(
      fc.property(units, decimals, (x, d) => {
        expect(parseAmount(formatUnitsExact(x, d), d, { allowZero: true })).toEqual({ ok: true, units: x });
      }),
      { numRuns: 2000 },
    );
  });

  it('the short form is a cut of the full one: never more than the value, exact when it says so', () => {
    fc.assert(
      fc.property(units, decimals, (x, d) => {
        const f = formatAmount(x, d, 'ETH');
        const shortNumber = strip(f.short, 'ETH').replace(/…$/, '');
        const p = parseAmount(shortNumber, d, { allowZero: true });
        if (!p.ok) throw new Error(p.error);
        expect(p.units <= x).toBe(true);
        expect(f.exact).toBe(p.units === x);
        expect(f.short.includes('…')).toBe(!f.exact);
        expect(f.full.startsWith(shortNumber)).toBe(true);
      }),
      { numRuns: 2000 },
    );
  });

  it('shows readable numbers', () => {
    const ETH = 10n ** 18n;
    expect(formatAmount(8_999_964_928_826_793_000n, 18, 'ETH')).toEqual({
      short: '8.99996… ETH',
      full: '8.999964928826793 ETH',
      exact: false,
    });
    expect(formatAmount(48_358_652_933_750n, 18, 'ETH').short).toBe('0.00004835… ETH');
    expect(formatAmount(10n * ETH, 18, 'ETH')).toEqual({ short: '10 ETH', full: '10 ETH', exact: true });
    expect(formatAmount(1_234_567n * ETH + ETH / 2n, 18, 'ETH').short).toBe('1,234,567.5 ETH');
    expect(formatAmount(1_234_567_891n * 10n ** 15n, 18, 'ETH').short).toBe('1,234,567.89… ETH');
    expect(formatAmount(0n, 18, 'ETH').short).toBe('0 ETH');
    expect(formatAmount(1n, 0, 'TOK').short).toBe('1 TOK');
    expect(formatAmount(1n, 6, 'USDC').short).toBe('0.000001 USDC');
    expect(formatAmount(5n, 6, '').short).toBe('0.000005');
  });

  it('groups thousands', () => {
    expect(groupThousands('1')).toBe('1');
    expect(groupThousands('1000')).toBe('1,000');
    expect(groupThousands('123456789')).toBe('123,456,789');
  });

  it('refuses a negative amount or impossible decimals', () => {
    expect(() => formatAmount(-1n, 18, 'ETH')).toThrow(RangeError);
    expect(() => formatAmount(1n, -1, 'ETH')).toThrow(RangeError);
    expect(() => formatAmount(1n, 1.5, 'ETH')).toThrow(RangeError);
  });
});

describe('parseAmount', () => {
  it('accepts plain and grouped decimals', () => {
    expect(parseAmount('1', 18)).toEqual({ ok: true, units: 10n ** 18n });
    expect(parseAmount(' 0.25 ', 18)).toEqual({ ok: true, units: 25n * 10n ** 16n });
    expect(parseAmount('.5', 1)).toEqual({ ok: true, units: 5n });
    expect(parseAmount('5.', 0)).toEqual({ ok: true, units: 5n });
    expect(parseAmount('1,234.5', 1)).toEqual({ ok: true, units: 12345n });
  });

  it('refuses with a message that says what to fix', () => {
    const err = (text: string, d = 18, symbol?: string) => {
      const r = parseAmount(text, d, symbol === undefined ? {} : { symbol });
      return r.ok ? null : r.error;
    };
    expect(err('')).toBe('Enter an amount.');
    expect(err('0')).toBe('The amount must be more than zero.');
    expect(err('0.000')).toBe('The amount must be more than zero.');
    expect(err('-1')).toBe('The amount cannot be negative.');
    expect(err('1,5')).toBe('Use a dot for decimals, as in 0.25.');
    expect(err('1,23')).toBe('Use a dot for decimals, as in 0.25.');
    expect(err('1e5')).toBe('Use digits and a dot, as in 1 or 0.25.');
    expect(err('.')).toBe('Use digits and a dot, as in 1 or 0.25.');
    expect(err('1.2.3')).toBe('Use digits and a dot, as in 1 or 0.25.');
    expect(err('12,34,567')).toBe('Use digits and a dot, as in 1 or 0.25.');
    expect(err('0.1234567', 6, 'USDC')).toBe('USDC has at most 6 decimal places; this has 7.');
    expect(err('1.5', 0, 'TOK')).toBe('TOK has no decimal places; enter a whole number.');
    expect(err(`${UINT256_MAX + 1n}`, 0)).toBe('The amount is too large.');
  });
});
