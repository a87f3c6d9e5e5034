/**
 * Micro-benchmark of the pairwise OT setup (PROTOCOL.md 3.4): one ordered pair = 256 endemic base
 * OTs + the SoftSpoken k = 4 all-but-one conversion, split by step, single-threaded.
 *
 *   npx tsx tss/bench/ot-setup.ts [runs=5]
 *
 * Also prints where the time goes, from a per-primitive micro-measurement of the operations each
 * step performs (counts per ordered pair are fixed by the protocol): v1 (one sender key-agreement
 * message per OT) and v2 (one per batch, docs/PROTOCOL.md "Base OT v2") on noble's arithmetic, and
 * v2 as it runs now (β·M_j, H and the receiver's table walks on the lazy arithmetic of
 * `edwards25519.ts`), all
 * priced with the unit costs of this run.
 */
import { ristretto255, ristretto255_hasher } from '@noble/curves/ed25519.js';
import { aboReceiverEval, aboSenderBuild } from '../src/ot/allbutone.ts';
import { doubleAndEncodeBatch, edwardsOf } from '../src/ot/baseot.ts';
import { deriveToEdwards } from '../src/ot/elligator.ts';
import { FixedBaseTable } from '../src/ot/fixedbase.ts';
import { multiplySameScalar } from '../src/ot/samescalar.ts';
import {
  OT_SETUP_RECEIVER_MESSAGE_BYTES,
  OT_SETUP_SENDER_MESSAGE_BYTES,
  otSetupReceiverFinish,
  otSetupReceiverStart,
  otSetupSenderRespond,
} from '../src/ot/setup.ts';
import { cryptoRandomBytes } from '../src/random.ts';

const runs = Number(process.argv[2] ?? 5);
const sid = cryptoRandomBytes(32);

