/**
 * @concord/tss — weighted threshold ECDSA on secp256k1 (DKLs23): distributed key generation with
 * signing power, the pairwise OT setup, and three-round signing. Pure state machines: bytes in,
 * bytes out, no I/O, no clock; the only runtime dependencies are @noble/*.
 *
 * Curated named exports (no `export *`); the list is locked by `test/exports.test.ts`. Other
 * entry points: `@concord/tss/transport` (device identity, E2E envelopes, safety codes),
 * `@concord/tss/backup`, `@concord/tss/recovery`, `@concord/tss/eth` (viem-based Ethereum helpers)
 * and `@concord/tss/testing` (in-memory drivers, seeded RNG; never for production).
 */
export { ethereumAddress, toChecksumAddress } from './address.ts';
export { fromHex, toHex } from './bytes.ts';
export {
  type DescriptorParty,
  decodeDescriptor,
  descriptorToJSON,
  encodeDescriptor,
  type VaultDescriptor,
  vaultIdFromSession,
} from './descriptor.ts';
export { paramsFingerprint } from './dkg/params.ts';
export { DKG_ROUNDS, type DkgOptions, type DkgResult, DkgSession } from './dkg/session.ts';
export { type AbortKind, isTssError, TssError, type TssErrorCode } from './errors.ts';
export { KeyShare, type PeerState } from './keyshare.ts';
export type { PartySpec } from './math/weighted.ts';
export { cryptoRandomBytes, type RandomBytes } from './random.ts';
export type { Progress, ProtocolMessage, RoundEngine, SessionState } from './session/engine.ts';
export type { Signature } from './sign/rounds.ts';
export { SIGN_ROUNDS, type SignOptions, SignSession } from './sign/session.ts';
