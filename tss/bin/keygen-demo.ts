/**
 * `npm run demo`: a weighted vault made and used entirely in memory, to show the protocol end to
 * end on one machine. Three devices — a laptop with signing power 2, a phone and a co-signer with
 * power 1 each — need power 3 to sign: the laptop plus either other device.
 */
import { sha256 } from '@noble/hashes/sha2.js';
import { type Hex, verifyMessage } from 'viem';
import { toHex, utf8 } from '../src/bytes.ts';
import { paramsFingerprint } from '../src/dkg/params.ts';
import { DkgSession } from '../src/dkg/session.ts';
import { signPersonalMessage } from '../src/eth/index.ts';
import { expectAllOk, inMemorySigner, runSessions } from '../src/testing/driver.ts';

const devices = [
  { name: 'laptop', power: 2 },
  { name: 'phone', power: 1 },
  { name: 'co-signer', power: 1 },
].map((d) => ({ ...d, id: sha256(utf8(`demo device ${d.name} ${Date.now()} ${Math.random()}`)) }));
const threshold = 3;
const parties = devices.map((d) => ({ id: d.id, power: d.power }));

const out = (s = '') => process.stdout.write(`${s}\n`);
out('Concord keygen demo — weighted threshold ECDSA (DKLs23), every device in this one process');
for (const d of devices) out(`  ${d.name.padEnd(10)} power ${d.power}   id ${toHex(d.id).slice(0, 16)}…`);
out(`  threshold ${threshold} of ${parties.reduce((s, p) => s + p.power, 0)} power`);
out(`  parameter fingerprint (every device shows the same): ${paramsFingerprint(parties, threshold)}`);
out();

const seen = new Set<number>();
const t0 = performance.now();
const run = runSessions(
  devices.map((d) => ({ id: d.id, session: new DkgSession({ parties, threshold, selfId: d.id }) })),
  (msg) => {
    if (!seen.has(msg.round)) {
      seen.add(msg.round);
      const what = ['', 'commitments', 'openings + base OTs', 'shares + OT replies', 'confirmations'][
        msg.round
      ];
      out(`  round ${msg.round}/4: ${what} (${((performance.now() - t0) / 1000).toFixed(1)} s)`);
    }
    return [msg];
  },
);
const results = expectAllOk(run);
const d = results[0]!.descriptor;
out(
  `  done in ${((performance.now() - t0) / 1000).toFixed(1)} s, ${(run.stats.bytes / 1000).toFixed(0)} KB exchanged`,
);
out();
out(`Vault address: ${d.address}`);
out(`  vault id ${toHex(d.vaultId).slice(0, 16)}…, epoch ${d.epoch}, every device holds the same descriptor`);
out(
  `  stored share: ${(results[0]!.keyShare.encode().length / 1000).toFixed(0)} KB per device (never the whole key)`,
);
out();

const message = 'Concord demo: laptop and phone approve together';
const signers = [results[0]!.keyShare, results[1]!.keyShare];
const t1 = performance.now();
const signature = await signPersonalMessage({ message, address: d.address, sign: inMemorySigner(signers) });
const ok = await verifyMessage({ address: d.address as Hex, message, signature });
out(`Signed "${message}" with laptop + phone in ${(performance.now() - t1).toFixed(0)} ms`);
out(`  signature ${signature.slice(0, 26)}…  verifies for ${d.address}: ${ok}`);
if (!ok) process.exit(1);
