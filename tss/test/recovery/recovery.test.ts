import { secp256k1 } from '@noble/curves/secp256k1.js';
import { describe, expect, it, vi } from 'vitest';
import type { BackupSource } from '../../src/backup/source.ts';
import { toHex } from '../../src/bytes.ts';
import { TssError } from '../../src/errors.ts';
import * as lagrange from '../../src/math/lagrange.ts';
import { add, mul, N } from '../../src/math/scalar.ts';
import { ethereumAddress } from '../../src/recovery/ethereum.ts';
import {
  type RecoveryInput,
  recoverKey,
  recoverVaults,
  type VaultRecovery,
} from '../../src/recovery/recover.ts';
import { seededRandom } from '../../src/testing/rng.ts';
import { reshareFromDealer } from '../../src/testing/shamir-dealer.ts';
import { dealVault, open, seal } from '../backup/helpers.ts';

// Count interpolations so refusal tests can prove they happen before any interpolation.
vi.mock('../../src/math/lagrange.ts', async (importOriginal) => {
  const orig = await importOriginal<typeof import('../../src/math/lagrange.ts')>();
  return { ...orig, lagrangeCoefficients: vi.fn(orig.lagrangeCoefficients) };
});
const lagrangeSpy = vi.mocked(lagrange.lagrangeCoefficients);

const inputs = (sources: BackupSource[], prefix = '#'): RecoveryInput[] =>
  sources.map((source, i) => ({ label: `${prefix}${i + 1}`, source }));

/** Powers 2, 1, 1 (t = 3): the sources sorted as [heavy, light, light]. */
function vault(seed: string) {
  const d = dealVault(seed);
  const heavy = d.sources.find((s) => s.pointShares.length === 2)!;
  const light = d.sources.filter((s) => s.pointShares.length === 1);
  return { ...d, heavy, l1: light[0]!, l2: light[1]! };
}

function expectRefusedBeforeInterpolation(r: VaultRecovery, code: TssError['code'], msg: RegExp): void {
  expect(r.ok).toBe(false);
  if (r.ok) return;
  expect(r.error).toBeInstanceOf(TssError);
  expect(r.error.code).toBe(code);
  expect(r.error.message).toMatch(msg);
  expect(r).not.toHaveProperty('key');
  expect(lagrangeSpy).not.toHaveBeenCalled();
}

function only(inputsList: RecoveryInput[]): VaultRecovery {
  lagrangeSpy.mockClear();
  const rs = recoverVaults(inputsList);
  expect(rs).toHaveLength(1);
  return rs[0]!;
}

describe('THREATS D66: fewer than threshold backups (by weight) are refused', () => {
  it('two light parties (power 2 of 3) → BELOW_THRESHOLD naming the missing power, no key', () => {
    const v = vault('d66');
    const r = only(inputs([v.l1, v.l2]));
    expectRefusedBeforeInterpolation(
      r,
      'BELOW_THRESHOLD',
      /needs signing power 3, these backups hold 2; 1 more point of signing power missing/,
    );
  });

  it('the heavy party alone (power 2 of 3) is refused too; power counts points, not files', () => {
    const v = vault('d66b');
    expectRefusedBeforeInterpolation(only(inputs([v.heavy])), 'BELOW_THRESHOLD', /hold 2; 1 more/);
  });
});

describe('THREATS D67: exactly threshold, more than threshold and different subsets give the same key', () => {
  it('all subsets reaching t rebuild the dealt key; public key and addresses match', () => {
    const v = vault('d67');
    const expected = ethereumAddress(v.groupPublicKey);
    const subsets = [
      [v.heavy, v.l1],
      [v.heavy, v.l2],
      [v.l2, v.heavy],
      [v.heavy, v.l1, v.l2],
    ];
    for (const s of subsets) {
      const r = recoverKey(inputs(s));
      expect(BigInt(r.key.privateKeyHex())).toBe(v.secret);
      expect(toHex(secp256k1.getPublicKey(r.key.privateKeyBytes(), true))).toBe(toHex(v.groupPublicKey));
      expect(r.address).toBe(expected);
      expect(r.key.ethereumAddress()).toBe(expected);
      expect(r.usedPoints).toHaveLength(3); // exactly t points, even when more are given
      r.key.destroy();
    }
  });

  it('works through sealed and reopened backups', async () => {
    const v = vault('d67-files');
    const opened = [await open(await seal(v.heavy)), await open(await seal(v.l2))];
    const r = recoverKey(inputs(opened));
    expect(BigInt(r.key.privateKeyHex())).toBe(v.secret);
  });

  it('a 1-of-1 power-3 party and a 5-party weighted vault also recover', () => {
    const rng = seededRandom('d67-shapes');
    const solo = dealVault('solo', { parties: [{ power: 3 }], threshold: 3, rng });
    expect(BigInt(recoverKey(inputs(solo.sources)).key.privateKeyHex())).toBe(solo.secret);
    const five = dealVault('five', { parties: [1, 3, 2, 1, 1].map((power) => ({ power })), threshold: 5 });
    const r = recoverKey(inputs(five.sources.filter((s) => s.pointShares.length >= 2)));
    expect(BigInt(r.key.privateKeyHex())).toBe(five.secret);
  });
});

