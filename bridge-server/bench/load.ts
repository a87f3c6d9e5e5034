/**
 * Bridge load benchmark (loopback only). Starts the relay in a child process with the `loadtest`
 * profile (so the generator and the server each get a core), opens N authenticated connections in
 * sessions of 3, then for a bounded time sends fixed-size sealed-size payloads around each session
 * at a target rate with a bounded in-flight window, and reports delivered messages/s, p50/p99
 * delivery latency (send → deliver at the recipient), server CPU per delivered message (from the
 * server's own `process_cpu_seconds_total`, so it is meaningful on a shared machine where wall
 * clock figures are not), event-loop lag on both sides, and memory. Prints a human summary and
 * one JSON line per run.
 *
 * Traffic shape: each tick picks the next clients round-robin; a picked client sends `--burst`
 * messages alternating between its two peers (2 = one per peer, like a protocol round) in one
 * write, preceded by its pending acks; clients that stay quiet flush acks every `--ack-ms`.
 *
 *   npm run bench:bridge -- --connections 1000,5000 --duration 10 --rate 25000 --window 2000
 *   options: --connections <n[,n]> --duration <s> --rate <msgs/s> --window <n> --payload <bytes>
 *            --store memory|sqlite|redis --max-messages <n> --burst <n> --ack-ms <ms>
 *            --server-node-args "<node flags>"   e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof"
 *
 * Cluster mode: `--store redis --nodes 1,2,3` starts a redis-server (Debian's, in a temp dir,
 * append-only file on as in production) and that many relay nodes on it; clients are spread over
 * the nodes round-robin, so the members of a session sit on different nodes and most deliveries
 * cross nodes (pub/sub wake-up). Server CPU is summed over the nodes; Redis's own CPU per message
 * is reported beside it. `--redis-url` uses an existing Redis instead (a fresh key prefix per run).
 *
 *   npm run bench:bridge -- --connections 1000 --store redis --nodes 1,2,3
 *
 * Flood mode (bench/flood.ts): `--flood ack|fetch|send|connect` (comma-separated for several) runs
 * an honest round trip beside a hostile client on a relay with the default limits.
 *
 *   npm run bench:bridge -- --flood ack,fetch,send,connect --store sqlite
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { generateKeyPairSync, type KeyObject, sign } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type NetConnectOpts, connect as netConnect, type Socket } from 'node:net';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { Redis } from 'ioredis';
import WebSocket from 'ws';
import { authMessage } from '../src/protocol/auth.ts';
import { b64uDecode, b64uEncode } from '../src/protocol/base64url.ts';
import { SUBPROTOCOL } from '../src/protocol/frames.ts';

const { values } = parseArgs({
  options: {
    connections: { type: 'string', default: '1000,5000' },
    duration: { type: 'string', default: '10' },
    rate: { type: 'string', default: '30000' },
    window: { type: 'string', default: '4000' },
    payload: { type: 'string', default: '256' },
    store: { type: 'string', default: 'memory' },
    'max-messages': { type: 'string', default: '2000000' },
    /** Messages a sending client emits per turn (2 = one to each peer, like a protocol round). */
    burst: { type: 'string', default: '2' },
    /** How often clients flush their batched acks. */
    'ack-ms': { type: 'string', default: '20' },
    /** Extra node flags for the server child, e.g. `--cpu-prof --cpu-prof-dir=/tmp/prof`. */
    'server-node-args': { type: 'string', default: '' },
    /** Relay nodes per run (store redis only), e.g. `1,2,3`. */
    nodes: { type: 'string', default: '1' },
    'redis-url': { type: 'string', default: '' },
    /** Flood mode (bench/flood.ts): ack | fetch | send | connect, comma-separated for several. */
    flood: { type: 'string', default: '' },
  },
});

interface Client {
  ws: WebSocket;
  /** The TCP socket under `ws` (captured through `createConnection`), corked per tick. */
  sock: Socket;
  corked: boolean;
  id: string;
  key: KeyObject;
  peers: string[];
  sid: string;
  ackQ: number[];
  next: number;
}

