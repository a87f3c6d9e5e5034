/**
 * A vault's history (extension/src/ui/lib/history.ts): only that vault's requests, newest first;
 * send status from the request phase with its hash and block; token sends name the recipient and
 * the token amount; signer changes list who joins and leaves; decisions name the members; the
 * creation ceremony is tied by address; explorer links only for an https explorer and a real hash.
 */
import { describe, expect, it } from 'vitest';
import type { CeremonyView, RequestMemberView, RequestView, TxSummary } from '../../src/shared/messages.ts';
import { explorerTxUrl, vaultHistory } from '../../src/ui/lib/history.ts';

const V = 'a'.repeat(32);
const OTHER = 'b'.repeat(32);
const ADDR = '0x1111111111111111111111111111111111111111';
const BOB = '0x52908400098527886E0F7030069857D2E4169EE7';
const TOKEN = '0x5FbDB2315678afecb367f032d93F642f64180aa3';
const HASH = `0x${'ab'.repeat(32)}`;

function member(label: string, decision: RequestMemberView['decision'], isSelf = false): RequestMemberView {
  return {
    deviceId: label.padEnd(64, '0'),
    label,
    power: 1,
    isSelf,
    isInitiator: isSelf,
    decision,
    online: true,
    signer: false,
    joining: false,
    banned: false,
  };
}

function tx(over: Partial<TxSummary>): TxSummary {
  return {
    chainId: 31337,
    chainName: 'Local development chain',
    kind: 'native',
    from: ADDR,
    to: BOB,
    recipient: BOB,
    amount: '1500000000000000000',
    amountDisplay: '1.5 ETH',
    symbol: 'ETH',
    decimals: 18,
    token: null,
    nonce: 0,
    gasLimit: '25200',
    maxFeePerGas: '1',
    maxPriorityFeePerGas: '1',
    maxFeeDisplay: '0 ETH',
    data: '0x',
    warnings: [],
    ...over,
  };
}

function request(over: Partial<RequestView>): RequestView {
  return {
    id: '1'.repeat(32),
    vaultId: V,
    vaultName: 'Savings',
    kind: 'send',
    phase: 'pending',
    createdAt: 100,
    expiresAt: 1_000,
    threshold: 2,
    totalPower: 2,
    approvedPower: 1,
    rejectedPower: 0,
    members: [member('A', 'approve', true), member('B', null)],
    myDecision: 'approve',
    canDecide: false,
    tx: tx({}),
    reshare: null,
    txHash: null,
    blockNumber: null,
    attempt: 0,
    error: null,
    canReopen: false,
    origin: null,
    description: null,
    signature: null,
    ...over,
  };
}

const ceremony: CeremonyView = {
  id: 'c'.repeat(32),
  name: 'Savings',
  role: 'creator',
  threshold: 2,
  totalPower: 2,
  members: [
    {
      deviceId: 'a',
      fingerprint: 'F',
      label: 'A',
      power: 1,
      isSelf: true,
      isProposer: true,
      decision: 'approve',
    },
    {
      deviceId: 'b',
      fingerprint: 'G',
      label: 'B',
      power: 1,
      isSelf: false,
      isProposer: false,
      decision: 'approve',
    },
  ],
  safetyCode: 'x',
  phase: 'done',
  round: 0,
  rounds: 0,
  address: ADDR.toUpperCase().replace('0X', '0x'),
  error: null,
  attempt: 0,
  interrupted: false,
  createdAt: 10,
};