describe('THREATS D68: duplicates and bad points are refused before interpolation', () => {
  const v = vault('d68');

  it('the same file twice', () => {
    expectRefusedBeforeInterpolation(
      only(inputs([v.heavy, v.l1, v.heavy])),
      'CONFLICTING_DUPLICATE',
      /#1 and #3 are the same backup given twice/,
    );
    // Named as a duplicate even when, counted once, the set would be below threshold.
    expectRefusedBeforeInterpolation(
      only(inputs([v.l1, v.l1])),
      'CONFLICTING_DUPLICATE',
      /#1 and #2 are the same backup given twice/,
    );
  });

  it('the same point from two different files (same party, different share)', () => {
    const other = { ...v.l1, pointShares: v.l1.pointShares.map((s) => ({ ...s, share: s.share + 1n })) };
    expectRefusedBeforeInterpolation(
      only(inputs([v.heavy, v.l1, other])),
      'CONFLICTING_DUPLICATE',
      /two different backups of the same party/,
    );
  });

  it('a file claiming a point of another party (same x in two files)', () => {
    const stolen = v.heavy.pointShares[0]!;
    const forged: BackupSource = {
      ...v.l1,
      pointShares: [{ ...stolen }],
      publicShares: [{ x: stolen.x, point: v.heavy.publicShares[0]!.point }],
    };
    expectRefusedBeforeInterpolation(
      only(inputs([v.heavy, forged, v.l2])),
      'INVALID_PARAMETERS',
      /must cover exactly this party's points/,
    );
  });

  const withX = (x: bigint): BackupSource => ({
    ...v.l1,
    pointShares: [{ x, share: v.l1.pointShares[0]!.share }],
    publicShares: [{ x, point: v.l1.publicShares[0]!.point }],
  });

  it('x = 0', () => {
    expectRefusedBeforeInterpolation(only(inputs([v.heavy, withX(0n)])), 'INVALID_PARAMETERS', /x = 0/);
  });

  it('x ≥ n (the group order) and x beyond the vault’s points', () => {
    expectRefusedBeforeInterpolation(
      only(inputs([v.heavy, withX(N)])),
      'INVALID_PARAMETERS',
      /not below the group order/,
    );
    expectRefusedBeforeInterpolation(
      only(inputs([v.heavy, withX(N + 1n)])),
      'INVALID_PARAMETERS',
      /not below the group order/,
    );
    expectRefusedBeforeInterpolation(
      only(inputs([v.heavy, withX(5n)])),
      'INVALID_PARAMETERS',
      /outside the vault's points 1..4/,
    );
  });
});

describe('THREATS D69: mixed epochs never give a silently wrong key', () => {
  const e0 = vault('d69');
  const e1raw = reshareFromDealer(e0, {
    parties: e0.sources.map((s) => ({ id: s.partyId, power: s.pointShares.length })),
    threshold: 3,
    rng: seededRandom('d69-reshare'),
    epoch: 1,
  });
  const heavy1 = e1raw.sources.find((s) => s.pointShares.length === 2)!;
  const [l1e1, l2e1] = e1raw.sources.filter((s) => s.pointShares.length === 1) as [
    BackupSource,
    BackupSource,
  ];

  it('older-epoch files are ignored, with a message, when the newest epoch reaches threshold', () => {
    const rs = recoverVaults([
      { label: 'old-heavy', source: e0.heavy },
      { label: 'new-heavy', source: heavy1 },
      { label: 'new-light', source: l1e1 },
    ]);
    const r = rs[0]!;
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.epoch).toBe(1);
    expect(BigInt(r.key.privateKeyHex())).toBe(e0.secret);
    expect(r.ignored).toEqual([
      { label: 'old-heavy', epoch: 0, reason: expect.stringMatching(/older epoch 0/) },
    ]);
  });

  it('a newer epoch below threshold is ignored in favour of an older epoch that reaches it alone', () => {
    const r = only([
      { label: 'new-light', source: l2e1 },
      { label: 'old-heavy', source: e0.heavy },
      { label: 'old-light', source: e0.l1 },
    ]);
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.epoch).toBe(0);
    expect(r.ignored[0]!.reason).toMatch(/newer epoch 1 has only power 1 of 3/);
  });

  it('"epoch mismatch" when no epoch reaches threshold alone (even though the union would)', () => {
    const mixed = [
      { label: 'old-heavy', source: e0.heavy },
      { label: 'new-light', source: l1e1 },
    ];
    expectRefusedBeforeInterpolation(
      only(mixed),
      'EPOCH_MISMATCH',
      /epoch mismatch.*epoch 1: power 1 of 3.*epoch 0: power 2 of 3/,
    );
    // Why: interpolating across epochs gives a wrong key.
    const pts = [...e0.heavy.pointShares, ...l1e1.pointShares].filter(
      (p, i, a) => a.findIndex((q) => q.x === p.x) === i,
    );
    if (pts.length >= 3) {
      const use = pts.slice(0, 3);
      const lam = lagrange.lagrangeCoefficients(use.map((p) => p.x));
      const wrong = use.reduce((acc, p, i) => add(acc, mul(lam[i]!, p.share)), 0n);
      expect(wrong).not.toBe(e0.secret);
    }
  });
});

