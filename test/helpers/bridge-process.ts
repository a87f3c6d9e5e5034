/**
 * A real bridge process for cross-package tests: `tsx bridge-server/src/bin/bridge.ts` on
 * 127.0.0.1 with its SQLite store in a temp directory. `kill()` sends SIGKILL (a crash, not a
 * graceful stop); `start()` again reuses the port and data directory.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { resolve } from 'node:path';

const root = resolve(import.meta.dirname, '../..');

export async function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const s = createServer();
    s.once('error', rej);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => res(port));
    });
  });
}

export class BridgeProcess {
  private child: ChildProcess | undefined;
  readonly url: string;

  constructor(
    readonly port: number,
    readonly dataDir: string,
  ) {
    this.url = `ws://127.0.0.1:${port}/v1`;
  }

  async start(): Promise<void> {
    // `node --import tsx` (not the tsx wrapper) so SIGKILL reaches the process that holds the port.
    const child = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        'bridge-server/src/bin/bridge.ts',
        '--host',
        '127.0.0.1',
        '--port',
        String(this.port),
        '--data-dir',
        this.dataDir,
        '--log-level',
        'warn',
      ],
      { cwd: root, stdio: ['ignore', 'ignore', 'pipe'] },
    );
    this.child = child;
    await new Promise<void>((res, rej) => {
      let err = '';
      const timer = setTimeout(() => rej(new Error(`bridge did not start: ${err}`)), 30_000);
      child.stderr!.on('data', (d: Buffer) => {
        err += d.toString();
        if (err.includes('listening on')) {
          clearTimeout(timer);
          res();
        }
      });
      child.once('exit', (code) => {
        clearTimeout(timer);
        rej(new Error(`bridge exited with ${code}: ${err}`));
      });
    });
  }

  /** Crash the process (SIGKILL) and wait for it to be gone. */
  async kill(): Promise<void> {
    const c = this.child;
    if (!c || c.exitCode !== null) return;
    await new Promise<void>((res) => {
      c.once('exit', () => res());
      c.kill('SIGKILL');
    });
    this.child = undefined;
  }
}
