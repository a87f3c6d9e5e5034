/**
 * Envelope-key rotation bound into the reshare certificate (reshare/rotation.ts): a refresh of the
 * [1,1,1] t=2 fixture runs once; each party then signs the certificate message bound to a fresh
 * envelope identity (rotateAgreementKey). The complete certificate encodes as version 2, decodes to
 * the same keys, verifies and activates under the policy; and each bad rotation is refused with its
 * typed error naming the party: a wrong signature, a key not bound (other device, other key than
 * signed, none at all), a small-order key (the identity point), a stale key re-used.
 */
import { ed25519 } from '@noble/curves/ed25519.js';
import { beforeAll, describe, expect, it } from 'vitest';
import { equalBytes, toHex } from '../../src/bytes.ts';
import { TssError } from '../../src/errors.ts';
import { taggedHash } from '../../src/hash.ts';
import {
  activate,
  CertificateCollector,
  certificateMessage,
  decodeCertificate,
  encodeCertificate,
  type ReshareCertificate,
  rotatedIdentities,
  verifyCertificate,
} from '../../src/reshare/certificate.ts';
import { isSmallOrder, type RotationPolicy, rotationMessage } from '../../src/reshare/rotation.ts';
import type { ReshareOutcome } from '../../src/reshare/rounds.ts';
import { TAGS } from '../../src/tags.ts';
import { runReshare, testIdentitySecret } from '../../src/testing/driver.ts';
import { seededRandom } from '../../src/testing/rng.ts';
import {
  DeviceIdentity,
  type PublicDeviceIdentity,
  publicIdentity,
  rotateAgreementKey,
} from '../../src/transport/identity.ts';
import { loadFixture } from '../fixtures/index.ts';
import { expectFinished } from './helpers.ts';

interface Party {
  id: Uint8Array;
  /** The identity before the refresh and after it (same Ed25519 key). */
  before: DeviceIdentity;
  after: DeviceIdentity;
}

let outs: ReshareOutcome[];
let ids: Uint8Array[];
let keys: Map<string, Uint8Array>;
let parties: Party[];
let policy: RotationPolicy;
let M: Uint8Array;

const rng = seededRandom('rotation-test');
const sigFor = (p: Party, next: PublicDeviceIdentity) =>
  ed25519.sign(rotationMessage(M, next), testIdentitySecret(p.id));

function caught(fn: () => unknown): TssError {
  try {
    fn();
  } catch (e) {
    if (e instanceof TssError) return e;
    throw e;
  }
  throw new Error('did not throw');
}

beforeAll(() => {
  const shares = loadFixture('1-1-1_t2').shares;
  const run = runReshare({
    oldShares: shares,
    newParties: shares.map((s) => ({ id: s.selfId, power: 1 })),
    newThreshold: 2,
    seed: 'rotation',
  });
  outs = expectFinished(run);
  ids = run.ids;
  keys = run.identityKeys;
  parties = ids.map((id) => {
    const before = new DeviceIdentity(testIdentitySecret(id), rng(32));
    return { id, before, after: rotateAgreementKey(before, rng) };
  });
  policy = { previous: new Map(parties.map((p) => [toHex(p.id), p.before.agreementKey])) };
  const o = outs[0]!;
  M = certificateMessage(o.descriptor, o.record.sessionId, o.record.transcript);
}, 120_000);

/** A collector under the policy with every party's good rotation except `skip`. */
function collectorWithout(skip: number): CertificateCollector {
  const c = new CertificateCollector(outs[0]!, keys, policy);
  parties.forEach((p, i) => {
    if (i !== skip) c.add(p.id, sigFor(p, publicIdentity(p.after)), publicIdentity(p.after));
  });
  return c;
}

