/**
 * Transaction codec: the one place that turns an EIP-1559 (type-2, EIP-2718 envelope) transaction
 * into the exact unsigned bytes every signer reviews and signs, and back. Pure — viem only, no
 * network. Chain replay protection is the EIP-155 chain id inside the type-2 payload; signatures
 * are normalised to low-s (EIP-2) before serialisation; ERC-20 transfers are recognised by their
 * exact `transfer(address,uint256)` calldata.
 *
 * Decoding is deliberately strict (rule "no blind signing"): only the canonical encoding of a
 * plain, unsigned type-2 call with an empty access list is accepted, so what a signer is shown is
 * exactly what the bytes mean and two different byte strings can never describe the same request.
 */
import {
  bytesToHex,
  decodeFunctionData,
  encodeFunctionData,
  erc20Abi,
  formatUnits,
  fromRlp,
  getAddress,
  hexToBytes,
  isAddress,
  isHex,
  keccak256,
  numberToHex,
  serializeTransaction,
  type TransactionSerializableEIP1559,
} from 'viem';
import { VaultError } from '../errors.ts';

/** An unsigned EIP-1559 transaction (type 2, empty access list, never a contract creation). */
export interface UnsignedTx {
  chainId: number;
  nonce: number;
  to: `0x${string}`;
  value: bigint;
  data: `0x${string}`;
  gas: bigint;
  maxFeePerGas: bigint;
  maxPriorityFeePerGas: bigint;
}

export interface TxClass {
  kind: 'native' | 'erc20-transfer' | 'contract-call';
  /** Who receives value: `to` for native and contract calls, the decoded recipient for ERC-20. */
  recipient: `0x${string}`;
  /** Wei for native / contract calls, token base units for an ERC-20 transfer. */
  amount: bigint;
  /** The token contract for an ERC-20 transfer, otherwise null. */
  token: `0x${string}` | null;
}

/** Upper bound on an unsigned transaction: far above any real send, small enough to never hurt. */
export const MAX_UNSIGNED_TX_BYTES = 128 * 1024;

/** EIP-2718 type byte of an EIP-1559 transaction. */
const EIP1559_TYPE = 0x02;
const UINT256_MAX = 2n ** 256n - 1n;
const SECP256K1_N = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n;
const HALF_N = SECP256K1_N / 2n;

function invalid(message: string, cause?: unknown): VaultError {
  return new VaultError('INVALID_REQUEST', message, cause === undefined ? {} : { cause });
}

function assertFields(tx: UnsignedTx): void {
  if (!Number.isSafeInteger(tx.chainId) || tx.chainId < 1) throw invalid('The chain id is not valid.');
  if (!Number.isSafeInteger(tx.nonce) || tx.nonce < 0) throw invalid('The nonce is not valid.');
  if (!isAddress(tx.to, { strict: false })) throw invalid('The recipient is not a valid address.');
  if (!isHex(tx.data, { strict: true }) || tx.data.length % 2 !== 0) {
    throw invalid('The transaction data is not valid hex.');
  }
  for (const [name, v] of [
    ['value', tx.value],
    ['gas limit', tx.gas],
    ['max fee per gas', tx.maxFeePerGas],
    ['priority fee per gas', tx.maxPriorityFeePerGas],
  ] as const) {
    if (v < 0n || v > UINT256_MAX) throw invalid(`The ${name} is out of range.`);
  }
  // EIP-1559: a tip above the fee cap makes the transaction invalid on every node.
  if (tx.maxPriorityFeePerGas > tx.maxFeePerGas) {
    throw invalid('The priority fee is higher than the maximum fee.');
  }
}

function toSerializable(tx: UnsignedTx): TransactionSerializableEIP1559 {
  return {
    type: 'eip1559',
    chainId: tx.chainId,
    nonce: tx.nonce,
    // Checksum case is not part of the bytes; normalising keeps viem's own address check quiet.
    to: getAddress(tx.to),
    value: tx.value,
    data: tx.data,
    gas: tx.gas,
    maxFeePerGas: tx.maxFeePerGas,
    maxPriorityFeePerGas: tx.maxPriorityFeePerGas,
    accessList: [],
  };
}

/** The unsigned type-2 serialisation `0x02 || rlp([...9 fields])`, byte-identical to viem's. */
export function encodeUnsignedTx(tx: UnsignedTx): Uint8Array {
  assertFields(tx);
  return hexToBytes(serializeTransaction(toSerializable(tx)));
}

/** An RLP scalar as a bigint; canonical form (no leading zeros) is enforced by re-encoding. */
function scalar(item: unknown, name: string): bigint {
  if (typeof item !== 'string' || !isHex(item)) throw invalid(`The ${name} field is malformed.`);
  return item === '0x' ? 0n : BigInt(item);
}

/**
 * Parses unsigned type-2 bytes. Refuses anything that is not the canonical encoding of an unsigned,
 * access-list-free EIP-1559 call, with a message saying what was wrong.
 */
