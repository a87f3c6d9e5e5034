/**
 * Failure-safe, memoised access to the ports for one description. A port that is missing answers
 * "unknown"; a port that throws answers "unknown" and leaves one CHAIN_READ_FAILED warning, so a
 * flaky RPC can make a description less informative but can never lose or hide the request.
 */
import type { Address, Hex } from 'viem';
import type { DescribeContext, TokenMetadata } from './ports.ts';
import { type Warning, warning } from './warnings.ts';

export class Reads {
  readonly warnings: Warning[] = [];
  private readonly code = new Map<string, Promise<boolean | null>>();
  private readonly meta = new Map<string, Promise<TokenMetadata | null>>();
  private readonly iface = new Map<string, Promise<boolean | null>>();
  private readonly seen = new Map<string, Promise<boolean | null>>();
  private failed = false;

  constructor(readonly ctx: DescribeContext) {}

  private fail(what: string, e: unknown): null {
    if (!this.failed) {
      this.failed = true;
      const why = e instanceof Error ? e.message.split('\n')[0] : String(e);
      this.warnings.push(
        warning(
          'CHAIN_READ_FAILED',
          `Could not read ${what} from the chain (${why}); some details are missing.`,
        ),
      );
    }
    return null;
  }

  /** true: has code; false: no code; null: unknown. */
  hasCode(address: Address): Promise<boolean | null> {
    const chain = this.ctx.chain;
    if (!chain) return Promise.resolve(null);
    const key = address.toLowerCase();
    let p = this.code.get(key);
    if (!p) {
      p = chain.getCode(address).then(
        (c: Hex | undefined) => c !== undefined && c !== '0x' && c.length > 2,
        (e) => this.fail(`the code at ${address}`, e),
      );
      this.code.set(key, p);
    }
    return p;
  }

  token(address: Address): Promise<TokenMetadata | null> {
    const chain = this.ctx.chain;
    if (!chain) return Promise.resolve(null);
    const key = address.toLowerCase();
    let p = this.meta.get(key);
    if (!p) {
      p = chain.readErc20Metadata(address).then(
        (m) => (m && Number.isInteger(m.decimals) && m.decimals >= 0 && m.decimals <= 255 ? m : null),
        (e) => this.fail(`token details of ${address}`, e),
      );
      this.meta.set(key, p);
    }
    return p;
  }

  supports(address: Address, interfaceId: Hex): Promise<boolean | null> {
    const chain = this.ctx.chain;
    if (!chain?.supportsInterface) return Promise.resolve(null);
    const key = `${address.toLowerCase()}:${interfaceId}`;
    let p = this.iface.get(key);
    if (!p) {
      // A contract without ERC-165 reverts: that is an answer ("no"), not a failed read.
      p = chain.supportsInterface(address, interfaceId).catch(() => false);
      this.iface.set(key, p);
    }
    return p;
  }

  /** true: interacted before; false: first time; null: unknown. */
  interacted(address: Address): Promise<boolean | null> {
    const known = this.ctx.known;
    if (!known) return Promise.resolve(null);
    const key = address.toLowerCase();
    let p = this.seen.get(key);
    if (!p) {
      p = known.hasInteracted(address).catch(() => null);
      this.seen.set(key, p);
    }
    return p;
  }
}
