/**
 * `npm run bench [-- --json] [-- --quick] [-- --no-parallel]`: keygen and signing wall time with every party in one
 * process (messages in memory, every signature verified), bytes delivered per ceremony (broadcasts
 * counted once per recipient, as PROTOCOL.md §7 does), and the stored KeyShare size. With --json,
 * one JSON object per line, e.g.
 *   {"op":"keygen","powers":[1,1,1],"threshold":2,"ms":…,"bytes":…,"shareBytes":…}
 *   {"op":"sign","powers":[1,1,1],"threshold":2,"signers":2,"ms":…,"bytes":…}
 */
import { keccak_256 } from '@noble/hashes/sha3.js';
import { utf8 } from '../src/bytes.ts';
import type { KeyShare } from '../src/keyshare.ts';
import { expectAllOk, runDkg, runSign, testPartyIds } from '../src/testing/driver.ts';
import { parallelDkg } from './parallel-dkg.ts';

const json = process.argv.includes('--json');
const quick = process.argv.includes('--quick');
const parallel = !process.argv.includes('--no-parallel');

interface Case {
  powers: number[];
  threshold: number;
  /** Indices of the parties that sign in the signing benchmark. */
  signers: number[];
}

const CASES: Case[] = [
  { powers: [1, 1, 1], threshold: 2, signers: [0, 1] },
  { powers: [1, 1, 1, 1, 1], threshold: 3, signers: [0, 1, 2] },
  { powers: [2, 1, 1], threshold: 3, signers: [0, 1] },
  { powers: [1, 1, 1], threshold: 3, signers: [0, 1, 2] },
];

function emit(row: Record<string, unknown>, text: string): void {
  process.stdout.write(json ? `${JSON.stringify(row)}\n` : `${text}\n`);
}

const mib = (n: number) => (n / 1024 / 1024).toFixed(1);
const kb = (n: number) => `${(n / 1000).toFixed(1)} KB`;

if (!json) {
  emit({}, `node ${process.version}, ${process.arch}; every party in one thread; times are wall clock`);
}

for (const c of CASES) {
  const label = `[${c.powers.join(',')}] t=${c.threshold}`;
  global.gc?.();
  const heapBefore = process.memoryUsage().heapUsed;
  const t0 = performance.now();
  const run = runDkg({ powers: c.powers, threshold: c.threshold });
  const ms = performance.now() - t0;
  const results = expectAllOk(run);
  const shareBytes = Math.max(...results.map((r) => r.keyShare.encode().length));
  emit(
    {
      op: 'keygen',
      powers: c.powers,
      threshold: c.threshold,
      ms: Math.round(ms),
      bytes: run.stats.bytes,
      shareBytes,
      criticalPathMs: Math.round(Math.max(...run.stats.partyMs)),
      heapDeltaMiB: Number(mib(process.memoryUsage().heapUsed - heapBefore)),
    },
    `keygen ${label.padEnd(20)} ${(ms / 1000).toFixed(2)} s (slowest party alone ${(Math.max(...run.stats.partyMs) / 1000).toFixed(2)} s)   ${kb(run.stats.bytes)} on the wire   ${kb(shareBytes)} stored per party`,
  );

  if (parallel) {
    // The same ceremony with each party on its own worker thread (devices run in parallel).
    const ids = testPartyIds(c.powers.length, 'bench');
    const p = await parallelDkg(
      ids.map((id, i) => ({ id, power: c.powers[i]! })),
      c.threshold,
    );
    emit(
      {
        op: 'keygen-parallel',
        powers: c.powers,
        threshold: c.threshold,
        ms: Math.round(p.ms),
        bytes: p.bytes,
        threads: c.powers.length,
      },
      `keygen ${label.padEnd(20)} ${(p.ms / 1000).toFixed(2)} s with one worker thread per party (${c.powers.length} threads on this machine's cores)`,
    );
  }

  const shares: KeyShare[] = c.signers.map((i) => results[i]!.keyShare);
  const iterations = quick ? 3 : 10;
  // Warm up once (JIT), then average.
  expectAllOk(runSign({ keyShares: shares, digest: keccak_256(utf8('warm-up')) }));
  let total = 0;
  let bytes = 0;
  for (let i = 0; i < iterations; i++) {
    const digest = keccak_256(utf8(`bench ${i}`));
    const s0 = performance.now();
    const r = runSign({ keyShares: shares, digest });
    total += performance.now() - s0;
    expectAllOk(r);
    bytes = r.stats.bytes;
  }
  emit(
    {
      op: 'sign',
      powers: c.powers,
      threshold: c.threshold,
      signers: c.signers.length,
      ms: Math.round(total / iterations),
      bytes,
      iterations,
    },
    `sign   ${label.padEnd(20)} ${c.signers.length} signers   ${(total / iterations).toFixed(0)} ms   ${kb(bytes)} on the wire (mean of ${iterations})`,
  );
}
