/**
 * dApp methods per EIP-1193 / EIP-1474 / EIP-2255 / EIP-3085 / EIP-3326 / EIP-5792 over a real
 * (fake-indexeddb) Concord database, with the approval window and the chain RPC replaced by fakes
 * that record what they were asked. Covers THREATS 50–52 and 55: unconnected origins see [], a
 * locked wallet shows nothing and queues nothing, eth_sign and EIP-7702 are refused.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import {
  type ApprovalDecision,
  type ApprovalInput,
  DappApprovals,
} from '../src/background/dapp/approvals.ts';
import { DappService, NOT_YET, type VaultAccount } from '../src/background/dapp/methods.ts';
import { RpcForwarder } from '../src/background/dapp/rpc-forward.ts';
import { DappSites } from '../src/background/dapp/sites.ts';
import { type ChainConfig, defaultSettings, type Settings } from '../src/shared/settings.ts';
import type { ConcordDb } from '../src/storage/db.ts';
import { openFreshDb } from './helpers.ts';

const SITE = 'https://dapp.example';
const OTHER = 'https://other.example';
const V1 = 'a'.repeat(32);
const V2 = 'b'.repeat(32);
const ADDR1 = '0x00000000000000000000000000000000000000A1';
const ADDR2 = '0x00000000000000000000000000000000000000b2';

interface Rig {
  db: ConcordDb;
  svc: DappService;
  settings: Settings;
  unlocked: { value: boolean };
  asked: ApprovalInput[];
  answer: { next: ApprovalDecision | 'close' };
  notified: (string | undefined)[];
  rpcCalls: { url: string; method: string; params: unknown }[];
  rpcChain: { id: number };
  rpcResults: Record<string, unknown>;
}

async function rig(): Promise<Rig> {
  const db = await openFreshDb();
  const settings = defaultSettings();
  const unlocked = { value: true };
  const asked: ApprovalInput[] = [];
  const answer: Rig['answer'] = { next: { approve: true, vaultIds: [V1] } };
  const notified: (string | undefined)[] = [];
  const rpcCalls: Rig['rpcCalls'] = [];
  const rpcChain = { id: 31337 };
  const rpcResults: Record<string, unknown> = {
    eth_getBalance: '0xde0b6b3a7640000',
    eth_blockNumber: '0x10',
  };
  const fetchFn = (async (url: string, init: { body: string }) => {
    const req = JSON.parse(init.body) as { id: number; method: string; params: unknown };
    rpcCalls.push({ url, method: req.method, params: req.params });
    if (req.method === 'eth_chainId')
      return Response.json({ jsonrpc: '2.0', id: req.id, result: `0x${rpcChain.id.toString(16)}` });
    if (req.method === 'eth_call') {
      return Response.json({
        jsonrpc: '2.0',
        id: req.id,
        error: { code: 3, message: 'execution reverted: nope', data: '0x08c379a0' },
      });
    }
    return Response.json({ jsonrpc: '2.0', id: req.id, result: rpcResults[req.method] ?? null });
  }) as unknown as typeof fetch;
  const approvals = new DappApprovals({
    rng: (n) => crypto.getRandomValues(new Uint8Array(n)),
    openWindow: async () => 7,
  });
  const origAsk = approvals.ask.bind(approvals);
  approvals.ask = async (input) => {
    asked.push(input);
    const p = origAsk(input);
    await Promise.resolve();
    await Promise.resolve();
    if (answer.next === 'close') approvals.windowClosed(7);
    else {
      // The approval page reads the request by id, then decides.
      const id = [...(approvals as unknown as { pending: Map<string, unknown> }).pending.keys()].at(-1)!;
      expect(approvals.view(id).origin).toBe(input.origin);
      await approvals.decide(id, answer.next);
    }
    return p;
  };
  const vaults: VaultAccount[] = [
    { id: V1, name: 'Treasury', address: ADDR1, status: 'active' },
    { id: V2, name: 'Ops', address: ADDR2, status: 'active' },
    { id: 'c'.repeat(32), name: 'Creating', address: null, status: 'creating' },
  ];
  const svc = new DappService({
    sites: new DappSites(db, () => 1_000),
    approvals,
    rpc: new RpcForwarder(fetchFn),
    settings: async () => structuredClone(settings),
    addChain: async (c: ChainConfig) => {
      settings.chains.push(c);
    },
    isUnlocked: async () => unlocked.value,
    vaults: async () => {
      if (!unlocked.value) throw new Error('vaults read while locked');
      return vaults;
    },
    notify: (o) => notified.push(o),
  });
  return { db, svc, settings, unlocked, asked, answer, notified, rpcCalls, rpcChain, rpcResults };
}

let r: Rig;
beforeEach(async () => {
  r = await rig();
});

const call = (method: string, params?: unknown, origin = SITE) => r.svc.handle(origin, method, params);

describe('accounts and permissions', () => {
  it('an unconnected origin gets [] from eth_accounts and no permissions (THREATS 51)', async () => {
    expect(await call('eth_accounts')).toEqual([]);
    expect(await call('wallet_getPermissions')).toEqual([]);
    expect(r.asked).toEqual([]);
  });

  it('eth_requestAccounts asks once, then the chosen vault is the account; other origins still get []', async () => {
    expect(await call('eth_requestAccounts')).toEqual([ADDR1]);
    expect(r.asked).toEqual([{ kind: 'connect', origin: SITE, vaults: [] }]);
    expect(r.notified).toEqual([SITE]);
    expect(await call('eth_accounts')).toEqual([ADDR1]);
    expect(await call('eth_requestAccounts')).toEqual([ADDR1]);
    expect(r.asked).toHaveLength(1);
    expect(await call('eth_accounts', [], OTHER)).toEqual([]);
    const perms = (await call('wallet_getPermissions')) as {
      parentCapability: string;
      invoker: string;
      caveats: { value: unknown }[];
    }[];
    expect(perms).toHaveLength(1);
    expect(perms[0]).toMatchObject({ parentCapability: 'eth_accounts', invoker: SITE });
    expect(perms[0]!.caveats[0]!.value).toEqual([ADDR1]);
  });

  it('several vaults in the chosen order; unknown or address-less vault ids are dropped', async () => {
    r.answer.next = { approve: true, vaultIds: [V2, 'c'.repeat(32), 'd'.repeat(32), V1] };
    expect(await call('eth_requestAccounts')).toEqual([ADDR2, ADDR1]);
  });

  it('rejecting or closing the window gives 4001 and connects nothing', async () => {
    r.answer.next = { approve: false, vaultIds: [V1] };
    await expect(call('eth_requestAccounts')).rejects.toMatchObject({ code: 4001 });
    r.answer.next = 'close';
    await expect(call('eth_requestAccounts')).rejects.toMatchObject({ code: 4001 });
    r.answer.next = { approve: true, vaultIds: [] };
    await expect(call('eth_requestAccounts')).rejects.toMatchObject({ code: 4001 });
    expect(await call('eth_accounts')).toEqual([]);
    expect(await r.db.dappSites.count()).toBe(0);
  });

  it('a locked wallet shows no accounts and reads no vault; requestAccounts opens the window (which unlocks first)', async () => {
    await call('eth_requestAccounts');
    r.unlocked.value = false;
    expect(await call('eth_accounts')).toEqual([]);
    expect((await r.svc.state(SITE)).accounts).toEqual([]);
    r.unlocked.value = true;
    expect(await call('eth_accounts')).toEqual([ADDR1]);
  });

  it('wallet_requestPermissions / wallet_revokePermissions (EIP-2255) with validated params', async () => {
    await expect(call('wallet_requestPermissions', [{ eth_sign: {} }])).rejects.toMatchObject({
      code: -32602,
      message: expect.stringContaining('eth_accounts'),
    });
    await expect(call('wallet_requestPermissions', 'x')).rejects.toMatchObject({ code: -32602 });
    const perms = (await call('wallet_requestPermissions', [{ eth_accounts: {} }])) as unknown[];
    expect(perms).toHaveLength(1);
    expect(await call('wallet_revokePermissions', [{ eth_accounts: {} }])).toBeNull();
    expect(await call('eth_accounts')).toEqual([]);
    expect(await call('wallet_getPermissions')).toEqual([]);
    expect(r.notified).toEqual([SITE, SITE]);
    // Revoking again changes nothing and tells nobody.
    await call('wallet_revokePermissions', [{ eth_accounts: {} }]);
    expect(r.notified).toHaveLength(2);
  });

  it('the sites list shows connected origins only, and revocation via the store empties accounts', async () => {
    await call('eth_requestAccounts');
    await call('wallet_switchEthereumChain', [{ chainId: '0x1' }], OTHER);
    const list = await r.svc.sitesView();
    expect(list.map((s) => s.origin)).toEqual([SITE]);
    expect(list[0]!.accounts).toEqual([{ vaultId: V1, name: 'Treasury', address: ADDR1 }]);
    expect(list[0]!.chainId).toBe(31337);
  });
});

describe('chains', () => {
  it('eth_chainId / net_version follow the wallet until the site switches; only that site changes', async () => {
    expect(await call('eth_chainId')).toBe('0x7a69');
    expect(await call('net_version')).toBe('31337');
    expect(await call('wallet_switchEthereumChain', [{ chainId: '0xaa36a7' }])).toBeNull();
    expect(r.notified).toEqual([SITE]);
    expect(await call('eth_chainId')).toBe('0xaa36a7');
    expect(await call('net_version')).toBe('11155111');
    expect(await call('eth_chainId', [], OTHER)).toBe('0x7a69');
    // Switching to the chain already selected emits nothing.
    await call('wallet_switchEthereumChain', [{ chainId: '0xaa36a7' }]);
    expect(r.notified).toHaveLength(1);
  });

  it('switching to an unknown chain is 4902; malformed chain ids are -32602', async () => {
    await expect(call('wallet_switchEthereumChain', [{ chainId: '0x2a' }])).rejects.toMatchObject({
      code: 4902,
    });
    for (const chainId of ['42', '0x', '0x0', '0x01', 42]) {
      await expect(call('wallet_switchEthereumChain', [{ chainId }])).rejects.toMatchObject({ code: -32602 });
    }
    await expect(call('wallet_switchEthereumChain', [])).rejects.toMatchObject({ code: -32602 });
  });

  it('wallet_addEthereumChain: RPC chain id checked before asking; approved chains are added and selected', async () => {
    const add = {
      chainId: '0x2a',
      chainName: 'Test 42',
      rpcUrls: ['http://127.0.0.1:9999'],
      nativeCurrency: { name: 'T', symbol: 'TT', decimals: 18 },
    };
    r.rpcChain.id = 41;
    await expect(call('wallet_addEthereumChain', [add])).rejects.toMatchObject({
      code: -32602,
      message: expect.stringContaining('is chain 41, not 42'),
    });
    expect(r.asked).toEqual([]);
    r.rpcChain.id = 42;
    r.answer.next = { approve: false, vaultIds: [] };
    await expect(call('wallet_addEthereumChain', [add])).rejects.toMatchObject({ code: 4001 });
    expect(r.settings.chains.some((c) => c.chainId === 42)).toBe(false);
    r.answer.next = { approve: true, vaultIds: [] };
    expect(await call('wallet_addEthereumChain', [add])).toBeNull();
    expect(r.asked.at(-1)).toMatchObject({
      kind: 'add-chain',
      origin: SITE,
      chain: { chainId: 42, name: 'Test 42', symbol: 'TT' },
    });
    expect(r.settings.chains.find((c) => c.chainId === 42)).toMatchObject({
      rpcUrl: 'http://127.0.0.1:9999',
      preset: 'custom',
    });
    expect(await call('eth_chainId')).toBe('0x2a');
  });

  it('wallet_addEthereumChain refuses plain-http remote RPCs and bad shapes; a known chain just switches', async () => {
    await expect(
      call('wallet_addEthereumChain', [{ chainId: '0x2a', chainName: 'X', rpcUrls: ['http://rpc.example'] }]),
    ).rejects.toMatchObject({ code: -32602, message: expect.stringContaining('https') });
    await expect(call('wallet_addEthereumChain', [{ chainId: '0x2a', rpcUrls: [] }])).rejects.toMatchObject({
      code: -32602,
    });
    expect(
      await call('wallet_addEthereumChain', [
        { chainId: '0x1', chainName: 'Ethereum', rpcUrls: ['https://x.example'] },
      ]),
    ).toBeNull();
    expect(await call('eth_chainId')).toBe('0x1');
    expect(r.asked).toEqual([]);
  });
});

describe('refused and not-yet methods', () => {
  it('eth_sign, eth_signTransaction and EIP-7702 authorizations are refused with 4200 (THREATS 52, 55)', async () => {
    await call('eth_requestAccounts');
    for (const m of [
      'eth_sign',
      'eth_signTransaction',
      'wallet_signAuthorization',
      'eth_signAuthorization',
      'eth_sendRawTransaction',
    ]) {
      await expect(call(m, [ADDR1, `0x${'11'.repeat(32)}`])).rejects.toMatchObject({ code: 4200 });
    }
  });

  it('batch and watch-asset methods answer 4200 "not available yet" and queue nothing, locked or not (THREATS 50)', async () => {
    for (const locked of [false, true]) {
      r.unlocked.value = !locked;
      for (const m of NOT_YET) {
        await expect(call(m, [])).rejects.toMatchObject({
          code: 4200,
          message: expect.stringContaining('not available in Concord yet'),
        });
      }
    }
    expect(r.asked).toEqual([]);
    expect(await r.db.dappSites.count()).toBe(0);
    expect(await r.db.proposals.count()).toBe(0);
  });

  it('unknown methods are 4200', async () => {
    await expect(call('eth_coinbase')).rejects.toMatchObject({ code: 4200 });
    await expect(call('debug_traceTransaction', [])).rejects.toMatchObject({ code: 4200 });
    await expect(call('eth_subscribe', ['newHeads'])).rejects.toMatchObject({ code: 4200 });
  });
});

describe('read-only methods', () => {
  it('forwarded to the selected chain RPC after its chain id was checked once', async () => {
    expect(await call('eth_getBalance', [ADDR1, 'latest'])).toBe('0xde0b6b3a7640000');
    expect(await call('eth_blockNumber', [])).toBe('0x10');
    expect(r.rpcCalls.map((c) => c.method)).toEqual(['eth_chainId', 'eth_getBalance', 'eth_blockNumber']);
    expect(r.rpcCalls.every((c) => c.url === 'http://127.0.0.1:8545')).toBe(true);
    expect(r.rpcCalls[1]!.params).toEqual([ADDR1, 'latest']);
  });

  it('an RPC on another chain is refused before anything is forwarded', async () => {
    r.rpcChain.id = 1;
    await expect(call('eth_getBalance', [ADDR1, 'latest'])).rejects.toMatchObject({
      code: -32602,
      message: expect.stringContaining('not 31337'),
    });
    expect(r.rpcCalls.map((c) => c.method)).toEqual(['eth_chainId']);
  });

  it('reverts keep the node code and data; invalid params are -32602 naming the problem', async () => {
    await expect(call('eth_call', [{ to: ADDR1, data: '0x1234' }, 'latest'])).rejects.toMatchObject({
      wire: { code: 3, message: 'execution reverted: nope', data: '0x08c379a0' },
    });
    await expect(call('eth_getBalance', ['0x1234', 'latest'])).rejects.toMatchObject({
      code: -32602,
      message: expect.stringMatching(/eth_getBalance.*address/),
    });
    await expect(call('eth_getTransactionReceipt', ['0xabc'])).rejects.toMatchObject({ code: -32602 });
    await expect(call('eth_blockNumber', [1])).rejects.toMatchObject({ code: -32602 });
    await expect(call('eth_getLogs', 'nope')).rejects.toMatchObject({ code: -32602 });
    await expect(call('eth_call', [{ data: `0x${'00'.repeat(300_000)}` }])).rejects.toMatchObject({
      code: -32602,
      message: expect.stringContaining('too large'),
    });
  });

  it('a chain without an RPC URL is an error, not a silent null', async () => {
    // The Ethereum preset ships a public RPC default; a user may clear it.
    const mainnet = r.settings.chains.find((c) => c.chainId === 1);
    if (!mainnet) throw new Error('no Ethereum preset');
    mainnet.rpcUrl = '';
    await call('wallet_switchEthereumChain', [{ chainId: '0x1' }]);
    await expect(call('eth_blockNumber', [])).rejects.toMatchObject({
      code: -32603,
      message: expect.stringContaining('no RPC URL'),
    });
  });
});

describe('EIP-5792 capabilities', () => {
  it('honest: no atomic batches; only for a connected address', async () => {
    await expect(call('wallet_getCapabilities', [ADDR1])).rejects.toMatchObject({ code: 4100 });
    await call('eth_requestAccounts');
    expect(await call('wallet_getCapabilities', [ADDR1.toLowerCase(), ['0x7a69', '0x2a']])).toEqual({
      '0x7a69': { atomic: { status: 'unsupported' } },
    });
    const all = (await call('wallet_getCapabilities', [ADDR1])) as Record<string, unknown>;
    // Every configured network: the local chain and the presets (Ethereum, Sepolia, Base, Arbitrum One,
    // OP Mainnet, Polygon).
    expect(Object.keys(all)).toEqual(['0x7a69', '0x1', '0xaa36a7', '0x2105', '0xa4b1', '0xa', '0x89']);
    await expect(call('wallet_getCapabilities', ['nope'])).rejects.toMatchObject({ code: -32602 });
  });
});
