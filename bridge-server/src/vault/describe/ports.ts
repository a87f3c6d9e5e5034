/**
 * Ports: the only ways the describers reach beyond their arguments. Each co-signer's device
 * supplies its own implementations (its own RPC, its own history), so no device trusts another's
 * reading of the chain. Every port is optional and every call may throw: a failed read becomes a
 * warning, never a lost request.
 */
import type { Address, Hex } from 'viem';

export interface TokenMetadata {
  symbol: string;
  decimals: number;
  name?: string;
}

/** Reads of the active chain (an `eth_getCode` / `eth_call` away). */
export interface ChainReader {
  /** The runtime bytecode at `address`; `undefined` or `'0x'` for an account with no code. */
  getCode(address: Address): Promise<Hex | undefined>;
  /** ERC-20 `symbol()` and `decimals()`, or `null` when the contract does not answer them. */
  readErc20Metadata(token: Address): Promise<TokenMetadata | null>;
  /** ERC-165 `supportsInterface`; absent or throwing means "unknown". */
  supportsInterface?(address: Address, interfaceId: Hex): Promise<boolean>;
}

/** This device's own history: has the vault ever sent to / approved this address? */
export interface KnownAddresses {
  hasInteracted(address: Address): Promise<boolean>;
}

/** Hashes of transactions this vault is currently co-signing (not yet mined). */
export interface PendingTransactions {
  pendingHashes(): Promise<readonly Hex[]>;
}

export interface DescribeContext {
  /** The chain the request will be signed for (the wallet's active chain for the origin). */
  chainId: number;
  /** The requesting dApp's origin as the browser reported it (never as the page claimed it). */
  origin?: string;
  chain?: ChainReader;
  known?: KnownAddresses;
  pending?: PendingTransactions;
}
