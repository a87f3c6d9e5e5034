/**
 * Real contracts for tests: the Solidity sources under `test/contracts/` compiled offline with the
 * `solc` npm package (it ships the compiler as WebAssembly; nothing is downloaded) and deployed on a
 * real Hardhat node from account #0.
 *
 *   const chain = await startHardhat();
 *   const token = await deployToken(chain, { name: 'Test USD', symbol: 'TUSD', decimals: 6 });
 *   await token.mint(vaultAddress, 1_000n * 10n ** 6n);
 *   const nft = await deployNft(chain);
 *
 * Compiled output is cached per process (the compiler takes a few seconds to load).
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { resolve } from 'node:path';
import { type Abi, type Address, type Hex, parseAbi } from 'viem';
import type { HardhatNode } from './hardhat.ts';

const sources = resolve(import.meta.dirname, '../contracts');

interface Compiled {
  abi: Abi;
  bytecode: Hex;
}

/** solc's standard-JSON output, as far as this helper reads it. */
interface SolcOutput {
  errors?: { severity: 'error' | 'warning'; formattedMessage: string }[];
  contracts: Record<string, Record<string, { abi: Abi; evm: { bytecode: { object: string } } }>>;
}

let compiled: Map<string, Compiled> | undefined;

/** Compiles every contract under test/contracts/ once per process; throws on any compiler error. */
export function compileContracts(): Map<string, Compiled> {
  if (compiled !== undefined) return compiled;
  // solc is CommonJS and loads its ~9 MB WebAssembly compiler on require.
  const solc = createRequire(import.meta.url)('solc') as { compile(input: string): string };
  const files = ['TestToken.sol', 'TestNft.sol'];
  const input = {
    language: 'Solidity',
    sources: Object.fromEntries(
      files.map((f) => [f, { content: readFileSync(resolve(sources, f), 'utf8') }]),
    ),
    settings: {
      optimizer: { enabled: true, runs: 200 },
      evmVersion: 'cancun',
      outputSelection: { '*': { '*': ['abi', 'evm.bytecode.object'] } },
    },
  };
  const out = JSON.parse(solc.compile(JSON.stringify(input))) as SolcOutput;
  const errors = (out.errors ?? []).filter((e) => e.severity === 'error');
  if (errors.length > 0) throw new Error(`solc: ${errors.map((e) => e.formattedMessage).join('\n')}`);
  const result = new Map<string, Compiled>();
  for (const file of Object.values(out.contracts))
    for (const [name, c] of Object.entries(file))
      result.set(name, { abi: c.abi, bytecode: `0x${c.evm.bytecode.object}` });
  compiled = result;
  return result;
}

async function deploy(chain: HardhatNode, name: string, args: readonly unknown[]): Promise<Address> {
  const c = compileContracts().get(name);
  if (c === undefined) throw new Error(`no compiled contract ${name}`);
  const hash = await chain.walletClient.deployContract({ abi: c.abi, bytecode: c.bytecode, args });
  const receipt = await chain.publicClient.waitForTransactionReceipt({ hash });
  if (receipt.status !== 'success' || receipt.contractAddress == null)
    throw new Error(`deploying ${name} failed`);
  return receipt.contractAddress;
}

export const TOKEN_ABI = parseAbi([
  'function name() view returns (string)',
  'function symbol() view returns (string)',
  'function decimals() view returns (uint8)',
  'function totalSupply() view returns (uint256)',
  'function balanceOf(address) view returns (uint256)',
  'function allowance(address, address) view returns (uint256)',
  'function nonces(address) view returns (uint256)',
  'function DOMAIN_SEPARATOR() view returns (bytes32)',
  'function mint(address to, uint256 value)',
  'function transfer(address to, uint256 value) returns (bool)',
  'function approve(address spender, uint256 value) returns (bool)',
  'function transferFrom(address from, address to, uint256 value) returns (bool)',
  'function permit(address owner, address spender, uint256 value, uint256 deadline, uint8 v, bytes32 r, bytes32 s)',
]);

export const NFT_ABI = parseAbi([
  'function ownerOf(uint256) view returns (address)',
  'function balanceOf(address) view returns (uint256)',
  'function isApprovedForAll(address, address) view returns (bool)',
  'function mint(address to, uint256 tokenId)',
  'function setApprovalForAll(address operator, bool approved)',
  'function transferFrom(address from, address to, uint256 tokenId)',
  'function safeTransferFrom(address from, address to, uint256 tokenId)',
]);

export interface DeployedToken {
  address: Address;
  name: string;
  symbol: string;
  decimals: number;
  /** Mints `amount` base units to `to` from account #0 and waits for the receipt. */
  mint(to: Address, amount: bigint): Promise<void>;
  balanceOf(owner: Address): Promise<bigint>;
  allowance(owner: Address, spender: Address): Promise<bigint>;
}

export async function deployToken(
  chain: HardhatNode,
  opts: { name?: string; symbol?: string; decimals?: number } = {},
): Promise<DeployedToken> {
  const name = opts.name ?? 'Test USD';
  const symbol = opts.symbol ?? 'TUSD';
  const decimals = opts.decimals ?? 6;
  const address = await deploy(chain, 'TestToken', [name, symbol, decimals]);
  return {
    address,
    name,
    symbol,
    decimals,
    async mint(to, amount) {
      const hash = await chain.walletClient.writeContract({
        address,
        abi: TOKEN_ABI,
        functionName: 'mint',
        args: [to, amount],
      });
      await chain.publicClient.waitForTransactionReceipt({ hash });
    },
    balanceOf: (owner) =>
      chain.publicClient.readContract({ address, abi: TOKEN_ABI, functionName: 'balanceOf', args: [owner] }),
    allowance: (owner, spender) =>
      chain.publicClient.readContract({
        address,
        abi: TOKEN_ABI,
        functionName: 'allowance',
        args: [owner, spender],
      }),
  };
}

export interface DeployedNft {
  address: Address;
  mint(to: Address, tokenId: bigint): Promise<void>;
  ownerOf(tokenId: bigint): Promise<Address>;
}

export async function deployNft(chain: HardhatNode): Promise<DeployedNft> {
  const address = await deploy(chain, 'TestNft', []);
  return {
    address,
    async mint(to, tokenId) {
      const hash = await chain.walletClient.writeContract({
        address,
        abi: NFT_ABI,
        functionName: 'mint',
        args: [to, tokenId],
      });
      await chain.publicClient.waitForTransactionReceipt({ hash });
    },
    ownerOf: (tokenId) =>
      chain.publicClient.readContract({ address, abi: NFT_ABI, functionName: 'ownerOf', args: [tokenId] }),
  };
}
