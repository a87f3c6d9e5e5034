/**
 * Ethereum helpers over a threshold signer (a separate subpath: it may use viem; the protocol
 * core stays @noble-only). Each helper hashes with viem's own hasher, asks the threshold signer
 * for a signature over that 32-byte digest, and returns what Ethereum tooling expects:
 *  - `signTransaction`: EIP-1559 / EIP-2930 / legacy (EIP-155) → the serialized signed transaction;
 *  - `signPersonalMessage`: EIP-191 `personal_sign` → 65-byte r‖s‖v (v = 27 + recovery);
 *  - `signTypedData`: EIP-712 → 65-byte r‖s‖v.
 * The threshold signature has already been checked with secp256k1.verify inside the core; here we
 * additionally check that it recovers to the vault address before returning it.
 */
import {
  type Hex,
  hashMessage,
  hashTypedData,
  keccak256,
  recoverAddress,
  type SignableMessage,
  serializeTransaction,
  type TransactionSerializable,
  type TypedData,
  type TypedDataDefinition,
  toHex as viemToHex,
} from 'viem';
import { fromHex, toHex } from '../bytes.ts';
import { TssError } from '../errors.ts';
import type { Signature } from '../sign/rounds.ts';

/** Runs a threshold signing ceremony over a digest (in memory, or over the bridge). */
export type DigestSigner = (digest: Uint8Array) => Promise<Signature> | Signature;

const hex32 = (n: bigint): Hex => viemToHex(n, { size: 32 });

async function signAndCheck(digest: Hex, sign: DigestSigner, expected: string): Promise<Signature> {
  const sig = await sign(fromHex(digest));
  const recovered = await recoverAddress({
    hash: digest,
    signature: { r: hex32(sig.r), s: hex32(sig.s), yParity: sig.recovery },
  });
  if (recovered.toLowerCase() !== expected.toLowerCase()) {
    throw new TssError('SIGNATURE_INVALID', 'signature does not recover to the vault address');
  }
  return sig;
}

/** 65-byte r‖s‖v signature as hex, v = 27 + recovery id (what personal_sign/eth_signTypedData return). */
export function toRsv(sig: Signature): Hex {
  return `0x${toHex(sig.compact)}${(27 + sig.recovery).toString(16)}`;
}

/** Sign a transaction; returns the serialized signed transaction (ready for eth_sendRawTransaction). */
export async function signTransaction(args: {
  transaction: TransactionSerializable;
  address: string;
  sign: DigestSigner;
}): Promise<Hex> {
  const digest = keccak256(serializeTransaction(args.transaction));
  const sig = await signAndCheck(digest, args.sign, args.address);
  return serializeTransaction(args.transaction, {
    r: hex32(sig.r),
    s: hex32(sig.s),
    yParity: sig.recovery,
    // Legacy transactions carry v; viem derives it from yParity and the chain id (EIP-155).
    v: BigInt(27 + sig.recovery),
  });
}

/** EIP-191 personal_sign. */
export async function signPersonalMessage(args: {
  message: SignableMessage;
  address: string;
  sign: DigestSigner;
}): Promise<Hex> {
  return toRsv(await signAndCheck(hashMessage(args.message), args.sign, args.address));
}

/** EIP-712 typed data (eth_signTypedData_v4). */
export async function signTypedData<
  const T extends TypedData | Record<string, unknown>,
  P extends keyof T | 'EIP712Domain',
>(args: { typedData: TypedDataDefinition<T, P>; address: string; sign: DigestSigner }): Promise<Hex> {
  return toRsv(await signAndCheck(hashTypedData(args.typedData), args.sign, args.address));
}
