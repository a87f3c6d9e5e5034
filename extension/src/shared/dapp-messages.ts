/**
 * Messages between extension pages and the background about dApps: the approval window (connect a
 * site, add a chain a site proposed) and the "Connected sites" list. Merged into the UI message
 * union in messages.ts; origins here are always the background's (taken from the browser's sender).
 */
import type { Description } from '@concord/bridge-server/describe';
import * as v from 'valibot';

/** A vault as the connect screen offers it. */
export interface DappVaultChoice {
  id: string;
  name: string;
  address: string;
}

export type DappApprovalView =
  | { id: string; kind: 'connect'; origin: string; vaults: DappVaultChoice[] }
  /** A site asked to sign while Concord is locked: unlock first (nothing is queued meanwhile). */
  | { id: string; kind: 'unlock'; origin: string }
  /**
   * A site's signing request (message, typed data, transaction) as this device's describer reads
   * it; approving proposes it to the vault's co-signers.
   */
  | { id: string; kind: 'sign'; origin: string; vault: DappVaultChoice; description: Description }
  | {
      id: string;
      kind: 'add-chain';
      origin: string;
      chain: { chainId: number; name: string; rpcUrl: string; explorerUrl: string; symbol: string };
    };

export interface DappSiteView {
  origin: string;
  accounts: { vaultId: string; name: string; address: string | null }[];
  chainId: number;
  chainName: string;
  connectedAt: number | null;
}

export type DappRequest =
  | { type: 'dapp.approval.get'; id: string }
  | { type: 'dapp.approval.decide'; id: string; approve: boolean; vaultIds: string[] }
  | { type: 'dapp.sites.list' }
  | { type: 'dapp.sites.revoke'; origin: string };

export interface DappResultMap {
  'dapp.approval.get': DappApprovalView;
  'dapp.approval.decide': null;
  'dapp.sites.list': DappSiteView[];
  'dapp.sites.revoke': DappSiteView[];
}

const Id32 = v.pipe(v.string(), v.regex(/^[0-9a-f]{32}$/));

export const DAPP_REQUEST_SCHEMAS = [
  v.strictObject({ type: v.literal('dapp.approval.get'), id: Id32 }),
  v.strictObject({
    type: v.literal('dapp.approval.decide'),
    id: Id32,
    approve: v.boolean(),
    vaultIds: v.pipe(v.array(Id32), v.maxLength(64)),
  }),
  v.strictObject({ type: v.literal('dapp.sites.list') }),
  v.strictObject({ type: v.literal('dapp.sites.revoke'), origin: v.pipe(v.string(), v.maxLength(2048)) }),
] as const;

/** dApp requests that count as user activity. */
export const DAPP_ACTIVITY_REQUESTS = ['dapp.approval.decide', 'dapp.sites.revoke'] as const;
