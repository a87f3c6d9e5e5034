/**
 * Read-only JSON-RPC methods a dApp may send through the wallet, forwarded to the RPC of the chain
 * the site selected. An allowlist: nothing that signs, sends, subscribes or reaches the node's
 * accounts. Each (chain, RPC URL) pair is checked once with `eth_chainId` before anything is sent to
 * it, the same rule the wallet's own chain client follows (services/chain.ts).
 */
import { rpcErrors } from '@metamask/rpc-errors';
import type { WireRpcError } from '../../provider/protocol.ts';
import type { ChainConfig } from '../../shared/settings.ts';

export const READ_ONLY_METHODS: ReadonlySet<string> = new Set([
  'eth_blockNumber',
  'eth_call',
  'eth_estimateGas',
  'eth_feeHistory',
  'eth_gasPrice',
  'eth_maxPriorityFeePerGas',
  'eth_getBalance',
  'eth_getBlockByHash',
  'eth_getBlockByNumber',
  'eth_getBlockTransactionCountByHash',
  'eth_getBlockTransactionCountByNumber',
  'eth_getCode',
  'eth_getLogs',
  'eth_getProof',
  'eth_getStorageAt',
  'eth_getTransactionByBlockHashAndIndex',
  'eth_getTransactionByBlockNumberAndIndex',
  'eth_getTransactionByHash',
  'eth_getTransactionCount',
  'eth_getTransactionReceipt',
  'eth_getUncleCountByBlockHash',
  'eth_getUncleCountByBlockNumber',
  'eth_syncing',
  'web3_clientVersion',
]);

/** An error the RPC node returned: passed to the dApp with its code (reverts keep their data). */
export class RpcNodeError extends Error {
  constructor(readonly wire: WireRpcError) {
    super(wire.message);
    this.name = 'RpcNodeError';
  }
}

const MAX_MESSAGE = 1024;

export class RpcForwarder {
  /** `${chainId} ${url}` pairs whose `eth_chainId` matched. */
  private readonly verified = new Set<string>();
  private nextId = 1;

  constructor(private readonly fetchFn: typeof fetch) {}

  private async post(url: string, method: string, params: unknown[]): Promise<unknown> {
    let body: unknown;
    try {
      const res = await this.fetchFn(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ jsonrpc: '2.0', id: this.nextId++, method, params }),
      });
      body = await res.json();
    } catch {
      throw rpcErrors.internal({ message: `The chain's RPC at ${new URL(url).host} did not answer.` });
    }
    if (typeof body !== 'object' || body === null)
      throw rpcErrors.internal({ message: 'The RPC answered nonsense.' });
    const b = body as { result?: unknown; error?: { code?: unknown; message?: unknown; data?: unknown } };
    if (b.error !== undefined) {
      const code = typeof b.error.code === 'number' && Number.isInteger(b.error.code) ? b.error.code : -32603;
      const message =
        typeof b.error.message === 'string' ? b.error.message.slice(0, MAX_MESSAGE) : 'RPC error';
      const wire: WireRpcError = { code, message };
      if (b.error.data !== undefined) wire.data = b.error.data;
      throw new RpcNodeError(wire);
    }
    return b.result ?? null;
  }

  /** Asks the RPC its chain id; throws -32602 naming both ids when it is another chain. */
  async checkChain(chainId: number, url: string): Promise<void> {
    const key = `${chainId} ${url}`;
    if (this.verified.has(key)) return;
    const got = await this.post(url, 'eth_chainId', []);
    const actual =
      typeof got === 'string' && /^0x[0-9a-fA-F]+$/.test(got) ? Number.parseInt(got, 16) : Number.NaN;
    if (actual !== chainId) {
      throw rpcErrors.invalidParams({
        message: `The RPC at ${new URL(url).host} is chain ${Number.isNaN(actual) ? 'unknown' : actual}, not ${chainId}.`,
      });
    }
    this.verified.add(key);
  }

  async forward(chain: ChainConfig, method: string, params: unknown[]): Promise<unknown> {
    if (!READ_ONLY_METHODS.has(method))
      throw rpcErrors.methodNotFound({ message: `${method} is not forwarded.` });
    if (chain.rpcUrl === '') {
      throw rpcErrors.internal({ message: `${chain.name} has no RPC URL configured in Concord's settings.` });
    }
    await this.checkChain(chain.chainId, chain.rpcUrl);
    return this.post(chain.rpcUrl, method, params);
  }
}
