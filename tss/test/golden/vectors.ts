/**
 * Builds the golden transcripts (ARCHITECTURE style rule 7; viem `vectors/` style): a seeded
 * [1,1,1] t=2 DKG and a seeded 2-of-3 signature from its key shares, reduced to JSON-safe records.
 * Shared by `regenerate.ts` (writes the files) and `golden.test.ts` (compares against them), so both
 * always compute the vectors the same way. Secret bytes never appear: key shares are recorded only
 * as SHA-256 of their encoding.
 */

import { sha256 } from '@noble/hashes/sha2.js';
import { keccak_256 } from '@noble/hashes/sha3.js';
import { toHex, utf8 } from '../../src/bytes.ts';
import { encodeDescriptor } from '../../src/descriptor.ts';
import type { DkgResult } from '../../src/dkg/session.ts';
import type { ProtocolMessage } from '../../src/session/engine.ts';
import { type DeliveryStats, expectAllOk, runDkg, runSign, testPartyIds } from '../../src/testing/driver.ts';

export const GOLDEN_DKG = {
  powers: [1, 1, 1],
  threshold: 2,
  seed: 'golden/dkg',
} as const;

export const GOLDEN_SIGN = {
  seed: 'golden/sign',
  message: 'concord golden',
  /** Indexes into the DKG's party list (input order of `testPartyIds(3)`). */
  signers: [0, 1],
} as const;

export interface MessageRecord {
  readonly from: string;
  /** Recipient of this delivered copy (broadcasts are recorded once per recipient). */
  readonly to: string;
  readonly broadcast: boolean;
  readonly round: number;
  readonly bytes: number;
  readonly sha256: string;
}

export interface TrafficRecord {
  readonly messages: MessageRecord[];
  readonly totalMessages: number;
  readonly totalBytes: number;
  readonly bytesByRound: Record<string, number>;
}

export interface DkgGolden {
  readonly description: string;
  readonly parameters: {
    readonly powers: number[];
    readonly threshold: number;
    readonly seed: string;
    readonly partyIds: string[];
  };
  readonly traffic: TrafficRecord;
  readonly descriptors: string[];
  readonly vaultId: string;
  readonly groupPublicKey: string;
  readonly address: string;
  readonly keyShareSha256: string[];
}

export interface SignGolden {
  readonly description: string;
  readonly parameters: {
    readonly seed: string;
    readonly message: string;
    readonly digest: string;
    readonly signers: string[];
    readonly vaultId: string;
  };
  readonly traffic: TrafficRecord;
  readonly signature: {
    readonly r: string;
    readonly s: string;
    readonly recovery: number;
    readonly compact: string;
  };
}

/** Recording intercept: observes each delivered copy in queue (= delivery) order, changes nothing. */
function recorder(): {
  log: MessageRecord[];
  intercept: (m: ProtocolMessage, to: Uint8Array) => ProtocolMessage[];
} {
  const log: MessageRecord[] = [];
  const intercept = (msg: ProtocolMessage, to: Uint8Array): ProtocolMessage[] => {
    log.push({
      from: toHex(msg.from),
      to: toHex(to),
      broadcast: msg.to === null,
      round: msg.round,
      bytes: msg.payload.length,
      sha256: toHex(sha256(msg.payload)),
    });
    return [msg];
  };
  return { log, intercept };
}

function traffic(log: MessageRecord[], stats: DeliveryStats): TrafficRecord {
  // Every enqueued copy must have been delivered, else "delivery order" would be a lie.
  if (log.length !== stats.messages) {
    throw new Error(`golden: ${log.length} messages observed but ${stats.messages} delivered`);
  }
  const bytesByRound: Record<string, number> = {};
  for (const [round, n] of Object.entries(stats.bytesByRound)) bytesByRound[round] = n;
  return { messages: log, totalMessages: stats.messages, totalBytes: stats.bytes, bytesByRound };
}

const hex32 = (n: bigint): string => n.toString(16).padStart(64, '0');

/** Run the golden DKG; returns the record and the parties' results (for signing). */
export function buildDkgGolden(): { golden: DkgGolden; results: DkgResult[] } {
  const ids = testPartyIds(GOLDEN_DKG.powers.length);
  const { log, intercept } = recorder();
  const run = runDkg({
    powers: GOLDEN_DKG.powers,
    threshold: GOLDEN_DKG.threshold,
    ids,
    seed: GOLDEN_DKG.seed,
    intercept,
  });
  const results = expectAllOk(run);
  const d = results[0]!.descriptor;
  const golden: DkgGolden = {
    description:
      'Seeded weighted DKG, powers [1,1,1], t=2 (tss/test/golden/regenerate.ts). Message hashes are SHA-256 of each delivered payload in delivery order; key shares appear only as SHA-256 of KeyShare.encode().',
    parameters: {
      powers: [...GOLDEN_DKG.powers],
      threshold: GOLDEN_DKG.threshold,
      seed: GOLDEN_DKG.seed,
      partyIds: ids.map(toHex),
    },
    traffic: traffic(log, run.stats),
    descriptors: results.map((r) => toHex(encodeDescriptor(r.descriptor))),
    vaultId: toHex(d.vaultId),
    groupPublicKey: toHex(d.groupPublicKey.toBytes(true)),
    address: d.address,
    keyShareSha256: results.map((r) => toHex(sha256(r.keyShare.encode()))),
  };
  return { golden, results };
}

/** Sign the golden digest with parties 0 and 1 of the golden DKG. */
export function buildSignGolden(results: readonly DkgResult[]): SignGolden {
  const digest = keccak_256(utf8(GOLDEN_SIGN.message));
  const keyShares = GOLDEN_SIGN.signers.map((i) => results[i]!.keyShare);
  const { log, intercept } = recorder();
  const run = runSign({ keyShares, digest, seed: GOLDEN_SIGN.seed, intercept });
  const sigs = expectAllOk(run);
  const sig = sigs[0]!;
  for (const other of sigs) {
    if (toHex(other.compact) !== toHex(sig.compact))
      throw new Error('golden: signers disagree on the signature');
  }
  return {
    description:
      'Seeded 2-of-3 signature from the golden DKG (parties 0 and 1) over keccak-256("concord golden") (tss/test/golden/regenerate.ts).',
    parameters: {
      seed: GOLDEN_SIGN.seed,
      message: GOLDEN_SIGN.message,
      digest: toHex(digest),
      signers: keyShares.map((k) => toHex(k.selfId)),
      vaultId: toHex(keyShares[0]!.vaultId),
    },
    traffic: traffic(log, run.stats),
    signature: { r: hex32(sig.r), s: hex32(sig.s), recovery: sig.recovery, compact: toHex(sig.compact) },
  };
}

export const GOLDEN_FILES = {
  dkg: new URL('./dkg.golden.json', import.meta.url),
  sign: new URL('./sign.golden.json', import.meta.url),
} as const;

/** Stable serialisation used for the files (2-space JSON, trailing newline). */
export function serialise(v: unknown): string {
  return `${JSON.stringify(v, null, 2)}\n`;
}
