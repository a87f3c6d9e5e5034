/**
 * Run a DKG with every party in its own worker thread of this process, the main thread routing
 * messages — the way devices run in parallel in real use, on this machine's cores. Bench only.
 */
import { Worker } from 'node:worker_threads';
import { equalBytes } from '../src/bytes.ts';
import type { ProtocolMessage } from '../src/session/engine.ts';

export interface ParallelDkgResult {
  ms: number;
  bytes: number;
  shares: Uint8Array[];
  busyMs: number[];
}

export function parallelDkg(
  parties: { id: Uint8Array; power: number }[],
  threshold: number,
): Promise<ParallelDkgResult> {
  const t0 = performance.now();
  let bytes = 0;
  const shares: Uint8Array[] = [];
  const busyMs: number[] = [];
  let done = 0;
  return new Promise((resolve, reject) => {
    const workers = parties.map(
      (p) =>
        new Worker(new URL('./party-worker-boot.mjs', import.meta.url), {
          workerData: { parties, threshold, selfId: p.id },
        }),
    );
    const route = (m: ProtocolMessage) => {
      parties.forEach((p, i) => {
        if (equalBytes(p.id, m.from)) return;
        if (m.to !== null && !equalBytes(m.to, p.id)) return;
        bytes += m.payload.length;
        workers[i]!.postMessage(m);
      });
    };
    workers.forEach((w, i) => {
      w.on('error', reject);
      w.on(
        'message',
        (
          msg: { type: 'out'; out: ProtocolMessage[] } | { type: 'done'; share: Uint8Array; busyMs: number },
        ) => {
          if (msg.type === 'out') for (const m of msg.out) route(m);
          else {
            shares[i] = msg.share;
            busyMs[i] = msg.busyMs;
            if (++done === parties.length) {
              const ms = performance.now() - t0;
              for (const x of workers) void x.terminate();
              resolve({ ms, bytes, shares, busyMs });
            }
          }
        },
      );
    });
  });
}
