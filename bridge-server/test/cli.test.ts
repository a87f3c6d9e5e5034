/**
 * The `concord-bridge` CLI as an operator runs it: `tsx bridge-server/src/bin/bridge.ts` (what
 * `npx tsx …` in the README resolves to, without npx's own start-up) in a child process, on
 * 127.0.0.1 with a free port and a temp data directory. Checks the listening line, `/healthz`,
 * `/readyz`, `/metrics`, that the SQLite store lands in `--data-dir`, that `--help` documents every
 * option (and every flag of the README table), bad options exit 2, and SIGTERM shuts down
 * gracefully with exit code 0. Every child is killed in `afterEach` whatever happens.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { SUBPROTOCOL } from '../src/protocol/frames.ts';
import { PROFILES } from '../src/relay/config.ts';

const root = resolve(import.meta.dirname, '../..');
const TSX = join(root, 'node_modules/.bin/tsx');
const BIN = join(root, 'bridge-server/src/bin/bridge.ts');

const children: ChildProcess[] = [];
const dirs: string[] = [];

afterEach(() => {
  for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

interface Run {
  child: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

function run(args: string[], env: Record<string, string> = {}): Run {
  // Only our variables: CONCORD_BRIDGE_* from the outer environment must not leak into the test.
  const base = Object.fromEntries(
    Object.entries(process.env).filter(([k]) => !k.startsWith('CONCORD_BRIDGE_')),
  );
  const child = spawn(TSX, [BIN, ...args], {
    cwd: root,
    env: { ...base, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  let out = '';
  let err = '';
  child.stdout?.on('data', (d: Buffer) => {
    out += d.toString();
  });
  child.stderr?.on('data', (d: Buffer) => {
    err += d.toString();
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((res) =>
    child.once('exit', (code, signal) => res({ code, signal })),
  );
  return { child, stdout: () => out, stderr: () => err, exited };
}

/** Resolves with the `ws://…` URL from the listening line; rejects if the process exits first. */
function listening(r: Run, timeoutMs = 30_000): Promise<string> {
  return new Promise((res, rej) => {
    const t = setTimeout(() => rej(new Error(`no listening line: ${r.stderr()}`)), timeoutMs);
    const check = () => {
      const m = /listening on (ws:\/\/\S+)/.exec(r.stderr());
      if (m?.[1]) {
        clearTimeout(t);
        r.child.stderr?.off('data', check);
        res(m[1]);
      }
    };
    r.child.stderr?.on('data', check);
    check();
    void r.exited.then(({ code }) => {
      clearTimeout(t);
      rej(new Error(`exited ${code} before listening: ${r.stderr()}`));
    });
  });
}

function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'concord-bridge-cli-'));
  dirs.push(d);
  return d;
}

