import { describe, expect, it } from 'vitest';
import { createBackup, inspectBackup, openBackup, verifyBackup } from '../../src/backup/backup.ts';
import { BackupError } from '../../src/backup/errors.ts';
import { associatedData, canonicalHeader, headerDigest, parseEnvelope } from '../../src/backup/format.ts';
import { DEFAULT_SCRYPT, KDF_POLICY } from '../../src/backup/kdf.ts';
import { assertStrongPassphrase, checkPassphraseStrength } from '../../src/backup/strength.ts';
import { toHex } from '../../src/bytes.ts';
import { seededRandom } from '../../src/testing/rng.ts';
import { dealVault, open, PASS, seal, TEST_KDF } from './helpers.ts';

type Json = Record<string, unknown> & { header: Record<string, unknown> };

/** Edit a file's JSON; `redigest` recomputes the header digest (a deliberate, not a naive, edit). */
function edit(file: string, f: (j: Json) => void, redigest = false): string {
  const j = JSON.parse(file) as Json;
  f(j);
  if (redigest) {
    // Re-parse the edited header to recompute its canonical digest as an attacker could.
    const tmp = JSON.stringify({ ...j, headerDigest: '00'.repeat(32) });
    j.headerDigest = toHex(headerDigest(parseEnvelope(tmp).header));
  }
  return JSON.stringify(j);
}

async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (e) {
    if (e instanceof BackupError) return e.reason ? `${e.code}/${e.reason}` : e.code;
    throw e;
  }
  return 'OK';
}

function flipHexChar(s: string, i: number): string {
  const c = s[i] === '0' ? '1' : '0';
  return s.slice(0, i) + c + s.slice(i + 1);
}

describe('backup file', () => {
  const dealt = dealVault('backup-basic');
  const src = dealt.sources.find((s) => s.pointShares.length === 2)!; // the power-2 party

  it('round-trips: open returns the same source, verify returns a public summary', async () => {
    const file = await seal(src);
    const back = await open(file);
    expect(back.pointShares).toEqual(src.pointShares);
    expect(toHex(back.vaultId)).toBe(toHex(src.vaultId));
    expect(back.parties.map((p) => p.points)).toEqual(src.parties.map((p) => p.points));
    const summary = await verifyBackup(file, PASS, { insecureTestKdf: true });
    expect(summary).toMatchObject({
      vaultId: toHex(src.vaultId),
      epoch: 0,
      threshold: 3,
      totalPower: 4,
      power: 2,
      points: src.pointShares.map((s) => Number(s.x)),
      verified: true,
    });
    expect(JSON.stringify(summary)).not.toContain(src.pointShares[0]!.share.toString(16));
  });

  it('is a versioned JSON envelope naming vault, epoch, key, threshold, parties and public shares', async () => {
    const file = await seal(src);
    const j = JSON.parse(file) as Json;
    expect(j.format).toBe('concord-tss-backup');
    expect(j.version).toBe(1);
    expect(Object.keys(j.header)).toEqual([
      'vaultId',
      'epoch',
      'groupPublicKey',
      'threshold',
      'parties',
      'partyId',
      'publicShares',
      'kdf',
      'aead',
      'keyCheck',
    ]);
    expect(j.header.kdf).toMatchObject({ name: 'scrypt', N: 16, r: 8, p: 1, dkLen: 32 });
    // No share appears in the clear anywhere in the file.
    for (const s of src.pointShares) expect(file).not.toContain(s.share.toString(16).padStart(64, '0'));
    // The same header always encodes the same way (canonical), and the AD depends on it.
    const env = parseEnvelope(file);
    expect(toHex(canonicalHeader(env.header))).toBe(toHex(canonicalHeader(parseEnvelope(file).header)));
    expect(associatedData(env.header)).toHaveLength(32);
  });

  it('inspect reads the public header without a passphrase', async () => {
    const s = inspectBackup(await seal(dealt.sources[1]!));
    expect(s.verified).toBe(false);
    expect(s.partyId).toBe(toHex(dealt.sources[1]!.partyId));
  });

  it('redacts shares when an opened source is serialised', async () => {
    const back = await open(await seal(src));
    const text = JSON.stringify(back);
    expect(text).toContain('[redacted]');
    for (const s of src.pointShares) expect(text).not.toContain(s.share.toString());
  });

  it('uses OWASP scrypt parameters by default', async () => {
    expect(DEFAULT_SCRYPT).toEqual({ N: 2 ** 17, r: 8, p: 1 });
    expect(KDF_POLICY.minN).toBe(2 ** 17);
  });

  it('refuses an inconsistent source (share does not match its public share)', async () => {
    const bad = { ...src, pointShares: src.pointShares.map((s) => ({ ...s, share: s.share + 1n })) };
    expect(await codeOf(seal(bad))).toBe('INVALID_SOURCE');
  });
});

