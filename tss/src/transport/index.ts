/**
 * Transport: device identities, end-to-end envelopes and ceremony safety codes (BRIDGE.md §4, §8).
 * Curated named exports (no `export *`).
 */
export { fromBase64url, toBase64url } from './base64url.ts';
export { ANNOUNCE_ROUND, contextOf } from './ceremony-keys.ts';
export {
  type AnnounceParams,
  aeadSeal,
  type DecodedEnvelope,
  decodeEnvelope,
  deriveEnvelopeKey,
  ENVELOPE_VERSION,
  type EnvelopeHeader,
  type EnvelopeMode,
  EnvelopeSession,
  type EnvelopeSessionOptions,
  encodeHeader,
  type OpenedEnvelope,
  ReplayGuard,
  type SealParams,
} from './envelope.ts';
export {
  DeviceIdentity,
  decodeDeviceIdentity,
  decodePublicIdentity,
  deviceCode,
  deviceFingerprint,
  encodeDeviceIdentity,
  encodePublicIdentity,
  generateDeviceIdentity,
  PUBLIC_IDENTITY_LENGTH,
  type PublicDeviceIdentity,
  parseDeviceCode,
  publicIdentity,
  verifyPublicIdentity,
} from './identity.ts';
export { type SafetyCodeInput, type SafetyMember, safetyCode, safetyDigest } from './safety-code.ts';
