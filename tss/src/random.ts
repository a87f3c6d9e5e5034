/**
 * Randomness. Production code draws only from `crypto.getRandomValues`; every function that needs
 * randomness takes an injectable `RandomBytes` so tests can use a seeded stream (see `testing/`).
 */

/** Returns `n` fresh random bytes. */
export type RandomBytes = (n: number) => Uint8Array;

/** The platform CSPRNG (WebCrypto), available in browsers, service workers and Node ≥ 19. */
export const cryptoRandomBytes: RandomBytes = (n) => {
  const out = new Uint8Array(n);
  // getRandomValues fills at most 65,536 bytes per call.
  for (let off = 0; off < n; off += 65536) {
    globalThis.crypto.getRandomValues(out.subarray(off, Math.min(n, off + 65536)));
  }
  return out;
};
