/**
 * Deterministic randomness for tests, benchmarks and golden transcripts only: a ChaCha20 keystream
 * keyed by SHA-256(seed). Never used by production code paths (they take `cryptoRandomBytes`).
 */
import { chacha20 } from '@noble/ciphers/chacha.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { utf8 } from '../bytes.ts';
import type { RandomBytes } from '../random.ts';

export function seededRandom(seed: string | Uint8Array): RandomBytes {
  const key = sha256(typeof seed === 'string' ? utf8(seed) : seed);
  let counter = 0;
  return (n: number) => {
    // Each call takes a fresh 12-byte nonce (call counter), so outputs never overlap.
    const nonce = new Uint8Array(12);
    new DataView(nonce.buffer).setUint32(8, counter++, false);
    return chacha20(key, nonce, new Uint8Array(n));
  };
}
