/**
 * Checks a 65-byte Ethereum signature (r ‖ s ‖ v, v ∈ {27, 28}: what `personal_sign` and
 * `eth_signTypedData_v4` return) over a request's digest before any device stores it or hands it to
 * a dApp: plain secp256k1 verification against the vault's group key (low-s, SEC1 compressed key
 * from the request), and the recovery id must recover that same key — so a signer cannot pass off
 * a signature of another digest, by another key, or with a wrong `v` that dApps would misread.
 */
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { VaultError } from '../errors.ts';

const bad = (why: string) => new VaultError('INVALID_REQUEST', `Signature refused: ${why}.`);

function hexBytes(hex: string): Uint8Array {
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = Number.parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return out;
}

/** Throws unless `sig` (65 bytes) is the group key's signature of `digest` with the right `v`. */
export function checkDigestSignature(sig: Uint8Array, digest: Uint8Array, groupKeyHex: string): void {
  if (sig.length !== 65) throw bad('not 65 bytes');
  if (digest.length !== 32) throw bad('the digest is not 32 bytes');
  const v = sig[64]!;
  if (v !== 27 && v !== 28) throw bad('v is neither 27 nor 28');
  const compact = sig.subarray(0, 64);
  const key = hexBytes(groupKeyHex);
  let ok = false;
  try {
    ok = secp256k1.verify(compact, digest, key, { prehash: false, lowS: true, format: 'compact' });
  } catch {
    ok = false;
  }
  if (!ok) throw bad('it does not verify against the vault key');
  let recovered: Uint8Array;
  try {
    const recoverable = new Uint8Array(65);
    recoverable[0] = v - 27;
    recoverable.set(compact, 1);
    recovered = secp256k1.recoverPublicKey(recoverable, digest, { prehash: false });
  } catch {
    throw bad('its recovery id does not recover a key');
  }
  if (recovered.length !== key.length || recovered.some((b, i) => b !== key[i])) {
    throw bad('its recovery id recovers another key');
  }
}
