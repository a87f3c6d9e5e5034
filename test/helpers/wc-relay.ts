/**
 * The local WalletConnect relay as a real process for cross-package tests: `node --import tsx
 * bridge-server/src/bin/wc-relay.ts` on 127.0.0.1 and a free port (like bridge-process.ts). Also
 * `offlineWalletConnectServices()`: WalletConnect clients call HTTP services besides the relay
 * (pulse analytics, verify attestations, echo push registration); in tests their `fetch` calls are
 * sent to a closed 127.0.0.1 port so they fail at once (ECONNREFUSED) and the clients carry on,
 * without touching library code. Chromium-based tests get the same with
 * `--host-resolver-rules=MAP *.walletconnect.org 127.0.0.1:<closed port>, ...` (see `hostResolverRules`).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { resolve } from 'node:path';
import { freePort } from './bridge-process.ts';

const root = resolve(import.meta.dirname, '../..');

/** HTTP hosts @walletconnect/core 2.25 and @walletconnect/utils call besides the relay. */
export const WALLETCONNECT_SERVICE_HOSTS = [
  'pulse.walletconnect.org', // EventClient analytics (core/constants/events.ts), off with telemetryEnabled: false
  'verify.walletconnect.org', // Verify API attestation + public key (core/constants/verify.ts), no option to move it
  'verify.walletconnect.com',
  'echo.walletconnect.com', // push registration (core/constants/echo.ts), only on registerDeviceToken
  'rpc.walletconnect.org', // smart-account signature checks (utils/signatures.ts), not used by Sign requests
] as const;

export class WcRelayProcess {
  private child: ChildProcess | undefined;
  /** e.g. `ws://127.0.0.1:41234`, what clients get as `relayUrl`. */
  readonly url: string;
  /** What the relay wrote to stderr (its log), for failure messages. */
  stderr = '';

  constructor(readonly port: number) {
    this.url = `ws://127.0.0.1:${port}`;
  }

  static async start(logLevel = 'warn'): Promise<WcRelayProcess> {
    const relay = new WcRelayProcess(await freePort());
    await relay.start(logLevel);
    return relay;
  }

  async start(logLevel = 'warn'): Promise<void> {
    // `node --import tsx` (not the tsx wrapper) so a signal reaches the process that holds the port.
    const child = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        'bridge-server/src/bin/wc-relay.ts',
        '--host',
        '127.0.0.1',
        '--port',
        String(this.port),
        '--log-level',
        logLevel,
      ],
      { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    this.child = child;
    child.stderr!.on('data', (d: Buffer) => {
      this.stderr += d.toString();
    });
    await new Promise<void>((res, rej) => {
      let out = '';
      const timer = setTimeout(() => rej(new Error(`wc-relay did not start: ${this.stderr}`)), 30_000);
      child.stdout!.on('data', (d: Buffer) => {
        out += d.toString();
        if (out.includes(`wc-relay listening on ${this.url}`)) {
          clearTimeout(timer);
          res();
        }
      });
      child.once('exit', (code) => {
        clearTimeout(timer);
        rej(new Error(`wc-relay exited with ${code}: ${this.stderr}`));
      });
    });
  }

  /** Stop the relay (SIGTERM, graceful) and wait for the process to be gone. */
  async stop(): Promise<void> {
    await this.signal('SIGTERM');
  }

  /** Crash the relay (SIGKILL): every mailbox is lost, as with a real relay restart. */
  async kill(): Promise<void> {
    await this.signal('SIGKILL');
  }

  private async signal(sig: NodeJS.Signals): Promise<void> {
    const c = this.child;
    if (!c || c.exitCode !== null || c.signalCode !== null) return;
    await new Promise<void>((res) => {
      c.once('exit', () => res());
      c.kill(sig);
    });
    this.child = undefined;
  }
}

export interface OfflineServices {
  /** Hosts the clients tried to reach, in order (each call failed with ECONNREFUSED). */
  readonly attempts: string[];
  restore(): void;
}

/**
 * Send this process's `fetch` calls to WalletConnect's HTTP services to a closed 127.0.0.1 port
 * (connection refused at once); every other URL is fetched as usual. Call `restore()` after.
 */
export async function offlineWalletConnectServices(): Promise<OfflineServices> {
  const closedPort = await freePort(); // bound and released: nothing listens there
  const original = globalThis.fetch;
  const hosts = new Set<string>(WALLETCONNECT_SERVICE_HOSTS);
  const attempts: string[] = [];
  globalThis.fetch = (input: string | URL | Request, init?: RequestInit) => {
    const url = new URL(input instanceof Request ? input.url : String(input));
    if (!hosts.has(url.hostname)) return original(input, init);
    attempts.push(url.hostname);
    return original(`http://127.0.0.1:${closedPort}${url.pathname}${url.search}`, {
      ...init,
      ...(input instanceof Request ? { method: input.method } : {}),
    });
  };
  return {
    attempts,
    restore: () => {
      globalThis.fetch = original;
    },
  };
}

/** A Chromium `--host-resolver-rules` value mapping WalletConnect's HTTP services to a closed port. */
export function hostResolverRules(closedPort: number): string {
  return WALLETCONNECT_SERVICE_HOSTS.map((h) => `MAP ${h} 127.0.0.1:${closedPort}`).join(', ');
}