const root = resolve(import.meta.dirname, '../..');

async function startServer(
  store: string,
  redis?: { url: string; prefix: string },
  profile = 'loadtest',
): Promise<{ proc: ChildProcess; url: string; http: string; dir: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'concord-bench-'));
  // `node --import tsx` rather than the tsx CLI: one process (no wrapper), and flags such as
  // --cpu-prof (refused in NODE_OPTIONS) reach the server.
  const nodeArgs = (values['server-node-args'] ?? '').split(' ').filter(Boolean);
  const proc = spawn(
    process.execPath,
    [
      '--max-old-space-size=2048',
      '--import',
      'tsx',
      ...nodeArgs,
      join(root, 'bridge-server/src/bin/bridge.ts'),
      '--port',
      '0',
      '--profile',
      profile,
      '--store',
      store,
      '--data-dir',
      dir,
      '--log-level',
      'warn',
      ...(redis === undefined ? [] : ['--redis-url', redis.url, '--redis-prefix', redis.prefix]),
    ],
    {
      cwd: root,
      stdio: ['ignore', 'ignore', 'pipe'],
    },
  );
  // Whatever happens to the generator (an error, a failed start, Ctrl-C), the server child and
  // its data directory go with it.
  const cleanup = () => {
    if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  };
  process.once('exit', cleanup);
  process.once('SIGINT', () => process.exit(130));
  const url = await new Promise<string>((res, rej) => {
    let buf = '';
    const t = setTimeout(() => rej(new Error('server did not start')), 30_000);
    proc.stderr?.on('data', (d: Buffer) => {
      buf += d.toString();
      const m = /listening on (ws:\/\/\S+)/.exec(buf);
      if (m?.[1]) {
        clearTimeout(t);
        res(m[1]);
      }
    });
    proc.on('exit', (code) => rej(new Error(`server exited ${code}: ${buf}`)));
  });
  return { proc, url, http: url.replace('ws://', 'http://').replace(/\/v1$/, ''), dir };
}

/** Debian's redis-server on a free port in a temp dir, killed with the generator. */
async function startRedis(): Promise<{ url: string; proc: ChildProcess }> {
  const dir = mkdtempSync(join(tmpdir(), 'concord-bench-redis-'));
  const port = await new Promise<number>((res) => {
    const srv = createServer().listen(0, '127.0.0.1', () => {
      const p = (srv.address() as { port: number }).port;
      srv.close(() => res(p));
    });
  });
  const proc = spawn(
    '/usr/bin/redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--appendonly', 'yes'],
    { stdio: ['ignore', 'pipe', 'ignore'] },
  );
  process.once('exit', () => {
    if (proc.exitCode === null) proc.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });
  await new Promise<void>((res, rej) => {
    let out = '';
    proc.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('Ready to accept connections')) res();
    });
    proc.once('exit', (code) => rej(new Error(`redis-server exited ${code}: ${out}`)));
  });
  return { url: `redis://127.0.0.1:${port}`, proc };
}

/** Redis's own CPU seconds (user + system), from INFO. */
async function redisCpu(url: string): Promise<number> {
  const r = new Redis(url);
  try {
    const info = await r.info('cpu');
    const num = (k: string) => Number(new RegExp(`${k}:([\\d.]+)`).exec(info)?.[1]);
    return num('used_cpu_user') + num('used_cpu_sys');
  } finally {
    r.disconnect();
  }
}

function newDevice(): { id: string; raw: Uint8Array; key: KeyObject } {
  const { publicKey, privateKey } = generateKeyPairSync('ed25519');
  const x = publicKey.export({ format: 'jwk' }).x as string;
  return { id: x, raw: b64uDecode(x), key: privateKey };
}

