/**
 * Signing methods from sites (dapp/signing.ts) over a real (fake-indexeddb) Concord database, with
 * the approval window, the chain build and the vault request service replaced by fakes that record
 * what they were asked; the describer is the real one. Covers: the approval shows the site's
 * origin and the decoded body before anything is proposed; a user or co-signer rejection is 4001;
 * typed data for another chain (number, hex, decimal string) is refused before anyone is asked
 * (THREATS C 53); an unconnected origin or another address is 4100; a locked wallet asks to be
 * unlocked first and proposes nothing when it is not (THREATS C 50); EIP-7702 and chain mismatches
 * in a transaction are refused.
 */
import type { SigningBody } from '@concord/bridge-server/vault';
import { encodeFunctionData, erc20Abi, maxUint256 } from 'viem';
import { beforeEach, describe, expect, it } from 'vitest';
import {
  type ApprovalDecision,
  type ApprovalInput,
  DappApprovals,
} from '../src/background/dapp/approvals.ts';
import { DappService, type VaultAccount } from '../src/background/dapp/methods.ts';
import { RpcForwarder } from '../src/background/dapp/rpc-forward.ts';
import { DappSites } from '../src/background/dapp/sites.ts';
import { describeSigning } from '../src/background/services/describe-request.ts';
import type { SigningOutcome } from '../src/background/services/requests.ts';
import { defaultSettings } from '../src/shared/settings.ts';
import { openFreshDb } from './helpers.ts';

const SITE = 'https://dapp.example';
const OTHER = 'https://other.example';
const V1 = 'a'.repeat(32);
const ADDR1 = '0x00000000000000000000000000000000000000A1';
const ADDR2 = '0x00000000000000000000000000000000000000b2';
const SPENDER = '0x5555555555555555555555555555555555555555';
const TOKEN = '0x7777777777777777777777777777777777777777';
const SIG = `0x${'ab'.repeat(64)}1b` as const;

interface Rig {
  svc: DappService;
  unlocked: { value: boolean };
  asked: ApprovalInput[];
  answers: (ApprovalDecision | 'close' | (() => ApprovalDecision))[];
  proposed: { vaultId: string; body: SigningBody }[];
  outcomes: SigningOutcome[];
  built: unknown[];
  chainId: number;
}

async function rig(): Promise<Rig> {
  const db = await openFreshDb();
  const settings = defaultSettings();
  const unlocked = { value: true };
  const asked: ApprovalInput[] = [];
  const answers: Rig['answers'] = [];
  const proposed: Rig['proposed'] = [];
  const outcomes: SigningOutcome[] = [];
  const built: unknown[] = [];
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
    const next = answers.shift() ?? { approve: true, vaultIds: [V1] };
    if (next === 'close') approvals.windowClosed(7);
    else {
      const id = [...(approvals as unknown as { pending: Map<string, unknown> }).pending.keys()].at(-1)!;
      await approvals.decide(id, typeof next === 'function' ? next() : next);
    }
    return p;
  };
  const vaults: VaultAccount[] = [{ id: V1, name: 'Treasury', address: ADDR1, status: 'active' }];
  const svc = new DappService({
    sites: new DappSites(db, () => 1_000),
    approvals,
    rpc: new RpcForwarder((async () => Response.json({})) as unknown as typeof fetch),
    settings: async () => structuredClone(settings),
    addChain: async () => {},
    isUnlocked: async () => unlocked.value,
    vaults: async () => {
      if (!unlocked.value) throw new Error('vaults read while locked');
      return vaults;
    },
    notify: () => {},
    signing: {
      buildCall: async (input) => {
        built.push(input);
        // A fixed, well-formed unsigned type-2 transaction carrying the site's call.
        const { encodeUnsignedTx } = await import('@concord/bridge-server/vault');
        return encodeUnsignedTx({
          chainId: input.chainId,
          nonce: 0,
          to: input.to as `0x${string}`,
          value: input.value,
          data: input.data,
          gas: input.gas ?? 60_000n,
          maxFeePerGas: 2_000_000_000n,
          maxPriorityFeePerGas: 1_000_000_000n,
        });
      },
      describe: (body, from) => describeSigning(body, from, null),
      propose: async (vaultId, body) => {
        proposed.push({ vaultId, body });
        return 'f'.repeat(32);
      },
      outcome: async () => outcomes.shift() ?? { state: 'pending' },
      sleep: async () => {},
    },
  });
  const chainId = (await svc.chainOf(SITE)).chainId;
  return { svc, unlocked, asked, answers, proposed, outcomes, built, chainId };
}

