/**
 * The dedicated Worker inside the offscreen document where ceremony crypto runs (DKG rounds take
 * seconds of CPU; on the service worker they would block its message loop, and on the offscreen
 * page they would block the relay). Every message is one `CryptoCall`, answered with exactly one
 * `CryptoReply` carrying the same id; all logic is in ceremony-host.ts.
 */
import { CeremonyHost } from './ceremony-host.ts';

// The repo's TypeScript lib is DOM (no WebWorker lib, which conflicts with it), so the dedicated
// worker scope is described structurally.
interface WorkerScope {
  onmessage: ((e: MessageEvent<unknown>) => void) | null;
  postMessage(message: unknown): void;
}
const scope = globalThis as unknown as WorkerScope;

const host = new CeremonyHost();

scope.onmessage = (e) => {
  scope.postMessage(host.handle(e.data));
};

// Sessions whose proxy disappeared (service-worker restart) are wiped even if nobody calls again.
setInterval(() => host.sweep(), 60_000);
