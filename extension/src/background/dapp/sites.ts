/**
 * Per-origin dApp permissions and chain, stored in the `dappSites` table: which vaults (accounts) a
 * site may see and which chain it works on. Revoking keeps the chain choice and empties the accounts.
 */

import type { DappSiteRecord } from '../../storage/dapp-sites-migration.ts';
import type { ConcordDb } from '../../storage/db.ts';

export class DappSites {
  constructor(
    private readonly db: ConcordDb,
    private readonly now: () => number,
  ) {}

  get(origin: string): Promise<DappSiteRecord | undefined> {
    return this.db.dappSites.get(origin);
  }

  /** Sites with at least one connected vault, most recently changed first. */
  async connected(): Promise<DappSiteRecord[]> {
    const rows = await this.db.dappSites.orderBy('updatedAt').reverse().toArray();
    return rows.filter((r) => r.vaultIds.length > 0);
  }

  async connect(origin: string, vaultIds: string[]): Promise<DappSiteRecord> {
    return this.db.transaction('rw', this.db.dappSites, async () => {
      const prev = await this.db.dappSites.get(origin);
      const t = this.now();
      const row: DappSiteRecord = {
        origin,
        vaultIds: [...new Set(vaultIds)],
        chainId: prev?.chainId ?? null,
        connectedAt: t,
        updatedAt: t,
      };
      await this.db.dappSites.put(row);
      return row;
    });
  }

  async setChain(origin: string, chainId: number): Promise<void> {
    await this.db.transaction('rw', this.db.dappSites, async () => {
      const prev = await this.db.dappSites.get(origin);
      await this.db.dappSites.put({
        origin,
        vaultIds: prev?.vaultIds ?? [],
        chainId,
        connectedAt: prev?.connectedAt ?? null,
        updatedAt: this.now(),
      });
    });
  }

  /** Forgets the site's accounts; returns whether it had any. */
  async revoke(origin: string): Promise<boolean> {
    return this.db.transaction('rw', this.db.dappSites, async () => {
      const prev = await this.db.dappSites.get(origin);
      if (prev === undefined || prev.vaultIds.length === 0) return false;
      await this.db.dappSites.put({ ...prev, vaultIds: [], connectedAt: null, updatedAt: this.now() });
      return true;
    });
  }
}
