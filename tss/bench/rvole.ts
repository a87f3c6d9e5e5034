/**
 * RVOLE benchmark (DKLs23 Protocol 5.2 over SoftSpokenOT k = 4): ms per RVOLE for one ordered pair,
 * all three steps in one thread, and the exact message sizes. Run: `npx tsx tss/bench/rvole.ts`.
 */
import { randomScalar } from '../src/math/scalar.ts';
import { rvoleReceiverRound1, rvoleReceiverRound3, rvoleSenderRound2 } from '../src/mul/rvole.ts';
import { dealAboSeeds } from '../src/testing/abo-dealer.ts';
import { seededRandom } from '../src/testing/rng.ts';

const rng = seededRandom('bench-rvole');
const { full, punctured } = dealAboSeeds(rng);
const WARMUP = 20;
const RUNS = Number(process.argv[2] ?? 100);

let r1Bytes = 0;
let r2Bytes = 0;
const t = { r1: 0, r2: 0, r3: 0 };
for (let i = 0; i < WARMUP + RUNS; i++) {
  const instanceId = rng(32);
  const b = randomScalar(rng);
  const inputs = [randomScalar(rng), randomScalar(rng)] as const;
  const t0 = performance.now();
  const r1 = rvoleReceiverRound1({ instanceId, seeds: full, b, rng });
  const t1 = performance.now();
  const r2 = rvoleSenderRound2({
    instanceId,
    seeds: punctured,
    inputs,
    receiverMessage: r1.message,
    rng,
    peer: 'r',
  });
  const t2 = performance.now();
  rvoleReceiverRound3({ instanceId, keep: r1.keep, senderMessage: r2.message, peer: 's' });
  const t3 = performance.now();
  if (i >= WARMUP) {
    t.r1 += t1 - t0;
    t.r2 += t2 - t1;
    t.r3 += t3 - t2;
  }
  r1Bytes = r1.message.length;
  r2Bytes = r2.message.length;
}
const f = (x: number) => (x / RUNS).toFixed(2);
console.log(`RVOLE (SoftSpoken k=4, xi=512, L=2, rho=1), ${RUNS} runs after ${WARMUP} warm-up, one thread`);
console.log(
  `  receiver round 1: ${f(t.r1)} ms   sender round 2: ${f(t.r2)} ms   receiver round 3: ${f(t.r3)} ms`,
);
console.log(`  total per RVOLE (one ordered pair): ${f(t.r1 + t.r2 + t.r3)} ms`);
console.log(
  `  receiver message: ${r1Bytes} B   sender message: ${r2Bytes} B   total: ${r1Bytes + r2Bytes} B`,
);