describe('vaultHistory', () => {
  it('lists this vault’s sends, signer changes and its creation, newest first', () => {
    const mined = request({
      id: '2'.repeat(32),
      createdAt: 300,
      phase: 'mined',
      txHash: HASH,
      blockNumber: 7,
      members: [member('A', 'approve', true), member('B', 'approve')],
    });
    const token = request({
      id: '3'.repeat(32),
      createdAt: 200,
      phase: 'broadcast',
      tx: tx({
        kind: 'erc20-transfer',
        to: TOKEN,
        token: TOKEN,
        amount: '2500000',
        decimals: 6,
        symbol: 'TUSD',
      }),
    });
    const reshare = request({
      id: '4'.repeat(32),
      kind: 'reshare',
      createdAt: 400,
      phase: 'done',
      tx: null,
      reshare: {
        oldThreshold: 2,
        newThreshold: 3,
        members: [
          { deviceId: 'a', fingerprint: 'F', label: 'A', oldPower: 1, newPower: 2 },
          { deviceId: 'c', fingerprint: 'H', label: 'C', oldPower: 0, newPower: 1 },
          { deviceId: 'b', fingerprint: 'G', label: 'B', oldPower: 1, newPower: 0 },
        ],
        safetyCode: 's',
        epoch: 1,
      },
    });
    const elsewhere = request({ id: '5'.repeat(32), vaultId: OTHER, createdAt: 999 });
    const h = vaultHistory(V, ADDR, [token, elsewhere, mined, reshare], [ceremony]);
    expect(h.map((e) => e.kind)).toEqual(['signers', 'send', 'send', 'created']);
    const [signers, sent, tokenSend, created] = h;
    expect(signers).toMatchObject({
      status: 'done',
      signers: { oldThreshold: 2, newThreshold: 3, added: ['C'], removed: ['B'] },
    });
    expect(sent).toMatchObject({ status: 'done', phase: 'mined', txHash: HASH, blockNumber: 7, to: BOB });
    expect(sent?.amount).toEqual({ units: 1_500_000_000_000_000_000n, decimals: 18, symbol: 'ETH' });
    expect(sent?.decisions).toEqual([
      { label: 'A (this device)', decision: 'approve' },
      { label: 'B', decision: 'approve' },
    ]);
    // A token transfer names the person paid, not the token contract, and the token's units.
    expect(tokenSend).toMatchObject({ status: 'pending', to: BOB, chainId: 31337 });
    expect(tokenSend?.amount).toEqual({ units: 2_500_000n, decimals: 6, symbol: 'TUSD' });
    expect(created).toMatchObject({ kind: 'created', status: 'done', at: 10 });
    expect(created?.decisions.map((d) => d.label)).toEqual(['A (this device)', 'B']);
  });

  it('maps failures, rejections and expiry to failed, keeping the failure reason only for failed', () => {
    const h = vaultHistory(
      V,
      null,
      [
        request({ id: '6'.repeat(32), phase: 'failed', error: 'The transaction reverted.', createdAt: 3 }),
        request({ id: '7'.repeat(32), phase: 'rejected', error: 'ignored', createdAt: 2 }),
        request({ id: '8'.repeat(32), phase: 'expired', createdAt: 1 }),
        request({ id: '9'.repeat(32), phase: 'signing', createdAt: 0 }),
      ],
      [ceremony],
    );
    expect(h.map((e) => [e.status, e.error])).toEqual([
      ['failed', 'The transaction reverted.'],
      ['failed', null],
      ['failed', null],
      ['pending', null],
    ]);
    // Without the vault's address the creation ceremony cannot be matched, so it is left out.
    expect(h.some((e) => e.kind === 'created')).toBe(false);
  });

  it('leaves out another vault’s creation and unfinished ceremonies; an undecodable send has no amount', () => {
    const h = vaultHistory(
      V,
      ADDR,
      [request({ tx: null })],
      [
        { ...ceremony, address: BOB },
        { ...ceremony, id: 'd'.repeat(32), phase: 'running', address: ADDR },
      ],
    );
    expect(h).toHaveLength(1);
    expect(h[0]).toMatchObject({ kind: 'send', amount: null, to: null, chainId: null });
    expect(vaultHistory(V, ADDR, [], [])).toEqual([]);
  });

  it('a site’s message and typed-data requests are signatures with their origin, never sends', () => {
    const h = vaultHistory(
      V,
      ADDR,
      [
        request({
          id: 'm'.repeat(32),
          kind: 'message',
          tx: null,
          origin: 'https://app.example',
          createdAt: 300,
        }),
        request({
          id: 't'.repeat(32),
          kind: 'typed-data',
          tx: null,
          origin: null,
          phase: 'done',
          createdAt: 200,
        }),
      ],
      [],
    );
    expect(h.map((e) => [e.kind, e.origin, e.amount, e.txHash, e.status])).toEqual([
      ['message', 'https://app.example', null, null, 'pending'],
      ['typed-data', null, null, null, 'done'],
    ]);
  });
});

describe('explorerTxUrl', () => {
  it('links a hash on an https explorer, trailing slashes trimmed', () => {
    expect(explorerTxUrl({ explorerUrl: 'https://etherscan.io' }, HASH)).toBe(
      `https://etherscan.io/tx/${HASH}`,
    );
    expect(explorerTxUrl({ explorerUrl: ' https://explorer.test/eth// ' }, HASH)).toBe(
      `https://explorer.test/eth/tx/${HASH}`,
    );
  });

  it('gives no link without an explorer (the local chain), for a non-https one, or for a bad hash', () => {
    expect(explorerTxUrl({ explorerUrl: '' }, HASH)).toBeNull();
    expect(explorerTxUrl(undefined, HASH)).toBeNull();
    expect(explorerTxUrl({ explorerUrl: 'http://etherscan.io' }, HASH)).toBeNull();
    expect(explorerTxUrl({ explorerUrl: 'javascript:alert(1)' }, HASH)).toBeNull();
    expect(explorerTxUrl({ explorerUrl: 'https://user:pw@etherscan.io' }, HASH)).toBeNull();
    expect(explorerTxUrl({ explorerUrl: 'not a url' }, HASH)).toBeNull();
    expect(explorerTxUrl({ explorerUrl: 'https://etherscan.io' }, '0x1234')).toBeNull();
    expect(explorerTxUrl({ explorerUrl: 'https://etherscan.io' }, `${HASH}/../x`)).toBeNull();
  });
});