function connect(url: string, origin: string): Promise<Client> {
  const d = newDevice();
  return new Promise((res, rej) => {
    let sock: Socket | undefined;
    const ws = new WebSocket(url, SUBPROTOCOL, {
      perMessageDeflate: false,
      // The relay only sends JSON it built itself; the generator need not re-validate UTF-8.
      skipUTF8Validation: true,
      // An all-zero mask makes ws skip masking each payload. Masking protects browsers against
      // cache-poisoning intermediaries; a loopback generator has none.
      generateMask: (mask: Buffer) => void mask.fill(0),
      createConnection: ((o: NetConnectOpts) => {
        sock = netConnect(o);
        return sock;
      }) as typeof netConnect,
    });
    const c: Client = {
      ws,
      sock: sock!,
      corked: false,
      id: d.id,
      key: d.key,
      peers: [],
      sid: '',
      ackQ: [],
      next: 0,
    };
    const t = setTimeout(() => rej(new Error('auth timeout')), 60_000);
    ws.once('error', rej);
    ws.on('message', function first(data) {
      const f = JSON.parse(data.toString());
      if (f.t === 'challenge') {
        const sig = sign(null, authMessage(origin, b64uDecode(f.nonce), d.raw), d.key);
        ws.send(JSON.stringify({ t: 'auth', rid: 'a', deviceId: d.id, sig: b64uEncode(sig) }));
      } else if (f.t === 'welcome') {
        clearTimeout(t);
        ws.off('message', first);
        res(c);
      } else if (f.t === 'error') {
        rej(new Error(f.code));
      }
    });
  });
}

