/**
 * The offscreen document's script: a relay between the service worker (`chrome.runtime` messages on
 * the crypto channel) and the ceremony Worker (postMessage). An offscreen document is the only place
 * an MV3 extension may start a dedicated Worker, and the Worker keeps the seconds-long DKG rounds off
 * both the service worker and this page's own message loop.
 *
 * Only the extension's service worker may call (sender id and script URL); anything else, including
 * the UI channel's traffic that every extension page also sees, is left unanswered. Each call is
 * answered once: with the Worker's reply, or with an INTERNAL failure if the Worker dies, in which
 * case its sessions are gone and the next call starts a fresh Worker.
 */
import { type CryptoCall, type CryptoReply, failureReply, isCryptoRequest } from './protocol.ts';

interface Sender {
  id?: string;
  url?: string;
}
interface OffscreenChrome {
  runtime: {
    id: string;
    getURL(path: string): string;
    onMessage: {
      addListener(
        cb: (message: unknown, sender: Sender, sendResponse: (r: CryptoReply) => void) => boolean | undefined,
      ): void;
    };
  };
}
const chromeApi = (globalThis as unknown as { chrome: OffscreenChrome }).chrome;
const serviceWorkerUrl = chromeApi.runtime.getURL('background.js');

const pending = new Map<string, (r: CryptoReply) => void>();
let worker: Worker | null = null;

function failAll(code: string, message: string): void {
  for (const [id, reply] of pending) reply(failureReply(id, code, message));
  pending.clear();
}

function ceremonyWorker(): Worker {
  if (worker !== null) return worker;
  // Vite bundles the worker as its own chunk from this URL form; it loads from the extension origin,
  // which `script-src 'self'` allows.
  const w = new Worker(new URL('./ceremony-worker.ts', import.meta.url), { type: 'module' });
  w.onmessage = (e: MessageEvent<CryptoReply>) => {
    const reply = pending.get(e.data.id);
    if (reply === undefined) return;
    pending.delete(e.data.id);
    reply(e.data);
  };
  w.onerror = (e) => {
    e.preventDefault();
    w.terminate();
    if (worker === w) worker = null;
    failAll('INTERNAL', 'the ceremony worker failed');
  };
  worker = w;
  return w;
}

chromeApi.runtime.onMessage.addListener((message, sender, sendResponse) => {
  if (sender.id !== chromeApi.runtime.id || sender.url !== serviceWorkerUrl) return undefined;
  if (!isCryptoRequest(message)) return undefined;
  const call: CryptoCall = message.call;
  if (pending.has(call.id)) {
    sendResponse(failureReply(call.id, 'INVALID_REQUEST', 'duplicate call id'));
    return false;
  }
  pending.set(call.id, sendResponse);
  ceremonyWorker().postMessage(call);
  return true; // the reply is asynchronous
});
