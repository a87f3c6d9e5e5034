/**
 * Schema step for the dApp provider: the `dappSites` table, one row per web origin that connected
 * or chose a chain. Kept in its own module so its version number is easy to move if another schema
 * step lands first (only `version` here and its place in migrations.ts change).
 *
 * Rows hold no secret: an origin, the vault ids it may see, the chain it selected and timestamps.
 */
import type { Migration } from './migrations.ts';

export interface DappSiteRecord {
  /** `scheme://host[:port]`, from the browser's sender (never from a page's message). */
  origin: string;
  /** Vaults (accounts) this origin may see, in the order the user chose; empty = not connected. */
  vaultIds: string[];
  /** EIP-155 chain this origin works on, or null for the wallet's active chain. */
  chainId: number | null;
  connectedAt: number | null;
  updatedAt: number;
}

export const DAPP_SITES_MIGRATION: Migration = {
  version: 5,
  description: 'dappSites: per-origin dApp permissions (the vaults a site may see) and the chain it selected',
  stores: { dappSites: 'origin, updatedAt' },
};
