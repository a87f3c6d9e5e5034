/** Keyring header (THREATS 58–59): passphrase-wrapped DEK, tamper detection, KDF floor and upgrade. */
import { describe, expect, it } from 'vitest';
import { DEFAULT_KDF_POLICY, type KdfPolicy, OWASP_SCRYPT } from '../src/crypto/kdf.ts';
import { createKeyring, type KeyringHeader, unlockKeyring } from '../src/crypto/keyring-header.ts';
import { ExtensionError } from '../src/shared/errors.ts';
import { FAST_KDF, GOOD_PASSPHRASE } from './helpers.ts';

async function expectCode(p: Promise<unknown>, code: string): Promise<void> {
  const e = await p.then(
    () => null,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(ExtensionError);
  expect((e as ExtensionError).code).toBe(code);
}

function flip(b: Uint8Array, i = 0): Uint8Array {
  const c = Uint8Array.from(b);
  c[i] = c[i]! ^ 1;
  return c;
}

describe('keyring header', () => {
  it('unwraps the same DEK with the right passphrase and stores the parameters', async () => {
    const { header, dek } = await createKeyring(GOOD_PASSPHRASE, FAST_KDF, 1000);
    expect(header.kdf).toEqual(FAST_KDF.current);
    expect(header.salt.length).toBe(16);
    const r = await unlockKeyring(header, GOOD_PASSPHRASE, FAST_KDF, 2000);
    expect(r.dek).toEqual(dek);
    expect(r.upgraded).toBeNull();
  });

  it('NFKC-normalises the passphrase (composed and decomposed accents unlock alike)', async () => {
    const composed = 'caf\u00e9 lantern velvet cascade';
    const decomposed = 'cafe\u0301 lantern velvet cascade';
    const { header } = await createKeyring(composed, FAST_KDF, 0);
    await expect(unlockKeyring(header, decomposed, FAST_KDF, 0)).resolves.toBeDefined();
  });

  it('a wrong passphrase gives the generic WRONG_PASSPHRASE error', async () => {
    const { header } = await createKeyring(GOOD_PASSPHRASE, FAST_KDF, 0);
    const e = await unlockKeyring(header, 'orbit lantern velvet cascade 1988', FAST_KDF, 0).catch(
      (x: unknown) => x,
    );
    expect(e).toBeInstanceOf(ExtensionError);
    expect((e as ExtensionError).code).toBe('WRONG_PASSPHRASE');
    expect((e as ExtensionError).message).toBe('That passphrase is not correct.');
  });

  it('a bit flip in the salt, nonce, ciphertext, key id or revision fails', async () => {
    const { header } = await createKeyring(GOOD_PASSPHRASE, FAST_KDF, 0);
    const variants: KeyringHeader[] = [
      { ...header, salt: flip(header.salt, 3) },
      { ...header, wrapped: { ...header.wrapped, nonce: flip(header.wrapped.nonce, 7) } },
      { ...header, wrapped: { ...header.wrapped, ct: flip(header.wrapped.ct, 2) } },
      {
        ...header,
        wrapped: { ...header.wrapped, ct: flip(header.wrapped.ct, header.wrapped.ct.length - 1) },
      },
      { ...header, keyId: `${header.keyId.slice(0, -1)}${header.keyId.endsWith('0') ? '1' : '0'}` },
      { ...header, revision: header.revision + 1 },
    ];
    for (const v of variants)
      await expectCode(unlockKeyring(v, GOOD_PASSPHRASE, FAST_KDF, 0), 'WRONG_PASSPHRASE');
  });

  it('changing the stored KDF parameters (same cost class) fails authentication', async () => {
    const { header } = await createKeyring(GOOD_PASSPHRASE, FAST_KDF, 0);
    const tampered = { ...header, kdf: { ...header.kdf, N: header.kdf.N * 2 } };
    await expectCode(unlockKeyring(tampered, GOOD_PASSPHRASE, FAST_KDF, 0), 'WRONG_PASSPHRASE');
  });

  it('refuses a header below the floor before doing any KDF work', async () => {
    const weak: KdfPolicy = {
      current: { alg: 'scrypt', N: 2 ** 4, r: 8, p: 1, dkLen: 32 },
      floor: { N: 2, r: 1, p: 1 },
    };
    const { header } = await createKeyring(GOOD_PASSPHRASE, weak, 0);
    await expectCode(unlockKeyring(header, GOOD_PASSPHRASE, FAST_KDF, 0), 'KDF_BELOW_FLOOR');
    // Also for a lower r or p than the floor, even at a high N.
    const lowR = { ...header, kdf: { ...header.kdf, N: 2 ** 12, r: 1 } };
    await expectCode(unlockKeyring(lowR, GOOD_PASSPHRASE, FAST_KDF, 0), 'KDF_BELOW_FLOOR');
  });

  it('rejects malformed parameters as corrupt', async () => {
    const { header } = await createKeyring(GOOD_PASSPHRASE, FAST_KDF, 0);
    for (const kdf of [
      { ...header.kdf, N: 1000 },
      { ...header.kdf, alg: 'pbkdf2' },
      { ...header.kdf, N: 2 ** 30 },
    ]) {
      await expectCode(
        unlockKeyring({ ...header, kdf } as KeyringHeader, GOOD_PASSPHRASE, FAST_KDF, 0),
        'CORRUPT_RECORD',
      );
    }
  });

  it('re-wraps a header that is above the floor but below current parameters', async () => {
    const old: KdfPolicy = { current: { ...FAST_KDF.current, N: 2 ** 9 }, floor: FAST_KDF.floor };
    const { header, dek } = await createKeyring(GOOD_PASSPHRASE, old, 0);
    const r = await unlockKeyring(header, GOOD_PASSPHRASE, FAST_KDF, 5);
    expect(r.dek).toEqual(dek);
    expect(r.upgraded).not.toBeNull();
    const up = r.upgraded!;
    expect(up.kdf).toEqual(FAST_KDF.current);
    expect(up.revision).toBe(header.revision + 1);
    expect(up.salt).not.toEqual(header.salt);
    expect(up.keyId).toBe(header.keyId);
    const again = await unlockKeyring(up, GOOD_PASSPHRASE, FAST_KDF, 6);
    expect(again.dek).toEqual(dek);
    expect(again.upgraded).toBeNull();
  });

  it('production defaults are at least the OWASP scrypt minimum and really work', async () => {
    expect(DEFAULT_KDF_POLICY.current).toEqual(OWASP_SCRYPT);
    expect(OWASP_SCRYPT.N).toBeGreaterThanOrEqual(2 ** 17);
    expect(OWASP_SCRYPT.r).toBeGreaterThanOrEqual(8);
    expect(DEFAULT_KDF_POLICY.floor.N * DEFAULT_KDF_POLICY.floor.r).toBeGreaterThanOrEqual(2 ** 17 * 8);
    const { header, dek } = await createKeyring(GOOD_PASSPHRASE, DEFAULT_KDF_POLICY, 0);
    expect(header.kdf.N).toBe(2 ** 17);
    expect((await unlockKeyring(header, GOOD_PASSPHRASE, DEFAULT_KDF_POLICY, 0)).dek).toEqual(dek);
    // A FAST_KDF header (as used in other tests) would be refused by the production floor.
    const { header: fast } = await createKeyring(GOOD_PASSPHRASE, FAST_KDF, 0);
    await expectCode(unlockKeyring(fast, GOOD_PASSPHRASE, DEFAULT_KDF_POLICY, 0), 'KDF_BELOW_FLOOR');
  });
});
