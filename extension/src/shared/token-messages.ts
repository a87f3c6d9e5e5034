/**
 * Messages between extension pages and the background about the token list: the ERC-20 contracts
 * the user added per chain, adding one by contract address (EIP-20 metadata read from the chain by
 * the background, never typed in), removing one, and a vault's balances of the listed tokens.
 * Merged into the UI message union in messages.ts.
 */
import * as v from 'valibot';

/** A listed token. */
export interface TokenView {
  chainId: number;
  /** EIP-55 contract address. */
  address: string;
  name: string;
  symbol: string;
  decimals: number;
  addedAt: number;
}

/** A vault's balance of one listed token: base units as a decimal string, or why it is unknown. */
export type TokenBalanceView = TokenView & ({ ok: true; units: string } | { ok: false; reason: string });

export type TokenRequest =
  | { type: 'token.list'; chainId: number }
  | { type: 'token.add'; chainId: number; address: string }
  | { type: 'token.remove'; chainId: number; address: string }
  | { type: 'token.balances'; vaultId: string; chainId: number };

export interface TokenResultMap {
  'token.list': TokenView[];
  'token.add': TokenView;
  'token.remove': TokenView[];
  'token.balances': TokenBalanceView[];
}

const ChainId = v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(2 ** 53 - 1));
// Any text up to a few characters past an address: the background says what is wrong with it.
const AddressInput = v.pipe(v.string(), v.maxLength(64));
const Id32 = v.pipe(v.string(), v.regex(/^[0-9a-f]{32}$/));

export const TOKEN_REQUEST_SCHEMAS = [
  v.strictObject({ type: v.literal('token.list'), chainId: ChainId }),
  v.strictObject({ type: v.literal('token.add'), chainId: ChainId, address: AddressInput }),
  v.strictObject({ type: v.literal('token.remove'), chainId: ChainId, address: AddressInput }),
  v.strictObject({ type: v.literal('token.balances'), vaultId: Id32, chainId: ChainId }),
] as const;

/** Token requests that count as user activity. */
export const TOKEN_ACTIVITY_REQUESTS = ['token.add', 'token.remove'] as const;
