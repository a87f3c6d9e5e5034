/**
 * The isolated-world content script's relay between the page's provider (inpage.ts) and the
 * background. It trusts nothing the page says about who it is: it forwards only `{id, method,
 * params}` and the background reads the origin from the Port's `sender`. It accepts messages only
 * from its own window (not other windows or frames), only from the page's own origin, and only with
 * the channel nonce pinned from the first `hello` (THREATS 45). Written against small interfaces so
 * unit tests can drive it without a browser; content-main.ts wires it to the real ones.
 */
import {
  type ContentMessage,
  DAPP_PORT,
  type InpageMessage,
  type PortMessage,
  type PortRequest,
  TO_CONTENT,
  TO_INPAGE,
} from './protocol.ts';

/** The part of `runtime.Port` the relay uses. */
export interface PortLike {
  postMessage(message: PortRequest): void;
  onMessage: { addListener(fn: (message: unknown) => void): void };
  onDisconnect: { addListener(fn: () => void): void };
}

/** The part of `window` the relay uses. */
export interface WindowLike {
  addEventListener(
    type: 'message',
    fn: (e: { source: unknown; origin: string; data: unknown }) => void,
  ): void;
  postMessage(message: ContentMessage, targetOrigin: string): void;
  location: { origin: string };
}

export interface RelayDeps {
  window: WindowLike;
  connect(name: string): PortLike;
}

const MAX_METHOD = 128;

function isInpageMessage(x: unknown): x is InpageMessage {
  if (typeof x !== 'object' || x === null) return false;
  const m = x as Record<string, unknown>;
  if (m.target !== TO_CONTENT || typeof m.nonce !== 'string') return false;
  if (m.type === 'hello') return /^[0-9a-f]{32}$/.test(m.nonce);
  return (
    m.type === 'request' &&
    typeof m.id === 'number' &&
    Number.isSafeInteger(m.id) &&
    typeof m.method === 'string' &&
    m.method.length <= MAX_METHOD
  );
}

export function startContentRelay(d: RelayDeps): void {
  const w = d.window;
  const origin = w.location.origin;
  let nonce: string | null = null;
  let port: PortLike | null = null;

  const toPage = (m: ContentMessage): void => w.postMessage(m, origin);

  const ensurePort = (): PortLike => {
    if (port !== null) return port;
    const p = d.connect(DAPP_PORT);
    p.onMessage.addListener((message) => {
      if (nonce !== null)
        toPage({ target: TO_INPAGE, type: 'message', nonce, message: message as PortMessage });
    });
    p.onDisconnect.addListener(() => {
      // The service worker stopped (or the extension was updated): pending requests are lost. The
      // next request opens a new Port, which wakes the worker again.
      if (port === p) port = null;
      if (nonce !== null) toPage({ target: TO_INPAGE, type: 'disconnected', nonce });
    });
    port = p;
    return p;
  };

  w.addEventListener('message', (e) => {
    // Only this window (not a parent, child frame or other tab) and only this page's origin.
    if (e.source !== w || e.origin !== origin || !isInpageMessage(e.data)) return;
    const m = e.data;
    if (m.type === 'hello') {
      // The first hello wins: our inpage script runs at document_start before any page script.
      if (nonce === null) {
        nonce = m.nonce;
        // Connect at once so the background pushes the state (chain, accounts) to the page.
        ensurePort();
      }
      return;
    }
    if (nonce === null || m.nonce !== nonce) return;
    const req: PortRequest = { id: m.id, method: m.method };
    if (m.params !== undefined) req.params = m.params;
    ensurePort().postMessage(req);
  });

  // The inpage script may have said hello before this script listened: ask it to say it again.
  toPage({ target: TO_INPAGE, type: 'ready' });
}
