/**
 * Device identity (BRIDGE.md §4, §8; THREATS B31, B33, B42).
 *
 * Each device holds a long-term Ed25519 signing key (RFC 8032) whose 32-byte public key is the
 * **device id**: its bridge mailbox address, its party id in `tss`, and the key that signs every
 * envelope it sends. It also holds a long-term X25519 agreement key (RFC 7748) used for the static
 * half of envelope key agreement. The agreement key is bound to the device id by an Ed25519
 * signature over a tagged hash of both, so a relay cannot pair someone's device id with its own
 * agreement key.
 *
 * Encodings are canonical and versioned: `kind(1) ‖ version(1) ‖ fields`, fixed length. The secret
 * keys live in a module-private WeakMap rather than on the object, so `JSON.stringify`,
 * `console.log` and structured logging of a `DeviceIdentity` never reveal them.
 */
import { ed25519, x25519 } from '@noble/curves/ed25519.js';
import { concatBytes, equalBytes, toHex, zeroize } from '../bytes.ts';
import { TssError } from '../errors.ts';
import { taggedHash } from '../hash.ts';
import { cryptoRandomBytes, type RandomBytes } from '../random.ts';
import { TAGS } from '../tags.ts';
import { fromBase64url, toBase64url } from './base64url.ts';

/** Encoding kinds and the current version. */
const KIND_PUBLIC = 0x50; // 'P'
const KIND_SECRET = 0x53; // 'S'
const VERSION = 1;
export const PUBLIC_IDENTITY_LENGTH = 2 + 32 + 32 + 64;
export const SECRET_IDENTITY_LENGTH = 2 + 32 + 32 + 64;

/** The shareable half of a device identity. */
export interface PublicDeviceIdentity {
  /** Ed25519 public key (32 bytes): device id, mailbox address, tss party id. */
  readonly deviceId: Uint8Array;
  /** X25519 public key (32 bytes) used for envelope key agreement. */
  readonly agreementKey: Uint8Array;
  /** Ed25519 signature by `deviceId` over the tagged hash of (deviceId, agreementKey). */
  readonly binding: Uint8Array;
}

interface Secrets {
  signing: Uint8Array;
  agreement: Uint8Array;
}

const SECRETS = new WeakMap<DeviceIdentity, Secrets>();

function bindingMessage(deviceId: Uint8Array, agreementKey: Uint8Array): Uint8Array {
  return taggedHash(TAGS.deviceBinding, deviceId, agreementKey);
}

function secretsOf(id: DeviceIdentity): Secrets {
  const s = SECRETS.get(id);
  if (s === undefined) throw new TssError('SESSION_STATE', 'device identity has been destroyed');
  return s;
}

/**
 * A device's full identity, secret keys included. Only the methods below touch the secrets; call
 * `destroy()` when done (best-effort zeroing: the JS engine may hold copies).
 */
export class DeviceIdentity implements PublicDeviceIdentity {
  readonly deviceId: Uint8Array;
  readonly agreementKey: Uint8Array;
  readonly binding: Uint8Array;

  /** @internal use `generateDeviceIdentity` or `decodeDeviceIdentity`. */
  constructor(signingSecret: Uint8Array, agreementSecret: Uint8Array, binding?: Uint8Array) {
    if (signingSecret.length !== 32 || agreementSecret.length !== 32) {
      throw new TssError('BAD_LENGTH', 'device secret keys must be 32 bytes');
    }
    const signing = Uint8Array.from(signingSecret);
    const agreement = Uint8Array.from(agreementSecret);
    this.deviceId = ed25519.getPublicKey(signing);
    this.agreementKey = x25519.getPublicKey(agreement);
    const msg = bindingMessage(this.deviceId, this.agreementKey);
    // Ed25519 is deterministic, so a stored binding must equal a recomputed one; checking it
    // catches a stored identity whose fields were mixed up or corrupted.
    const fresh = ed25519.sign(msg, signing);
    if (binding !== undefined && !equalBytes(binding, fresh)) {
      throw new TssError('DECODE_FAILED', 'stored device identity binding does not match its keys');
    }
    this.binding = fresh;
    SECRETS.set(this, { signing, agreement });
  }

