/** Test helpers: a bridge on 127.0.0.1:0 with captured logs, devices, clients and raw sockets. */

import { seededRandom } from '@concord/tss/testing';
import { type DeviceIdentity, generateDeviceIdentity } from '@concord/tss/transport';
import WebSocket from 'ws';
import { BridgeClient, type BridgeClientOptions, type WebSocketCtor } from '../src/client/client.ts';
import { authMessage } from '../src/protocol/auth.ts';
import { b64uDecode, b64uEncode } from '../src/protocol/base64url.ts';
import { type ServerFrame, SUBPROTOCOL } from '../src/protocol/frames.ts';
import { type BridgeOptions, type RunningBridge, startBridge } from '../src/relay/server.ts';

export interface TestBridge extends RunningBridge {
  logs: string[];
}

export async function testBridge(opts: BridgeOptions = {}): Promise<TestBridge> {
  const logs: string[] = [];
  const b = await startBridge({
    host: '127.0.0.1',
    port: 0,
    store: 'memory',
    defaultMetrics: false,
    logLevel: 'debug',
    logStream: { write: (s: string) => void logs.push(s) },
    ...opts,
  });
  return Object.assign(b, { logs });
}

let deviceCounter = 0;
export function device(name = `dev-${deviceCounter++}`): DeviceIdentity {
  return generateDeviceIdentity(seededRandom(`bridge-test-${name}`));
}

export const WS = WebSocket as unknown as WebSocketCtor;

export function client(b: { url: string }, id: DeviceIdentity, over: Partial<BridgeClientOptions> = {}) {
  return new BridgeClient({
    url: b.url,
    deviceId: id.deviceId,
    sign: (m) => id.sign(m),
    WebSocket: WS,
    backoff: { initialMs: 20, maxMs: 200 },
    ...over,
  });
}

export const idOf = (d: DeviceIdentity) => b64uEncode(d.deviceId);

/** A raw socket with a frame queue, for attack tests. */
export class Raw {
  readonly frames: ServerFrame[] = [];
  private waiters: { pred: (f: ServerFrame) => boolean; resolve: (f: ServerFrame) => void }[] = [];
  closeCode: number | undefined;
  readonly closed: Promise<number>;
  constructor(readonly ws: WebSocket) {
    ws.on('message', (d, bin) => {
      if (bin) return;
      const f = JSON.parse(d.toString()) as ServerFrame;
      this.frames.push(f);
      this.waiters = this.waiters.filter((w) => {
        if (w.pred(f)) {
          w.resolve(f);
          return false;
        }
        return true;
      });
    });
    this.closed = new Promise((resolve) =>
      ws.on('close', (code) => {
        this.closeCode = code;
        resolve(code);
      }),
    );
    ws.on('error', () => {});
  }

  static async open(url: string, opts: { protocol?: string | null; origin?: string } = {}): Promise<Raw> {
    const ws = new WebSocket(url, opts.protocol === null ? undefined : (opts.protocol ?? SUBPROTOCOL), {
      ...(opts.origin ? { origin: opts.origin } : {}),
    });
    const raw = new Raw(ws);
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
      ws.once('unexpected-response', (_req, res) => reject(new Error(`HTTP ${res.statusCode}`)));
    });
    return raw;
  }

  /** Wait for a frame matching `pred` (including already received ones not yet consumed). */
  next<T extends ServerFrame['t']>(
    t: T,
    pred: (f: Extract<ServerFrame, { t: T }>) => boolean = () => true,
    ms = 3000,
  ) {
    const match = (f: ServerFrame): f is Extract<ServerFrame, { t: T }> =>
      f.t === t && pred(f as Extract<ServerFrame, { t: T }>);
    const i = this.frames.findIndex(match);
    if (i >= 0) return Promise.resolve(this.frames.splice(i, 1)[0] as Extract<ServerFrame, { t: T }>);
    return new Promise<Extract<ServerFrame, { t: T }>>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`timeout waiting for ${t}`)), ms);
      this.waiters.push({
        pred: match,
        resolve: (f) => {
          clearTimeout(timer);
          const j = this.frames.indexOf(f);
          if (j >= 0) this.frames.splice(j, 1);
          resolve(f as Extract<ServerFrame, { t: T }>);
        },
      });
    });
  }

  send(frame: unknown): void {
    this.ws.send(typeof frame === 'string' ? frame : JSON.stringify(frame));
  }

  /** Authenticate as `id` (optionally signing with `signer` / for `origin` to test failures). */
  async auth(id: DeviceIdentity, origin: string, signer: DeviceIdentity = id): Promise<ServerFrame> {
    const ch = await this.next('challenge');
    const sig = signer.sign(authMessage(origin, b64uDecode(ch.nonce), id.deviceId));
    this.send({ t: 'auth', rid: 'a1', deviceId: idOf(id), sig: b64uEncode(sig) });
    return Promise.race([this.next('welcome'), this.next('error')]);
  }

  close(): void {
    this.ws.terminate();
  }
}

export async function authed(b: RunningBridge, id: DeviceIdentity): Promise<Raw> {
  const r = await Raw.open(b.url);
  const f = await r.auth(id, b.origin);
  if (f.t !== 'welcome') throw new Error(`auth failed: ${JSON.stringify(f)}`);
  return r;
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Poll until `f()` is truthy (bounded). */
export async function until(f: () => boolean | Promise<boolean>, ms = 3000, step = 10): Promise<void> {
  const end = Date.now() + ms;
  while (!(await f())) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await sleep(step);
  }
}
