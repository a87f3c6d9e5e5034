/**
 * Where the service worker's heavy ceremony crypto runs: a Worker inside an offscreen document
 * (`chrome.offscreen`, reason WORKERS; MV3 service workers cannot start Workers themselves). This
 * module is the only code that touches `chrome.offscreen`: `cryptoHost()` returns null where the API
 * is missing (unit tests under Node, other browsers), and callers then run the session in process.
 *
 * Document lifetime: created on the first call of a session, closed as soon as no session of this
 * service-worker lifetime needs it, so no secret round state outlives its ceremony in an idle page.
 * A document left by a previous service-worker lifetime (the worker restarted mid-DKG; the offscreen
 * document does not die with it) is closed and recreated before first use: its sessions belonged to
 * proxies that are gone, the ceremony service has marked them INTERRUPTED, and nothing resumes them.
 * The Worker also drops sessions idle for 15 minutes, for a stale document nobody reuses.
 */
import {
  CRYPTO_CHANNEL,
  type CryptoCall,
  type CryptoRequest,
  isOpenOp,
  OFFSCREEN_PATH,
} from '../../offscreen/protocol.ts';
import {
  type CryptoTransport,
  type DkgParams,
  RemoteDkgEngine,
  RemoteReshareEngine,
  type ReshareParams,
} from './remote-engine.ts';

/** The part of `chrome` this module uses (the repo has no @types/chrome; offscreen is Chrome-only). */
interface ChromeApi {
  offscreen: {
    createDocument(p: { url: string; reasons: string[]; justification: string }): Promise<void>;
    closeDocument(): Promise<void>;
  };
  runtime: {
    getURL(path: string): string;
    getContexts(filter: { contextTypes: string[]; documentUrls?: string[] }): Promise<unknown[]>;
    sendMessage(message: CryptoRequest): Promise<unknown>;
  };
}

export interface CryptoHost {
  /** A DKG party whose session runs in the offscreen Worker (opened by its `start`). */
  dkg(params: DkgParams): RemoteDkgEngine;
  /** A reshare party whose session runs in the offscreen Worker; the caller signs the certificate. */
  reshare(params: ReshareParams): RemoteReshareEngine;
}

/**
 * Counters for tests and diagnostics (no data, only counts); also readable from the service worker's
 * global scope as `__concordCryptoHost`, which is how the end-to-end tests see where ceremonies ran.
 */
export interface CryptoHostStats {
  documentsCreated: number;
  sessionsOpened: number;
  calls: number;
  open: boolean;
}

class OffscreenHost implements CryptoHost, CryptoTransport {
  readonly stats: CryptoHostStats = { documentsCreated: 0, sessionsOpened: 0, calls: 0, open: false };
  private readonly sessions = new Set<string>();
  /** Creating and closing the document, one at a time. */
  private lifecycle: Promise<void> = Promise.resolve();
  private open = false;

  constructor(private readonly chrome: ChromeApi) {}

  dkg(params: DkgParams): RemoteDkgEngine {
    return new RemoteDkgEngine(this, params);
  }

  reshare(params: ReshareParams): RemoteReshareEngine {
    return new RemoteReshareEngine(this, params);
  }

  async call(call: CryptoCall): Promise<unknown> {
    if (isOpenOp(call.op)) {
      this.sessions.add(call.session);
      this.stats.sessionsOpened += 1;
    }
    await this.ensureDocument();
    this.stats.calls += 1;
    return this.chrome.runtime.sendMessage({ channel: CRYPTO_CHANNEL, call });
  }

  release(session: string): void {
    this.sessions.delete(session);
    // Re-checked inside the lifecycle queue: a session opened meanwhile keeps the document.
    void this.serialLifecycle(async () => {
      if (this.sessions.size > 0 || !this.open) return;
      this.open = false;
      this.stats.open = false;
      await this.chrome.offscreen.closeDocument();
    }).catch(() => undefined); // already gone: nothing to close
  }

  private ensureDocument(): Promise<void> {
    return this.serialLifecycle(async () => {
      if (this.open) return;
      const url = this.chrome.runtime.getURL(OFFSCREEN_PATH);
      const existing = await this.chrome.runtime.getContexts({
        contextTypes: ['OFFSCREEN_DOCUMENT'],
        documentUrls: [url],
      });
      // Not ours: a previous service-worker lifetime's (see the header).
      if (existing.length > 0) await this.chrome.offscreen.closeDocument();
      await this.chrome.offscreen.createDocument({
        url: OFFSCREEN_PATH,
        reasons: ['WORKERS'],
        justification: 'Runs threshold key generation and resharing in a Worker, off the service worker.',
      });
      this.open = true;
      this.stats.open = true;
      this.stats.documentsCreated += 1;
    });
  }

  private serialLifecycle(fn: () => Promise<void>): Promise<void> {
    const next = this.lifecycle.then(fn, fn);
    this.lifecycle = next.catch(() => undefined);
    return next;
  }
}

let host: OffscreenHost | undefined;

/** The offscreen crypto host of this service-worker lifetime, or null where there is none. */
export function cryptoHost(): CryptoHost | null {
  if (host !== undefined) return host;
  const chrome = (globalThis as { chrome?: Partial<ChromeApi> }).chrome;
  if (chrome?.offscreen === undefined || chrome.runtime?.getContexts === undefined) return null;
  host = new OffscreenHost(chrome as ChromeApi);
  (globalThis as { __concordCryptoHost?: CryptoHostStats }).__concordCryptoHost = host.stats;
  return host;
}
