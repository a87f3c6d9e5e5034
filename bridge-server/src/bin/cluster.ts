/**
 * `npm run bridge:cluster`: a bridge cluster on one machine for development and demos — a
 * redis-server (Debian's `/usr/bin/redis-server`, or `CONCORD_REDIS_SERVER`) on a free port with
 * its files in a temp directory and the append-only file on, N relay nodes sharing it
 * (`--store redis`), and in front of them the TCP balancer of relay/balancer.ts, so the cluster is
 * one address: `ws://127.0.0.1:PORT/v1`. The nodes listen on the next N ports and sign the
 * balancer's origin (`--public-origin`), so clients dial the balancer, not a node. Ctrl-C (SIGINT)
 * or SIGTERM stops every child, waits for each to exit, and deletes the temp directory.
 *
 *   npm run bridge:cluster -- --nodes 3 --port 8787
 *
 * `--port 0` puts the balancer and every node on a free port (tests). Once up, one JSON line on
 * stdout gives the addresses and process ids, for scripts.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { type RunningBalancer, startBalancer } from '../relay/balancer.ts';

const { values } = parseArgs({
  options: {
    nodes: { type: 'string', default: '2' },
    port: { type: 'string', default: '8787' },
    'max-connections-per-ip': { type: 'string', default: '4096' },
    'log-level': { type: 'string', default: 'info' },
    help: { type: 'boolean', default: false },
  },
});

if (values.help) {
  process.stdout.write(
    [
      'Usage: npm run bridge:cluster -- [--nodes N (default 2)] [--port P (default 8787; 0: free ports)]',
      '         [--max-connections-per-ip K (default 4096)] [--log-level L]',
      'The balancer listens on P and the nodes on P+1..P+N; clients dial ws://127.0.0.1:P/v1.',
      "Every client reaches a node from the balancer's address, so the per-IP cap counts all of them.",
      '',
    ].join('\n'),
  );
  process.exit(0);
}

const nodes = Number(values.nodes);
const first = Number(values.port);
if (!Number.isSafeInteger(nodes) || nodes < 1 || nodes > 16) {
  process.stderr.write('bridge:cluster: --nodes must be 1..16\n');
  process.exit(2);
}
if (!Number.isSafeInteger(first) || first < 0 || first + nodes > 65535) {
  process.stderr.write(
    'bridge:cluster: --port must leave room for the balancer and every node below 65536\n',
  );
  process.exit(2);
}

const root = resolve(import.meta.dirname, '../../..');
const dir = mkdtempSync(join(tmpdir(), 'concord-cluster-'));
const children: ChildProcess[] = [];
let balancer: RunningBalancer | undefined;
let stopping = false;

const alive = (c: ChildProcess): boolean => c.exitCode === null && c.signalCode === null;

/**
 * Stop everything: SIGTERM to each child (a node closes its sockets and Redis link, redis-server
 * flushes its append-only file), SIGKILL to any still running after 5 s, and exit only once every
 * child has exited, so none outlives the cluster (or stays a zombie of it).
 */
function stop(code: number): void {
  if (stopping) return;
  stopping = true;
  void balancer?.close();
  const exited = children.map((c) =>
    alive(c) ? new Promise<void>((res) => c.once('exit', () => res())) : Promise.resolve(),
  );
  // Nodes first, Redis last: a node closing cleanly still talks to Redis.
  for (const c of children.slice(1)) if (alive(c)) c.kill('SIGTERM');
  const redis = children[0];
  void Promise.all(exited.slice(1)).then(() => {
    if (redis !== undefined && alive(redis)) redis.kill('SIGTERM');
  });
  const force = setTimeout(() => {
    for (const c of children) if (alive(c)) c.kill('SIGKILL');
  }, 5000);
  void Promise.all(exited).then(() => {
    clearTimeout(force);
    rmSync(dir, { recursive: true, force: true });
    process.exit(code);
  });
}
process.on('SIGINT', () => stop(0));
process.on('SIGTERM', () => stop(0));

function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const srv = createServer().listen(0, '127.0.0.1', () => {
      const p = (srv.address() as { port: number }).port;
      srv.close(() => res(p));
    });
    srv.once('error', rej);
  });
}