function pct(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

async function scrape(http: string, name: string): Promise<number> {
  const text = await (await fetch(`${http}/metrics`)).text();
  const m = new RegExp(`^${name} (\\S+)`, 'm').exec(text);
  return m ? Number(m[1]) : Number.NaN;
}

let runNo = 0;

async function run(
  n: number,
  nodeCount: number,
  redisUrl: string | undefined,
): Promise<Record<string, unknown>> {
  const store = values.store ?? 'memory';
  const redis =
    redisUrl === undefined ? undefined : { url: redisUrl, prefix: `bench${process.pid}-${runNo++}:` };
  const servers = await Promise.all(Array.from({ length: nodeCount }, () => startServer(store, redis)));
  const redisCpu0 = redisUrl === undefined ? Number.NaN : await redisCpu(redisUrl);
  /** A metric summed over the nodes. */
  const scrapeAll = async (name: string) =>
    (await Promise.all(servers.map((s) => scrape(s.http, name)))).reduce((a, b) => a + b, 0);
  /** A metric's worst value over the nodes. */
  const scrapeMax = async (name: string) =>
    Math.max(...(await Promise.all(servers.map((s) => scrape(s.http, name)))));
  const t0 = performance.now();
  const clients: Client[] = [];
  // Connect in waves to avoid a SYN storm on loopback; client i goes to node i mod nodes, so the
  // three members of a session sit on different nodes whenever there are several.
  for (let i = 0; i < n; i += 250) {
    const wave = await Promise.all(
      Array.from({ length: Math.min(250, n - i) }, (_, j) => {
        const url = servers[(i + j) % servers.length]!.url;
        return connect(url, `ws://${new URL(url).host}`);
      }),
    );
    clients.push(...wave);
  }
  const connectS = (performance.now() - t0) / 1000;
  // Sessions of 3: the first member creates, all know the sid.
  const groups: Client[][] = [];
  for (let i = 0; i + 2 < clients.length; i += 3) groups.push(clients.slice(i, i + 3));
  await Promise.all(
    groups.map(
      (g) =>
        new Promise<void>((res, rej) => {
          const [a] = g as [Client];
          const onMsg = (data: WebSocket.RawData) => {
            const f = JSON.parse(data.toString());
            if (f.t === 'session' && f.rid === 'c') {
              a.ws.off('message', onMsg);
              for (const m of g) {
                m.sid = f.session.sid;
                m.peers = g.filter((x) => x !== m).map((x) => x.id);
              }
              res();
            } else if (f.t === 'error') rej(new Error(f.code));
          };
          a.ws.on('message', onMsg);
          a.ws.send(
            JSON.stringify({
              t: 'create_session',
              rid: 'c',
              kind: 'sign',
              members: g.map((x) => x.id),
              ttlMs: 600_000,
            }),
          );
        }),
    ),
  );
  const active = groups.flat();
  const payload = b64uEncode(new Uint8Array(Number(values.payload)).fill(0x5a));
  // msgIds are `m<counter>`, unique across the run, so the counter alone keys the send time.
  const sentAt = new Map<number, number>();
  const latencies = new Float64Array(Number(values['max-messages']));
  let delivered = 0;
  let sent = 0;
  let errors = 0;
  let measuring = false;
  let measuredDelivered = 0;
  // Writes are coalesced per socket within a tick (the ws client otherwise makes one writev per
  // frame), the same technique as the relay's end-of-turn flush.
  const corked: Client[] = [];
  const cork = (c: Client) => {
    if (c.corked) return;
    c.corked = true;
    c.sock.cork();
    corked.push(c);
  };
  const uncorkAll = () => {
    for (const c of corked) {
      c.corked = false;
      c.sock.uncork();
    }
    corked.length = 0;
  };
  const MSGID = Buffer.from('"msgId":"m');
  const SEQ = Buffer.from('"seq":');
  for (const c of active) {
    c.ws.on('message', (data: Buffer) => {
      // Frames are `{"t":"<type>",...`: byte 6 names the type. Deliveries dominate; `accepted`
      // needs no work (the window is released on delivery). Field order is fixed by the relay's
      // JSON.stringify, so msgId and seq are read in place instead of parsing ~600 bytes.
      const kind = data[6];
      if (kind === 0x64 /* d */) {
        const i = data.indexOf(MSGID) + MSGID.length;
        let id = 0;
        let j = i;
        for (; data[j]! >= 0x30 && data[j]! <= 0x39; j++) id = id * 10 + data[j]! - 0x30;
        const k = data.indexOf(SEQ, j) + SEQ.length;
        let seq = 0;
        for (let q = k; data[q]! >= 0x30 && data[q]! <= 0x39; q++) seq = seq * 10 + data[q]! - 0x30;
        if (i < MSGID.length || k < SEQ.length || j === i) {
          errors++;
          return;
        }
        const at = sentAt.get(id);
        if (at !== undefined) {
          sentAt.delete(id);
          if (measuring && measuredDelivered < latencies.length)
            latencies[measuredDelivered++] = performance.now() - at;
          delivered++;
        }
        c.ackQ.push(seq);
      } else if (kind === 0x65 /* e */) {
        errors++;
      }
    });
  }
  // Acks ride in the same write as the client's next sends (one TCP segment, so one read on the
  // relay instead of two), or go on their own after `--ack-ms` for clients that stay quiet.
  const flushAcks = (c: Client) => {
    if (c.ackQ.length === 0) return;
    cork(c);
    c.ws.send(`{"t":"ack","seqs":[${c.ackQ.splice(0, 1000).join(',')}]}`);
  };
  const ackTimer = setInterval(() => {
    for (const c of active) flushAcks(c);
    uncorkAll();
  }, Number(values['ack-ms']));
  const rate = Number(values.rate);
  const windowMax = Number(values.window);
  const burst = Math.max(1, Number(values.burst));
  const durationMs = Number(values.duration) * 1000;
  const tickMs = 5;
  let cursor = 0;
  let counter = 0;
  const warmupMs = 1000;
  const start = performance.now();
  let measureStart = 0;
  let measureEndDelivered = 0;
  let genCpu0 = process.cpuUsage();
  // The generator's own event-loop delay: a stalled generator inflates measured latency.
  const loopDelay = monitorEventLoopDelay({ resolution: 5 });
  let serverCpu0: Promise<number> = Promise.resolve(Number.NaN);
  let serverSys0: Promise<number> = Promise.resolve(Number.NaN);
  let redisCpu0Measured: Promise<number> = Promise.resolve(redisCpu0);
  await new Promise<void>((res) => {
    let debt = 0;
    let last = start;
    const tick = setInterval(() => {
      const now = performance.now();
      if (!measuring && now - start >= warmupMs) {
        measuring = true;
        measureStart = now;
        delivered = 0;
        genCpu0 = process.cpuUsage();
        loopDelay.enable();
        serverCpu0 = scrapeAll('concord_bridge_process_cpu_seconds_total');
        serverSys0 = scrapeAll('concord_bridge_process_cpu_system_seconds_total');
        redisCpu0Measured = redisUrl === undefined ? Promise.resolve(Number.NaN) : redisCpu(redisUrl);
      }
      if (now - start >= warmupMs + durationMs || sent >= latencies.length) {
        clearInterval(tick);
        measureEndDelivered = delivered;
        res();
        return;
      }
      // Credit by elapsed time, not by tick count: timers fire late on a busy machine.
      debt = Math.min(debt + (rate * (now - last)) / 1000, (rate * 4 * tickMs) / 1000);
      last = now;
      while (debt >= 1 && sentAt.size < windowMax) {
        const c = active[cursor]!;
        cursor = (cursor + 1) % active.length;
        cork(c);
        flushAcks(c);
        for (let b = 0; b < burst && debt >= 1; b++) {
          debt -= 1;
          const to = c.peers[c.next++ % 2]!;
          const id = counter++;
          sentAt.set(id, performance.now());
          c.ws.send(
            `{"t":"send","rid":"m${id}","v":1,"sid":"${c.sid}","from":"${c.id}","to":"${to}","tag":"bench","msgId":"m${id}","ct":"${payload}"}`,
          );
          sent++;
        }
      }
      uncorkAll();
    }, tickMs);
  });
  const elapsedS = (performance.now() - measureStart) / 1000;
  const genCpu = process.cpuUsage(genCpu0);
  loopDelay.disable();
  const serverLagP99 = await scrapeMax('concord_bridge_nodejs_eventloop_lag_p99_seconds');
  const serverCpuS = (await scrapeAll('concord_bridge_process_cpu_seconds_total')) - (await serverCpu0);
  const serverSysS =
    (await scrapeAll('concord_bridge_process_cpu_system_seconds_total')) - (await serverSys0);
  const redisCpuS =
    redisUrl === undefined ? Number.NaN : (await redisCpu(redisUrl)) - (await redisCpu0Measured);
  clearInterval(ackTimer);
  const lat = latencies.slice(0, measuredDelivered).sort();
  const serverRss = await scrapeAll('concord_bridge_process_resident_memory_bytes');
  const serverHeap = await scrapeAll('concord_bridge_nodejs_heap_size_used_bytes');
  const connGauge = await scrapeAll('concord_bridge_connections');
  for (const c of clients) c.ws.terminate();
  for (const server of servers) {
    server.proc.kill('SIGTERM');
    await new Promise((r) => server.proc.once('exit', r));
    rmSync(server.dir, { recursive: true, force: true });
  }
  return {
    bench: 'bridge-load',
    store,
    nodes: nodeCount,
    loadAverage1m: Number(loadavg()[0]!.toFixed(2)),
    connections: n,
    connectionsHeld: connGauge,
    sessions: groups.length,
    connectSeconds: Number(connectS.toFixed(2)),
    durationSeconds: Number(elapsedS.toFixed(2)),
    targetRate: rate,
    window: windowMax,
    ackMs: Number(values['ack-ms']),
    payloadBytes: Number(values.payload),
    delivered: measureEndDelivered,
    msgsPerSec: Math.round(measureEndDelivered / elapsedS),
    burst,
    p50Ms: Number(pct(lat, 50).toFixed(2)),
    p99Ms: Number(pct(lat, 99).toFixed(2)),
    maxMs: Number((lat[lat.length - 1] ?? Number.NaN).toFixed(2)),
    errors,
    /** Server CPU (user + system) per delivered message in the measured window, microseconds. */
    serverCpuUsPerMsg: Number(((serverCpuS * 1e6) / measureEndDelivered).toFixed(1)),
    /** Percent of one core, summed over the nodes. */
    serverCpuPct: Math.round((serverCpuS / elapsedS) * 100),
    /** Redis's own CPU per delivered message (store redis), microseconds. */
    redisCpuUsPerMsg: Number(((redisCpuS * 1e6) / measureEndDelivered).toFixed(1)),
    /** Share of the server's CPU spent in the kernel (socket syscalls, mostly). */
    serverSysPct: Math.round((serverSysS / serverCpuS) * 100),
    serverLoopLagP99Ms: Number((serverLagP99 * 1000).toFixed(1)),
    generatorLoopLagP99Ms: Number((loopDelay.percentile(99) / 1e6).toFixed(1)),
    generatorCpuUsPerMsg: Number(((genCpu.user + genCpu.system) / measureEndDelivered).toFixed(1)),
    serverRssMB: Math.round(serverRss / 1048576),
    serverHeapMB: Math.round(serverHeap / 1048576),
    generatorRssMB: Math.round(process.memoryUsage().rss / 1048576),
  };
}

if (values.flood) {
  const { FLOOD_KINDS, runFlood } = await import('./flood.ts');
  for (const kind of values.flood.split(',')) {
    if (!(FLOOD_KINDS as readonly string[]).includes(kind))
      throw new Error(`--flood ${kind}: one of ${FLOOD_KINDS.join('|')}`);
    const r = await runFlood(
      kind as (typeof FLOOD_KINDS)[number],
      { startServer, connect, scrape },
      values.store ?? 'memory',
    );
    process.stdout.write(
      `flood=${r.flood} store=${r.store} load=${r.loadAverage1m} honest RTT baseline p50/p99=${r.baselineP50Ms}/${r.baselineP99Ms}ms ` +
        `under flood p50/p99=${r.floodP50Ms}/${r.floodP99Ms}ms (${r.floodRoundTrips} round trips, ${r.floodLostOver2s} not back in 2 s) ` +
        `attacker ${r.attackerFramesPerSec} frames/s, ${r.attackerMBReceived} MB received, ${r.attackerDevicesFlooding} devices flooding, ${r.attackerClosedOrRefused} attacker connections closed or refused; ` +
        `relay CPU ${r.baselineRelayCpuPct}% → ${r.floodRelayCpuPct}%\n`,
    );
    process.stdout.write(`${JSON.stringify(r)}\n`);
  }
  process.exit(0);
}

const storeName = values.store ?? 'memory';
const nodeCounts = storeName === 'redis' ? (values.nodes ?? '1').split(',').map(Number) : [1];
const redisUrl =
  storeName !== 'redis' ? undefined : values['redis-url'] ? values['redis-url'] : (await startRedis()).url;
for (const n of (values.connections ?? '1000').split(',').map(Number))
  for (const k of nodeCounts) {
    const r = await run(n, k, redisUrl);
    process.stdout.write(
      `connections=${r.connections} nodes=${r.nodes} held=${r.connectionsHeld} store=${r.store} delivered/s=${r.msgsPerSec} ` +
        `p50=${r.p50Ms}ms p99=${r.p99Ms}ms server CPU=${r.serverCpuUsPerMsg}us/msg (${r.serverCpuPct}%, sys ${r.serverSysPct}%) ` +
        `redis CPU=${r.redisCpuUsPerMsg}us/msg load=${r.loadAverage1m} ` +
        `generator CPU=${r.generatorCpuUsPerMsg}us/msg loop lag p99 server/generator=${r.serverLoopLagP99Ms}/${r.generatorLoopLagP99Ms}ms server RSS=${r.serverRssMB}MB errors=${r.errors}\n`,
    );
    process.stdout.write(`${JSON.stringify(r)}\n`);
  }
process.exit(0);
