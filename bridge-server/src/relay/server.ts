/**
 * HTTP + WebSocket front of the bridge (BRIDGE.md §2, §20): `ws` in `noServer` mode with admission
 * in the HTTP `upgrade` handler (path, subprotocol version, Origin allowlist, per-IP rate, connection
 * cap), `/healthz`, `/readyz`, `/metrics`, and `startBridge()` which wires store, logger, metrics
 * and relay together and returns `{ url, port, close() }`. TLS terminates at a reverse proxy.
 */
import { mkdirSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { join } from 'node:path';
import type { Duplex } from 'node:stream';
import { Redis } from 'ioredis';
import pino, { type DestinationStream, type Logger } from 'pino';
import { WebSocketServer } from 'ws';
import { originOf } from '../protocol/auth.ts';
import { SUBPROTOCOL } from '../protocol/frames.ts';
import { RedisCluster } from './cluster.ts';
import { type BridgeLimits, limitsFor, type ProfileName } from './config.ts';
import { type BridgeMetrics, createMetrics } from './metrics.ts';
import { Relay } from './relay.ts';
import { MemoryStore } from './store/memory.ts';
import { connectRedis, RedisStore } from './store/redis.ts';
import { SqliteStore } from './store/sqlite.ts';
import type { MailboxStore } from './store/types.ts';

export const WS_PATH = '/v1';

export interface BridgeOptions {
  /** Default 127.0.0.1. */
  host?: string;
  /** Default 8787; 0 picks a free port. */
  port?: number;
  /**
   * 'sqlite' (default, in `dataDir`), 'memory', 'redis' (several nodes on one Redis at `redisUrl`:
   * shared mailboxes, cross-node delivery, cluster-wide presence), or a ready store instance.
   */
  store?: 'sqlite' | 'memory' | 'redis' | MailboxStore;
  /** For `store: 'redis'`, e.g. `redis://127.0.0.1:6379`. */
  redisUrl?: string;
  /** Key and channel prefix in Redis (several bridges can share one Redis). Default `concord:`. */
  redisPrefix?: string;
  /** This node's name in the cluster (presence values, logs). Default host:port:pid. */
  nodeId?: string;
  /** Directory for the SQLite file; default `./data`. */
  dataDir?: string;
  /** SQLite `synchronous` pragma; default NORMAL. */
  sqliteSync?: 'OFF' | 'NORMAL' | 'FULL';
  profile?: ProfileName;
  limits?: Partial<BridgeLimits>;
  /**
   * The origin clients sign (`ws[s]://host[:port]` as clients dial it, e.g. behind the TLS proxy
   * `wss://bridge.example.com`). Default: `ws://<host>:<port>`.
   */
  publicOrigin?: string;
  /** Allowed `Origin` headers (e.g. `chrome-extension://<id>`), or `['*']`. Default `['*']`. */
  allowedOrigins?: readonly string[];
  /** Accept upgrades without an Origin header (Node clients, the co-signer). Default true. */
  allowMissingOrigin?: boolean;
  /** Take the client IP from the first X-Forwarded-For hop (only behind a trusted proxy). */
  trustProxy?: boolean;
  logLevel?: string;
  /** Where logs go (tests capture them); default stdout. */
  logStream?: DestinationStream;
  /** Collect Node process metrics too. Default true. */
  defaultMetrics?: boolean;
  now?: () => number;
}

export interface RunningBridge {
  /** WebSocket URL, e.g. `ws://127.0.0.1:8787/v1`. */
  url: string;
  /** HTTP base URL. */
  httpUrl: string;
  port: number;
  origin: string;
  relay: Relay;
  store: MailboxStore;
  metrics: BridgeMetrics;
  log: Logger;
  server: Server;
  close(): Promise<void>;
}

function rejectUpgrade(
  socket: Duplex,
  status: number,
  reason: string,
  headers: Record<string, string> = {},
): void {
  const extra = Object.entries(headers)
    .map(([k, v]) => `${k}: ${v}\r\n`)
    .join('');
  socket.end(
    `HTTP/1.1 ${status} ${reason}\r\nConnection: close\r\nContent-Type: text/plain\r\n${extra}Content-Length: ${reason.length}\r\n\r\n${reason}`,
  );
}

export function createLogger(opts: Pick<BridgeOptions, 'logLevel' | 'logStream'>): Logger {
  return pino(
    {
      level: opts.logLevel ?? 'info',
      base: { svc: 'concord-bridge' },
      // Belt and braces: nothing should ever log these fields, but if someone does, they are removed.
      redact: {
        paths: [
          'ct',
          'sig',
          'nonce',
          '*.ct',
          '*.sig',
          '*.nonce',
          'frame',
          '*.frame',
          'ip',
          '*.ip',
          'messages',
        ],
        remove: true,
      },
    },
    opts.logStream ?? pino.destination({ sync: false }),
  );
}

/**
 * Log a Redis connection's outages once each (ioredis emits an error per reconnect attempt, and an
 * unhandled one would be printed by ioredis itself), with a clear line when it comes back.
 */
function watch(r: Redis, role: string, log: Logger, metrics: BridgeMetrics): Redis {
  let down = false;
  r.on('error', (err: Error) => {
    metrics.redisErrors.inc({ kind: 'connection' });
    if (!down)
      log.error({ redis: role, err: err.message }, 'Redis unreachable: refusing new work until it is back');
    down = true;
  });
  r.on('ready', () => {
    if (down) log.warn({ redis: role }, 'Redis reachable again');
    down = false;
  });
  r.on('reconnecting', () => {
    if (!down) log.error({ redis: role }, 'Redis connection lost: refusing new work until it is back');
    down = true;
  });
  return r;
}

export async function startBridge(opts: BridgeOptions = {}): Promise<RunningBridge> {
  const host = opts.host ?? '127.0.0.1';
  const limits = limitsFor(opts.profile ?? 'default', opts.limits);
  const log = createLogger(opts);
  const metrics = createMetrics({ defaultMetrics: opts.defaultMetrics });
  let store: MailboxStore;
  let cluster: RedisCluster | undefined;
  if (typeof opts.store === 'object') store = opts.store;
  else if (opts.store === 'memory') store = new MemoryStore();
  else if (opts.store === 'redis') {
    if (!opts.redisUrl) throw new Error('store redis needs a Redis URL (--redis-url / CONCORD_REDIS_URL)');
    const rs = new RedisStore({
      client: watch(connectRedis(opts.redisUrl), 'store', log, metrics),
      prefix: opts.redisPrefix,
      ownsClient: true,
      observe: (op, seconds, error) => {
        metrics.redisLatency.observe({ op }, seconds);
        if (error !== undefined) metrics.redisErrors.inc({ kind: error });
      },
    });
    // The subscriber may queue SUBSCRIBEs while Redis is away: they are idempotent, and sent on
    // reconnect together with every local device's channel (cluster.ts).
    const subscriber = watch(
      new Redis(opts.redisUrl, {
        enableOfflineQueue: true,
        maxRetriesPerRequest: null,
        autoResubscribe: false,
        connectTimeout: 2_000,
        retryStrategy: (n) => Math.min(50 * 2 ** Math.min(n, 6), 1_000),
      }),
      'pubsub',
      log,
      metrics,
    );
    store = rs;
    cluster = new RedisCluster({
      store: rs,
      subscriber,
      nodeId: opts.nodeId ?? `${host}:${opts.port ?? 8787}:${process.pid}`,
      presenceTtlMs: 2 * limits.heartbeatMs + 5_000,
      bucketKeepMs: Math.ceil((limits.deviceRate.burst / limits.deviceRate.ratePerSec) * 1000),
      log,
    });
  } else {
    const dir = opts.dataDir ?? './data';
    mkdirSync(dir, { recursive: true });
    store = new SqliteStore({ path: join(dir, 'bridge.sqlite'), synchronous: opts.sqliteSync });
  }

  const allowed = new Set(opts.allowedOrigins ?? ['*']);
  const allowMissing = opts.allowMissingOrigin ?? true;
  let origin = opts.publicOrigin ?? '';
  let relay: Relay | undefined;

  const wss = new WebSocketServer({
    noServer: true,
    maxPayload: limits.maxPayloadBytes,
    perMessageDeflate: false,
    clientTracking: false,
    handleProtocols: (protocols) => (protocols.has(SUBPROTOCOL) ? SUBPROTOCOL : false),
  });

  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (path === '/healthz') {
      res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
    } else if (path === '/readyz') {
      const ready = relay !== undefined && relay.ready;
      res.writeHead(ready ? 200 : 503, { 'content-type': 'text/plain' }).end(ready ? 'ready' : 'not ready');
    } else if (path === '/metrics') {
      metrics.registry.metrics().then(
        (body) => res.writeHead(200, { 'content-type': metrics.registry.contentType }).end(body),
        () => res.writeHead(500).end(),
      );
    } else {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
    }
  });

  const clientIp = (req: IncomingMessage): string => {
    if (opts.trustProxy) {
      const xff = req.headers['x-forwarded-for'];
      const first = (Array.isArray(xff) ? xff[0] : xff)?.split(',')[0]?.trim();
      if (first) return first;
    }
    return req.socket.remoteAddress ?? 'unknown';
  };

  server.on('upgrade', (req, socket, head) => {
    socket.on('error', () => socket.destroy());
    const r = relay;
    if (r === undefined) return rejectUpgrade(socket, 503, 'not ready');
    if ((req.url ?? '').split('?')[0] !== WS_PATH) return rejectUpgrade(socket, 404, 'not found');
    const protocols = String(req.headers['sec-websocket-protocol'] ?? '')
      .split(',')
      .map((s) => s.trim());
    if (!protocols.includes(SUBPROTOCOL)) {
      return rejectUpgrade(socket, 426, 'UNSUPPORTED_VERSION', { 'Sec-WebSocket-Version': '13' });
    }
    const o = req.headers.origin;
    if (o === undefined ? !allowMissing : !allowed.has('*') && !allowed.has(o)) {
      log.info({ code: 'UNAUTHORIZED' }, 'upgrade refused: origin');
      return rejectUpgrade(socket, 403, 'origin not allowed');
    }
    const ip = clientIp(req);
    const adm = r.admit(ip);
    if (!adm.ok) {
      return rejectUpgrade(
        socket,
        adm.status,
        adm.code,
        adm.retryAfterMs === undefined ? {} : { 'Retry-After': String(Math.ceil(adm.retryAfterMs / 1000)) },
      );
    }
    // `socket` is the TCP socket `ws` will write to; the relay corks it to coalesce frames.
    wss.handleUpgrade(req, socket, head, (ws) => r.attach(ws, ip, socket));
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 8787, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const addr = server.address();
  const port = typeof addr === 'object' && addr !== null ? addr.port : (opts.port ?? 8787);
  const hostForUrl = host.includes(':') ? `[${host}]` : host;
  const url = `ws://${hostForUrl}:${port}${WS_PATH}`;
  if (origin === '') origin = originOf(url);

  relay = new Relay({ store, limits, origin, log, metrics, now: opts.now, ...(cluster ? { cluster } : {}) });
  cluster?.bind(relay);
  relay.start();
  log.info({ port, origin, store: store.kind, profile: opts.profile ?? 'default' }, 'bridge listening');

  let closing: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closing ??= (async () => {
      log.info('shutting down');
      const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
      await relay?.shutdown();
      server.closeAllConnections?.();
      await stopped;
      wss.close();
      await cluster?.close();
      await store.close();
      log.info('bridge stopped');
      log.flush?.();
    })();
    return closing;
  };

  return {
    url,
    httpUrl: `http://${hostForUrl}:${port}`,
    port,
    origin,
    relay,
    store,
    metrics,
    log,
    server,
    close,
  };
}
