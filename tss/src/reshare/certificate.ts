/**
 * The two-phase finish of a reshare (THREATS A23 "nobody deletes old shares until all confirmations
 * (signed transcript hash) are collected", A24 "all honest parties end in the same state"), after
 * the GG18 split-view lesson and two-phase commit.
 *
 *  phase 1  each new party finishes the reshare rounds, holds a *pending* KeyShare for epoch + 1
 *           (its old share stays active) and signs M = H(new descriptor, reshare sid, transcript)
 *           with its device identity key (Ed25519, transport/identity.ts).
 *  phase 2  a *certificate* is every new party's signature over the same M. A party activates the
 *           new epoch, and an old party deletes its old share, only on holding a complete, valid
 *           certificate. Without one everybody keeps signing on the old epoch, and a pending share
 *           is discarded when its attempt expires.
 *
 * Why this is enough: an honest new party signs only after its own shares passed every check
 * (rounds.ts), so a complete certificate proves that every new party holds a share of the new
 * epoch consistent with the certified descriptor; activating can never strand the key. A
 * certificate is self-contained and transferable, and `EpochState.onCertificate` hands back the
 * certificate to forward before it activates: once any honest party activates, every other honest
 * party receives the same certificate and moves to the same epoch. A party that signs for some and
 * not others (A24) therefore either completes nobody's certificate (all stay on the old epoch) or
 * completes someone's, which is then forwarded to all (all move). Nothing here does I/O or reads a
 * clock: callers pass `now`.
 *
 * Envelope-key rotation (rotation.ts): with a `RotationPolicy`, every new party's entry carries its
 * new envelope identity and its signature is over `rotationMessage(M, next)` instead of M, so the
 * certificate also certifies every member's new envelope key (encoding version 2).
 */
import { ed25519 } from '@noble/curves/ed25519.js';
import { compareBytes, equalBytes, toHex, u32be } from '../bytes.ts';
import { Reader, Writer } from '../codec/binary.ts';
import type { VaultDescriptor } from '../descriptor.ts';
import { TssError } from '../errors.ts';
import { taggedHash } from '../hash.ts';
import type { KeyShare } from '../keyshare.ts';
import { TAGS } from '../tags.ts';
import {
  decodePublicIdentity,
  encodePublicIdentity,
  PUBLIC_IDENTITY_LENGTH,
  type PublicDeviceIdentity,
} from '../transport/identity.ts';
import { descriptorHash } from './params.ts';
import { checkDistinct, checkRotation, type RotationPolicy, rotationMessage } from './rotation.ts';

/** Signs a 32-byte message with the device identity key; returns the signature bytes. */
export type IdentitySigner = (message: Uint8Array) => Uint8Array;

/** Ed25519 public identity keys by hex party id (in the wallet, the party id is that key). */
export type IdentityKeys = ReadonlyMap<string, Uint8Array>;

export interface CertificateSignature {
  readonly id: Uint8Array;
  readonly signature: Uint8Array;
  /** The party's new envelope identity when the certificate rotates keys (rotation.ts). */
  readonly rotation?: PublicDeviceIdentity;
}

export interface ReshareCertificate {
  readonly vaultId: Uint8Array;
  /** The new epoch. */
  readonly epoch: number;
  readonly sessionId: Uint8Array;
  readonly transcript: Uint8Array;
  /** One signature per new party, in new-party id order. */
  readonly signatures: readonly CertificateSignature[];
}

const CERT_FORMAT = 0x43; // 'C'
const CERT_VERSION = 1;
/** Every entry carries the party's new envelope identity (rotation.ts). */
const CERT_VERSION_ROTATING = 2;
const ED25519_SIGNATURE_BYTES = 64;

/** The message every new party signs: binds the whole new descriptor, the sid and the transcript. */
export function certificateMessage(
  descriptor: VaultDescriptor,
  sessionId: Uint8Array,
  transcript: Uint8Array,
): Uint8Array {
  return taggedHash(
    TAGS.reshareCertificate,
    descriptorHash(descriptor),
    u32be(descriptor.epoch),
    sessionId,
    transcript,
  );
}

/** Identity keys for the wallet's convention: a party id is its Ed25519 public key. */
export function identityKeysFromIds(d: VaultDescriptor): IdentityKeys {
  return new Map(d.parties.map((p) => [toHex(p.id), p.id]));
}

function invalid(message: string, culprits: string[] = []): TssError {
  return new TssError('CERTIFICATE_INVALID', message, { culprits, round: 'reshare.certificate' });
}

