/**
 * Envelope-key rotation at every reshare, the wallet's side of tss `reshare/rotation.ts` (PROTOCOL.md
 * "Envelope-key rotation at every reshare"). Pure: wire packing, the rotation policy of a request,
 * and which of this device's envelope keys are still needed (envelope-keys.ts deletes the others).
 *
 * Wire: a new party's certificate signature travels, is stored (`CeremonyRecord.certSigs`) and is
 * relayed (certificate-status.ts) as one opaque value, the Ed25519 signature over the rotation
 * message followed by the canonical encoding of the party's new public identity (64 + 130 bytes), so
 * every path that moved a plain signature moves the rotation with it, unchanged.
 *
 * Which keys stay: a key is needed while someone may still seal to it —
 *  - the key each vault record lists for this device (the current epoch's);
 *  - a key drawn for a reshare this device finished but has not activated (it becomes the vault's
 *    key on activation);
 *  - the key a reshare request lists for this device, while that reshare's certificate delivery
 *    runs (some new member has not confirmed and the delivery horizon has not passed): a member that
 *    missed the certificate still holds the old vault record and seals its status to the old key.
 * Everything else — in particular the previous epoch's key once every member confirmed — is wiped.
 * The device's base key (its device code, used for invitations before a vault exists) is not a
 * vault key and is never rotated here.
 */

import type { ReshareBody, VaultRequest } from '@concord/bridge-server/vault';
import { fromHex, toHex } from '@concord/tss/bytes';
import type { RotationPolicy } from '@concord/tss/reshare';
import { type CertificateCollector, type ReshareCertificate, rotatedIdentities } from '@concord/tss/reshare';
import {
  decodePublicIdentity,
  PUBLIC_IDENTITY_LENGTH,
  type PublicDeviceIdentity,
} from '@concord/tss/transport';
import { concatBytes } from '../../shared/bytes.ts';
import type { CeremonyRecord, VaultRecord } from '../../storage/records.ts';
import { DELIVERY_HORIZON_MS } from './certificate-delivery.ts';
import { encodePublicIdentity } from './identity-api.ts';

const SIGNATURE_BYTES = 64;
/** Bytes of a packed rotated certificate signature. */
export const ROTATED_SIGNATURE_BYTES = SIGNATURE_BYTES + PUBLIC_IDENTITY_LENGTH;

export class RotationWireError extends Error {
  override readonly name = 'RotationWireError';
  readonly code = 'ROTATION_WIRE';
}

export function packRotatedSignature(signature: Uint8Array, next: PublicDeviceIdentity): Uint8Array {
  if (signature.length !== SIGNATURE_BYTES) throw new RotationWireError('certificate signature length');
  return concatBytes(signature, encodePublicIdentity(next));
}

/** Splits a packed value; the identity's binding signature is verified by the decoder. */
export function unpackRotatedSignature(bytes: Uint8Array): {
  signature: Uint8Array;
  rotation: PublicDeviceIdentity;
} {
  if (bytes.length !== ROTATED_SIGNATURE_BYTES) {
    throw new RotationWireError('certificate signature carries no new envelope key');
  }
  return {
    signature: bytes.slice(0, SIGNATURE_BYTES),
    rotation: decodePublicIdentity(bytes.subarray(SIGNATURE_BYTES)),
  };
}

/** The keys a reshare request lists (current and new committee): no new key may be one of them. */
export function rotationPolicyOf(body: ReshareBody): RotationPolicy {
  const previous = new Map<string, Uint8Array>();
  let i = 0;
  // Keyed uniquely (a kept member is listed twice, possibly with the same key): all are refused.
  for (const m of [...body.current, ...body.members])
    previous.set(`${m.deviceId}:${i++}`, m.identity.agreementKey);
  return { previous };
}

/** The key a request lists for `self` (new committee first, as the request's session does). */
export function listedKey(body: ReshareBody, self: string): PublicDeviceIdentity | undefined {
  return (body.members.find((m) => m.deviceId === self) ?? body.current.find((m) => m.deviceId === self))
    ?.identity;
}

/** What `keysInUse` reads of one reshare this device took part in. */
export interface ReshareUse {
  ceremony: Pick<CeremonyRecord, 'status' | 'reshare' | 'certSigs' | 'certConfirmed'>;
  request: Pick<VaultRequest, 'expiresAt'> & { body: VaultRequest['body'] };
}

/** Hex X25519 public keys of this device that someone may still seal to (see the header). */
export function keysInUse(
  self: string,
  vaults: readonly Pick<VaultRecord, 'members'>[],
  reshares: readonly ReshareUse[],
  now: number,
): Set<string> {
  const out = new Set<string>();
  for (const v of vaults) {
    const m = v.members.find((x) => x.deviceId === self);
    if (m !== undefined) out.add(toHex(decodePublicIdentity(m.publicIdentity).agreementKey));
  }
  for (const { ceremony: c, request: r } of reshares) {
    const body = r.body;
    if (c.status === 'aborted' || body.kind !== 'reshare' || now > r.expiresAt + DELIVERY_HORIZON_MS)
      continue;
    if (c.status !== 'done' && c.reshare !== undefined) {
      const own = c.certSigs?.[`${c.reshare.attempt}:${self}`];
      if (own !== undefined) {
        try {
          out.add(toHex(unpackRotatedSignature(fromHex(own)).rotation.agreementKey));
        } catch {
          // not a rotated signature: nothing drawn to keep
        }
      }
    }
    const confirmed = new Set([...(c.certConfirmed ?? []), ...(c.status === 'done' ? [self] : [])]);
    if (body.members.some((m) => !confirmed.has(m.deviceId))) {
      const listed = listedKey(body, self);
      if (listed !== undefined) out.add(toHex(listed.agreementKey));
    }
  }
  return out;
}

/** Adds a packed rotated signature of `from` (hex) to a collector; throws what the collector throws. */
export function addPacked(collector: CertificateCollector, from: string, packed: Uint8Array): void {
  const { signature, rotation } = unpackRotatedSignature(packed);
  collector.add(fromHex(from), signature, rotation);
}

/**
 * The vault record with every member's envelope key taken from the certificate (each bound by that
 * member's own signature). A member the certificate does not rotate keeps its listed identity; with
 * a policy-checked certificate that cannot happen.
 */
export function withRotatedKeys(record: VaultRecord, cert: ReshareCertificate): VaultRecord {
  const rotated = rotatedIdentities(cert);
  return {
    ...record,
    members: record.members.map((m) => {
      const next = rotated.get(m.deviceId);
      return next === undefined ? m : { ...m, publicIdentity: encodePublicIdentity(next) };
    }),
  };
}
