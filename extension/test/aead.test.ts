/** Sealed records (THREATS 59): round-trip, fresh nonces, tampering and blob swapping all fail. */
import { describe, expect, it } from 'vitest';
import { associatedData, open, type RecordContext, type SealedBlob, seal } from '../src/crypto/aead.ts';
import { ExtensionError } from '../src/shared/errors.ts';
import { IdentityRepository, identityContext } from '../src/storage/repositories/identity.ts';
import { SharesRepository } from '../src/storage/repositories/shares.ts';
import { openFreshDb } from './helpers.ts';

const key = crypto.getRandomValues(new Uint8Array(32));
const ctx: RecordContext = { type: 'share', id: 'vault-1:3', version: 3 };
const secret = new TextEncoder().encode('a share of a threshold key');

function flip(b: Uint8Array, index: number, bit = 0): Uint8Array {
  const c = Uint8Array.from(b);
  c[index] = c[index]! ^ (1 << bit);
  return c;
}

function expectCode(fn: () => unknown, code: string): void {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(ExtensionError);
    expect((e as ExtensionError).code).toBe(code);
    return;
  }
  throw new Error('expected a throw');
}

describe('sealed records', () => {
  it('round-trip', () => {
    expect(open(key, seal(key, secret, ctx), ctx)).toEqual(secret);
  });

  it('two encryptions of the same plaintext use different nonces and ciphertexts', () => {
    const a = seal(key, secret, ctx);
    const b = seal(key, secret, ctx);
    expect(a.nonce).not.toEqual(b.nonce);
    expect(a.ct).not.toEqual(b.ct);
  });

  it('a bit flip anywhere in the ciphertext or tag fails', () => {
    const blob = seal(key, secret, ctx);
    for (const i of [0, 5, blob.ct.length - 17, blob.ct.length - 1]) {
      for (const bit of [0, 7]) {
        expectCode(() => open(key, { ...blob, ct: flip(blob.ct, i, bit) }, ctx), 'DECRYPT_FAILED');
      }
    }
  });

  it('a bit flip in the nonce fails', () => {
    const blob = seal(key, secret, ctx);
    for (const i of [0, 12, 23])
      expectCode(() => open(key, { ...blob, nonce: flip(blob.nonce, i) }, ctx), 'DECRYPT_FAILED');
  });

  it('changing any associated-data field (type, id, version, extra) fails', () => {
    const blob = seal(key, secret, ctx);
    expectCode(() => open(key, blob, { ...ctx, type: 'identity' }), 'DECRYPT_FAILED');
    expectCode(() => open(key, blob, { ...ctx, id: 'vault-1:4' }), 'DECRYPT_FAILED');
    expectCode(() => open(key, blob, { ...ctx, version: 4 }), 'DECRYPT_FAILED');
    expectCode(() => open(key, blob, { ...ctx, extra: new Uint8Array([1]) }), 'DECRYPT_FAILED');
  });

  it('associated data is unambiguous (length-prefixed fields)', () => {
    const a = associatedData({ type: 'share', id: 'ab', version: 1 });
    const b = associatedData({ type: 'share', id: 'a', version: 1, extra: new TextEncoder().encode('b') });
    expect(a).not.toEqual(b);
  });

  it('a wrong key fails', () => {
    const other = crypto.getRandomValues(new Uint8Array(32));
    expectCode(() => open(other, seal(key, secret, ctx), ctx), 'DECRYPT_FAILED');
  });

  it('a malformed blob is reported as corrupt, not decrypted', () => {
    const blob = seal(key, secret, ctx);
    expectCode(() => open(key, { ...blob, nonce: blob.nonce.subarray(0, 12) }, ctx), 'CORRUPT_RECORD');
    expectCode(() => open(key, { ...blob, v: 2 } as unknown as SealedBlob, ctx), 'CORRUPT_RECORD');
  });
});

describe('sealed rows in IndexedDB', () => {
  it('swapping two parties’ share blobs fails to decrypt', async () => {
    const db = await openFreshDb();
    const shares = new SharesRepository(db);
    const a = await shares.add(
      { vaultId: 'vault-A', epoch: 1, status: 'active', secret: Uint8Array.of(1, 1, 1), createdAt: 1 },
      key,
    );
    const b = await shares.add(
      { vaultId: 'vault-B', epoch: 1, status: 'active', secret: Uint8Array.of(2, 2, 2), createdAt: 1 },
      key,
    );
    await db.shares.update(a.id, { sealed: b.sealed });
    await db.shares.update(b.id, { sealed: a.sealed });
    const a2 = (await shares.get(a.id))!;
    const b2 = (await shares.get(b.id))!;
    expectCode(() => SharesRepository.openSecret(a2, key), 'DECRYPT_FAILED');
    expectCode(() => SharesRepository.openSecret(b2, key), 'DECRYPT_FAILED');
    db.close();
  });

  it('an old epoch’s blob moved into the new epoch’s row fails', async () => {
    const db = await openFreshDb();
    const shares = new SharesRepository(db);
    const old = await shares.add(
      { vaultId: 'v', epoch: 1, status: 'active', secret: Uint8Array.of(1), createdAt: 1 },
      key,
    );
    const next = await shares.add(
      { vaultId: 'v', epoch: 2, status: 'pending', secret: Uint8Array.of(2), createdAt: 2 },
      key,
    );
    expect(SharesRepository.openSecret(next, key)).toEqual(Uint8Array.of(2));
    expectCode(() => SharesRepository.openSecret({ ...next, sealed: old.sealed }, key), 'DECRYPT_FAILED');
    await shares.activate('v', 2);
    expect((await shares.listForVault('v')).map((s) => [s.epoch, s.status])).toEqual([[2, 'active']]);
    db.close();
  });

  it('an identity blob placed in a share row (and vice versa) fails', () => {
    const identity = IdentityRepository.build(
      { deviceId: 'aa', publicIdentity: new Uint8Array(0), deviceCode: 'c', fingerprint: 'f', createdAt: 1 },
      Uint8Array.of(9, 9),
      key,
    );
    const share = SharesRepository.build(
      { vaultId: 'device', epoch: 1, status: 'active', secret: Uint8Array.of(7), createdAt: 1 },
      key,
    );
    expectCode(
      () => SharesRepository.openSecret({ ...share, sealed: identity.sealed }, key),
      'DECRYPT_FAILED',
    );
    expectCode(() => open(key, share.sealed, identityContext(identity)), 'DECRYPT_FAILED');
    expect(IdentityRepository.openSecret(identity, key)).toEqual(Uint8Array.of(9, 9));
  });
});
