/**
 * The token list: ERC-20 contracts (EIP-20) the user added per chain, and a vault's balances of
 * them. Adding reads the metadata from the chain through the chain service (which refuses an
 * address with no code or a contract that does not answer as an ERC-20), so what the list shows is
 * what the contract says, never what was typed. Rows live in the `tokens` table (schema v6,
 * storage/tokens-migration.ts); a refused add writes nothing.
 */
import { ExtensionError } from '../../shared/errors.ts';
import type { TokenBalanceView, TokenView } from '../../shared/token-messages.ts';
import type { ConcordDb } from '../../storage/db.ts';
import { type TokenRecord, tokenId } from '../../storage/tokens-migration.ts';
import type { ChainService } from './chain.ts';

/** Enough for a personal list; bounds the balance reads one Home refresh makes. */
export const MAX_TOKENS_PER_CHAIN = 50;

export interface TokenServiceDeps {
  db: ConcordDb;
  chain: Pick<ChainService, 'tokenMetadata' | 'balance'>;
  /** The vault's address, or NOT_FOUND. */
  vaultAddress: (vaultId: string) => Promise<`0x${string}`>;
  now: () => number;
}

const view = (r: TokenRecord): TokenView => ({
  chainId: r.chainId,
  address: r.address,
  name: r.name,
  symbol: r.symbol,
  decimals: r.decimals,
  addedAt: r.addedAt,
});

export class TokenService {
  constructor(private readonly d: TokenServiceDeps) {}

  async list(chainId: number): Promise<TokenView[]> {
    const rows = await this.d.db.tokens.where('chainId').equals(chainId).toArray();
    return rows.sort((a, b) => a.addedAt - b.addedAt || a.id.localeCompare(b.id)).map(view);
  }

  async add(chainId: number, text: string): Promise<TokenView> {
    const address = text.trim();
    if (/^0x[0-9a-fA-F]{40}$/.test(address)) {
      const existing = await this.d.db.tokens.get(tokenId(chainId, address));
      if (existing !== undefined) {
        throw new ExtensionError(
          'INVALID_REQUEST',
          `${existing.symbol} (${existing.address}) is already in the list for this network.`,
        );
      }
    }
    if ((await this.d.db.tokens.where('chainId').equals(chainId).count()) >= MAX_TOKENS_PER_CHAIN) {
      throw new ExtensionError(
        'INVALID_REQUEST',
        `The list already has ${MAX_TOKENS_PER_CHAIN} tokens for this network; remove one first.`,
      );
    }
    // Checks the address (checksum, not zero), the code at it and the ERC-20 answers.
    const meta = await this.d.chain.tokenMetadata(chainId, address);
    const row: TokenRecord = {
      id: tokenId(chainId, meta.address),
      chainId,
      address: meta.address,
      name: meta.name,
      symbol: meta.symbol,
      decimals: meta.decimals,
      addedAt: this.d.now(),
    };
    // `add`, not `put`: a concurrent add of the same contract must not be silently merged.
    try {
      await this.d.db.tokens.add(row);
    } catch (cause) {
      throw new ExtensionError('INVALID_REQUEST', `${row.symbol} is already in the list for this network.`, {
        cause,
      });
    }
    return view(row);
  }

  async remove(chainId: number, text: string): Promise<TokenView[]> {
    const id = tokenId(chainId, text.trim());
    if ((await this.d.db.tokens.get(id)) === undefined) {
      throw new ExtensionError('NOT_FOUND', 'That token is not in the list for this network.');
    }
    await this.d.db.tokens.delete(id);
    return this.list(chainId);
  }

  /** The vault's balance of every listed token on the chain; one failing token does not hide the rest. */
  async balances(vaultId: string, chainId: number): Promise<TokenBalanceView[]> {
    const owner = await this.d.vaultAddress(vaultId);
    const tokens = await this.list(chainId);
    return Promise.all(
      tokens.map(async (t): Promise<TokenBalanceView> => {
        try {
          const b = await this.d.chain.balance(chainId, owner, t.address as `0x${string}`);
          return { ...t, ok: true, units: b.wei };
        } catch (e) {
          const reason = e instanceof ExtensionError ? e.message : 'The balance could not be read.';
          return { ...t, ok: false, reason };
        }
      }),
    );
  }
}