describe('THREATS D70: backups of two wallets mixed are handled per vault', () => {
  const a = vault('d70-a');
  const b = vault('d70-b');

  it('both complete: each vault recovers its own key', () => {
    const rs = recoverVaults(inputs([a.heavy, b.l1, a.l1, b.heavy]));
    expect(rs).toHaveLength(2);
    const byVault = new Map(rs.map((r) => [r.vaultId, r]));
    const ra = byVault.get(toHex(a.vaultId))!;
    const rb = byVault.get(toHex(b.vaultId))!;
    expect(ra.ok && BigInt(ra.key.privateKeyHex())).toBe(a.secret);
    expect(rb.ok && BigInt(rb.key.privateKeyHex())).toBe(b.secret);
    expect(ra.ok && ra.used).toEqual(['#1', '#3']);
  });

  it('one complete, one short: the short one is refused on its own', () => {
    const rs = recoverVaults(inputs([a.heavy, b.l1, a.l1]));
    const ra = rs.find((r) => r.vaultId === toHex(a.vaultId))!;
    const rb = rs.find((r) => r.vaultId === toHex(b.vaultId))!;
    expect(ra.ok).toBe(true);
    expect(rb.ok).toBe(false);
    expect(!rb.ok && rb.error.code).toBe('BELOW_THRESHOLD');
  });

  it('recoverKey refuses a mix with VAULT_MISMATCH', () => {
    expect(() => recoverKey(inputs([a.heavy, a.l1, b.heavy]))).toThrow(/VAULT_MISMATCH/);
  });

  it('the same vault id with a different group key is treated as a separate vault, with a warning', () => {
    const fake = { ...b.heavy, vaultId: a.vaultId };
    const rs = recoverVaults(inputs([a.heavy, a.l1, fake]));
    expect(rs).toHaveLength(2);
    expect(rs.every((r) => r.warnings.some((w) => /different group public keys/.test(w)))).toBe(true);
    expect(rs.filter((r) => r.ok)).toHaveLength(1);
  });
});

describe('the key is checked against the group public key before it is returned', () => {
  const v = vault('pk-check');

  it('a share that does not match its public share is blamed on its file', () => {
    const bad = { ...v.l1, pointShares: v.l1.pointShares.map((s) => ({ ...s, share: s.share + 1n })) };
    const r = only(inputs([v.heavy, bad]));
    expect(r.ok).toBe(false);
    expect(!r.ok && r.error.message).toMatch(
      /#2: share for x = \d+ does not match its recorded public share/,
    );
  });

  it('consistent files whose group key is wrong give PUBLIC_KEY_MISMATCH and no key', () => {
    const other = vault('pk-check-other').groupPublicKey;
    const r = only(inputs([v.heavy, v.l1].map((s) => ({ ...s, groupPublicKey: other }))));
    expect(r.ok).toBe(false);
    expect(!r.ok && r.error.code).toBe('PUBLIC_KEY_MISMATCH');
  });
});

describe('THREATS D76: output hygiene', () => {
  it('the recovered key redacts itself and destroy() zeroes its buffer', async () => {
    const v = vault('d76');
    const r = recoverKey(inputs([v.heavy, v.l1]));
    const hex = r.key.privateKeyHex().slice(2);
    expect(JSON.stringify(r)).not.toContain(hex);
    expect(String(r.key)).not.toContain(hex);
    const { inspect } = await import('node:util');
    expect(inspect(r, { depth: 5 })).not.toContain(hex);
    const copy = r.key.privateKeyBytes();
    r.key.destroy();
    expect(r.key.destroyed).toBe(true);
    expect(() => r.key.privateKeyHex()).toThrow(/destroyed/);
    // The caller's copy is its own to zero.
    expect(toHex(copy)).toBe(hex);
  });
});
