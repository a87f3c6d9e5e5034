/**
 * Ethereum address of a secp256k1 public key (Yellow Paper appendix F: keccak-256 of the 64-byte
 * uncompressed point, last 20 bytes) with the EIP-55 mixed-case checksum.
 */
import { keccak_256 } from '@noble/hashes/sha3.js';
import { toHex, utf8 } from '../bytes.ts';
import { pointFromBytes } from '../math/scalar.ts';

/** EIP-55: uppercase the hex letter at i when nibble i of keccak-256(lowercase hex) is ≥ 8. */
export function toChecksumAddress(address: string): string {
  const hex = address.toLowerCase().replace(/^0x/, '');
  if (!/^[0-9a-f]{40}$/.test(hex)) throw new RangeError('address must be 20 bytes of hex');
  const hash = toHex(keccak_256(utf8(hex)));
  let out = '0x';
  for (let i = 0; i < 40; i++) out += Number.parseInt(hash[i]!, 16) >= 8 ? hex[i]!.toUpperCase() : hex[i]!;
  return out;
}

/** EIP-55 address of a 33-byte compressed public key. */
export function ethereumAddress(publicKey: Uint8Array): string {
  const P = pointFromBytes(publicKey, 'public key');
  return toChecksumAddress(toHex(keccak_256(P.toBytes(false).subarray(1)).subarray(12)));
}