/** Start a child, prefix its output, resolve once `ready` appears in it. */
function start(name: string, cmd: string, args: string[], ready: RegExp): Promise<ChildProcess> {
  const c = spawn(cmd, args, { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(c);
  return new Promise((res, rej) => {
    let seen = false;
    const onData = (d: Buffer) => {
      for (const line of d.toString().split('\n'))
        if (line.trim()) process.stderr.write(`[${name}] ${line}\n`);
      if (!seen && ready.test(d.toString())) {
        seen = true;
        res(c);
      }
    };
    c.stdout!.on('data', onData);
    c.stderr!.on('data', onData);
    c.once('error', (err) => rej(new Error(`${name}: ${err.message}`)));
    c.once('exit', (code, signal) => {
      if (!seen) rej(new Error(`${name} exited with ${code ?? signal}`));
      else if (!stopping) {
        // A node that dies is left dead (the balancer routes around it, as in production); the
        // cluster only gives up when Redis, which every node needs, is gone.
        process.stderr.write(`[${name}] exited with ${code ?? signal}\n`);
        if (name === 'redis') stop(1);
      }
    });
  });
}

async function waitReady(port: number): Promise<void> {
  for (let i = 0; i < 600; i++) {
    try {
      if ((await fetch(`http://127.0.0.1:${port}/readyz`)).status === 200) return;
    } catch {
      // not answering yet
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`the node on ${port} never became ready`);
}

async function main(): Promise<void> {
  const redisPort = await freePort();
  const redisBin = process.env.CONCORD_REDIS_SERVER ?? '/usr/bin/redis-server';
  const redis = await start(
    'redis',
    redisBin,
    ['--port', String(redisPort), '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--appendonly', 'yes'],
    /Ready to accept connections/,
  );
  if (stopping) return;
  const redisUrl = `redis://127.0.0.1:${redisPort}`;
  // The balancer's port first: it is the origin every node signs.
  const lbPort = first === 0 ? await freePort() : first;
  const ports: number[] = [];
  for (let i = 0; i < nodes; i++) ports.push(first === 0 ? await freePort() : first + 1 + i);
  if (stopping) return;
  const origin = `ws://127.0.0.1:${lbPort}`;
  const started = await Promise.all(
    ports.map((port, i) =>
      start(
        `node${i + 1}`,
        process.execPath,
        [
          '--import',
          'tsx',
          'bridge-server/src/bin/bridge.ts',
          '--host',
          '127.0.0.1',
          '--port',
          String(port),
          '--store',
          'redis',
          '--redis-url',
          redisUrl,
          '--node-id',
          `node${i + 1}`,
          '--public-origin',
          origin,
          '--max-connections-per-ip',
          values['max-connections-per-ip'] ?? '4096',
          '--log-level',
          values['log-level'] ?? 'info',
        ],
        /listening on/,
      ),
    ),
  );
  if (stopping) return;
  // "Up" means usable: every node has its Redis link (`/readyz`), so the balancer starts with all
  // of them in rotation and the first clients are spread over them.
  await Promise.all(ports.map(waitReady));
  if (stopping) return;
  balancer = await startBalancer({
    port: lbPort,
    backends: ports,
    onChange: (port, up, why) =>
      process.stderr.write(
        `[balancer] node on ${port} ${up ? 'back in rotation' : `out of rotation: ${why}`}\n`,
      ),
  });
  process.stderr.write(
    `bridge cluster up: ${origin}/v1 → nodes ${ports.map((p) => `127.0.0.1:${p}`).join(', ')}; Redis ${redisUrl} (data in ${dir}). Ctrl-C stops it.\n`,
  );
  process.stdout.write(
    `${JSON.stringify({
      url: `${origin}/v1`,
      origin,
      pid: process.pid,
      redis: { url: redisUrl, pid: redis.pid, dir },
      nodes: ports.map((port, i) => ({ port, url: `ws://127.0.0.1:${port}/v1`, pid: started[i]!.pid })),
    })}\n`,
  );
}

main().catch((err: unknown) => {
  process.stderr.write(`bridge:cluster: ${err instanceof Error ? err.message : String(err)}\n`);
  stop(2);
});
