/**
 * A real `redis-server` for tests (Debian's package, /usr/bin/redis-server; scripts/test.sh installs
 * it when missing): listens on 127.0.0.1 on a free port with its files in a temp directory, and is
 * stopped by the test. `kill()` is a crash (SIGKILL); `start()` again reuses the port and directory,
 * so with `appendonly` the data comes back from the append-only file.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './bridge-process.ts';

export const REDIS_SERVER = process.env.CONCORD_REDIS_SERVER ?? '/usr/bin/redis-server';

export interface RedisServerOptions {
  /** Persist every write to an append-only file (fsync every second). Default false. */
  appendonly?: boolean;
}

export class RedisServer {
  private child: ChildProcess | undefined;
  readonly dir: string;
  readonly url: string;

  private constructor(
    readonly port: number,
    private readonly opts: RedisServerOptions,
  ) {
    this.dir = mkdtempSync(join(tmpdir(), 'concord-redis-'));
    this.url = `redis://127.0.0.1:${port}`;
  }

  static async start(opts: RedisServerOptions = {}): Promise<RedisServer> {
    const r = new RedisServer(await freePort(), opts);
    await r.start();
    return r;
  }

  async start(): Promise<void> {
    const args = [
      '--port',
      String(this.port),
      '--bind',
      '127.0.0.1',
      '--dir',
      this.dir,
      '--save',
      '',
      '--appendonly',
      this.opts.appendonly ? 'yes' : 'no',
      '--appendfsync',
      'everysec',
      '--daemonize',
      'no',
      '--loglevel',
      'notice',
    ];
    const child = spawn(REDIS_SERVER, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    this.child = child;
    await new Promise<void>((res, rej) => {
      let out = '';
      const timer = setTimeout(() => rej(new Error(`redis-server did not start: ${out}`)), 20_000);
      const onData = (d: Buffer) => {
        out += d.toString();
        if (out.includes('Ready to accept connections')) {
          clearTimeout(timer);
          res();
        }
      };
      child.stdout!.on('data', onData);
      child.stderr!.on('data', onData);
      child.once('error', (err) => {
        clearTimeout(timer);
        rej(new Error(`cannot run ${REDIS_SERVER}: ${err.message} (apt-get install redis-server)`));
      });
      child.once('exit', (code) => {
        clearTimeout(timer);
        rej(new Error(`redis-server exited with ${code}: ${out}`));
      });
    });
  }

  get running(): boolean {
    return this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null;
  }

  private async signal(sig: NodeJS.Signals): Promise<void> {
    const c = this.child;
    if (c === undefined || c.exitCode !== null || c.signalCode !== null) return;
    await new Promise<void>((res) => {
      c.once('exit', () => res());
      c.kill(sig);
    });
    this.child = undefined;
  }

  /** Crash the server (SIGKILL). */
  kill(): Promise<void> {
    return this.signal('SIGKILL');
  }

  /** Stop the server and delete its directory. */
  async stop(): Promise<void> {
    await this.signal('SIGTERM');
    rmSync(this.dir, { recursive: true, force: true });
  }
}
