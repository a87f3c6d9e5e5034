/**
 * `npm run bridge:cluster` as a user runs it: a real redis-server and two bridge nodes behind the
 * built-in balancer, every listener on a free port (`--port 0`). Two devices connect through the
 * balancer (one lands on each node) and exchange messages; a node is SIGKILLed and the devices and
 * a newcomer reconnect through the same address to the live node, where the exchange completes.
 * Stopping the script — Ctrl-C to its process group, or SIGTERM to the cluster process alone —
 * leaves no child running and deletes its temp directory.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { BridgeClient, type DeliveredMessage, type WebSocketCtor } from '@concord/bridge-server/client';
import { generateDeviceIdentity, toBase64url } from '@concord/tss/transport';
import { afterAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { until } from '../helpers/ceremony-device.ts';

const root = resolve(import.meta.dirname, '../..');

interface ClusterInfo {
  url: string;
  pid: number;
  redis: { url: string; pid: number; dir: string };
  nodes: { port: number; url: string; pid: number }[];
}

interface Running {
  child: ChildProcess;
  info: ClusterInfo;
  exited: Promise<number | null>;
  log: () => string;
}

const started: Running[] = [];
afterAll(async () => {
  // Only if a test failed half-way: its cluster and children must not outlive the run.
  for (const r of started) {
    for (const pid of [r.info.pid, r.info.redis.pid, ...r.info.nodes.map((n) => n.pid)])
      if (alive(pid)) process.kill(pid, 'SIGKILL');
  }
});

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Start the cluster (detached: its own process group, as a terminal's job is) and read its JSON line. */
async function startCluster(cmd: string, args: string[]): Promise<Running> {
  const child = spawn(cmd, args, { cwd: root, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  const exited = new Promise<number | null>((res) => child.once('exit', (code) => res(code)));
  child.stderr!.on('data', (d: Buffer) => {
    err += d.toString();
  });
  const info = await new Promise<ClusterInfo>((res, rej) => {
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const line = out.split('\n').find((l) => l.startsWith('{'));
      if (line !== undefined) res(JSON.parse(line) as ClusterInfo);
    });
    void exited.then((code) => rej(new Error(`bridge:cluster exited with ${code}: ${err}`)));
  });
  const r = { child, info, exited, log: () => err };
  started.push(r);
  return r;
}

function device(url: string) {
  const identity = generateDeviceIdentity();
  const client = new BridgeClient({
    url,
    deviceId: identity.deviceId,
    sign: (m) => identity.sign(m),
    WebSocket: WebSocket as unknown as WebSocketCtor,
    backoff: { initialMs: 50, maxMs: 500 },
  });
  const got: DeliveredMessage[] = [];
  client.on('message', (m) => got.push(m));
  return { id: toBase64url(identity.deviceId), client, got };
}

/** Open connections on one node, from its /metrics. */
async function connectionsOn(port: number): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const m = /^concord_bridge_connections (\d+)/m.exec(text);
  if (!m) throw new Error('no concord_bridge_connections in /metrics');
  return Number(m[1]);
}

/** Every process the cluster started, and the cluster itself, are gone; so is its temp dir. */
function expectAllGone(r: Running): void {
  const pids = [r.info.pid, r.info.redis.pid, ...r.info.nodes.map((n) => n.pid)];
  expect(pids.every((p) => Number.isSafeInteger(p) && p > 0)).toBe(true);
  expect(pids.filter(alive)).toEqual([]);
  expect(existsSync(r.info.redis.dir)).toBe(false);
}

