/**
 * One DKG party in a worker thread (bench only): receives routed messages from the main thread,
 * posts its outgoing messages back, and finally its encoded KeyShare.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { DkgSession } from '../src/dkg/session.ts';
import type { ProtocolMessage } from '../src/session/engine.ts';

interface Init {
  parties: { id: Uint8Array; power: number }[];
  threshold: number;
  selfId: Uint8Array;
}

const port = parentPort!;
const init = workerData as Init;
const session = new DkgSession({ parties: init.parties, threshold: init.threshold, selfId: init.selfId });
let busyMs = 0;

function step(f: () => ProtocolMessage[]): void {
  const t0 = performance.now();
  const out = f();
  busyMs += performance.now() - t0;
  port.postMessage({ type: 'out', out });
  if (session.finished) {
    port.postMessage({ type: 'done', share: session.output().keyShare.encode(), busyMs });
  }
}

port.on('message', (msg: ProtocolMessage) => step(() => session.receive(msg)));
step(() => session.start());
