/**
 * The page-world (MAIN) Ethereum provider: EIP-1193 (`request`, events `connect`, `disconnect`,
 * `chainChanged`, `accountsChanged`) announced by EIP-6963 (`eip6963:announceProvider`, answered
 * again on every `eip6963:requestProvider`), and set as `window.ethereum` only when no other wallet
 * has claimed it. It talks to the content script by `window.postMessage` with a per-page nonce
 * (protocol.ts); it holds no secret and decides nothing — every answer comes from the background.
 * No imports beyond the protocol: this file is bundled alone into every https page.
 */
import {
  type ContentMessage,
  type InpageMessage,
  type PortMessage,
  type ProviderState,
  randomNonce,
  TO_CONTENT,
  TO_INPAGE,
} from './protocol.ts';

export const PROVIDER_INFO_NAME = 'Concord';
export const PROVIDER_RDNS = 'app.concord.wallet';
/** The wallet's mark (two overlapping rings: a key held together) as an SVG data URI. */
export const PROVIDER_ICON =
  'data:image/svg+xml;base64,' +
  btoa(
    '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 96 96"><rect width="96" height="96" rx="20" fill="#1e3a8a"/>' +
      '<circle cx="38" cy="48" r="20" fill="none" stroke="#fff" stroke-width="8"/>' +
      '<circle cx="58" cy="48" r="20" fill="none" stroke="#fbbf24" stroke-width="8"/></svg>',
  );

/** EIP-1193 `ProviderRpcError`. */
export class ProviderRpcError extends Error {
  readonly code: number;
  readonly data: unknown;
  constructor(code: number, message: string, data?: unknown) {
    super(message);
    this.name = 'ProviderRpcError';
    this.code = code;
    this.data = data;
  }
}

export interface RequestArguments {
  method: string;
  params?: unknown;
}

type Listener = (...args: unknown[]) => void;

/** The part of `window` the provider uses. */
export interface PageWindow {
  addEventListener(type: string, fn: (e: Event) => void): void;
  dispatchEvent(e: Event): boolean;
  postMessage(message: InpageMessage, targetOrigin: string): void;
  location: { origin: string };
  ethereum?: unknown;
}

export class ConcordProvider {
  readonly isConcord = true;
  readonly #w: PageWindow;
  readonly #nonce = randomNonce();
  readonly #listeners = new Map<string, Set<Listener>>();
  readonly #pending = new Map<number, { resolve(v: unknown): void; reject(e: unknown): void }>();
  /** Requests posted before the content script answered (it may start after this script). */
  #queue: InpageMessage[] = [];
  #ready = false;
  #nextId = 1;
  #chainId: string | null = null;
  #accounts: string[] = [];

  constructor(w: PageWindow) {
    this.#w = w;
    w.addEventListener('message', (e) => this.#onMessage(e as MessageEvent));
    this.#post({ target: TO_CONTENT, type: 'hello', nonce: this.#nonce });
  }

  /** EIP-1193 `request`. */
  request(args: RequestArguments): Promise<unknown> {
    if (typeof args !== 'object' || args === null || typeof args.method !== 'string' || args.method === '') {
      return Promise.reject(new ProviderRpcError(-32600, 'request() needs an object with a string method.'));
    }
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
      const m: InpageMessage = {
        target: TO_CONTENT,
        type: 'request',
        nonce: this.#nonce,
        id,
        method: args.method,
      };
      if (args.params !== undefined) m.params = args.params;
      if (this.#ready) this.#post(m);
      else this.#queue.push(m);
    });
  }

  /** EIP-1193 `isConnected`: true once the wallet told this page its chain. */
  isConnected(): boolean {
    return this.#chainId !== null;
  }

  get chainId(): string | null {
    return this.#chainId;
  }

  on(event: string, fn: Listener): this {
    const set = this.#listeners.get(event) ?? new Set<Listener>();
    this.#listeners.set(event, set);
    set.add(fn);
    return this;
  }

  removeListener(event: string, fn: Listener): this {
    this.#listeners.get(event)?.delete(fn);
    return this;
  }

  off(event: string, fn: Listener): this {
    return this.removeListener(event, fn);
  }

  #emit(event: string, ...args: unknown[]): void {
    for (const fn of [...(this.#listeners.get(event) ?? [])]) {
      try {
        fn(...args);
      } catch {
        // A dApp's listener throwing must not stop the others.
      }
    }
  }

  #post(m: InpageMessage): void {
    this.#w.postMessage(m, this.#w.location.origin);
  }

  #onMessage(e: MessageEvent): void {
    if (e.source !== (this.#w as unknown) || e.origin !== this.#w.location.origin) return;
    const m = e.data as ContentMessage | null;
    if (typeof m !== 'object' || m === null || m.target !== TO_INPAGE) return;
    if (m.type === 'ready') {
      // The content script started after our first hello: greet again, then send what waited.
      this.#post({ target: TO_CONTENT, type: 'hello', nonce: this.#nonce });
      this.#flush();
      return;
    }
    if (m.nonce !== this.#nonce) return;
    this.#flush();
    if (m.type === 'disconnected') {
      for (const [id, p] of this.#pending) {
        this.#pending.delete(id);
        p.reject(new ProviderRpcError(4900, 'The wallet restarted before answering; please try again.'));
      }
      return;
    }
    this.#onPortMessage(m.message);
  }

  #flush(): void {
    this.#ready = true;
    const q = this.#queue;
    this.#queue = [];
    for (const m of q) this.#post(m);
  }

  #onPortMessage(m: PortMessage): void {
    if (m.kind === 'state') {
      this.#setState(m.state);
      return;
    }
    const p = this.#pending.get(m.id);
    if (p === undefined) return;
    this.#pending.delete(m.id);
    if ('error' in m) p.reject(new ProviderRpcError(m.error.code, m.error.message, m.error.data));
    else p.resolve(m.result);
  }

  #setState(s: ProviderState): void {
    if (this.#chainId === null) {
      this.#chainId = s.chainId;
      this.#emit('connect', { chainId: s.chainId });
    } else if (this.#chainId !== s.chainId) {
      this.#chainId = s.chainId;
      this.#emit('chainChanged', s.chainId);
    }
    const same =
      s.accounts.length === this.#accounts.length && s.accounts.every((a, i) => a === this.#accounts[i]);
    if (!same) {
      this.#accounts = [...s.accounts];
      this.#emit('accountsChanged', [...s.accounts]);
    }
  }
}

export interface Eip6963ProviderInfo {
  uuid: string;
  name: string;
  icon: string;
  rdns: string;
}

/** Creates the provider, announces it (EIP-6963) and claims `window.ethereum` if it is free. */
export function installProvider(w: PageWindow): { provider: ConcordProvider; info: Eip6963ProviderInfo } {
  const provider = new ConcordProvider(w);
  const info: Eip6963ProviderInfo = Object.freeze({
    uuid: crypto.randomUUID(),
    name: PROVIDER_INFO_NAME,
    icon: PROVIDER_ICON,
    rdns: PROVIDER_RDNS,
  });
  const announce = (): void => {
    w.dispatchEvent(
      new CustomEvent('eip6963:announceProvider', { detail: Object.freeze({ info, provider }) }),
    );
  };
  w.addEventListener('eip6963:requestProvider', announce);
  announce();
  // Never replace another wallet's provider; EIP-6963 discovery works either way.
  if (w.ethereum === undefined) {
    Object.defineProperty(w, 'ethereum', {
      value: provider,
      configurable: true,
      writable: true,
      enumerable: true,
    });
  }
  return { provider, info };
}