describe('THREATS D71: wrong passphrase vs corruption give distinct, clear errors', () => {
  const src = dealVault('backup-errors').sources[1]!;
  let file = '';
  it('setup', async () => {
    file = await seal(src);
  });

  it('wrong passphrase → WRONG_PASSPHRASE', async () => {
    const err = await openBackup(file, 'not-the-passphrase-at-all', { insecureTestKdf: true }).catch(
      (e) => e,
    );
    expect(err).toBeInstanceOf(BackupError);
    expect(err.code).toBe('WRONG_PASSPHRASE');
    expect(err.message).toMatch(/passphrase does not open this backup/);
    expect(err.message).not.toContain('not-the-passphrase');
  });

  it('a flipped ciphertext bit → CORRUPT_BACKUP/authentication', async () => {
    const f = edit(file, (j) => {
      j.ciphertext = flipHexChar(j.ciphertext as string, 4);
    });
    expect(await codeOf(open(f))).toBe('CORRUPT_BACKUP/authentication');
  });

  it('a modified tag → CORRUPT_BACKUP/authentication', async () => {
    const f = edit(file, (j) => {
      const c = j.ciphertext as string;
      j.ciphertext = flipHexChar(c, c.length - 1);
    });
    expect(await codeOf(open(f))).toBe('CORRUPT_BACKUP/authentication');
  });

  for (const [name, mutate] of [
    [
      'epoch',
      (h: Record<string, unknown>) => {
        h.epoch = 7;
      },
    ],
    [
      'partyId',
      (h: Record<string, unknown>) => {
        h.partyId = (h.parties as { id: string }[])[0]!.id;
      },
    ],
    [
      'vaultId',
      (h: Record<string, unknown>) => {
        h.vaultId = 'ab'.repeat(32);
      },
    ],
  ] as const) {
    it(`AD field ${name} edited → header-digest error; with the digest recomputed → authentication error`, async () => {
      const naive = edit(file, (j) => mutate(j.header));
      expect(await codeOf(open(naive))).toBe('CORRUPT_BACKUP/header-digest');
      const deliberate = edit(file, (j) => mutate(j.header), true);
      const code = await codeOf(open(deliberate));
      // partyId moved to another party fails the point-map check before any decryption.
      expect(['CORRUPT_BACKUP/authentication', 'CORRUPT_BACKUP/field']).toContain(code);
      if (name !== 'partyId') expect(code).toBe('CORRUPT_BACKUP/authentication');
    });
  }

  it('header JSON broken → CORRUPT_BACKUP/json', async () => {
    expect(await codeOf(open(file.slice(0, file.length / 2)))).toBe('CORRUPT_BACKUP/json');
    expect(await codeOf(open('not json'))).toBe('CORRUPT_BACKUP/json');
  });

  it('bad field, unknown field, bad length → CORRUPT_BACKUP/field|length', async () => {
    expect(
      await codeOf(
        open(
          edit(file, (j) => {
            j.header.threshold = 'three';
          }),
        ),
      ),
    ).toBe('CORRUPT_BACKUP/field');
    expect(
      await codeOf(
        open(
          edit(file, (j) => {
            j.header.extra = 1;
          }),
        ),
      ),
    ).toBe('CORRUPT_BACKUP/field');
    expect(
      await codeOf(
        open(
          edit(file, (j) => {
            j.header.vaultId = 'ab';
          }),
        ),
      ),
    ).toBe('CORRUPT_BACKUP/length');
    expect(
      await codeOf(
        open(
          edit(file, (j) => {
            j.ciphertext = (j.ciphertext as string).slice(2);
          }),
        ),
      ),
    ).toBe('CORRUPT_BACKUP/length');
  });

  it('unknown version → UNSUPPORTED_BACKUP_VERSION', async () => {
    expect(
      await codeOf(
        open(
          edit(file, (j) => {
            j.version = 2;
          }),
        ),
      ),
    ).toBe('UNSUPPORTED_BACKUP_VERSION');
  });
});

