/**
 * Formatting shared by every describer: token amounts with their decimals and symbol, shortened
 * addresses, UTC dates from Unix seconds. Output is plain text so it reads the same on every
 * device (no locale: the thousands separator is always ",").
 */
import { type Address, formatUnits, getAddress } from 'viem';
import type { TokenMetadata } from './ports.ts';

/**
 * At or above this an allowance is treated as unlimited: 2^96 − 1 is the "infinite" sentinel of
 * uint96 tokens (UNI, COMP), and no real token supply comes near it in base units with decimals.
 */
export const UNLIMITED_THRESHOLD = 2n ** 96n - 1n;

export function isUnlimited(amount: bigint): boolean {
  return amount >= UNLIMITED_THRESHOLD;
}

export function shortAddress(address: string): string {
  const a = safeChecksum(address);
  return `${a.slice(0, 6)}…${a.slice(-4)}`;
}

export function safeChecksum(address: string): string {
  try {
    return getAddress(address);
  } catch {
    return address;
  }
}

function groupThousands(intPart: string): string {
  return intPart.replace(/\B(?=(\d{3})+(?!\d))/g, ',');
}

/** "1,000.5" from base units; no rounding, trailing zeros dropped. */
export function formatDecimal(amount: bigint, decimals: number): string {
  const s = formatUnits(amount, decimals);
  const [i, f] = s.split('.');
  const neg = i?.startsWith('-') ?? false;
  const digits = groupThousands((i ?? '0').replace('-', ''));
  return `${neg ? '-' : ''}${digits}${f ? `.${f}` : ''}`;
}

/** "1,000 USDC", "unlimited USDC", or "1000000 base units of 0xA0b8…eB48" when metadata is unknown. */
export function formatTokenAmount(amount: bigint, token: Address, meta: TokenMetadata | null): string {
  if (isUnlimited(amount))
    return `an unlimited amount of ${meta ? meta.symbol : `token ${shortAddress(token)}`}`;
  if (!meta) return `${groupThousands(amount.toString())} base units of token ${shortAddress(token)}`;
  return `${formatDecimal(amount, meta.decimals)} ${meta.symbol}`;
}

export function formatEther(wei: bigint, symbol = 'ETH'): string {
  return `${formatDecimal(wei, 18)} ${symbol}`;
}

const MAX_DATE_SECONDS = 253_402_300_799n; // 9999-12-31T23:59:59Z, the end of ISO 8601's 4-digit years

/** "2027-01-01 00:00 UTC" from Unix seconds; far-future sentinels read as "never". */
export function formatTimestamp(seconds: bigint): string {
  if (seconds > MAX_DATE_SECONDS) return 'never (no expiry)';
  const iso = new Date(Number(seconds) * 1000).toISOString();
  return `${iso.slice(0, 10)} ${iso.slice(11, 16)} UTC`;
}