describe('envelope-key rotation in the reshare certificate', () => {
  it('a rotated identity keeps the device key and gets a new, bound envelope key', () => {
    const p = parties[0]!;
    expect(equalBytes(p.after.deviceId, p.before.deviceId)).toBe(true);
    expect(equalBytes(p.after.agreementKey, p.before.agreementKey)).toBe(false);
    expect(isSmallOrder(p.after.agreementKey)).toBe(false);
  });

  it('a complete rotating certificate verifies, round-trips as version 2 and activates', () => {
    const cert = collectorWithout(-1).certificate();
    const bytes = encodeCertificate(cert);
    expect(bytes[1]).toBe(2);
    const back = decodeCertificate(bytes);
    verifyCertificate(back, outs[0]!.descriptor, keys, policy);
    const rotated = rotatedIdentities(back);
    for (const p of parties) {
      expect(toHex(rotated.get(toHex(p.id))!.agreementKey)).toBe(toHex(p.after.agreementKey));
    }
    const { active } = activate(outs[0]!.pending!, back, keys, undefined, policy);
    expect(active.epoch).toBe(outs[0]!.descriptor.epoch);
  });

  it('a plain (non-rotating) signature is refused under the policy: no key bound', () => {
    const p = parties[1]!;
    const c = collectorWithout(1);
    const plain = ed25519.sign(M, testIdentitySecret(p.id));
    const e = caught(() => c.add(p.id, plain));
    expect(e.code).toBe('ROTATION_INVALID');
    expect(e.culprits).toEqual([toHex(p.id)]);
    // A version-1 certificate (nobody rotated) does not pass the policy either.
    const v1 = new CertificateCollector(outs[0]!, keys);
    for (const q of parties) v1.add(q.id, ed25519.sign(M, testIdentitySecret(q.id)));
    expect(caught(() => verifyCertificate(v1.certificate(), outs[0]!.descriptor, keys, policy)).code).toBe(
      'ROTATION_INVALID',
    );
  });

  it('a wrong signature over a rotation is refused naming the party', () => {
    const p = parties[1]!;
    const next = publicIdentity(p.after);
    const other = parties[2]!;
    const e = caught(() => collectorWithout(1).add(p.id, sigFor(other, next), next));
    expect(e.code).toBe('CERTIFICATE_INVALID');
    expect(e.culprits).toEqual([toHex(p.id)]);
  });

  it('a key other than the one signed (a relayer swapping keys) is refused', () => {
    const p = parties[1]!;
    const signed = publicIdentity(p.after);
    const swapped = publicIdentity(rotateAgreementKey(p.before, rng));
    const e = caught(() => collectorWithout(1).add(p.id, sigFor(p, signed), swapped));
    expect(e.code).toBe('CERTIFICATE_INVALID');
    expect(e.culprits).toEqual([toHex(p.id)]);
    // And in an assembled certificate: the entry's key replaced after collection.
    const cert = collectorWithout(-1).certificate();
    const tampered: ReshareCertificate = {
      ...cert,
      signatures: cert.signatures.map((s) => (equalBytes(s.id, p.id) ? { ...s, rotation: swapped } : s)),
    };
    const e2 = caught(() => verifyCertificate(tampered, outs[0]!.descriptor, keys, policy));
    expect(e2.code).toBe('CERTIFICATE_INVALID');
    expect(e2.culprits).toEqual([toHex(p.id)]);
  });

  it('a key bound to another device is refused', () => {
    const p = parties[1]!;
    const foreign = publicIdentity(parties[2]!.after);
    const e = caught(() => collectorWithout(1).add(p.id, sigFor(p, foreign), foreign));
    expect(e.code).toBe('ROTATION_INVALID');
    expect(e.culprits).toEqual([toHex(p.id)]);
    // A binding signature that does not verify (the key changed under the binding).
    const broken = {
      ...publicIdentity(p.after),
      agreementKey: publicIdentity(parties[0]!.after).agreementKey,
    };
    expect(caught(() => collectorWithout(1).add(p.id, sigFor(p, broken), broken)).code).toBe(
      'ROTATION_INVALID',
    );
  });

  it('the identity point (and any small-order key) is refused naming the party', () => {
    const p = parties[1]!;
    const secret = testIdentitySecret(p.id);
    for (const u of [new Uint8Array(32), Uint8Array.of(1, ...new Uint8Array(31))]) {
      expect(isSmallOrder(u)).toBe(true);
      // The party itself can bind any key with its device key: only the order check stops it.
      const binding = ed25519.sign(bindingMessageFor(p.before.deviceId, u), secret);
      const next: PublicDeviceIdentity = { deviceId: p.before.deviceId, agreementKey: u, binding };
      const e = caught(() => collectorWithout(1).add(p.id, sigFor(p, next), next));
      expect(e.code).toBe('INVALID_POINT');
      expect(e.culprits).toEqual([toHex(p.id)]);
    }
  });

  it('a stale key (the one listed before the reshare, own or another member’s) is refused', () => {
    const p = parties[1]!;
    const stale = publicIdentity(p.before);
    const e = caught(() => collectorWithout(1).add(p.id, sigFor(p, stale), stale));
    expect(e.code).toBe('KEY_NOT_ROTATED');
    expect(e.culprits).toEqual([toHex(p.id)]);
    // Two parties announcing the same new key: party 1 binds party 2's new key with its own device
    // key (it can), which passes its own checks; the certificate is refused, nobody named.
    const copied = parties[2]!.after.agreementKey;
    const next: PublicDeviceIdentity = {
      deviceId: p.before.deviceId,
      agreementKey: copied,
      binding: ed25519.sign(bindingMessageFor(p.before.deviceId, copied), testIdentitySecret(p.id)),
    };
    const c = collectorWithout(1);
    c.add(p.id, sigFor(p, next), next);
    const dup = caught(() => verifyCertificate(c.certificate(), outs[0]!.descriptor, keys, policy));
    expect(dup.code).toBe('KEY_NOT_ROTATED');
    expect(dup.culprits).toEqual([]);
  });
});

/** The binding message of identity.ts (tag, device key, envelope key). */
function bindingMessageFor(deviceId: Uint8Array, key: Uint8Array): Uint8Array {
  return taggedHash(TAGS.deviceBinding, deviceId, key);
}
