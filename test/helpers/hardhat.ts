/**
 * A real Hardhat 2 node for tests (JSON-RPC over HTTP, chain id 31337 per EIP-155, automine, the
 * standard Hardhat dev accounts pre-funded).
 *
 *   const chain = await startHardhat();
 *   // chain.url        'http://127.0.0.1:<port>'
 *   // chain.port       the port (picked free by binding 127.0.0.1:0)
 *   // chain.chainId    31337
 *   // chain.publicClient  viem PublicClient on chain.url
 *   // chain.walletClient  viem WalletClient for Hardhat account #0 (HARDHAT_ACCOUNT0_KEY)
 *   await chain.fund('0x…', 10n ** 18n);   // sends wei from account #0, waits for the receipt
 *   await chain.stop();                     // kills the process group, waits for exit
 *
 * The node runs as `node_modules/.bin/hardhat --config test/hardhat/hardhat.config.cjs node` with
 * cwd = repo root (Hardhat refuses a config outside the project). A tiny watchdog (`node -e`) starts
 * it in a new process group and holds a pipe from this process: `stop()` signals the whole group and
 * waits until every member is gone; the group is also killed on this process's 'exit', and if this
 * process dies without running handlers (SIGKILL, OOM), the pipe closes and the watchdog kills the
 * group itself — so a crashed test never leaves a node holding a port.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { resolve } from 'node:path';
import {
  type Account,
  type Chain,
  createPublicClient,
  createWalletClient,
  defineChain,
  http,
  type PublicClient,
  type Transport,
  type WalletClient,
} from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { freePort } from './bridge-process.ts';

const root = resolve(import.meta.dirname, '../..');

/** Hardhat's well-known dev accounts (public test keys; never hold value anywhere real). */
export const HARDHAT_ACCOUNT0_KEY =
  '0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80' as const;
export const HARDHAT_ACCOUNT1_KEY =
  '0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d' as const;

export const HARDHAT_CHAIN_ID = 31337;

export interface HardhatNode {
  url: string;
  port: number;
  chainId: 31337;
  publicClient: PublicClient<Transport, Chain>;
  walletClient: WalletClient<Transport, Chain, Account>;
  /** Sends `wei` from account #0 to `address` and waits until it is mined. */
  fund(address: `0x${string}`, wei: bigint): Promise<void>;
  /** Kills the node (process group) and resolves once it has exited. Safe to call twice. */
  stop(): Promise<void>;
}

export { freePort };

const START_TIMEOUT_MS = 60_000;

/**
 * Runs as `node -e WATCHDOG <bin> <args…>`: starts hardhat in its own (the watchdog's) process
 * group and kills that group when stdin closes, i.e. when the test process is gone.
 */
const WATCHDOG = `
const { spawn } = require('node:child_process');
const [bin, ...args] = process.argv.slice(1);
const c = spawn(bin, args, { stdio: ['ignore', 'inherit', 'inherit'] });
const bye = () => { try { process.kill(-process.pid, 'SIGKILL'); } catch { c.kill('SIGKILL'); } };
process.stdin.on('end', bye);
process.stdin.on('close', bye);
process.stdin.resume();
c.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
`;

/** Kill the whole group; falls back to the child alone if the group cannot be signalled. */
function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    try {
      child.kill(signal);
    } catch {
      // already gone
    }
  }
}

function groupAlive(child: ChildProcess): boolean {
  if (child.pid === undefined) return false;
  try {
    process.kill(-child.pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function rpcChainId(url: string): Promise<number | null> {
  try {
    const res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'eth_chainId', params: [] }),
      signal: AbortSignal.timeout(2_000),
    });
    const body = (await res.json()) as { result?: string };
    return typeof body.result === 'string' ? Number.parseInt(body.result, 16) : null;
  } catch {
    return null;
  }
}

export async function startHardhat(): Promise<HardhatNode> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const hardhatBin = resolve(root, 'node_modules/.bin/hardhat');
  const args = [
    '--config',
    'test/hardhat/hardhat.config.cjs',
    'node',
    '--hostname',
    '127.0.0.1',
    '--port',
    String(port),
  ];
  const child = spawn(process.execPath, ['-e', WATCHDOG, hardhatBin, ...args], {
    cwd: root,
    // New process group (the watchdog leads it), so one signal reaches hardhat and anything it forks.
    detached: true,
    // stdin is the lifeline: it closes when this process dies, however it dies.
    stdio: ['pipe', 'pipe', 'pipe'],
    env: { ...process.env, HARDHAT_DISABLE_TELEMETRY_PROMPT: 'true' },
  });
  const onExit = (): void => killGroup(child, 'SIGKILL');
  process.once('exit', onExit);

  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => {
    stderr = (stderr + d.toString()).slice(-4_000);
  });
  // Hardhat logs every RPC call to stdout; drain it so the pipe never fills and blocks the node.
  child.stdout?.resume();
  const exited = new Promise<void>((res) => {
    if (child.exitCode !== null || child.signalCode !== null) res();
    else child.once('exit', () => res());
  });

  let stopping: Promise<void> | null = null;
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      killGroup(child, 'SIGTERM');
      const hard = setTimeout(() => killGroup(child, 'SIGKILL'), 5_000);
      await exited;
      // The watchdog may exit before hardhat does; wait for the whole group, then force it.
      const deadline = Date.now() + 5_000;
      while (groupAlive(child) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      if (groupAlive(child)) killGroup(child, 'SIGKILL');
      clearTimeout(hard);
      child.stdin?.destroy();
      process.removeListener('exit', onExit);
    })();
    return stopping;
  };

  const deadline = Date.now() + START_TIMEOUT_MS;
  let childGone = false;
  void exited.then(() => {
    childGone = true;
  });
  for (;;) {
    const id = await rpcChainId(url);
    if (id === HARDHAT_CHAIN_ID) break;
    if (id !== null || childGone || Date.now() > deadline) {
      await stop();
      const why =
        id !== null
          ? `answered chain id ${id}, expected ${HARDHAT_CHAIN_ID}`
          : childGone
            ? `exited with ${child.exitCode ?? child.signalCode}`
            : `did not answer eth_chainId within ${START_TIMEOUT_MS / 1000} s`;
      throw new Error(`hardhat node on ${url} ${why}; stderr tail:\n${stderr.slice(-2_000)}`);
    }
    await new Promise((r) => setTimeout(r, 250));
  }

  const chain = defineChain({
    id: HARDHAT_CHAIN_ID,
    name: 'Hardhat',
    nativeCurrency: { name: 'Ether', symbol: 'ETH', decimals: 18 },
    rpcUrls: { default: { http: [url] } },
  });
  const publicClient = createPublicClient({ chain, transport: http(url) });
  const walletClient = createWalletClient({
    chain,
    account: privateKeyToAccount(HARDHAT_ACCOUNT0_KEY),
    transport: http(url),
  });

  const fund = async (address: `0x${string}`, wei: bigint): Promise<void> => {
    const hash = await walletClient.sendTransaction({ to: address, value: wei });
    const receipt = await publicClient.waitForTransactionReceipt({ hash, pollingInterval: 50 });
    if (receipt.status !== 'success') throw new Error(`funding ${address} reverted`);
  };

  return { url, port, chainId: HARDHAT_CHAIN_ID, publicClient, walletClient, fund, stop };
}