function ms(t0: number): number {
  return performance.now() - t0;
}
// CPU time of this process (user + system), in ms: on a shared, oversubscribed machine wall time
// also counts the time spent waiting for a core, CPU time does not.
function cpu(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

// Warm-up (JIT, and the one-time fixed-base table for G).
{
  const r = otSetupReceiverStart(sid, cryptoRandomBytes);
  const s = otSetupSenderRespond(sid, r.message, cryptoRandomBytes, 'peer');
  otSetupReceiverFinish(sid, r.keep, s.message, 'peer');
}

const steps = ['receiver start', 'sender respond', 'receiver finish'] as const;
const wall: number[][] = [[], [], []];
const cpuT: number[][] = [[], [], []];
for (let k = 0; k < runs; k++) {
  let t = performance.now();
  let c = cpu();
  const r = otSetupReceiverStart(sid, cryptoRandomBytes);
  wall[0]!.push(ms(t));
  cpuT[0]!.push(cpu() - c);
  t = performance.now();
  c = cpu();
  const s = otSetupSenderRespond(sid, r.message, cryptoRandomBytes, 'peer');
  wall[1]!.push(ms(t));
  cpuT[1]!.push(cpu() - c);
  t = performance.now();
  c = cpu();
  otSetupReceiverFinish(sid, r.keep, s.message, 'peer');
  wall[2]!.push(ms(t));
  cpuT[2]!.push(cpu() - c);
}
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
console.log(`OT setup per ordered pair (median of ${runs}, single thread, Node ${process.versions.node})`);
console.log(`  ${''.padEnd(16)} ${'wall'.padStart(8)} ${'cpu'.padStart(8)}`);
let wSum = 0;
let cSum = 0;
steps.forEach((name, i) => {
  const w = median(wall[i]!);
  const c = median(cpuT[i]!);
  wSum += w;
  cSum += c;
  console.log(`  ${name.padEnd(16)} ${w.toFixed(0).padStart(5)} ms ${c.toFixed(0).padStart(5)} ms`);
});
console.log(`  ${'total'.padEnd(16)} ${wSum.toFixed(0).padStart(5)} ms ${cSum.toFixed(0).padStart(5)} ms`);
console.log(`  message 1 (R→S)  ${OT_SETUP_RECEIVER_MESSAGE_BYTES} bytes`);
console.log(`  message 2 (S→R)  ${OT_SETUP_SENDER_MESSAGE_BYTES} bytes`);

// Where the time goes: unit costs of the primitives, times their per-pair counts.
const P = ristretto255.Point;
function unit(n: number, f: () => void): number {
  f();
  const c = cpu();
  for (let i = 0; i < n; i++) f();
  return (cpu() - c) / n;
}
const scalar = () => P.Fn.create(BigInt(`0x${Buffer.from(cryptoRandomBytes(32)).toString('hex')}`) || 1n);
const Q = P.BASE.multiply(scalar());
const G8 = P.BASE.add(P.ZERO).precompute(8, false);
const u64 = cryptoRandomBytes(64);
const enc = Q.toBytes();
const varMul = unit(60, () => Q.multiply(scalar()));
// The sender's walk, per point, measured on a batch of 64 points (the scalar is recoded once).
const mPoints = Array.from({ length: 64 }, (_, i) => edwardsOf(Q.multiply(BigInt(i + 2))));
const sameMul = unit(3, () => multiplySameScalar(mPoints, scalar())) / mPoints.length;
const fixMul = unit(200, () => G8.multiply(scalar()));
// The receiver's a_i·B: one width-6 table for B per batch, then 256 table walks.
const tableBuild = unit(5, () => P.fromBytes(enc).precompute(6, false));
const B6 = P.fromBytes(enc).precompute(6, false);
const tabMul = unit(200, () => B6.multiply(scalar()));
const QE = edwardsOf(Q);
const tableBuildLazy = unit(5, () => new FixedBaseTable(QE, 6));
const B6Lazy = new FixedBaseTable(QE, 6);
const tabMulLazy = unit(200, () => B6Lazy.multiply(scalar()));
const G8Lazy = new FixedBaseTable(edwardsOf(P.BASE), 8);
const fixMulLazy = unit(200, () => G8Lazy.multiply(scalar()));
const h2g = unit(200, () => ristretto255_hasher.deriveToCurve!(u64));
const h2gLazy = unit(200, () => deriveToEdwards(u64));
const encode = unit(400, () => Q.toBytes());
const decode = unit(400, () => P.fromBytes(enc));
const batch = Array.from({ length: 256 }, (_, i) => Q.multiply(BigInt(i + 2)));
const dblEnc = unit(5, () => doubleAndEncodeBatch(batch)) / 256;
const keys0 = cryptoRandomBytes(256 * 32);
const keys1 = cryptoRandomBytes(256 * 32);
const abo = aboSenderBuild(sid, keys0, keys1);
const aboSend = unit(5, () => aboSenderBuild(sid, keys0, keys1));
const aboRecv = unit(5, () =>
  aboReceiverEval(sid, cryptoRandomBytes(32).fill(0), keys0, abo.message, 'peer'),
);
// Columns: v1 (one B per OT) and v2 (one B per batch) on noble's arithmetic, and v2 as it runs now
// (the sender's β·M_j as one same-scalar walk per point, `samescalar.ts`, H and the table walks of
// G and B on the lazy arithmetic, `elligator.ts`, `fixedbase.ts`).
const COLUMNS = ['v1, noble', 'v2, noble', 'v2, now'] as const;
const totals = [0, 0, 0];
const row = (what: string, counts: readonly [number, number, number], each: number) => {
  const cells = counts.map((n, i) => {
    totals[i]! += n * each;
    return `× ${String(n).padStart(4)} = ${(n * each).toFixed(0).padStart(5)} ms`;
  });
  console.log(`  ${what.padEnd(52)} ${each.toFixed(3).padStart(7)} ms ${cells.join('   ')}`);
};
console.log('Where the time goes (CPU unit cost × count per ordered pair):');
console.log(`  ${''.padEnd(52)} ${'unit'.padStart(10)} ${COLUMNS.map((c) => c.padStart(19)).join('   ')}`);
row('variable-base CT multiply, noble (S: β·M_j; v1 R: a·B)', [768, 512, 0], varMul);
row('same-scalar CT walk β·M_j (S, samescalar.ts)', [0, 0, 512], sameMul);
row('table walk a_i·B, width-6 table of B, noble (v2 R)', [0, 256, 0], tabMul);
row('table of B, built once, noble (v2 R)', [0, 1, 0], tableBuild);
row('fixed-base CT multiply, W=8 table, noble (a·G; b·G/β·G)', [512, 257, 0], fixMul);
row('table walk a_i·B, width 6, fixedbase.ts (R)', [0, 0, 256], tabMulLazy);
row('table of B, built once, fixedbase.ts (R)', [0, 0, 1], tableBuildLazy);
row('fixed-base walk, W=8 table of G, fixedbase.ts (a·G; β·G)', [0, 0, 257], fixMulLazy);
row('hash-to-group, noble (H ×3, r_{1-c})', [1024, 1024, 0], h2g);
row('hash-to-group, elligator.ts (H ×3, r_{1-c})', [0, 0, 1024], h2gLazy);
row('ristretto encode (r_c; v2 also B)', [256, 257, 257], encode);
row('batched double-and-encode (r_{1-c}, K ×3; v1 also B)', [1280, 1024, 1024], dblEnc);
row('ristretto decode + validate (r_0, r_1, B)', [768, 513, 513], decode);
row('all-but-one sender (64 GGM trees + proofs)', [1, 1, 1], aboSend);
row('all-but-one receiver (eval + check, CT)', [1, 1, 1], aboRecv);
console.log(
  `  ${'modelled total'.padEnd(52)} ${''.padStart(10)} ${totals.map((t) => `${t.toFixed(0).padStart(16)} ms`).join('   ')}`,
);
console.log(`  measured total (as it runs now, CPU, above): ${cSum.toFixed(0)} ms`);
