/**
 * Schema step for the token list: the `tokens` table, one row per ERC-20 contract the user added on
 * one chain (EIP-20 metadata read from that chain when it was added). Kept in its own module, like
 * the dApp sites step, so its version number is easy to move if another schema step lands first
 * (only `version` here and its place in migrations.ts change).
 *
 * Rows hold no secret: a chain id, a contract address and the metadata the contract returned
 * (already cleaned of control and bidi characters by the chain service).
 */
import type { Migration } from './migrations.ts';

export interface TokenRecord {
  /** `${chainId}:${lowercase address}`: one row per contract per chain. */
  id: string;
  chainId: number;
  /** EIP-55 checksummed contract address. */
  address: string;
  name: string;
  symbol: string;
  decimals: number;
  addedAt: number;
}

export const TOKENS_MIGRATION: Migration = {
  version: 6,
  description: 'tokens: the ERC-20 contracts the user added, per chain, with their name, symbol and decimals',
  stores: { tokens: 'id, chainId' },
};

/** The primary key of a token row. */
export function tokenId(chainId: number, address: string): string {
  return `${chainId}:${address.toLowerCase()}`;
}
