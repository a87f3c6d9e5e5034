/**
 * The standard ABIs of the call families signers meet every day: ERC-20 (EIP-20 plus the common
 * `increaseAllowance`), ERC-721 (EIP-721), ERC-1155 (EIP-1155), WETH9, EIP-2612 and DAI permits,
 * Uniswap Permit2 (AllowanceTransfer and SignatureTransfer, github.com/Uniswap/permit2), and the
 * multicall shapes (Uniswap V3 periphery `multicall`, Multicall3). Each entry names its family so
 * the decoder can say which standard it read the bytes under.
 */
import { type AbiFunction, parseAbiItem, toFunctionSelector } from 'viem';

export type Family =
  | 'erc20'
  | 'erc20-or-erc721'
  | 'erc721'
  | 'erc1155'
  | 'nft'
  | 'weth'
  | 'eip2612'
  | 'dai-permit'
  | 'permit2'
  | 'multicall';

interface Entry {
  family: Family;
  signature: string;
}

// ERC-20 and ERC-721 share `transferFrom(address,address,uint256)` and `approve(address,uint256)`:
// the bytes alone cannot say whether the uint256 is an amount or a token id ("erc20-or-erc721").
const ENTRIES: readonly Entry[] = [
  { family: 'erc20', signature: 'function transfer(address to, uint256 amount)' },
  { family: 'erc20-or-erc721', signature: 'function approve(address spender, uint256 amount)' },
  {
    family: 'erc20-or-erc721',
    signature: 'function transferFrom(address from, address to, uint256 amount)',
  },
  { family: 'erc20', signature: 'function increaseAllowance(address spender, uint256 addedValue)' },
  { family: 'erc20', signature: 'function decreaseAllowance(address spender, uint256 subtractedValue)' },
  { family: 'erc721', signature: 'function safeTransferFrom(address from, address to, uint256 tokenId)' },
  {
    family: 'erc721',
    signature: 'function safeTransferFrom(address from, address to, uint256 tokenId, bytes data)',
  },
  {
    family: 'erc1155',
    signature: 'function safeTransferFrom(address from, address to, uint256 id, uint256 amount, bytes data)',
  },
  {
    family: 'erc1155',
    signature:
      'function safeBatchTransferFrom(address from, address to, uint256[] ids, uint256[] amounts, bytes data)',
  },
  { family: 'nft', signature: 'function setApprovalForAll(address operator, bool approved)' },
  { family: 'weth', signature: 'function deposit()' },
  { family: 'weth', signature: 'function withdraw(uint256 amount)' },
  {
    family: 'eip2612',
    signature:
      'function permit(address owner, address spender, uint256 value, uint256 deadline, uint8 v, bytes32 r, bytes32 s)',
  },
  {
    family: 'dai-permit',
    signature:
      'function permit(address holder, address spender, uint256 nonce, uint256 expiry, bool allowed, uint8 v, bytes32 r, bytes32 s)',
  },
  // Permit2 AllowanceTransfer
  {
    family: 'permit2',
    signature: 'function approve(address token, address spender, uint160 amount, uint48 expiration)',
  },
  {
    family: 'permit2',
    signature:
      'function permit(address owner, ((address token, uint160 amount, uint48 expiration, uint48 nonce) details, address spender, uint256 sigDeadline) permitSingle, bytes signature)',
  },
  {
    family: 'permit2',
    signature:
      'function permit(address owner, ((address token, uint160 amount, uint48 expiration, uint48 nonce)[] details, address spender, uint256 sigDeadline) permitBatch, bytes signature)',
  },
  {
    family: 'permit2',
    signature: 'function transferFrom(address from, address to, uint160 amount, address token)',
  },
  {
    family: 'permit2',
    signature:
      'function transferFrom((address from, address to, uint160 amount, address token)[] transferDetails)',
  },
  // Permit2 SignatureTransfer
  {
    family: 'permit2',
    signature:
      'function permitTransferFrom(((address token, uint256 amount) permitted, uint256 nonce, uint256 deadline) permit, (address to, uint256 requestedAmount) transferDetails, address owner, bytes signature)',
  },
  {
    family: 'permit2',
    signature:
      'function permitTransferFrom(((address token, uint256 amount)[] permitted, uint256 nonce, uint256 deadline) permit, (address to, uint256 requestedAmount)[] transferDetails, address owner, bytes signature)',
  },
  {
    family: 'permit2',
    signature:
      'function permitWitnessTransferFrom(((address token, uint256 amount) permitted, uint256 nonce, uint256 deadline) permit, (address to, uint256 requestedAmount) transferDetails, address owner, bytes32 witness, string witnessTypeString, bytes signature)',
  },
  {
    family: 'permit2',
    signature:
      'function permitWitnessTransferFrom(((address token, uint256 amount)[] permitted, uint256 nonce, uint256 deadline) permit, (address to, uint256 requestedAmount)[] transferDetails, address owner, bytes32 witness, string witnessTypeString, bytes signature)',
  },
  // Multicalls
  { family: 'multicall', signature: 'function multicall(bytes[] data)' },
  { family: 'multicall', signature: 'function multicall(uint256 deadline, bytes[] data)' },
  { family: 'multicall', signature: 'function multicall(bytes32 previousBlockhash, bytes[] data)' },
  {
    family: 'multicall',
    signature: 'function aggregate((address target, bytes callData)[] calls)',
  },
  {
    family: 'multicall',
    signature: 'function tryAggregate(bool requireSuccess, (address target, bytes callData)[] calls)',
  },
  {
    family: 'multicall',
    signature: 'function aggregate3((address target, bool allowFailure, bytes callData)[] calls)',
  },
  {
    family: 'multicall',
    signature:
      'function aggregate3Value((address target, bool allowFailure, uint256 value, bytes callData)[] calls)',
  },
];

export interface KnownFunction {
  family: Family;
  abi: AbiFunction;
  selector: `0x${string}`;
  /** Canonical signature, e.g. `transfer(address,uint256)`. */
  signature: string;
}

function build(): Map<string, KnownFunction> {
  const map = new Map<string, KnownFunction>();
  for (const e of ENTRIES) {
    const abi = parseAbiItem(e.signature) as AbiFunction;
    const selector = toFunctionSelector(abi);
    if (map.has(selector)) throw new Error(`duplicate selector ${selector} for ${e.signature}`);
    const signature = `${abi.name}(${abi.inputs.map(canonicalType).join(',')})`;
    map.set(selector, { family: e.family, abi, selector, signature });
  }
  return map;
}

function canonicalType(p: { type: string; components?: readonly { type: string }[] }): string {
  if (p.type.startsWith('tuple')) {
    const suffix = p.type.slice('tuple'.length);
    return `(${(p.components ?? []).map(canonicalType).join(',')})${suffix}`;
  }
  return p.type;
}

/** Selector (lower-case 0x + 8 hex) → the function it names in one of the families above. */
export const KNOWN_FUNCTIONS: ReadonlyMap<string, KnownFunction> = build();

/** Uniswap Permit2, deployed at the same address on every chain it is on. */
export const PERMIT2_ADDRESS = '0x000000000022D473030F116dDEE9F6B43aC78BA3';
/** ERC-165 interface id of ERC-721. */
export const ERC721_INTERFACE_ID = '0x80ac58cd';
