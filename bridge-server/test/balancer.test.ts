/**
 * The TCP balancer of relay/balancer.ts in front of real relays on a real redis-server (in-process here; the
 * bridge-cluster-script test runs it inside `bridge:cluster`): least connections across live nodes,
 * a node whose port refuses or whose /readyz fails is skipped and comes back when it passes again,
 * and with no live node a connection is closed rather than left hanging.
 */
import { createServer, type Server } from 'node:http';
import { connect } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { RedisServer } from '../../test/helpers/redis-server.ts';
import { type RunningBalancer, startBalancer } from '../src/relay/balancer.ts';
import { client, device, idOf, type TestBridge, testBridge, until } from './helpers.ts';

const open: { close(): unknown }[] = [];
let redis: RedisServer;
let prefix = 0;
beforeAll(async () => {
  redis = await RedisServer.start();
});
afterAll(() => redis?.stop());
afterEach(async () => {
  for (const o of open.splice(0).reverse()) await o.close();
});

/** A free port nothing listens on (a node that is down). */
async function deadPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  const port = (s.address() as { port: number }).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

/** Accepts TCP and answers every request 503: up as a port, not ready as a node. */
async function notReady(): Promise<Server & { hits: number }> {
  const s = Object.assign(
    createServer((_req, res) => {
      s.hits++;
      res.writeHead(503).end('not ready');
    }),
    { hits: 0 },
  );
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  open.push({ close: () => new Promise<void>((r) => s.close(() => r())) });
  return s;
}

async function balance(backends: number[]): Promise<RunningBalancer & { url: string }> {
  const lb = await startBalancer({ port: 0, backends, checkMs: 60_000 });
  open.push(lb);
  return Object.assign(lb, { url: `ws://127.0.0.1:${lb.port}/v1` });
}

/** Two relays on one Redis that sign the balancer's origin (its port is chosen first). */
async function behind(
  extra: number[] = [],
): Promise<{ lb: RunningBalancer & { url: string }; nodes: TestBridge[] }> {
  const a = await deadPort();
  const b = await deadPort();
  const lbPort = await deadPort();
  const origin = `ws://127.0.0.1:${lbPort}`;
  const opts = {
    publicOrigin: origin,
    store: 'redis',
    redisUrl: redis.url,
    redisPrefix: `lb${prefix++}:`,
  } as const;
  const nodes = [
    await testBridge({ ...opts, port: a, nodeId: 'a' }),
    await testBridge({ ...opts, port: b, nodeId: 'b' }),
  ];
  await until(() => nodes.every((n) => n.relay.ready));
  open.push(...nodes);
  const lb = await startBalancer({ port: lbPort, backends: [...extra, a, b], checkMs: 60_000 });
  open.push(lb);
  return { lb: Object.assign(lb, { url: `${origin}/v1` }), nodes };
}

describe('TCP balancer', () => {
  it('spreads connections by fewest open and carries a message exchange between them', async () => {
    const { lb, nodes } = await behind();
    const [A, B, C] = [device('lb-A'), device('lb-B'), device('lb-C')];
    const ca = client(lb, A);
    const cb = client(lb, B);
    open.push(ca, cb);
    await ca.connect();
    await cb.connect();
    expect(lb.state().map((s) => s.open)).toEqual([1, 1]);
    expect(nodes.map((n) => n.relay.connectionCount)).toEqual([1, 1]);
    // A third goes to either (a tie); once it leaves, each node holds one again.
    const cc = client(lb, C);
    open.push(cc);
    await cc.connect();
    expect(
      lb
        .state()
        .map((s) => s.open)
        .sort(),
    ).toEqual([1, 2]);
    cc.close();
    await until(() => lb.state().every((s) => s.open === 1));
    const s = await ca.createSession('sign', [idOf(A), idOf(B)]);
    const got: string[] = [];
    cb.on('message', (m) => got.push(m.msgId));
    await ca.send({ sid: s.sid, to: idOf(B), tag: 't', msgId: 'x', envelope: new Uint8Array([7]) });
    await until(() => got.length === 1);
    expect(got).toEqual(['x']);
  });

  it('skips a node whose port refuses and one whose /readyz fails, and takes them back when they pass', async () => {
    const gone = await deadPort();
    const sick = await notReady();
    const { lb } = await behind([gone, (sick.address() as { port: number }).port]);
    await lb.check();
    // Refused: out at once. One 503 is not enough (a busy node may answer slowly once); two are.
    expect(lb.state().map((s) => s.up)).toEqual([false, true, true, true]);
    await lb.check();
    expect(lb.state().map((s) => s.up)).toEqual([false, false, true, true]);
    expect(sick.hits).toBe(2); // asked /readyz twice, sent no client to it
    const clients = [device('lb-1'), device('lb-2'), device('lb-3'), device('lb-4')].map((d) =>
      client(lb, d),
    );
    open.push(...clients);
    for (const c of clients) await c.connect();
    expect(lb.state().map((s) => s.open)).toEqual([0, 0, 2, 2]);
    expect(sick.hits).toBe(2);

    // The sick node recovers: the next check puts it back and the next connection goes there.
    sick.removeAllListeners('request');
    sick.on('request', (_req, res) => res.writeHead(200).end('ready'));
    await lb.check();
    expect(lb.state().map((s) => s.up)).toEqual([false, true, true, true]);
  });

  it('a port that refuses between checks is skipped on the spot, and with no node left a client is closed', async () => {
    const lb = await balance([await deadPort(), await deadPort()]);
    const closed = await new Promise<boolean>((res) => {
      const s = connect(lb.port, '127.0.0.1');
      s.on('error', () => {});
      s.once('close', () => res(true));
    });
    expect(closed).toBe(true);
    expect(lb.state().map((s) => s.up)).toEqual([false, false]);
  });
});
