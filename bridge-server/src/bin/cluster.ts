/**
 * `npm run bridge:cluster`: a bridge cluster on one machine for development and demos — a
 * redis-server (Debian's `/usr/bin/redis-server`, or `CONCORD_REDIS_SERVER`) on a free port with
 * its files in a temp directory and the append-only file on, and N relay nodes on consecutive
 * ports sharing it (`--store redis`). Each node is its own address (point a client at any one;
 * put HAProxy or nginx in front for one address). Ctrl-C stops everything and deletes the temp
 * directory.
 *
 *   npm run bridge:cluster -- --nodes 3 --port 8787
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: {
    nodes: { type: 'string', default: '2' },
    port: { type: 'string', default: '8787' },
    'log-level': { type: 'string', default: 'info' },
    help: { type: 'boolean', default: false },
  },
});

if (values.help) {
  process.stdout.write(
    'Usage: npm run bridge:cluster -- [--nodes N (default 2)] [--port first port (default 8787)] [--log-level L]\n',
  );
  process.exit(0);
}

const nodes = Number(values.nodes);
const first = Number(values.port);
if (!Number.isSafeInteger(nodes) || nodes < 1 || nodes > 16) {
  process.stderr.write('bridge:cluster: --nodes must be 1..16\n');
  process.exit(2);
}
if (!Number.isSafeInteger(first) || first < 1 || first + nodes - 1 > 65535) {
  process.stderr.write('bridge:cluster: --port must leave room for every node below 65536\n');
  process.exit(2);
}

const root = resolve(import.meta.dirname, '../../..');
const dir = mkdtempSync(join(tmpdir(), 'concord-cluster-'));
const children: ChildProcess[] = [];
let stopping = false;

function stop(code: number): void {
  if (stopping) return;
  stopping = true;
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGTERM');
  setTimeout(() => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
    process.exit(code);
  }, 2500).unref();
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
    c.once('exit', (code) => {
      if (!seen) rej(new Error(`${name} exited with ${code}`));
      else if (!stopping) {
        process.stderr.write(`[${name}] exited with ${code}; stopping the cluster\n`);
        stop(1);
      }
    });
  });
}

async function main(): Promise<void> {
  const redisPort = await freePort();
  const redisBin = process.env.CONCORD_REDIS_SERVER ?? '/usr/bin/redis-server';
  await start(
    'redis',
    redisBin,
    ['--port', String(redisPort), '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--appendonly', 'yes'],
    /Ready to accept connections/,
  );
  const redisUrl = `redis://127.0.0.1:${redisPort}`;
  await Promise.all(
    Array.from({ length: nodes }, (_, i) =>
      start(
        `node${i + 1}`,
        process.execPath,
        [
          '--import',
          'tsx',
          'bridge-server/src/bin/bridge.ts',
          '--port',
          String(first + i),
          '--store',
          'redis',
          '--redis-url',
          redisUrl,
          '--node-id',
          `node${i + 1}`,
          '--log-level',
          values['log-level'] ?? 'info',
        ],
        /listening on/,
      ),
    ),
  );
  process.stderr.write(
    `bridge cluster up: Redis ${redisUrl} (data in ${dir}); nodes ${Array.from(
      { length: nodes },
      (_, i) => `ws://127.0.0.1:${first + i}/v1`,
    ).join(', ')}. Ctrl-C stops it.\n`,
  );
}

main().catch((err: unknown) => {
  process.stderr.write(`bridge:cluster: ${err instanceof Error ? err.message : String(err)}\n`);
  stop(2);
});
