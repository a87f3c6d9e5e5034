/**
 * Test doubles for the describe ports: an in-memory chain (code and token metadata per address),
 * an address book, and a pending-hash list. Unit tests only; the real-chain adapter is tested
 * against a Hardhat node in chain-reader.test.ts.
 */
import type { Address, Hex } from 'viem';
import type { ChainReader, DescribeContext, TokenMetadata } from '../../src/vault/describe/index.ts';

export const USDC = '0xA0b86991c6218b36c1d19D4a2e9Eb0cE3606eB48' as Address;
export const WETH = '0xC02aaA39b223FE8D0A0e5C4F27eAD9083C756Cc2' as Address;
export const NFT = '0xBC4CA0EdA7647A8aB7C2061c2E118A18a936f13D' as Address;
export const ROUTER = '0x68b3465833fb72A70ecDF485E0e4C7bD8665Fc45' as Address;
export const PERMIT2 = '0x000000000022D473030F116dDEE9F6B43aC78BA3' as Address;
export const ALICE = '0x1111111111111111111111111111111111111111' as Address;
export const BOB = '0x2222222222222222222222222222222222222222' as Address;
export const EOA_SPENDER = '0x3333333333333333333333333333333333333333' as Address;

export interface FakeChain extends ChainReader {
  calls: string[];
}

export function fakeChain(opts: {
  contracts?: readonly Address[];
  tokens?: Record<string, TokenMetadata>;
  nfts?: readonly Address[];
  fail?: boolean;
}): FakeChain {
  const code = new Set((opts.contracts ?? []).map((a) => a.toLowerCase()));
  const tokens = new Map(Object.entries(opts.tokens ?? {}).map(([k, v]) => [k.toLowerCase(), v]));
  const nfts = new Set((opts.nfts ?? []).map((a) => a.toLowerCase()));
  const calls: string[] = [];
  return {
    calls,
    async getCode(address: Address): Promise<Hex | undefined> {
      calls.push(`getCode:${address}`);
      if (opts.fail) throw new Error('rpc unreachable');
      return code.has(address.toLowerCase()) ? '0x6080' : undefined;
    },
    async readErc20Metadata(token: Address): Promise<TokenMetadata | null> {
      calls.push(`meta:${token}`);
      if (opts.fail) throw new Error('rpc unreachable');
      return tokens.get(token.toLowerCase()) ?? null;
    },
    async supportsInterface(address: Address): Promise<boolean> {
      if (opts.fail) throw new Error('rpc unreachable');
      return nfts.has(address.toLowerCase());
    },
  };
}

/** A mainnet-like chain where the usual contracts have code and USDC/WETH have metadata. */
export function mainnet(extra: Partial<DescribeContext> = {}): DescribeContext {
  return {
    chainId: 1,
    chain: fakeChain({
      contracts: [USDC, WETH, NFT, ROUTER, PERMIT2],
      tokens: { [USDC]: { symbol: 'USDC', decimals: 6 }, [WETH]: { symbol: 'WETH', decimals: 18 } },
      nfts: [NFT],
    }),
    ...extra,
  };
}
