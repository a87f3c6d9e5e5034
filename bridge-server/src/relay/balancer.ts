/**
 * A small TCP balancer in front of bridge nodes (BRIDGE.md §18, "one address"): each accepted
 * connection is piped, bytes untouched, to the live node with the fewest open connections (ties in
 * turn). It speaks no HTTP and no WebSocket, so the upgrade, the subprotocol and the signed origin
 * pass through as the client sent them; the nodes must be started with `--public-origin` set to the
 * balancer's address, since that is the origin clients dial and sign.
 *
 * A node is taken out of rotation when its `/readyz` fails twice in a row (checked every `checkMs`;
 * Redis away, node draining), when the check or a dial is refused (process gone), and is put back
 * on the next passing check. A refused
 * dial is retried on the next candidate, so a client only fails when no node takes it. When a node
 * dies, its piped connections end; the clients reconnect through the balancer and land on a live
 * node. Meant for one machine (demos, tests, a small deployment); HAProxy or nginx do the same job
 * in production (bridge-server/README.md).
 */
import { request } from 'node:http';
import { createConnection, createServer, type Server, type Socket } from 'node:net';

export interface BalancerOptions {
  /** Node ports on `backendHost`. */
  backends: readonly number[];
  backendHost?: string;
  port: number;
  host?: string;
  /** `/readyz` interval in ms (default 1000). */
  checkMs?: number;
  /** A dial or a health check taking longer than this counts as a failure (default 2000 ms). */
  timeoutMs?: number;
  /** Told when a node leaves or rejoins the rotation. */
  onChange?: (port: number, up: boolean, why: string) => void;
}

interface Backend {
  port: number;
  up: boolean;
  open: number;
  /** Consecutive failed /readyz checks (a 503 or a timeout). */
  fails: number;
}

/**
 * Failed checks in a row before a node that still accepts connections leaves the rotation (as
 * HAProxy's `fall`): one slow answer on a busy machine is not a dead node. A refused connection is
 * definite and takes it out at once.
 */
const FALL = 2;

export interface RunningBalancer {
  readonly port: number;
  /** Per node: in rotation, and connections piped to it now. */
  state(): { port: number; up: boolean; open: number }[];
  /** Run one round of health checks now (also done every `checkMs`). */
  check(): Promise<void>;
  close(): Promise<void>;
}

export async function startBalancer(opts: BalancerOptions): Promise<RunningBalancer> {
  const host = opts.backendHost ?? '127.0.0.1';
  const timeoutMs = opts.timeoutMs ?? 2000;
  const backends: Backend[] = opts.backends.map((port) => ({ port, up: true, open: 0, fails: 0 }));
  const sockets = new Set<Socket>();
  let turn = 0;
  let closed = false;

  const mark = (b: Backend, up: boolean, why: string): void => {
    if (b.up === up) return;
    b.up = up;
    opts.onChange?.(b.port, up, why);
  };

  /** Live nodes not yet tried, fewest connections first, ties starting at a rotating index. */
  const pick = (tried: Set<Backend>): Backend | undefined => {
    let best: Backend | undefined;
    const n = backends.length;
    for (let k = 0; k < n; k++) {
      const b = backends[(turn + k) % n]!;
      if (!b.up || tried.has(b)) continue;
      if (best === undefined || b.open < best.open) best = b;
    }
    turn = (turn + 1) % n;
    return best;
  };

  const dial = (client: Socket, tried: Set<Backend>): void => {
    const b = pick(tried);
    if (b === undefined || client.destroyed) {
      client.destroy();
      return;
    }
    tried.add(b);
    const upstream = createConnection({ host, port: b.port });
    upstream.setTimeout(timeoutMs);
    let connected = false;
    upstream.once('timeout', () => {
      if (!connected) upstream.destroy(new Error('connect timeout'));
    });
    upstream.once('connect', () => {
      connected = true;
      upstream.setTimeout(0);
      if (client.destroyed) {
        // The client gave up while the node was being dialled: nothing to pipe.
        upstream.destroy();
        return;
      }
      b.open++;
      sockets.add(upstream);
      upstream.setNoDelay(true);
      upstream.once('close', () => {
        b.open--;
        sockets.delete(upstream);
        client.destroy();
      });
      client.once('close', () => upstream.destroy());
      client.pipe(upstream);
      upstream.pipe(client);
      client.resume();
    });
    upstream.on('error', (err) => {
      upstream.destroy();
      if (connected) return; // the node went away mid-connection: 'close' ends the client's too
      // Refused or timed out: out of rotation until a health check passes; try the next node.
      mark(b, false, err.message);
      dial(client, tried);
    });
  };

  const server: Server = createServer((client) => {
    // Nothing is read from the client until a node is chosen, so no byte is lost or reordered.
    client.pause();
    client.setNoDelay(true);
    sockets.add(client);
    client.once('close', () => sockets.delete(client));
    client.on('error', () => client.destroy());
    dial(client, new Set());
  });

  const probe = (b: Backend): Promise<void> =>
    new Promise((res) => {
      const req = request(
        { host, port: b.port, path: '/readyz', method: 'GET', timeout: timeoutMs, agent: false },
        (r) => {
          r.resume();
          if (r.statusCode === 200) {
            b.fails = 0;
            mark(b, true, 'ready');
          } else if (++b.fails >= FALL) mark(b, false, `/readyz ${r.statusCode}`);
          res();
        },
      );
      req.once('timeout', () => req.destroy(new Error('/readyz timed out')));
      req.once('error', (err: NodeJS.ErrnoException) => {
        if (err.code === 'ECONNREFUSED' || ++b.fails >= FALL) mark(b, false, err.message);
        res();
      });
      req.end();
    });

  const check = async (): Promise<void> => {
    if (!closed) await Promise.all(backends.map(probe));
  };

  await new Promise<void>((res, rej) => {
    server.once('error', rej);
    server.listen(opts.port, opts.host ?? '127.0.0.1', () => res());
  });
  const port = (server.address() as { port: number }).port;
  const timer = setInterval(() => void check(), opts.checkMs ?? 1000);
  timer.unref();

  return {
    port,
    state: () => backends.map((b) => ({ port: b.port, up: b.up, open: b.open })),
    check,
    close: async () => {
      closed = true;
      clearInterval(timer);
      for (const s of sockets) s.destroy();
      await new Promise<void>((res) => server.close(() => res()));
    },
  };
}