describe('npm run bridge:cluster', () => {
  it('is one address for two nodes; Ctrl-C stops every child', async () => {
    const r = await startCluster('npm', ['run', 'bridge:cluster', '--', '--port', '0', '--nodes', '2']);
    expect(r.info.nodes).toHaveLength(2);
    expect(alive(r.info.redis.pid)).toBe(true);
    const A = device(r.info.url);
    const B = device(r.info.url);
    try {
      await A.client.connect();
      await B.client.connect();
      // Least connections: one device on each node, so what follows crosses nodes through Redis.
      expect(await Promise.all(r.info.nodes.map((n) => connectionsOn(n.port)))).toEqual([1, 1]);
      const s = await A.client.createSession('sign', [A.id, B.id]);
      await A.client.send({ sid: s.sid, to: B.id, tag: 't', msgId: 'a1', envelope: new Uint8Array([1, 2]) });
      await B.client.send({ sid: s.sid, to: A.id, tag: 't', msgId: 'b1', envelope: new Uint8Array([3]) });
      await until(() => A.got.length === 1 && B.got.length === 1, 20_000, 'both messages');
      expect(B.got.map((m) => [m.msgId, [...m.envelope]])).toEqual([['a1', [1, 2]]]);
      expect(A.got.map((m) => [m.msgId, [...m.envelope]])).toEqual([['b1', [3]]]);
    } finally {
      A.client.close();
      B.client.close();
    }
    // Ctrl-C in a terminal: SIGINT to the whole foreground process group (npm, tsx, the cluster,
    // the nodes and redis-server all receive it).
    process.kill(-r.child.pid!, 'SIGINT');
    await r.exited;
    // npm may exit on the signal before the script it ran has finished stopping its children; the
    // script exits only once every child has, so wait for the script itself.
    await until(() => !alive(r.info.pid), 20_000, 'the cluster script to exit');
    expectAllGone(r);
  });

  it('a SIGKILLed node: reconnects and newcomers land on the live node through the balancer; SIGTERM stops the rest', async () => {
    const r = await startCluster(process.execPath, [
      '--import',
      'tsx',
      'bridge-server/src/bin/cluster.ts',
      '--port',
      '0',
      '--nodes',
      '2',
      '--log-level',
      'warn',
    ]);
    const A = device(r.info.url);
    const B = device(r.info.url);
    const C = device(r.info.url);
    try {
      await A.client.connect();
      await B.client.connect();
      const [n1, n2] = r.info.nodes as [ClusterInfo['nodes'][0], ClusterInfo['nodes'][0]];
      expect([await connectionsOn(n1.port), await connectionsOn(n2.port)]).toEqual([1, 1]);
      const s = await A.client.createSession('sign', [A.id, B.id, C.id]);
      await A.client.send({ sid: s.sid, to: B.id, tag: 't', msgId: 'before', envelope: new Uint8Array([1]) });
      await until(() => B.got.length === 1, 20_000, 'the first message');

      process.kill(n1.pid, 'SIGKILL');
      await until(() => !alive(n1.pid), 10_000, 'node 1 to die');
      // The device that was on node 1 reconnects through the balancer, a newcomer connects: both
      // land on node 2, and the cluster process stays up.
      await C.client.connect();
      const end = Date.now() + 20_000;
      while ((await connectionsOn(n2.port)) !== 3) {
        if (Date.now() > end) throw new Error('A never reconnected to node 2');
        await new Promise((res) => setTimeout(res, 50));
      }
      await until(() => A.client.state === 'ready', 20_000, 'A ready again');
      expect(alive(r.info.pid)).toBe(true);
      for (const [from, to, id] of [
        [A, B, 'ab'],
        [B, C, 'bc'],
        [C, A, 'ca'],
      ] as const)
        await from.client.send({ sid: s.sid, to: to.id, tag: 't', msgId: id, envelope: new Uint8Array([9]) });
      await until(
        () => A.got.length === 1 && B.got.length === 2 && C.got.length === 1,
        20_000,
        'after failover',
      );
      expect(B.got.map((m) => m.msgId)).toEqual(['before', 'ab']);
      expect(C.got.map((m) => m.msgId)).toEqual(['bc']);
      expect(A.got.map((m) => m.msgId)).toEqual(['ca']);
    } finally {
      for (const d of [A, B, C]) d.client.close();
    }
    // SIGTERM to the cluster process alone (a process manager's stop): it stops its children.
    process.kill(r.info.pid, 'SIGTERM');
    expect(await r.exited).toBe(0);
    expectAllGone(r);
    expect(r.log()).toMatch(/out of rotation/);
  });
});
