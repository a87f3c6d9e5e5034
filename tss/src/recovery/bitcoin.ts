/**
 * Bitcoin encodings of a recovered key: WIF (Wallet Import Format: version byte 0x80 mainnet /
 * 0xef testnet, 32-byte key, 0x01 "compressed" suffix, Base58Check) and the native SegWit v0
 * pay-to-witness-public-key-hash address (BIP-141 P2WPKH: HASH160 of the compressed key; BIP-173
 * bech32 with hrp "bc" / "tb"). Compressed only: P2WPKH requires compressed keys (BIP-143).
 */
import { ripemd160 } from '@noble/hashes/legacy.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { bech32, createBase58check } from '@scure/base';
import { TssError } from '../errors.ts';
import { pointFromBytes, scalarFromBytes } from '../math/scalar.ts';

export type BitcoinNetwork = 'mainnet' | 'testnet';

const WIF_VERSION: Record<BitcoinNetwork, number> = { mainnet: 0x80, testnet: 0xef };
const HRP: Record<BitcoinNetwork, string> = { mainnet: 'bc', testnet: 'tb' };
const base58check = createBase58check(sha256);

/** WIF of a 32-byte private key, compressed form. The caller zeroes `privateKey`; strings cannot be. */
export function toWif(privateKey: Uint8Array, network: BitcoinNetwork = 'mainnet'): string {
  scalarFromBytes(privateKey, 'private key', { nonZero: true });
  const payload = new Uint8Array(34);
  payload[0] = WIF_VERSION[network];
  payload.set(privateKey, 1);
  payload[33] = 0x01;
  try {
    return base58check.encode(payload);
  } finally {
    payload.fill(0);
  }
}

/** HASH160 = RIPEMD-160(SHA-256(x)). */
export function hash160(data: Uint8Array): Uint8Array {
  return ripemd160(sha256(data));
}

/** BIP-173 bech32 P2WPKH address (witness v0, 20-byte program) of a compressed public key. */
export function p2wpkhAddress(publicKey: Uint8Array, network: BitcoinNetwork = 'mainnet'): string {
  pointFromBytes(publicKey, 'public key');
  if (publicKey.length !== 33) throw new TssError('INVALID_POINT', 'P2WPKH needs a compressed key');
  const program = hash160(publicKey);
  return bech32.encode(HRP[network], [0, ...bech32.toWords(program)]);
}
