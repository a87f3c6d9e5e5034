import { inspect } from 'node:util';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { toHex } from '../../src/bytes.ts';
import { TssError } from '../../src/errors.ts';
import { seededRandom } from '../../src/testing/rng.ts';
import { fromBase64url, toBase64url } from '../../src/transport/base64url.ts';
import {
  decodeDeviceIdentity,
  decodePublicIdentity,
  deviceCode,
  deviceFingerprint,
  encodeDeviceIdentity,
  encodePublicIdentity,
  generateDeviceIdentity,
  parseDeviceCode,
  publicIdentity,
  verifyPublicIdentity,
} from '../../src/transport/identity.ts';

const code = (f: () => unknown): string => {
  try {
    f();
  } catch (e) {
    return e instanceof TssError ? e.code : `non-TssError: ${String(e)}`;
  }
  return 'no error';
};

describe('device identity', () => {
  const id = generateDeviceIdentity(seededRandom('identity-a'));

  it('is deterministic under a seeded rng and binds the agreement key', () => {
    const again = generateDeviceIdentity(seededRandom('identity-a'));
    expect(toHex(again.deviceId)).toBe(toHex(id.deviceId));
    expect(id.deviceId).toHaveLength(32);
    expect(id.agreementKey).toHaveLength(32);
    expect(verifyPublicIdentity(publicIdentity(id))).toBe(true);
  });

  it('round-trips public and secret encodings', () => {
    const pub = encodePublicIdentity(id);
    expect(pub).toHaveLength(130);
    const back = decodePublicIdentity(pub);
    expect(toHex(encodePublicIdentity(back))).toBe(toHex(pub));
    const sec = encodeDeviceIdentity(id);
    const restored = decodeDeviceIdentity(sec);
    expect(toHex(restored.deviceId)).toBe(toHex(id.deviceId));
    expect(toHex(restored.sign(new Uint8Array(32)))).toBe(toHex(id.sign(new Uint8Array(32))));
  });

  it('rejects a binding that pairs a device id with a substituted agreement key', () => {
    const other = generateDeviceIdentity(seededRandom('identity-b'));
    const forged = { deviceId: id.deviceId, agreementKey: other.agreementKey, binding: id.binding };
    expect(verifyPublicIdentity(forged)).toBe(false);
    expect(code(() => decodePublicIdentity(encodePublicIdentity(forged)))).toBe('SIGNATURE_INVALID');
  });

  it('rejects wrong kinds, versions and lengths', () => {
    const pub = encodePublicIdentity(id);
    expect(code(() => decodePublicIdentity(pub.subarray(0, 129)))).toBe('DECODE_FAILED');
    const v2 = pub.slice();
    v2[1] = 2;
    expect(code(() => decodePublicIdentity(v2))).toBe('UNSUPPORTED_VERSION');
    expect(code(() => decodeDeviceIdentity(pub))).toBe('DECODE_FAILED');
    const sec = encodeDeviceIdentity(id);
    sec[100] = sec[100]! ^ 1; // corrupt the stored binding
    expect(code(() => decodeDeviceIdentity(sec))).toBe('DECODE_FAILED');
  });

  it('never shows secrets in JSON or inspect output', () => {
    const secretHex = toHex(encodeDeviceIdentity(id).subarray(2, 66));
    const json = JSON.stringify(id);
    const shown = inspect(id, { depth: 5, showHidden: true });
    for (const text of [json, shown]) {
      expect(text).toContain('redacted');
      expect(text).not.toContain(secretHex.slice(0, 16));
    }
  });

  it('destroy() makes the identity unusable', () => {
    const tmp = generateDeviceIdentity(seededRandom('identity-tmp'));
    tmp.destroy();
    expect(tmp.destroyed).toBe(true);
    expect(code(() => tmp.sign(new Uint8Array(1)))).toBe('SESSION_STATE');
    tmp.destroy();
  });

  it('device codes round-trip and verify fingerprint and binding', () => {
    const c = deviceCode(id);
    expect(c).toMatch(/^concord-device-v1\.[A-Za-z0-9_-]+\.[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}$/);
    const p = parseDeviceCode(`  ${c}\n`);
    expect(deviceFingerprint(p)).toBe(c.split('.')[2]);
    expect(code(() => parseDeviceCode(c.replace(/\.[^.]+$/, '.0000-0000-0000')))).toBe('DECODE_FAILED');
    // a relay swapping in its own key material yields a code that does not parse as the old one
    const mitm = generateDeviceIdentity(seededRandom('mitm'));
    const spliced = `${c.split('.').slice(0, 2).join('.')}.${deviceFingerprint(mitm)}`;
    expect(code(() => parseDeviceCode(spliced))).toBe('DECODE_FAILED');
    expect(code(() => parseDeviceCode('hello'))).toBe('DECODE_FAILED');
  });

  it('base64url round-trips and is canonical (fast-check)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (b) => {
        expect(toHex(fromBase64url(toBase64url(b)))).toBe(toHex(b));
      }),
    );
    expect(code(() => fromBase64url('AB'))).toBe('DECODE_FAILED'); // non-zero trailing bits
    expect(code(() => fromBase64url('A==='))).toBe('DECODE_FAILED');
  });
});