/** What party `id` signs: M itself, or M bound to its new envelope identity. */
export function signedMessage(message: Uint8Array, rotation: PublicDeviceIdentity | undefined): Uint8Array {
  return rotation === undefined ? message : rotationMessage(message, rotation);
}

/**
 * Checks an entry's rotation: required (and checked against the keys listed before the reshare)
 * under a policy; without one, a rotation that is present is still checked for binding and order.
 */
function checkEntryRotation(
  id: Uint8Array,
  identityKey: Uint8Array | undefined,
  rotation: PublicDeviceIdentity | undefined,
  policy: RotationPolicy | undefined,
): void {
  if (rotation === undefined) {
    if (policy !== undefined) {
      throw new TssError('ROTATION_INVALID', 'certificate signature binds no new envelope key', {
        culprits: [toHex(id)],
        round: 'reshare.rotation',
      });
    }
    return;
  }
  checkRotation(id, identityKey, rotation, policy);
}

function verifyOne(message: Uint8Array, key: Uint8Array | undefined, signature: Uint8Array): boolean {
  if (!key || signature.length !== ED25519_SIGNATURE_BYTES) return false;
  try {
    return ed25519.verify(signature, message, key);
  } catch {
    return false;
  }
}

/**
 * Check that `cert` holds a valid signature of every party of `descriptor` (the new epoch) over the
 * same transcript, and nothing else. Throws `CERTIFICATE_INVALID` naming the parties whose
 * signature is missing or wrong.
 */
export function verifyCertificate(
  cert: ReshareCertificate,
  descriptor: VaultDescriptor,
  identityKeys: IdentityKeys,
  rotation?: RotationPolicy,
): void {
  if (!equalBytes(cert.vaultId, descriptor.vaultId)) {
    throw new TssError('VAULT_MISMATCH', 'certificate is for another vault', {
      round: 'reshare.certificate',
    });
  }
  if (cert.epoch !== descriptor.epoch) {
    throw new TssError('EPOCH_MISMATCH', `certificate is for epoch ${cert.epoch}, not ${descriptor.epoch}`, {
      round: 'reshare.certificate',
    });
  }
  const message = certificateMessage(descriptor, cert.sessionId, cert.transcript);
  const bad: string[] = [];
  for (const p of descriptor.parties) {
    const hex = toHex(p.id);
    const entries = cert.signatures.filter((s) => equalBytes(s.id, p.id));
    const entry = entries[0];
    if (entries.length !== 1 || entry === undefined) {
      bad.push(hex);
      continue;
    }
    checkEntryRotation(p.id, identityKeys.get(hex), entry.rotation, rotation);
    if (!verifyOne(signedMessage(message, entry.rotation), identityKeys.get(hex), entry.signature))
      bad.push(hex);
  }
  if (bad.length > 0) throw invalid(`${bad.length} new part(ies) missing or with an invalid signature`, bad);
  if (cert.signatures.length !== descriptor.parties.length) {
    throw invalid('certificate carries signatures of non-members');
  }
  const rotations = cert.signatures.flatMap((s) => (s.rotation === undefined ? [] : [s.rotation]));
  checkDistinct(rotations);
}

/** The new envelope identities a certificate carries, by hex party id (empty for version 1). */
export function rotatedIdentities(cert: ReshareCertificate): Map<string, PublicDeviceIdentity> {
  const out = new Map<string, PublicDeviceIdentity>();
  for (const s of cert.signatures) if (s.rotation !== undefined) out.set(toHex(s.id), s.rotation);
  return out;
}

/**
 * Collects signatures for one reshare outcome. Each signature is verified on arrival; a wrong one
 * is refused naming its sender (who may have signed another transcript for us: A24), without
 * spoiling the others.
 */
export class CertificateCollector {
  private readonly sigs = new Map<string, { signature: Uint8Array; rotation?: PublicDeviceIdentity }>();
  private readonly message: Uint8Array;

  /** With `rotation`, every signature must bind its party's new envelope key (rotation.ts). */
  constructor(
    private readonly target: {
      descriptor: VaultDescriptor;
      record: { sessionId: Uint8Array; transcript: Uint8Array };
    },
    private readonly identityKeys: IdentityKeys,
    private readonly rotation?: RotationPolicy,
  ) {
    this.message = certificateMessage(target.descriptor, target.record.sessionId, target.record.transcript);
  }

