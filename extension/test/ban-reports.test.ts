/**
 * Bans at the app level, the pure decisions (ban-reports.ts) and the retry message that carries a
 * victim's report: which culprits a ban-kind abort yields, how a coordinator records a report (only
 * signers of the attempt, never the reporter), what the next attempt leaves out, which of this
 * device's sessions are stopped, and the report's wire form (refused when malformed).
 */

import { chooseSigners, decodeControl, encodeControl } from '@concord/bridge-server/vault';
import { describe, expect, it } from 'vitest';
import {
  banCulprits,
  excludedFor,
  MAX_REPORTED,
  sessionsWith,
  withReport,
} from '../src/background/services/ban-reports.ts';
import { utf8 } from '../src/shared/bytes.ts';
import type { CeremonyRecord } from '../src/storage/records.ts';

const id = (c: string) => c.repeat(64);
const [A, B, C, D] = ['a', 'b', 'c', 'd'].map(id) as [string, string, string, string];

const ceremony = (over: Partial<CeremonyRecord> = {}): CeremonyRecord => ({
  id: 'r',
  vaultId: 'v',
  proposalId: 'r',
  kind: 'sign',
  status: 'running',
  round: 0,
  state: null,
  abortCode: null,
  createdAt: 0,
  updatedAt: 0,
  attempt: 1,
  signers: [A, B, C],
  ...over,
});

describe('ban reports', () => {
  it('a ban-kind abort yields its culprits (never self); a retry-kind one none', () => {
    expect(banCulprits({ abortKind: 'ban', culprits: [B, B, C] }, A)).toEqual([B, C]);
    expect(banCulprits({ abortKind: 'ban', culprits: [A] }, A)).toEqual([]);
    expect(banCulprits({ abortKind: 'retry', culprits: [B] }, A)).toEqual([]);
    expect(banCulprits(undefined, A)).toEqual([]);
  });

  it('a coordinator records a report of signers of the attempt only, never the reporter', () => {
    const c = ceremony();
    const members = new Set(c.signers);
    expect(withReport(c, C, [B], members).excluded).toEqual([B]);
    // The reporter cannot exclude itself, nor name a device outside the attempt.
    expect(withReport(c, C, [C, D], members)).toBe(c);
    // Reports accumulate.
    const twice = withReport(withReport(c, C, [B], members), A, [C], members);
    expect(twice.excluded).toEqual([B, C]);
    expect(MAX_REPORTED).toBe(16);
  });

  it('the next attempt leaves out local bans and reported signers, and still completes when it can', () => {
    const c = withReport(ceremony(), C, [B], new Set([A, B, C]));
    const excluded = excludedFor(c, [D]);
    expect([...excluded].sort()).toEqual([B, D]);
    const approvers = [A, B, C, D].map((deviceId) => ({ deviceId, power: 1 }));
    // [1,1,1,1] t = 3: A, C and … D is banned here, B reported: too few.
    expect(chooseSigners(approvers, 3, new Set([A, B, C, D]), A, excluded)).toBeNull();
    // t = 2: A and C, without B.
    expect(chooseSigners(approvers, 2, new Set([A, B, C, D]), A, excluded)).toEqual([A, C]);
    expect([...excludedFor(undefined, [])]).toEqual([]);
  });

  it('only this vault’s running sessions that include a culprit are stopped', () => {
    const running = [
      { id: '1', vaultId: 'v', attempt: 2, signers: [A, B] },
      { id: '2', vaultId: 'v', attempt: 1, signers: [A, C] },
      { id: '3', vaultId: 'w', attempt: 1, signers: [A, B] },
      { id: '4', vaultId: 'v', attempt: undefined, signers: [A, B] },
    ];
    expect(sessionsWith(running, 'v', [B]).map((r) => r.id)).toEqual(['1']);
    expect(sessionsWith(running, 'v', [D])).toEqual([]);
  });

  it('a retry carries the report on the wire; a malformed report is refused', () => {
    const hash = new Uint8Array(32).fill(1);
    const back = decodeControl(encodeControl({ t: 'retry', hash, attempt: 3, banned: [B] }));
    expect(back).toEqual({ t: 'retry', hash, attempt: 3, banned: [B] });
    expect(decodeControl(encodeControl({ t: 'retry', hash, attempt: 3 }))).toEqual({
      t: 'retry',
      hash,
      attempt: 3,
    });
    const wire = (banned: unknown) =>
      utf8(
        JSON.stringify({
          t: 'retry',
          hash: 'AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE',
          attempt: 3,
          banned,
        }),
      );
    expect(() => decodeControl(wire(['not-hex']))).toThrow(/schema/);
    expect(() => decodeControl(wire([]))).toThrow(/schema/);
    expect(() => decodeControl(wire(Array.from({ length: 17 }, () => B)))).toThrow(/schema/);
  });
});
