/**
 * Inline checks for the Send form, run on every keystroke so a problem shows on its field before
 * "Review": the recipient (EIP-55 checksum when mixed case, the zero address, the vault itself, a
 * first-time recipient) and the amount (format, decimals, zero, balance, room for the fee). The
 * background repeats the hard checks when it builds the transaction; these are for the person.
 */
import { getAddress, isAddress } from 'viem';
import { formatAmount, parseAmount } from './amount.ts';

export interface AddressCheck {
  /** Blocks the send. */
  error?: string;
  /** Allowed, but worth a second look. */
  warning?: string;
  /** Informational. */
  note?: string;
  /** Checksummed address when valid. */
  address?: `0x${string}`;
}

const ZERO = '0x0000000000000000000000000000000000000000';

export function checkRecipient(
  text: string,
  o: { self?: string | null; token?: string | null; known?: readonly string[] } = {},
): AddressCheck {
  const t = text.trim();
  if (t === '') return {};
  if (!/^0x/i.test(t)) return { error: 'An address starts with 0x.' };
  if (!/^0x[0-9a-fA-F]*$/.test(t)) return { error: 'An address has only 0–9 and a–f after 0x.' };
  if (t.length !== 42) {
    return { error: `An address has 40 characters after 0x; this has ${t.length - 2}.` };
  }
  if (!isAddress(t, { strict: true })) {
    return {
      error:
        'The capital letters do not match this address’s checksum: check it for a typo, or paste it again.',
    };
  }
  const address = getAddress(t);
  if (address === ZERO) return { error: 'This is the zero address: anything sent there is lost.' };
  if (o.token && address.toLowerCase() === o.token.toLowerCase()) {
    return { error: 'This is the token contract itself: tokens sent there are usually lost.' };
  }
  if (o.self && address.toLowerCase() === o.self.toLowerCase()) {
    return {
      address,
      warning: 'This is the vault’s own address: the amount comes back to it, only the network fee is spent.',
    };
  }
  const known = o.known?.some((k) => k.toLowerCase() === address.toLowerCase()) ?? true;
  return known
    ? { address }
    : {
        address,
        note: 'First send from this vault to this address. Check it against the source, character by character.',
      };
}

export function checkTokenAddress(text: string): string | undefined {
  const t = text.trim();
  if (t === '') return undefined;
  const r = checkRecipient(t);
  return r.error === undefined ? undefined : r.error.replace('An address', 'A token contract address');
}

export interface AmountContext {
  decimals: number;
  symbol: string;
  /** Spendable balance of the asset, when known. */
  balance?: bigint | null;
  /** Most that can be sent (native: balance minus the fee ceiling), when known. */
  max?: bigint | null;
  /** The fee ceiling, when known, for the message. */
  fee?: bigint | null;
  feeSymbol?: string;
}

export type AmountCheck =
  | { units: bigint; error?: undefined }
  | { units?: undefined; error: string }
  | Record<string, never>;

export function checkAmount(text: string, c: AmountContext): AmountCheck {
  if (text.trim() === '') return {};
  const p = parseAmount(text, c.decimals, { symbol: c.symbol });
  if (!p.ok) return { error: p.error };
  if (c.balance !== undefined && c.balance !== null && p.units > c.balance) {
    return {
      error: `More than the vault holds (${formatAmount(c.balance, c.decimals, c.symbol).short}).`,
    };
  }
  if (c.max !== undefined && c.max !== null && p.units > c.max) {
    const fee =
      c.fee === undefined || c.fee === null
        ? ''
        : ` (up to ${formatAmount(c.fee, 18, c.feeSymbol ?? 'ETH').short})`;
    return {
      error: `Leaves too little for the network fee${fee}. The most you can send is ${formatAmount(c.max, c.decimals, c.symbol).full}.`,
    };
  }
  return { units: p.units };
}
