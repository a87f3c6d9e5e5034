/**
 * Ethereum address of a secp256k1 public key: keccak-256 of the uncompressed point without its
 * prefix, last 20 bytes, with the EIP-55 mixed-case checksum. Core-only (noble), so the descriptor
 * can carry the address without viem.
 */
import { keccak_256 } from '@noble/hashes/sha3.js';
import { toHex, utf8 } from './bytes.ts';
import type { Point } from './math/scalar.ts';

export function toChecksumAddress(addrHexLower: string): string {
  const hex = addrHexLower.toLowerCase().replace(/^0x/, '');
  const hash = toHex(keccak_256(utf8(hex)));
  let out = '0x';
  for (let i = 0; i < hex.length; i++) {
    out += Number.parseInt(hash[i]!, 16) >= 8 ? hex[i]!.toUpperCase() : hex[i]!;
  }
  return out;
}

export function ethereumAddress(P: Point): string {
  const raw = P.toBytes(false).subarray(1);
  return toChecksumAddress(toHex(keccak_256(raw).subarray(12)));
}
