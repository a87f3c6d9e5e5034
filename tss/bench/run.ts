/**
 * `npm run bench [-- --json] [-- --quick] [-- --no-parallel] [-- --peer]`: keygen and signing wall
 * time with every party in one process (messages in memory, every signature verified), bytes
 * delivered per ceremony (broadcasts counted once per recipient, as PROTOCOL.md §7 does), and the
 * stored KeyShare size. With --json, one JSON object per line, e.g.
 *   {"op":"keygen","powers":[1,1,1],"threshold":2,"ms":…,"bytes":…,"shareBytes":…}
 *   {"op":"sign","powers":[1,1,1],"threshold":2,"signers":2,"ms":…,"bytes":…}
 * With --peer, each unweighted keygen (and the 2-of-3 refresh) is followed in the same run by the
 * audited WASM peer on the same layout (`peer.ts`), and the row carries the peer's figures and the
 * ratios ours / peer's: same-run ratios are the only comparison this shared machine supports.
 * Every row carries the 1-minute load average at its start.
 */
import { loadavg } from 'node:os';
import { keccak_256 } from '@noble/hashes/sha3.js';
import { utf8 } from '../src/bytes.ts';
import type { KeyShare } from '../src/keyshare.ts';
import { expectAllOk, runDkg, runReshare, runSign, testPartyIds } from '../src/testing/driver.ts';
import { parallelDkg } from './parallel-dkg.ts';
import { type PeerKeygen, peerKeygen, peerRefresh } from './peer.ts';

const json = process.argv.includes('--json');
const quick = process.argv.includes('--quick');
const parallel = !process.argv.includes('--no-parallel');
const withPeer = process.argv.includes('--peer');
const load = () => Number(loadavg()[0]!.toFixed(2));

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
const ratio = (a: number, b: number) => Number((a / b).toFixed(3));

/** The peer's figures and ours / peer's, for a JSON row and a text line. */
function peerColumns(
  ours: { ms: number; criticalPathMs: number; bytes: number; shareBytes: number },
  peer: PeerKeygen,
): { row: Record<string, unknown>; text: string } {
  const r = {
    ms: ratio(ours.ms, peer.ms),
    criticalPathVsPeerMs: ratio(ours.criticalPathMs, peer.ms),
    bytes: ratio(ours.bytes, peer.bytes),
    shareBytes: ratio(ours.shareBytes, peer.shareBytes),
  };
  return {
    row: {
      peer: {
        ms: Math.round(peer.ms),
        criticalPathMs: Math.round(peer.criticalPathMs),
        bytes: peer.bytes,
        shareBytes: peer.shareBytes,
        loadAvg: load(),
      },
      ratio: r,
    },
    text: `\n       peer ${(peer.ms / 1000).toFixed(2)} s (slowest party alone ${(peer.criticalPathMs / 1000).toFixed(2)} s)   ${kb(peer.bytes)}   ${kb(peer.shareBytes)} stored;  ours/peer: time ${r.ms}×, slowest party/peer's all ${r.criticalPathVsPeerMs}×, bytes ${r.bytes}×, stored ${r.shareBytes}×`,
  };
}

if (!json) {
  emit({}, `node ${process.version}, ${process.arch}; every party in one thread; times are wall clock`);
}
// Warm-up (JIT, one-time tables) for both implementations, so the first row is not penalised.
expectAllOk(runDkg({ powers: [1, 1], threshold: 2 }));
if (withPeer) peerKeygen(2, 2);

for (const c of CASES) {
  const label = `[${c.powers.join(',')}] t=${c.threshold}`;
  global.gc?.();
  const heapBefore = process.memoryUsage().heapUsed;
  const loadAvg = load();
  const t0 = performance.now();
  const run = runDkg({ powers: c.powers, threshold: c.threshold });
  const ms = performance.now() - t0;
  const results = expectAllOk(run);
  const shareBytes = Math.max(...results.map((r) => r.keyShare.encode().length));
  const criticalPathMs = Math.max(...run.stats.partyMs);
  // The peer has no weights: compare only the unweighted layouts.
  const peer =
    withPeer && c.powers.every((w) => w === 1)
      ? peerColumns(
          { ms, criticalPathMs, bytes: run.stats.bytes, shareBytes },
          peerKeygen(c.powers.length, c.threshold),
        )
      : undefined;
  emit(
    {
      op: 'keygen',
      powers: c.powers,
      threshold: c.threshold,
      ms: Math.round(ms),
      bytes: run.stats.bytes,
      shareBytes,
      criticalPathMs: Math.round(criticalPathMs),
      heapDeltaMiB: Number(mib(process.memoryUsage().heapUsed - heapBefore)),
      threads: 1,
      loadAvg,
      ...peer?.row,
    },
    `keygen ${label.padEnd(20)} ${(ms / 1000).toFixed(2)} s (slowest party alone ${(criticalPathMs / 1000).toFixed(2)} s)   ${kb(run.stats.bytes)} on the wire   ${kb(shareBytes)} stored per party   (load ${loadAvg})${peer?.text ?? ''}`,
  );

  if (c.powers.length === 3 && c.threshold === 2) {
    // Refresh: a reshare to the same committee (fresh shares, fresh OT setup for every pair).
    const committee = results.map((r, i) => ({ id: r.keyShare.selfId, power: c.powers[i]! }));
    const rLoad = load();
    const r0 = performance.now();
    const rr = runReshare({
      oldShares: results.map((r) => r.keyShare),
      newParties: committee,
      newThreshold: c.threshold,
    });
    const rMs = performance.now() - r0;
    const outs = expectAllOk(rr);
    const rShare = Math.max(...outs.map((o) => o.pending?.encode().length ?? 0));
    const rCrit = Math.max(...rr.stats.partyMs);
    const rPeer = withPeer
      ? peerColumns(
          { ms: rMs, criticalPathMs: rCrit, bytes: rr.stats.bytes, shareBytes: rShare },
          peerRefresh(c.powers.length, c.threshold),
        )
      : undefined;
    emit(
      {
        op: 'refresh',
        powers: c.powers,
        threshold: c.threshold,
        ms: Math.round(rMs),
        bytes: rr.stats.bytes,
        shareBytes: rShare,
        criticalPathMs: Math.round(rCrit),
        threads: 1,
        loadAvg: rLoad,
        ...rPeer?.row,
      },
      `refresh ${label.padEnd(19)} ${(rMs / 1000).toFixed(2)} s (slowest party alone ${(rCrit / 1000).toFixed(2)} s)   ${kb(rr.stats.bytes)} on the wire   ${kb(rShare)} stored per party   (load ${rLoad})${rPeer?.text ?? ''}`,
    );
  }

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
