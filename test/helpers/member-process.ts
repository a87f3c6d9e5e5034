/**
 * Runs test/helpers/member-main.ts as a child process (`node --import tsx`, so SIGKILL reaches the
 * process itself) and reads its JSON status lines. `kill()` is a crash: SIGKILL, then wait for exit.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { resolve } from 'node:path';
import { createInterface } from 'node:readline';

const root = resolve(import.meta.dirname, '../..');

export interface MemberProcessOptions {
  store: string;
  passphrase: string;
  bridgeUrl: string;
  rpcUrl: string;
  freezeInSigning?: boolean;
}

export class MemberProcess {
  private child: ChildProcess | undefined;
  private readonly lines: Record<string, unknown>[] = [];
  private readonly waiters: (() => void)[] = [];
  private stderr = '';

  constructor(private readonly o: MemberProcessOptions) {}

  start(): void {
    const child = spawn(process.execPath, ['--import', 'tsx', 'test/helpers/member-main.ts'], {
      cwd: root,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: {
        ...process.env,
        CONCORD_MEMBER_STORE: this.o.store,
        CONCORD_MEMBER_PASSPHRASE: this.o.passphrase,
        CONCORD_MEMBER_BRIDGE: this.o.bridgeUrl,
        CONCORD_MEMBER_RPC: this.o.rpcUrl,
        CONCORD_MEMBER_FREEZE_IN_SIGNING: this.o.freezeInSigning === true ? '1' : '',
      },
    });
    this.child = child;
    createInterface({ input: child.stdout! }).on('line', (l) => {
      try {
        this.lines.push(JSON.parse(l) as Record<string, unknown>);
      } catch {
        return;
      }
      for (const w of this.waiters.splice(0)) w();
    });
    child.stderr!.on('data', (d: Buffer) => {
      this.stderr = (this.stderr + d.toString()).slice(-4_000);
    });
  }

  /** Waits for a status line with `key` set; fails if the process exits first. */
  async waitFor(key: string, ms: number): Promise<Record<string, unknown>> {
    const end = Date.now() + ms;
    for (;;) {
      const hit = this.lines.find((l) => l[key] !== undefined);
      if (hit !== undefined) return hit;
      const c = this.child;
      if (c === undefined || c.exitCode !== null || c.signalCode !== null) {
        throw new Error(`member process exited before "${key}": ${this.stderr}`);
      }
      if (Date.now() > end) throw new Error(`member process did not report "${key}": ${this.stderr}`);
      await new Promise<void>((res) => {
        const t = setTimeout(res, 100);
        this.waiters.push(() => {
          clearTimeout(t);
          res();
        });
      });
    }
  }

  /** SIGKILL and wait until it is gone. */
  async kill(): Promise<void> {
    const c = this.child;
    if (c === undefined || c.exitCode !== null || c.signalCode !== null) return;
    await new Promise<void>((res) => {
      c.once('exit', () => res());
      c.kill('SIGKILL');
    });
    this.child = undefined;
  }
}
