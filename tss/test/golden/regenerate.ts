/**
 * Regenerates the golden transcripts `dkg.golden.json` and `sign.golden.json` next to this file.
 * Run `npm run golden` (= `npx tsx tss/test/golden/regenerate.ts`) ONLY when a change to the wire
 * format, the RNG use or the protocol is intentional; then review the diff and commit it with the
 * change that caused it. `golden.test.ts` fails on any unreviewed drift.
 */
import { writeFileSync } from 'node:fs';
import { buildDkgGolden, buildSignGolden, GOLDEN_FILES, serialise } from './vectors.ts';

const t0 = performance.now();
const { golden: dkg, results } = buildDkgGolden();
const sign = buildSignGolden(results);
writeFileSync(GOLDEN_FILES.dkg, serialise(dkg));
writeFileSync(GOLDEN_FILES.sign, serialise(sign));
console.log(
  `wrote ${GOLDEN_FILES.dkg.pathname} (${dkg.traffic.totalMessages} messages, address ${dkg.address})\n` +
    `wrote ${GOLDEN_FILES.sign.pathname} (${sign.traffic.totalMessages} messages, r=${sign.signature.r.slice(0, 16)}…)\n` +
    `in ${Math.round(performance.now() - t0)} ms`,
);