let r: Rig;
beforeEach(async () => {
  r = await rig();
  await r.svc.handle(SITE, 'eth_requestAccounts', []);
  r.asked.length = 0;
});
const call = (method: string, params?: unknown, origin = SITE) => r.svc.handle(origin, method, params);
const hexUtf8 = (s: string) => `0x${Buffer.from(s, 'utf8').toString('hex')}`;

const mail = (chainId: unknown) => ({
  types: {
    EIP712Domain: [
      { name: 'name', type: 'string' },
      { name: 'version', type: 'string' },
      { name: 'chainId', type: 'uint256' },
      { name: 'verifyingContract', type: 'address' },
    ],
    Person: [
      { name: 'name', type: 'string' },
      { name: 'wallet', type: 'address' },
    ],
    Mail: [
      { name: 'from', type: 'Person' },
      { name: 'to', type: 'Person' },
      { name: 'contents', type: 'string' },
    ],
  },
  primaryType: 'Mail',
  domain: {
    name: 'Ether Mail',
    version: '1',
    chainId,
    verifyingContract: '0xCcCCccccCCCCcCCCCCCcCcCccCcCCCcCcccccccC',
  },
  message: {
    from: { name: 'Cow', wallet: '0xCD2a3d9F938E13CD947Ec05AbC7FE734Df8DD826' },
    to: { name: 'Bob', wallet: '0xbBbBBBBbbBBBbbbBbbBbbbbBBbBbbbbBbBbbBBbB' },
    contents: 'Hello, Bob!',
  },
});

describe('personal_sign', () => {
  it('shows the origin and the text, proposes after approval, and resolves with the signature', async () => {
    r.outcomes.push({ state: 'pending' }, { state: 'signed', signature: SIG });
    await expect(call('personal_sign', [hexUtf8('Sign in to dapp.example'), ADDR1])).resolves.toBe(SIG);
    expect(r.asked).toHaveLength(1);
    const a = r.asked[0]!;
    expect(a.kind).toBe('sign');
    if (a.kind !== 'sign') return;
    expect(a.description.origin?.origin).toBe(SITE);
    expect(a.description.message?.text).toBe('Sign in to dapp.example');
    expect(a.vault).toMatchObject({ id: V1, address: ADDR1 });
    expect(r.proposed).toHaveLength(1);
    expect(r.proposed[0]!.body).toMatchObject({ kind: 'message', origin: SITE, chainId: r.chainId });
    expect(new TextDecoder().decode((r.proposed[0]!.body as { message: Uint8Array }).message)).toBe(
      'Sign in to dapp.example',
    );
  });

  it('the user rejecting (or closing the window) gives 4001 and proposes nothing', async () => {
    r.answers.push({ approve: false, vaultIds: [] }, 'close');
    await expect(call('personal_sign', [hexUtf8('hi'), ADDR1])).rejects.toMatchObject({ code: 4001 });
    await expect(call('personal_sign', [hexUtf8('hi'), ADDR1])).rejects.toMatchObject({ code: 4001 });
    expect(r.proposed).toEqual([]);
  });

  it('co-signers rejecting or the request expiring gives 4001; a failed ceremony -32603', async () => {
    r.outcomes.push({ state: 'rejected', reason: 'The co-signers rejected the request.' });
    await expect(call('personal_sign', [hexUtf8('hi'), ADDR1])).rejects.toMatchObject({
      code: 4001,
      message: 'The co-signers rejected the request.',
    });
    r.outcomes.push({ state: 'failed', reason: 'Could not sign.' });
    await expect(call('personal_sign', [hexUtf8('hi'), ADDR1])).rejects.toMatchObject({ code: -32603 });
  });

  it('an unconnected origin or an address it was not given gets 4100; nothing is asked', async () => {
    await expect(call('personal_sign', [hexUtf8('hi'), ADDR1], OTHER)).rejects.toMatchObject({ code: 4100 });
    await expect(call('personal_sign', [hexUtf8('hi'), ADDR2])).rejects.toMatchObject({ code: 4100 });
    await expect(call('personal_sign', ['0x', ADDR1])).rejects.toMatchObject({ code: -32602 });
    await expect(call('personal_sign', [hexUtf8('hi')])).rejects.toMatchObject({ code: -32602 });
    expect(r.asked).toEqual([]);
    expect(r.proposed).toEqual([]);
  });

  it('a locked wallet asks to be unlocked first, and proposes nothing when it stays locked (THREATS C 50)', async () => {
    r.unlocked.value = false;
    r.answers.push('close');
    await expect(call('personal_sign', [hexUtf8('hi'), ADDR1])).rejects.toMatchObject({ code: 4001 });
    expect(r.asked.map((a) => a.kind)).toEqual(['unlock']);
    expect(r.proposed).toEqual([]);
    // Unlocking in the window, then approving the request itself.
    r.asked.length = 0;
    r.answers.push(() => {
      r.unlocked.value = true;
      return { approve: true, vaultIds: [] };
    });
    r.outcomes.push({ state: 'signed', signature: SIG });
    await expect(call('personal_sign', [hexUtf8('hi'), ADDR1])).resolves.toBe(SIG);
    expect(r.asked.map((a) => a.kind)).toEqual(['unlock', 'sign']);
  });
});

