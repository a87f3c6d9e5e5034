/**
 * WebSocket front of the local WalletConnect relay: `ws` in `noServer` mode with admission in the
 * HTTP `upgrade` handler (relay-auth JWT and projectId from the query, connection cap; refusals are
 * HTTP 401/503 with a plain-text reason), ws pings so 2.x Node clients (which drop a socket that saw
 * nothing for 35 s) stay connected, and a sweep of expired messages. For tests and demos on
 * 127.0.0.1: state is in memory and dies with the process.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { Duplex } from 'node:stream';
import pino, { type Logger } from 'pino';
import { type WebSocket, WebSocketServer } from 'ws';
import { admit, type ClientIdentity, normaliseAudience } from './auth.ts';
import { DEFAULT_WC_RELAY_LIMITS, type WcRelayLimits } from './config.ts';
import { isWcRelayError } from './errors.ts';
import { type WcConnection, WcRelayCore } from './relay.ts';

export interface WcRelayOptions {
  /** Default 127.0.0.1. */
  host?: string;
  /** Default 0 (any free port). */
  port?: number;
  limits?: Partial<WcRelayLimits>;
  /**
   * Extra URLs clients may name as the JWT audience (the relay URL they were configured with), e.g.
   * when reached through a proxy. `ws://<host>:<port>` (and `ws://localhost:<port>` on loopback)
   * are always accepted.
   */
  publicUrls?: readonly string[];
  /** Only these project ids are admitted; default any well-formed one. */
  projectIds?: readonly string[];
  log?: Logger;
  now?: () => number;
}

export interface RunningWcRelay {
  /** The URL to give clients as `relayUrl`, e.g. `ws://127.0.0.1:5555`. */
  url: string;
  port: number;
  core: WcRelayCore;
  server: Server;
  close(): Promise<void>;
}

function refuseUpgrade(socket: Duplex, status: number, reason: string): void {
  const text = `${reason}\n`;
  socket.end(
    `HTTP/1.1 ${status} ${status === 401 ? 'Unauthorized' : status === 404 ? 'Not Found' : 'Service Unavailable'}\r\n` +
      `Content-Type: text/plain; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(text)}\r\nConnection: close\r\n\r\n${text}`,
  );
}

export async function startWcRelay(opts: WcRelayOptions = {}): Promise<RunningWcRelay> {
  const host = opts.host ?? '127.0.0.1';
  const limits: WcRelayLimits = { ...DEFAULT_WC_RELAY_LIMITS, ...opts.limits };
  const now = opts.now ?? Date.now;
  const log = opts.log ?? pino({ level: 'silent' });
  const core = new WcRelayCore(limits, now, {
    onServed: (clientId, method) => log.debug({ clientId, method }, 'served'),
    onError: (clientId, method, error) =>
      log.debug({ clientId, method, code: error.code, msg: error.message }, 'request refused'),
  });
  const projectIds = opts.projectIds ? new Set(opts.projectIds) : undefined;
  const audiences = new Set<string>();
  const wss = new WebSocketServer({ noServer: true, maxPayload: limits.maxFrameBytes });
  const server = createServer((_req, res) => {
    res
      .writeHead(426, { 'Content-Type': 'text/plain' })
      .end('WalletConnect relay: connect with a WebSocket\n');
  });
  const alive = new WeakMap<WebSocket, boolean>();

  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    const path = (req.url ?? '/').split('?')[0];
    if (path !== '/') return refuseUpgrade(socket, 404, 'the relay is at path /');
    if (core.connectionCount >= limits.maxConnections)
      return refuseUpgrade(socket, 503, 'too many connections');
    let identity: ClientIdentity;
    try {
      identity = admit(req.url ?? '/', audiences, now(), limits.jwtSkewMs, projectIds);
    } catch (e) {
      const reason = isWcRelayError(e) ? e.message : 'refused';
      log.info({ reason }, 'upgrade refused');
      return refuseUpgrade(socket, 401, reason);
    }
    wss.handleUpgrade(req, socket, head, (ws) => {
      const conn: WcConnection = {
        clientId: identity.clientId,
        send: (frame) => {
          if (ws.readyState === ws.OPEN) ws.send(frame);
        },
        close: (code, reason) => ws.close(code, reason),
      };
      core.open(conn);
      alive.set(ws, true);
      log.info(
        { clientId: identity.clientId, projectId: identity.projectId, ua: identity.ua },
        'client connected',
      );
      ws.on('pong', () => alive.set(ws, true));
      ws.on('message', (data, isBinary) => {
        if (isBinary) core.binaryFrame(conn);
        else core.frame(conn, data.toString('utf8'));
      });
      ws.on('close', () => {
        core.closed(conn);
        log.info({ clientId: identity.clientId }, 'client disconnected');
      });
      ws.on('error', (err) => log.debug({ err: err.message }, 'socket error'));
    });
  });

  const ping = setInterval(() => {
    for (const ws of wss.clients) {
      if (alive.get(ws) === false) {
        ws.terminate();
        continue;
      }
      alive.set(ws, false);
      ws.ping();
    }
  }, limits.pingIntervalMs);
  const sweep = setInterval(() => core.sweep(), limits.sweepIntervalMs);
  ping.unref();
  sweep.unref();

  await new Promise<void>((res, rej) => {
    server.once('error', rej);
    server.listen(opts.port ?? 0, host, () => res());
  });
  const { port } = server.address() as { port: number };
  const url = `ws://${host.includes(':') ? `[${host}]` : host}:${port}`;
  audiences.add(normaliseAudience(url));
  if (host === '127.0.0.1' || host === 'localhost') {
    audiences.add(`ws://127.0.0.1:${port}`);
    audiences.add(`ws://localhost:${port}`);
  }
  for (const u of opts.publicUrls ?? []) audiences.add(normaliseAudience(u));

  return {
    url,
    port,
    core,
    server,
    close: async () => {
      clearInterval(ping);
      clearInterval(sweep);
      for (const ws of wss.clients) ws.terminate();
      wss.close();
      const closed = new Promise<void>((res) => server.close(() => res()));
      // Idle keep-alive HTTP connections would otherwise hold close() until they time out.
      server.closeAllConnections();
      await closed;
    },
  };
}