describe('THREATS D72: KDF parameters below the floor or absurdly high are refused; within bounds used', () => {
  const src = dealVault('backup-kdf').sources[2]!;

  it('a file written with test parameters is refused by the production policy (floor)', async () => {
    const file = await seal(src);
    const err = await openBackup(file, PASS).catch((e) => e);
    expect(err.code).toBe('KDF_PARAMS_REJECTED');
    expect(err.message).toMatch(/N = 16 is below the floor 131072/);
  });

  it('creating below the floor without the test switch is refused', async () => {
    expect(await codeOf(createBackup(src, PASS, { kdf: TEST_KDF }))).toBe('KDF_PARAMS_REJECTED');
  });

  it('absurd N / r / p / memory in a header are refused before any work (ceiling)', async () => {
    const file = await seal(src);
    for (const kdf of [
      { N: 2 ** 30 },
      { N: 2 ** 21, r: 8 },
      { r: 1024 },
      { p: 1000 },
      { N: 2 ** 20, r: 16 },
      { N: 3 },
    ]) {
      const f = edit(file, (j) => Object.assign(j.header.kdf as object, kdf), true);
      const t0 = Date.now();
      const err = await openBackup(f, PASS, { insecureTestKdf: true }).catch((e) => e);
      expect(err.code, JSON.stringify(kdf)).toBe('KDF_PARAMS_REJECTED');
      expect(Date.now() - t0).toBeLessThan(500);
    }
  });

  it('a file at the production floor (N = 2^17, r = 8, p = 1) opens with the production policy', async () => {
    const file = await createBackup(src, PASS, { rng: seededRandom('floor') });
    expect(JSON.parse(file).header.kdf).toMatchObject({ N: 131072, r: 8, p: 1 });
    const back = await openBackup(file, PASS);
    expect(back.pointShares).toEqual(src.pointShares);
  });
});

describe('THREATS D74: passphrase strength', () => {
  it('a weak passphrase is refused with feedback', () => {
    for (const weak of ['password123456', 'correcthorse', 'aaaaaaaaaaaaaaaa', 'qwertyuiop123']) {
      let err: unknown;
      try {
        assertStrongPassphrase(weak);
      } catch (e) {
        err = e;
      }
      expect(err, weak).toBeInstanceOf(BackupError);
      expect((err as BackupError).code).toBe('WEAK_PASSPHRASE');
      expect((err as BackupError).details.length).toBeGreaterThan(0);
    }
  });

  it('a short passphrase is refused for length even if random-looking', () => {
    const s = checkPassphraseStrength('q7#Lm!2z');
    expect(s.ok).toBe(false);
    expect(s.feedback.join(' ')).toMatch(/at least 12 characters/);
  });

  it('a strong passphrase passes', () => {
    expect(() => assertStrongPassphrase(PASS)).not.toThrow();
    expect(checkPassphraseStrength('correct horse battery staple').ok).toBe(true);
  });

  it('the core refuses passphrases below the minimum length even without the zxcvbn check', async () => {
    expect(await codeOf(seal(dealVault('short').sources[0]!, 'short'))).toBe('WEAK_PASSPHRASE');
  });
});

describe('THREATS D75: verify without reveal', () => {
  it('verify checks decryptability and share·G == P, and returns only public facts', async () => {
    const dealt = dealVault('verify');
    const file = await seal(dealt.sources[0]!);
    const summary = await verifyBackup(file, PASS, { insecureTestKdf: true });
    expect(summary.verified).toBe(true);
    expect(Object.keys(summary)).not.toContain('pointShares');
    await expect(
      verifyBackup(file, 'a-wrong-passphrase-here', { insecureTestKdf: true }),
    ).rejects.toMatchObject({
      code: 'WRONG_PASSPHRASE',
    });
  });

  it('a recorded public share that does not match the sealed share is caught', async () => {
    const dealt = dealVault('verify-mismatch');
    const src = dealt.sources[0]!;
    const file = await seal(src);
    // Swap the party's two public shares and recompute the digest: the AD changes too, so this is
    // caught as tampering; verify never reports success for a mismatched share.
    const f = edit(
      file,
      (j) => {
        const ps = j.header.publicShares as { x: number; point: string }[];
        const a = ps[0]!.point;
        ps[0]!.point = ps[1]!.point;
        ps[1]!.point = a;
      },
      true,
    );
    await expect(verifyBackup(f, PASS, { insecureTestKdf: true })).rejects.toBeInstanceOf(BackupError);
  });
});