describe('eth_signTypedData_v4', () => {
  it('proposes canonical typed data for the site chain and shows it as a tree', async () => {
    r.outcomes.push({ state: 'signed', signature: SIG });
    await expect(call('eth_signTypedData_v4', [ADDR1, JSON.stringify(mail(r.chainId))])).resolves.toBe(SIG);
    const a = r.asked[0]!;
    if (a.kind !== 'sign') throw new Error('not a sign approval');
    expect(a.description.typedData?.primaryType).toBe('Mail');
    expect(a.description.title).toBe('Signs a Mail message for Ether Mail');
    const body = r.proposed[0]!.body as { kind: string; data: string };
    expect(body.kind).toBe('typed-data');
    expect(JSON.parse(body.data).domain.chainId).toBe(String(r.chainId));
  });

  it('refuses typed data for another chain in every form, before anyone is asked (THREATS C 53)', async () => {
    const other = r.chainId + 1;
    for (const chainId of [other, `0x${other.toString(16)}`, String(other)]) {
      await expect(
        call('eth_signTypedData_v4', [ADDR1, JSON.stringify(mail(chainId))]),
      ).rejects.toMatchObject({
        code: -32602,
        message: expect.stringContaining(`typed data is for chain ${other}`),
      });
    }
    expect(r.asked).toEqual([]);
    expect(r.proposed).toEqual([]);
  });

  it('refuses malformed typed data with the reason', async () => {
    const bad = { ...mail(r.chainId), message: { ...mail(r.chainId).message, extra: 1 } };
    await expect(call('eth_signTypedData_v4', [ADDR1, JSON.stringify(bad)])).rejects.toMatchObject({
      code: -32602,
      message: expect.stringContaining('not a field of Mail'),
    });
    await expect(call('eth_signTypedData_v4', [ADDR1, '{'])).rejects.toMatchObject({ code: -32602 });
    expect(r.proposed).toEqual([]);
  });
});

describe('eth_sendTransaction', () => {
  const approveMax = encodeFunctionData({
    abi: erc20Abi,
    functionName: 'approve',
    args: [SPENDER, maxUint256],
  });

  it('shows an unlimited ERC-20 approval decoded, proposes the raw call, and resolves with the tx hash', async () => {
    const hash = `0x${'cd'.repeat(32)}`;
    r.outcomes.push({ state: 'pending' }, { state: 'sent', txHash: hash as `0x${string}` });
    await expect(call('eth_sendTransaction', [{ from: ADDR1, to: TOKEN, data: approveMax }])).resolves.toBe(
      hash,
    );
    const a = r.asked[0]!;
    if (a.kind !== 'sign') throw new Error('not a sign approval');
    expect(a.description.kind).toBe('tx');
    expect(a.description.calls).toMatchObject({ status: 'decoded', functionName: 'approve' });
    expect(a.description.warnings.map((w) => w.code)).toContain('UNLIMITED_APPROVAL');
    expect(a.description.title).not.toMatch(/^Contract call/);
    expect(r.built[0]).toMatchObject({
      chainId: r.chainId,
      from: ADDR1,
      to: TOKEN,
      value: 0n,
      data: approveMax,
    });
    expect(r.proposed[0]!.body).toMatchObject({ kind: 'send', origin: SITE, chainId: r.chainId });
  });

  it('refuses another sender, another chain, contract creation and EIP-7702 authorizations', async () => {
    await expect(call('eth_sendTransaction', [{ from: ADDR2, to: TOKEN }])).rejects.toMatchObject({
      code: 4100,
    });
    await expect(
      call('eth_sendTransaction', [{ from: ADDR1, to: TOKEN, chainId: `0x${(r.chainId + 1).toString(16)}` }]),
    ).rejects.toMatchObject({ code: -32602, message: expect.stringContaining('is for chain') });
    await expect(
      call('eth_sendTransaction', [{ from: ADDR1, to: TOKEN, authorizationList: [{ chainId: '0x0' }] }]),
    ).rejects.toMatchObject({ code: -32602 });
    await expect(
      call('eth_sendTransaction', [{ from: ADDR1, to: TOKEN, data: '0x12', input: '0x34' }]),
    ).rejects.toMatchObject({
      code: -32602,
    });
    expect(r.asked).toEqual([]);
    expect(r.proposed).toEqual([]);
  });
});
