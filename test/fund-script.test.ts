/**
 * `npm run fund` (scripts/fund.ts) against a real Hardhat node: the address receives exactly the
 * amount asked for; a bad address, a bad amount and a missing chain are refused with their reason
 * and a non-zero exit, sending nothing.
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, type HardhatNode, startHardhat } from './helpers/hardhat.ts';

const run = promisify(execFile);
const ROOT = join(import.meta.dirname, '..');
const TARGET = '0x00000000000000000000000000000000000f00d1';

async function fund(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const r = await run(process.execPath, ['--import', 'tsx', join(ROOT, 'scripts/fund.ts'), ...args], {
      cwd: ROOT,
      timeout: 60_000,
    });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (e) {
    const x = e as { code: number; stdout: string; stderr: string };
    return { code: x.code, stdout: x.stdout, stderr: x.stderr };
  }
}

describe('npm run fund', () => {
  let chain: HardhatNode;
  beforeAll(async () => {
    chain = await startHardhat();
  }, 120_000);
  afterAll(async () => {
    await chain?.stop();
  });

  it('sends the amount to the address on the local chain', async () => {
    const r = await fund([TARGET, '2.5', '--rpc', chain.url]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`sent 2.5 ETH to ${TARGET}`);
    expect(await chain.publicClient.getBalance({ address: TARGET })).toBe(25n * 10n ** 17n);
  });

  it('refuses a bad address, a bad amount and a missing chain, sending nothing', async () => {
    const before = await chain.publicClient.getBalance({ address: TARGET });
    const bad = await fund(['0x1234', '1', '--rpc', chain.url]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('is not an address');
    const zero = await fund([TARGET, '0', '--rpc', chain.url]);
    expect(zero.code).toBe(2);
    expect(zero.stderr).toContain('is not an amount of ETH above zero');
    const none = await fund([TARGET, '1', '--rpc', `http://127.0.0.1:${await freePort()}`]);
    expect(none.code).toBe(2);
    expect(none.stderr).toContain('no chain answers');
    expect(await chain.publicClient.getBalance({ address: TARGET })).toBe(before);
  });
});