  /** Ed25519 signature by the device key. */
  sign(message: Uint8Array): Uint8Array {
    return ed25519.sign(message, secretsOf(this).signing);
  }

  /** X25519(agreement secret, peer public). Throws on a low-order peer key (all-zero output). */
  agree(peerAgreementKey: Uint8Array): Uint8Array {
    try {
      return x25519.getSharedSecret(secretsOf(this).agreement, peerAgreementKey);
    } catch (cause) {
      throw new TssError('INVALID_POINT', 'peer agreement key is invalid or of low order', { cause });
    }
  }

  /** Lowercase hex of the device id (the party id form used in `TssError.culprits`). */
  get idHex(): string {
    return toHex(this.deviceId);
  }

  get destroyed(): boolean {
    return !SECRETS.has(this);
  }

  /** Zero the secret keys; the object is unusable afterwards. Idempotent. */
  destroy(): void {
    const s = SECRETS.get(this);
    if (s) zeroize(s.signing, s.agreement);
    SECRETS.delete(this);
  }

  /** Redacted: only public fields. */
  toJSON(): { deviceId: string; agreementKey: string; secret: '[redacted]' } {
    return {
      deviceId: toBase64url(this.deviceId),
      agreementKey: toBase64url(this.agreementKey),
      secret: '[redacted]',
    };
  }

  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return `DeviceIdentity(${toBase64url(this.deviceId)}, [redacted])`;
  }
}

/** A fresh device identity from 64 bytes of randomness (injectable for tests). */
export function generateDeviceIdentity(rng: RandomBytes = cryptoRandomBytes): DeviceIdentity {
  const seed = rng(64);
  try {
    return new DeviceIdentity(seed.subarray(0, 32), seed.subarray(32, 64));
  } finally {
    zeroize(seed);
  }
}

/**
 * The same device with a fresh envelope (X25519) key: the Ed25519 signing key, hence the device id,
 * is kept; the agreement secret is new (from `rng`) and bound by a fresh binding signature. Used by
 * envelope-key rotation at a reshare (reshare/rotation.ts). `identity` itself is left unchanged; the
 * caller destroys it when the old key is retired.
 */
export function rotateAgreementKey(
  identity: DeviceIdentity,
  rng: RandomBytes = cryptoRandomBytes,
): DeviceIdentity {
  const agreement = rng(32);
  try {
    return new DeviceIdentity(secretsOf(identity).signing, agreement);
  } finally {
    zeroize(agreement);
  }
}

/** The shareable half (fresh copies, no secrets). */
export function publicIdentity(id: PublicDeviceIdentity): PublicDeviceIdentity {
  return {
    deviceId: Uint8Array.from(id.deviceId),
    agreementKey: Uint8Array.from(id.agreementKey),
    binding: Uint8Array.from(id.binding),
  };
}

/** True iff the binding signature is a valid strict (non-ZIP215) Ed25519 signature by `deviceId`. */
export function verifyPublicIdentity(p: PublicDeviceIdentity): boolean {
  if (p.deviceId.length !== 32 || p.agreementKey.length !== 32 || p.binding.length !== 64) return false;
  try {
    return ed25519.verify(p.binding, bindingMessage(p.deviceId, p.agreementKey), p.deviceId, {
      zip215: false,
    });
  } catch {
    return false;
  }
}

/** Canonical encoding: 'P' ‖ v1 ‖ deviceId ‖ agreementKey ‖ binding (130 bytes). */
export function encodePublicIdentity(p: PublicDeviceIdentity): Uint8Array {
  return concatBytes(Uint8Array.of(KIND_PUBLIC, VERSION), p.deviceId, p.agreementKey, p.binding);
}