export function decodeUnsignedTx(bytes: Uint8Array): UnsignedTx {
  if (!(bytes instanceof Uint8Array) || bytes.length === 0) throw invalid('The transaction is empty.');
  if (bytes.length > MAX_UNSIGNED_TX_BYTES) {
    throw invalid(`The transaction is larger than ${MAX_UNSIGNED_TX_BYTES / 1024} KiB.`);
  }
  const type = bytes[0];
  if (type !== EIP1559_TYPE) {
    // Legacy transactions start with an RLP list prefix (≥ 0xc0); typed ones with their type byte.
    const what =
      type !== undefined && type >= 0xc0 ? 'a legacy transaction' : `type ${type ?? '?'} transaction`;
    throw invalid(`Only EIP-1559 (type 2) transactions are supported, not ${what}.`);
  }
  let items: unknown;
  try {
    items = fromRlp(bytes.subarray(1), 'hex');
  } catch (e) {
    throw invalid('The transaction bytes are not valid RLP.', e);
  }
  if (!Array.isArray(items)) throw invalid('The transaction payload is not an RLP list.');
  if (items.length === 12) throw invalid('The transaction is already signed; expected unsigned bytes.');
  if (items.length !== 9) throw invalid(`The transaction has ${items.length} fields, expected 9.`);
  const [chainId, nonce, maxPriority, maxFee, gas, to, value, data, accessList] = items as unknown[];

  if (!Array.isArray(accessList)) throw invalid('The access list is malformed.');
  if (accessList.length !== 0) throw invalid('Transactions with an access list are not supported.');
  if (to === '0x') throw invalid('Contract creation is not supported; the transaction has no recipient.');
  if (typeof to !== 'string' || !isAddress(to, { strict: false })) {
    throw invalid('The recipient field is not a 20-byte address.');
  }
  if (typeof data !== 'string' || !isHex(data)) throw invalid('The data field is malformed.');

  const chainIdN = scalar(chainId, 'chain id');
  const nonceN = scalar(nonce, 'nonce');
  if (chainIdN < 1n || chainIdN > BigInt(Number.MAX_SAFE_INTEGER))
    throw invalid('The chain id is not valid.');
  // EIP-2681 caps the nonce at 2^64 - 1; a JS number caps it lower, which no account will reach.
  if (nonceN > BigInt(Number.MAX_SAFE_INTEGER)) throw invalid('The nonce is too large.');

  const tx: UnsignedTx = {
    chainId: Number(chainIdN),
    nonce: Number(nonceN),
    to: getAddress(to),
    value: scalar(value, 'value'),
    data,
    gas: scalar(gas, 'gas limit'),
    maxFeePerGas: scalar(maxFee, 'max fee'),
    maxPriorityFeePerGas: scalar(maxPriority, 'priority fee'),
  };
  // Canonical check: leading zeros, long-form lengths or any other alternative spelling of the same
  // fields would re-encode differently. Comparing bytes rules them all out at once.
  const again = encodeUnsignedTx(tx);
  if (!equalBytes(again, bytes)) throw invalid('The transaction is not canonically encoded.');
  return tx;
}

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * The EIP-1559 signing hash: keccak256 of the unsigned serialisation. The bytes are decoded first so
 * a digest is only ever produced for something `describe` can show.
 */
export function txDigest(bytes: Uint8Array): Uint8Array {
  decodeUnsignedTx(bytes);
  return keccak256(bytes, 'bytes');
}

/**
 * The signed raw transaction. A high-s signature (valid ECDSA, but refused by Ethereum per EIP-2) is
 * flipped to its low-s twin with the opposite recovery bit, which recovers the same address.
 */
export function serializeSigned(
  tx: UnsignedTx,
  sig: { r: bigint; s: bigint; recovery: number },
): `0x${string}` {
  assertFields(tx);
  if (sig.recovery !== 0 && sig.recovery !== 1) throw invalid('The signature recovery bit is not 0 or 1.');
  if (sig.r <= 0n || sig.r >= SECP256K1_N || sig.s <= 0n || sig.s >= SECP256K1_N) {
    throw invalid('The signature is out of range.');
  }
  let s = sig.s;
  let yParity = sig.recovery;
  if (s > HALF_N) {
    s = SECP256K1_N - s;
    yParity ^= 1;
  }
  return serializeTransaction(toSerializable(tx), {
    r: numberToHex(sig.r, { size: 32 }),
    s: numberToHex(s, { size: 32 }),
    yParity,
  });
}

/** The transaction hash nodes and explorers use: keccak256 of the signed serialisation. */
export function signedTxHash(raw: `0x${string}`): `0x${string}` {
  return keccak256(raw);
}

/**
 * What the transaction does. ERC-20 `transfer` is recognised only when the calldata is exactly the
 * canonical ABI encoding (no trailing bytes, no dirty address padding) and no ETH rides along;
 * anything else is shown as a raw contract call.
 */
export function classify(tx: UnsignedTx): TxClass {
  if (tx.data === '0x') return { kind: 'native', recipient: tx.to, amount: tx.value, token: null };
  const call: TxClass = { kind: 'contract-call', recipient: tx.to, amount: tx.value, token: null };
  if (tx.value !== 0n) return call;
  try {
    const decoded = decodeFunctionData({ abi: erc20Abi, data: tx.data });
    if (decoded.functionName !== 'transfer') return call;
    const [recipient, amount] = decoded.args;
    const again = encodeFunctionData({ abi: erc20Abi, functionName: 'transfer', args: [recipient, amount] });
    if (again.toLowerCase() !== tx.data.toLowerCase()) return call;
    return { kind: 'erc20-transfer', recipient: getAddress(recipient), amount, token: tx.to };
  } catch {
    // Not decodable with the ERC-20 ABI: an arbitrary contract call.
    return call;
  }
}

/** "250.5 USDC": base units with the asset's decimals, then its symbol. */
export function formatUnitsDisplay(amount: bigint, decimals: number, symbol: string): string {
  return `${formatUnits(amount, decimals)} ${symbol}`;
}

/** 0x-hex of bytes (re-exported so callers need not import viem for it). */
export function toHex(bytes: Uint8Array): `0x${string}` {
  return bytesToHex(bytes);
}