describe('bridge CLI', () => {
  it('--help lists every option with its env var, every limit, and every README flag', async () => {
    const r = run(['--help']);
    const { code } = await r.exited;
    expect(code).toBe(0);
    const help = r.stdout();
    const options: [string, string][] = [
      ['--host', 'CONCORD_BRIDGE_HOST'],
      ['--port', 'CONCORD_BRIDGE_PORT'],
      ['--data-dir', 'CONCORD_BRIDGE_DATA_DIR'],
      ['--store', 'CONCORD_BRIDGE_STORE'],
      ['--redis-url', 'CONCORD_REDIS_URL'],
      ['--redis-prefix', 'CONCORD_REDIS_PREFIX'],
      ['--node-id', 'CONCORD_BRIDGE_NODE_ID'],
      ['--sqlite-sync', 'CONCORD_BRIDGE_SQLITE_SYNC'],
      ['--profile', 'CONCORD_BRIDGE_PROFILE'],
      ['--log-level', 'CONCORD_BRIDGE_LOG_LEVEL'],
      ['--public-origin', 'CONCORD_BRIDGE_PUBLIC_ORIGIN'],
      ['--allowed-origins', 'CONCORD_BRIDGE_ALLOWED_ORIGINS'],
      ['--deny-missing-origin', 'CONCORD_BRIDGE_DENY_MISSING_ORIGIN'],
      ['--trust-proxy', 'CONCORD_BRIDGE_TRUST_PROXY'],
      ['--max-connections-per-ip', 'CONCORD_BRIDGE_MAX_CONNECTIONS_PER_IP'],
      ['--limit', 'CONCORD_BRIDGE_LIMITS'],
    ];
    for (const [flag, env] of options) {
      expect(help).toMatch(new RegExp(`^\\s+${flag}\\b`, 'm'));
      expect(help).toContain(`env ${env},`);
    }
    expect(help).toMatch(/^\s+--help\b/m);
    for (const name of Object.keys(PROFILES.default))
      expect(help).toMatch(new RegExp(`^\\s+${name}\\s`, 'm'));
    // The README's flag table and the CLI must not drift apart.
    const readme = readFileSync(join(root, 'bridge-server/README.md'), 'utf8');
    const readmeFlags = [...readme.matchAll(/^\| `(--[a-z-]+)/gm)].map((m) => m[1]!);
    expect(readmeFlags.length).toBe(options.length);
    for (const f of readmeFlags) expect(help).toMatch(new RegExp(`^\\s+${f}\\b`, 'm'));
  });

  it('unknown options and bad values exit 2 with a message, before binding anything', async () => {
    for (const args of [
      ['--bogus'],
      ['--store', 'redis'], // without --redis-url
      ['--store', 'redis', '--redis-url', 'http://127.0.0.1:6379'],
      ['--store', 'cassandra'],
      ['--limit', 'noSuchLimit=1'],
      ['--max-connections-per-ip', '0'],
      ['--max-connections-per-ip', 'many'],
      ['--profile', 'x'],
    ]) {
      const r = run(args);
      const { code } = await r.exited;
      expect(code, args.join(' ')).toBe(2);
      expect(r.stderr()).toMatch(/^concord-bridge: /m);
      expect(r.stderr()).not.toContain('listening');
    }
  });

  it('serves /healthz, /readyz, /metrics and the WebSocket; SIGTERM drains and exits 0', async () => {
    const dir = tempDir();
    const r = run(['--port', '0', '--data-dir', dir, '--log-level', 'warn'], {
      // Flags win over the environment: this port would fail to bind if it were used.
      CONCORD_BRIDGE_PORT: '1',
      CONCORD_BRIDGE_LIMITS: 'maxConnections=3',
    });
    const url = await listening(r);
    const m = /^ws:\/\/127\.0\.0\.1:(\d+)\/v1$/.exec(url);
    expect(m).not.toBeNull();
    const http = `http://127.0.0.1:${m![1]}`;
    // SQLite is the default store and lives in --data-dir.
    expect(existsSync(join(dir, 'bridge.sqlite'))).toBe(true);

    const health = await fetch(`${http}/healthz`);
    expect(health.status).toBe(200);
    expect(await health.text()).toBe('ok');
    expect((await fetch(`${http}/readyz`)).status).toBe(200);
    expect((await fetch(`${http}/nope`)).status).toBe(404);

    // A live connection: it gets a challenge, shows in /metrics, and is closed 1001 on SIGTERM.
    const ws = new WebSocket(url, SUBPROTOCOL);
    const first = await new Promise<{ t: string; origin: string }>((res, rej) => {
      ws.once('message', (d) => res(JSON.parse(d.toString()) as { t: string; origin: string }));
      ws.once('error', rej);
    });
    expect(first.t).toBe('challenge');
    expect(first.origin).toBe(`ws://127.0.0.1:${m![1]}`);
    const metrics = await fetch(`${http}/metrics`);
    expect(metrics.status).toBe(200);
    const text = await metrics.text();
    expect(text).toMatch(/^concord_bridge_connections 1$/m);
    expect(text).toContain('concord_bridge_messages_stored_total');
    expect(text).toContain('concord_bridge_process_cpu_seconds_total');

    const closed = new Promise<number>((res) => ws.once('close', (code) => res(code)));
    r.child.kill('SIGTERM');
    expect(await closed).toBe(1001);
    const { code, signal } = await r.exited;
    expect(signal).toBeNull();
    expect(code).toBe(0);
    expect(r.stderr()).toContain('SIGTERM: shutting down');
  });

  it('--store memory with --limit overrides and --max-connections-per-ip starts, and the cap is enforced', async () => {
    const dir = tempDir();
    const r = run([
      '--port',
      '0',
      '--data-dir',
      dir,
      '--store',
      'memory',
      '--log-level',
      'silent',
      '--limit',
      'maxConnections=5',
      '--max-connections-per-ip',
      '1',
    ]);
    const url = await listening(r);
    expect(existsSync(join(dir, 'bridge.sqlite'))).toBe(false);
    const a = new WebSocket(url, SUBPROTOCOL);
    await new Promise((res, rej) => {
      a.once('message', res);
      a.once('error', rej);
    });
    // The second connection from this IP is over --max-connections-per-ip: refused with 429.
    const status = await new Promise<number>((res) => {
      const b = new WebSocket(url, SUBPROTOCOL);
      b.once('unexpected-response', (_req, resp) => res(resp.statusCode ?? 0));
      b.once('open', () => res(101));
      b.once('error', () => undefined);
    });
    expect(status).toBe(429);
    a.close();
    r.child.kill('SIGTERM');
    expect((await r.exited).code).toBe(0);
  });
});