/** Decode and verify the binding. Throws `DECODE_FAILED`, `UNSUPPORTED_VERSION` or `SIGNATURE_INVALID`. */
export function decodePublicIdentity(bytes: Uint8Array): PublicDeviceIdentity {
  if (!(bytes instanceof Uint8Array) || bytes.length !== PUBLIC_IDENTITY_LENGTH || bytes[0] !== KIND_PUBLIC) {
    throw new TssError('DECODE_FAILED', 'not a public device identity encoding');
  }
  if (bytes[1] !== VERSION) throw new TssError('UNSUPPORTED_VERSION', `public identity version ${bytes[1]}`);
  const p: PublicDeviceIdentity = {
    deviceId: bytes.slice(2, 34),
    agreementKey: bytes.slice(34, 66),
    binding: bytes.slice(66, 130),
  };
  if (!verifyPublicIdentity(p)) {
    throw new TssError('SIGNATURE_INVALID', 'device identity binding signature is invalid', {
      culprits: [toHex(p.deviceId)],
    });
  }
  return p;
}

/**
 * Secret encoding for the device's own encrypted storage: 'S' ‖ v1 ‖ Ed25519 seed ‖ X25519 secret ‖
 * binding. Callers must encrypt it at rest and zero the returned buffer after use.
 */
export function encodeDeviceIdentity(id: DeviceIdentity): Uint8Array {
  const s = secretsOf(id);
  return concatBytes(Uint8Array.of(KIND_SECRET, VERSION), s.signing, s.agreement, id.binding);
}

export function decodeDeviceIdentity(bytes: Uint8Array): DeviceIdentity {
  if (!(bytes instanceof Uint8Array) || bytes.length !== SECRET_IDENTITY_LENGTH || bytes[0] !== KIND_SECRET) {
    throw new TssError('DECODE_FAILED', 'not a secret device identity encoding');
  }
  if (bytes[1] !== VERSION) throw new TssError('UNSUPPORTED_VERSION', `device identity version ${bytes[1]}`);
  return new DeviceIdentity(bytes.subarray(2, 34), bytes.subarray(34, 66), bytes.subarray(66, 130));
}

// Crockford base32 (no I, L, O, U): unambiguous when read aloud or typed.
const CROCKFORD = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
const CODE_PREFIX = 'concord-device-v1';

/**
 * Short fingerprint of a public identity, `XXXX-XXXX-XXXX` (60 bits of a tagged SHA-256 of the
 * canonical encoding, Crockford base32). For people to compare or read out; not a security
 * parameter on its own (the safety code covers whole ceremonies).
 */
export function deviceFingerprint(p: PublicDeviceIdentity): string {
  const h = taggedHash(TAGS.deviceFingerprint, encodePublicIdentity(p));
  let acc = 0n;
  for (let i = 0; i < 8; i++) acc = (acc << 8n) | BigInt(h[i]!);
  acc >>= 4n; // top 60 bits
  let out = '';
  for (let i = 11; i >= 0; i--) {
    out += CROCKFORD[Number((acc >> BigInt(i * 5)) & 31n)]!;
    if (i === 8 || i === 4) out += '-';
  }
  return out;
}

/**
 * Human-shareable device code: `concord-device-v1.<base64url(public identity)>.<fingerprint>`.
 * Fits a QR code or a copy-paste; the fingerprint lets people confirm by eye and catches typos.
 */
export function deviceCode(p: PublicDeviceIdentity): string {
  return `${CODE_PREFIX}.${toBase64url(encodePublicIdentity(p))}.${deviceFingerprint(p)}`;
}

/**
 * Parse and verify a device code: prefix, canonical encoding, binding signature and fingerprint.
 * Whitespace around the code is ignored; the fingerprint is compared case-insensitively.
 */
export function parseDeviceCode(code: string): PublicDeviceIdentity {
  const parts = code.trim().split('.');
  if (parts.length !== 3 || parts[0] !== CODE_PREFIX) {
    throw new TssError('DECODE_FAILED', 'not a Concord device code');
  }
  const p = decodePublicIdentity(fromBase64url(parts[1]!, 'device code'));
  if (deviceFingerprint(p) !== parts[2]!.toUpperCase()) {
    throw new TssError('DECODE_FAILED', 'device code fingerprint does not match its key');
  }
  return p;
}
