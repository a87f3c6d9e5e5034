/**
 * Bridge nodes as real processes on one Redis, behind a tiny TCP balancer, for cluster tests:
 * `BridgeNode` runs `bridge-server/src/bin/bridge.ts --store redis` (SIGKILL-able, restartable on
 * the same port), and `TcpBalancer` is the "one address" in front of them: each new connection
 * goes to the next node in turn that accepts it, so when a node dies its clients' reconnects land
 * on a live one. Everything listens on 127.0.0.1 and is stopped by the test.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { resolve } from 'node:path';

const root = resolve(import.meta.dirname, '../..');

export interface BridgeNodeOptions {
  port: number;
  redisUrl: string;
  /** The origin clients dial (the balancer's), bound into their auth signatures. */
  publicOrigin: string;
  nodeId: string;
  prefix?: string;
}

export class BridgeNode {
  private child: ChildProcess | undefined;
  readonly httpUrl: string;

  constructor(readonly opts: BridgeNodeOptions) {
    this.httpUrl = `http://127.0.0.1:${opts.port}`;
  }

  async start(): Promise<void> {
    const o = this.opts;
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
        String(o.port),
        '--store',
        'redis',
        '--redis-url',
        o.redisUrl,
        '--redis-prefix',
        o.prefix ?? 'concord:',
        '--node-id',
        o.nodeId,
        '--public-origin',
        o.publicOrigin,
        '--log-level',
        'warn',
      ],
      { cwd: root, stdio: ['ignore', 'ignore', 'pipe'] },
    );
    this.child = child;
    await new Promise<void>((res, rej) => {
      let err = '';
      const timer = setTimeout(() => rej(new Error(`bridge node did not start: ${err}`)), 30_000);
      child.stderr!.on('data', (d: Buffer) => {
        err += d.toString();
        if (err.includes('listening on')) {
          clearTimeout(timer);
          res();
        }
      });
      child.once('exit', (code) => {
        clearTimeout(timer);
        rej(new Error(`bridge node exited with ${code}: ${err}`));
      });
    });
    await this.waitReady(true);
  }

  /** `/readyz` status (0 if the process does not answer). */
  async readyz(): Promise<number> {
    try {
      return (await fetch(`${this.httpUrl}/readyz`)).status;
    } catch {
      return 0;
    }
  }

  async waitReady(ready: boolean, ms = 20_000): Promise<void> {
    const end = Date.now() + ms;
    while (((await this.readyz()) === 200) !== ready) {
      if (Date.now() > end)
        throw new Error(`node ${this.opts.nodeId} never became ${ready ? '' : 'un'}ready`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /** Crash the process (SIGKILL) and wait for it to be gone. */
  async kill(): Promise<void> {
    const c = this.child;
    if (!c || c.exitCode !== null || c.signalCode !== null) return;
    await new Promise<void>((res) => {
      c.once('exit', () => res());
      c.kill('SIGKILL');
    });
    this.child = undefined;
  }
}

export class TcpBalancer {
  private readonly server: Server;
  private next = 0;
  private readonly sockets = new Set<Socket>();
  /** Backend port chosen for each accepted connection, in order. */
  readonly routed: number[] = [];

  private constructor(
    private readonly backends: readonly number[],
    readonly port: number,
  ) {
    this.server = createServer((client) => this.route(client));
  }

  static async start(port: number, backends: readonly number[]): Promise<TcpBalancer> {
    const b = new TcpBalancer(backends, port);
    await new Promise<void>((res, rej) => {
      b.server.once('error', rej);
      b.server.listen(port, '127.0.0.1', () => res());
    });
    return b;
  }

  get url(): string {
    return `ws://127.0.0.1:${this.port}/v1`;
  }

  get origin(): string {
    return `ws://127.0.0.1:${this.port}`;
  }

  private route(client: Socket): void {
    client.pause();
    this.sockets.add(client);
    client.once('close', () => this.sockets.delete(client));
    client.on('error', () => client.destroy());
    this.dial(client, 0);
  }

  private dial(client: Socket, tried: number): void {
    if (tried >= this.backends.length || client.destroyed) {
      client.destroy();
      return;
    }
    const port = this.backends[this.next++ % this.backends.length]!;
    const upstream = createConnection({ host: '127.0.0.1', port });
    let connected = false;
    upstream.once('connect', () => {
      connected = true;
      this.routed.push(port);
      this.sockets.add(upstream);
      upstream.once('close', () => {
        this.sockets.delete(upstream);
        client.destroy();
      });
      client.once('close', () => upstream.destroy());
      client.pipe(upstream);
      upstream.pipe(client);
      client.resume();
    });
    upstream.on('error', () => {
      upstream.destroy();
      // Refused: that node is down, try the next one. After connecting: the node died, so the
      // client's connection ends too (its 'close' above) and it reconnects through us.
      if (!connected) this.dial(client, tried + 1);
    });
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((res) => this.server.close(() => res()));
  }
}
