/**
 * The one place the extension binds to the device-identity module of `tss` (tss/src/transport/
 * identity.ts: Ed25519 device id + X25519 agreement key + binding signature, canonical encodings,
 * device code). Everything else in the extension imports from here, so a move of that module, or its
 * export from the `@concord/tss` package entry, is a one-line change.
 */
export {
  type DeviceIdentity,
  decodeDeviceIdentity,
  deviceCode,
  deviceFingerprint,
  encodeDeviceIdentity,
  encodePublicIdentity,
  generateDeviceIdentity,
  type PublicDeviceIdentity,
  parseDeviceCode,
  publicIdentity,
} from '@concord/tss/transport';