  /** Add one party's signature. Identical duplicates are no-ops; anything invalid throws. */
  add(id: Uint8Array, signature: Uint8Array, rotation?: PublicDeviceIdentity): void {
    const hex = toHex(id);
    if (!this.target.descriptor.parties.some((p) => equalBytes(p.id, id))) {
      throw invalid('signature from a party outside the new committee', [hex]);
    }
    const prior = this.sigs.get(hex);
    if (prior && equalBytes(prior.signature, signature)) return;
    checkEntryRotation(id, this.identityKeys.get(hex), rotation, this.rotation);
    if (!verifyOne(signedMessage(this.message, rotation), this.identityKeys.get(hex), signature)) {
      throw invalid('signature does not verify over this transcript', [hex]);
    }
    this.sigs.set(hex, { signature: signature.slice(), ...(rotation === undefined ? {} : { rotation }) });
  }

  /** Hex ids of new parties whose signature is still missing. */
  get missing(): string[] {
    return this.target.descriptor.parties.map((p) => toHex(p.id)).filter((h) => !this.sigs.has(h));
  }

  get complete(): boolean {
    return this.missing.length === 0;
  }

  /** The complete certificate; throws `CERTIFICATE_INVALID` naming missing signers otherwise. */
  certificate(): ReshareCertificate {
    const missing = this.missing;
    if (missing.length > 0) throw invalid(`${missing.length} signature(s) missing`, missing);
    const d = this.target.descriptor;
    const parties = [...d.parties].sort((a, b) => compareBytes(a.id, b.id));
    return {
      vaultId: d.vaultId,
      epoch: d.epoch,
      sessionId: this.target.record.sessionId,
      transcript: this.target.record.transcript,
      signatures: parties.map((p) => {
        const s = this.sigs.get(toHex(p.id))!;
        return {
          id: p.id,
          signature: s.signature,
          ...(s.rotation === undefined ? {} : { rotation: s.rotation }),
        };
      }),
    };
  }
}

/**
 * Activate a pending share: only with a complete valid certificate for exactly its descriptor. If
 * `current` (the active share) is given it must be the same vault's previous epoch; it is returned
 * as `retired` for the caller to delete. Neither share is modified.
 */
export function activate(
  pending: KeyShare,
  cert: ReshareCertificate,
  identityKeys: IdentityKeys,
  current?: KeyShare,
  rotation?: RotationPolicy,
): { active: KeyShare; retired: KeyShare | undefined } {
  verifyCertificate(cert, pending.descriptor, identityKeys, rotation);
  pending.verify();
  if (current) {
    if (!equalBytes(current.vaultId, pending.vaultId)) {
      throw new TssError('VAULT_MISMATCH', 'pending share is for another vault');
    }
    if (current.epoch + 1 !== pending.epoch) {
      throw new TssError('EPOCH_MISMATCH', `cannot move from epoch ${current.epoch} to ${pending.epoch}`);
    }
  }
  return { active: pending, retired: current };
}

/** Version 1 without rotations; version 2 when every entry carries one (mixed is refused). */
export function encodeCertificate(c: ReshareCertificate): Uint8Array {
  const rotating = c.signatures.filter((s) => s.rotation !== undefined).length;
  if (rotating !== 0 && rotating !== c.signatures.length) {
    throw new TssError('INVALID_PARAMETERS', 'a certificate rotates the keys of every party or of none');
  }
  return new Writer()
    .u8(CERT_FORMAT)
    .u8(rotating === 0 ? CERT_VERSION : CERT_VERSION_ROTATING)
    .raw(c.vaultId)
    .u32(c.epoch)
    .raw(c.sessionId)
    .raw(c.transcript)
    .list(c.signatures, (w, s) => {
      w.raw(s.id).raw(s.signature);
      if (s.rotation !== undefined) w.raw(encodePublicIdentity(s.rotation));
    })
    .finish();
}

export function decodeCertificate(b: Uint8Array): ReshareCertificate {
  const r = new Reader(b, 'certificate');
  r.expectU8(CERT_FORMAT, 'format');
  const version = r.u8();
  if (version !== CERT_VERSION && version !== CERT_VERSION_ROTATING) {
    throw new TssError('UNSUPPORTED_VERSION', `certificate version ${version}`);
  }
  const vaultId = r.raw(32);
  const epoch = r.u32();
  const sessionId = r.raw(32);
  const transcript = r.raw(32);
  const signatures = r.list(1, 64, (rr) => {
    const id = rr.raw(32);
    const signature = rr.raw(ED25519_SIGNATURE_BYTES);
    if (version === CERT_VERSION) return { id, signature };
    return { id, signature, rotation: decodePublicIdentity(rr.raw(PUBLIC_IDENTITY_LENGTH)) };
  });
  r.end();
  return { vaultId, epoch, sessionId, transcript, signatures };
}
