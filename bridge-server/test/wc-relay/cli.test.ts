/**
 * The `wc-relay` CLI as a developer runs it: the listening line with the URL on stdout, a clean exit
 * on SIGTERM, and a bad option refused with exit code 2.
 */
import { spawn } from 'node:child_process';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = resolve(import.meta.dirname, '../../..');
const bin = 'bridge-server/src/bin/wc-relay.ts';

function run(args: string[]) {
  const child = spawn(process.execPath, ['--import', 'tsx', bin, ...args], {
    cwd: root,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => {
    stdout += d.toString();
  });
  child.stderr.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  const exited = new Promise<number | null>((res) => child.once('exit', (code) => res(code)));
  return { child, exited, out: () => stdout, err: () => stderr };
}

describe('wc-relay CLI', () => {
  it('prints its URL when listening and exits 0 on SIGTERM', async () => {
    const r = run(['--port', '0', '--log-level', 'silent']);
    const url = await new Promise<string>((res, rej) => {
      r.child.stdout.on('data', () => {
        const m = /wc-relay listening on (ws:\/\/127\.0\.0\.1:\d+)\n/.exec(r.out());
        if (m?.[1]) res(m[1]);
      });
      r.child.once('exit', (code) => rej(new Error(`exited ${code}: ${r.err()}`)));
    });
    // It answers HTTP on that address (426: WebSocket only).
    const res = await fetch(url.replace('ws://', 'http://'));
    expect(res.status).toBe(426);
    r.child.kill('SIGTERM');
    expect(await r.exited).toBe(0);
  });

  it('refuses a bad --port with exit code 2', async () => {
    const r = run(['--port', 'eighty']);
    expect(await r.exited).toBe(2);
    expect(r.err()).toContain('--port must be an integer 0..65535, got "eighty"');
  });
});
