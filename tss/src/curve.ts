/**
 * `@concord/tss/curve`: the validated secp256k1 scalar and point encodings for code outside the
 * library (the wallet's reshare and restore paths handle point shares and public keys). The same
 * functions the protocol uses (`math/scalar.ts`): scalars are 32-byte big-endian and < n, points
 * 33-byte SEC1 compressed, canonical and never the identity; a bad value throws a `TssError`.
 * Field arithmetic stays internal: callers outside the library only encode, decode and commit.
 */
export {
  mulG,
  type Point,
  pointFromBytes,
  pointToBytes,
  scalarFromBytes,
  scalarToBytes,
} from './math/scalar.ts';
