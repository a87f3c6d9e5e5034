/**
 * A minimal WalletConnect relay client for the relay's unit tests: mints a relay-auth JWT the way
 * @walletconnect/relay-auth does (EdDSA JWS, `iss` = did:key of an Ed25519 key), connects with the
 * 2.x query (`auth`, `projectId`, `ua`), sends JSON-RPC requests and collects `irn_subscription`
 * pushes, acknowledging them unless told not to.
 */
import { ed25519 } from '@noble/curves/ed25519.js';
import { base58, base64urlnopad } from '@scure/base';
import WebSocket from 'ws';

export interface Push {
  id: number;
  params: {
    id: string;
    data: { topic: string; message: string; publishedAt: number; tag: number; attestation?: string };
  };
}

export interface RpcAnswer {
  id: string | number | null;
  result?: unknown;
  error?: { code: number; message: string };
}

const enc = (o: unknown) => base64urlnopad.encode(new TextEncoder().encode(JSON.stringify(o)));

export function didKey(publicKey: Uint8Array): string {
  return `did:key:z${base58.encode(new Uint8Array([0xed, 0x01, ...publicKey]))}`;
}

export interface JwtOptions {
  aud: string;
  iatMs?: number;
  ttlSeconds?: number;
  secretKey?: Uint8Array;
  /** Sign with this key but claim `iss` of another (a forged JWT). */
  claimIss?: string;
  alg?: string;
}

export function mintJwt(o: JwtOptions): { jwt: string; iss: string } {
  const secretKey = o.secretKey ?? ed25519.utils.randomSecretKey();
  const iss = o.claimIss ?? didKey(ed25519.getPublicKey(secretKey));
  const iat = Math.floor((o.iatMs ?? Date.now()) / 1000);
  const header = enc({ alg: o.alg ?? 'EdDSA', typ: 'JWT' });
  const payload = enc({ iss, sub: 'test-session', aud: o.aud, iat, exp: iat + (o.ttlSeconds ?? 86_400) });
  const sig = ed25519.sign(new TextEncoder().encode(`${header}.${payload}`), secretKey);
  return { jwt: `${header}.${payload}.${base64urlnopad.encode(sig)}`, iss };
}

export function relayQuery(relayUrl: string, jwt: string, projectId = 'concord-test'): string {
  return `${relayUrl}/?auth=${encodeURIComponent(jwt)}&ua=${encodeURIComponent('wc-2/js-2.25.0/test')}&projectId=${projectId}&useOnCloseEvent=true`;
}

/** Try to connect; resolves with the HTTP status and body of a refused upgrade. */
export function refusedUpgrade(url: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url);
    ws.on('open', () => {
      ws.close();
      reject(new Error('the relay accepted the connection'));
    });
    ws.on('unexpected-response', (_req, res) => {
      let body = '';
      res.on('data', (d: Buffer) => {
        body += d.toString();
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    ws.on('error', () => {});
  });
}

let nextId = 1;

export class RelayClient {
  readonly pushes: Push[] = [];
  private readonly answers = new Map<string | number | null, (a: RpcAnswer) => void>();
  private readonly unmatched: RpcAnswer[] = [];
  private pushWaiters: Array<() => void> = [];
  autoAck = true;
  closed: Promise<{ code: number; reason: string }>;

  private constructor(
    readonly ws: WebSocket,
    readonly clientId: string,
  ) {
    this.closed = new Promise((res) =>
      ws.once('close', (code, reason) => res({ code, reason: reason.toString() })),
    );
    ws.on('message', (data) => {
      const msg = JSON.parse(data.toString()) as RpcAnswer & { method?: string; params?: Push['params'] };
      if (msg.method === 'irn_subscription') {
        const push = msg as unknown as Push;
        this.pushes.push(push);
        if (this.autoAck) this.ack(push);
        for (const w of this.pushWaiters.splice(0)) w();
        return;
      }
      const waiter = this.answers.get(msg.id);
      if (waiter) {
        this.answers.delete(msg.id);
        waiter(msg);
      } else this.unmatched.push(msg);
    });
  }

  static async connect(
    relayUrl: string,
    opts: { secretKey?: Uint8Array; projectId?: string } = {},
  ): Promise<RelayClient> {
    const { jwt, iss } = mintJwt({ aud: relayUrl, ...(opts.secretKey ? { secretKey: opts.secretKey } : {}) });
    const ws = new WebSocket(relayQuery(relayUrl, jwt, opts.projectId));
    await new Promise<void>((res, rej) => {
      ws.once('open', () => res());
      ws.once('error', rej);
    });
    return new RelayClient(ws, iss);
  }

  /** Send a raw frame and wait for the answer with id `id`. */
  sendRaw(frame: string | Buffer, id: string | number | null): Promise<RpcAnswer> {
    const p = new Promise<RpcAnswer>((res) => {
      const early = this.unmatched.findIndex((a) => a.id === id);
      if (early >= 0) {
        res(this.unmatched.splice(early, 1)[0]!);
        return;
      }
      this.answers.set(id, res);
    });
    this.ws.send(frame);
    return p;
  }

  request(method: string, params: unknown): Promise<RpcAnswer> {
    // String ids, as 2.x clients send theirs.
    const id = `${Date.now()}${String(nextId++).padStart(6, '0')}`;
    return this.sendRaw(JSON.stringify({ id, jsonrpc: '2.0', method, params }), id);
  }

  /** Call and expect a result (throws with the JSON-RPC error otherwise). */
  async call(method: string, params: unknown): Promise<unknown> {
    const a = await this.request(method, params);
    if (a.error) throw new Error(`${method}: ${a.error.code} ${a.error.message}`);
    return a.result;
  }

  ack(push: Push): void {
    this.ws.send(JSON.stringify({ id: push.id, jsonrpc: '2.0', result: true }));
  }

  /** Wait until `n` pushes have arrived in total. */
  async waitForPushes(n: number): Promise<Push[]> {
    while (this.pushes.length < n) await new Promise<void>((res) => this.pushWaiters.push(res));
    return this.pushes;
  }

  async close(): Promise<void> {
    if (this.ws.readyState === WebSocket.CLOSED) return;
    this.ws.close();
    await this.closed;
  }
}

export const topic = (n: number): string => n.toString(16).padStart(64, '0');
