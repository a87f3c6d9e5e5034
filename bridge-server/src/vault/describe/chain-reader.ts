/**
 * A ChainReader over a viem public client: the default adapter a device plugs its own RPC into.
 * Reads are plain `eth_getCode` / `eth_call`; a token that does not answer `symbol()` or
 * `decimals()` is "not an ERC-20" (null), not an error.
 */
import { type Address, erc20Abi, type Hex, type PublicClient } from 'viem';
import type { ChainReader, TokenMetadata } from './ports.ts';

const erc165Abi = [
  {
    type: 'function',
    name: 'supportsInterface',
    stateMutability: 'view',
    inputs: [{ name: 'interfaceId', type: 'bytes4' }],
    outputs: [{ name: '', type: 'bool' }],
  },
] as const;

export function publicClientReader(client: Pick<PublicClient, 'getCode' | 'readContract'>): ChainReader {
  return {
    getCode: (address: Address) => client.getCode({ address }),
    async readErc20Metadata(token: Address): Promise<TokenMetadata | null> {
      try {
        const [symbol, decimals] = await Promise.all([
          client.readContract({ address: token, abi: erc20Abi, functionName: 'symbol' }),
          client.readContract({ address: token, abi: erc20Abi, functionName: 'decimals' }),
        ]);
        return { symbol, decimals };
      } catch {
        return null;
      }
    },
    supportsInterface: (address: Address, interfaceId: Hex) =>
      client.readContract({
        address,
        abi: erc165Abi,
        functionName: 'supportsInterface',
        args: [interfaceId],
      }),
  };
}
