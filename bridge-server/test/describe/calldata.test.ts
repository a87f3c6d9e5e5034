/**
 * Calldata decoding per family: each call is encoded with viem from the standard ABI, described,
 * and its decoded arguments, sentence and warnings asserted. Also malformed calldata, unknown
 * selectors, nested multicalls and their depth bound.
 */
import {
  type Address,
  encodeFunctionData,
  erc20Abi,
  erc721Abi,
  type Hex,
  maxUint160,
  maxUint256,
  parseAbi,
  parseUnits,
} from 'viem';
import { describe, expect, it } from 'vitest';
import {
  type CallNode,
  type DecodedCall,
  decodeCall,
  describeTx,
  MAX_CALL_DEPTH,
} from '../../src/vault/describe/index.ts';
import { ALICE, BOB, EOA_SPENDER, fakeChain, mainnet, NFT, PERMIT2, ROUTER, USDC, WETH } from './helpers.ts';

const codes = (d: { warnings: { code: string }[] }) => d.warnings.map((w) => w.code);
const decoded = (n: CallNode | null): DecodedCall => {
  if (n?.status !== 'decoded') throw new Error(`expected a decoded call, got ${n?.status}`);
  return n;
};
const arg = (n: DecodedCall, name: string) => {
  const a = n.args.find((x) => x.name === name);
  if (!a || !('value' in a)) throw new Error(`no leaf argument ${name}`);
  return a.value;
};

const permit2Abi = parseAbi([
  'function approve(address token, address spender, uint160 amount, uint48 expiration)',
  'function permit(address owner, ((address token, uint160 amount, uint48 expiration, uint48 nonce) details, address spender, uint256 sigDeadline) permitSingle, bytes signature)',
  'function permit(address owner, ((address token, uint160 amount, uint48 expiration, uint48 nonce)[] details, address spender, uint256 sigDeadline) permitBatch, bytes signature)',
  'function transferFrom(address from, address to, uint160 amount, address token)',
  'function transferFrom((address from, address to, uint160 amount, address token)[] transferDetails)',
  'function permitTransferFrom(((address token, uint256 amount) permitted, uint256 nonce, uint256 deadline) permit, (address to, uint256 requestedAmount) transferDetails, address owner, bytes signature)',
  'function permitWitnessTransferFrom(((address token, uint256 amount) permitted, uint256 nonce, uint256 deadline) permit, (address to, uint256 requestedAmount) transferDetails, address owner, bytes32 witness, string witnessTypeString, bytes signature)',
  'function permitTransferFrom(((address token, uint256 amount)[] permitted, uint256 nonce, uint256 deadline) permit, (address to, uint256 requestedAmount)[] transferDetails, address owner, bytes signature)',
]);
const miscAbi = parseAbi([
  'function increaseAllowance(address spender, uint256 addedValue)',
  'function safeTransferFrom(address from, address to, uint256 id, uint256 amount, bytes data)',
  'function safeBatchTransferFrom(address from, address to, uint256[] ids, uint256[] amounts, bytes data)',
  'function deposit()',
  'function withdraw(uint256 amount)',
  'function permit(address owner, address spender, uint256 value, uint256 deadline, uint8 v, bytes32 r, bytes32 s)',
  'function permit(address holder, address spender, uint256 nonce, uint256 expiry, bool allowed, uint8 v, bytes32 r, bytes32 s)',
  'function multicall(bytes[] data)',
  'function multicall(uint256 deadline, bytes[] data)',
  'function aggregate3((address target, bool allowFailure, bytes callData)[] calls)',
  'function aggregate3Value((address target, bool allowFailure, uint256 value, bytes callData)[] calls)',
]);
const R = `0x${'11'.repeat(32)}` as Hex;
const SIG = `0x${'22'.repeat(65)}` as Hex;
const JAN_2027 = 1798761600n; // 2027-01-01T00:00:00Z

describe('ERC-20', () => {
  it('transfer: recipient and amount with the token decimals and symbol', async () => {
    const data = encodeFunctionData({
      abi: erc20Abi,
      functionName: 'transfer',
      args: [BOB, parseUnits('1234.5', 6)],
    });
    const d = await describeTx({ to: USDC, data }, mainnet());
    const call = decoded(d.calls);
    expect(call.family).toBe('erc20');
    expect(call.signature).toBe('transfer(address,uint256)');
    expect(arg(call, 'to')).toBe(BOB);
    expect(arg(call, 'amount')).toBe('1234500000');
    expect(d.title).toBe('Sends 1,234.5 USDC to 0x2222…2222');
    expect(d.refused).toBe(false);
    expect(codes(d)).toEqual([]);
  });

  it('approve of max uint256 is flagged unlimited, naming the spender', async () => {
    const data = encodeFunctionData({ abi: erc20Abi, functionName: 'approve', args: [ROUTER, maxUint256] });
    const d = await describeTx({ to: USDC, data }, mainnet());
    expect(d.title).toBe('Lets 0x68b3…Fc45 spend an unlimited amount of USDC');
    expect(codes(d)).toEqual(['UNLIMITED_APPROVAL']);
    expect(d.warnings[0]?.severity).toBe('danger');
  });

  it('a bounded approve is not flagged', async () => {
    const data = encodeFunctionData({
      abi: erc20Abi,
      functionName: 'approve',
      args: [ROUTER, 1_000_000_000n],
    });
    const d = await describeTx({ to: USDC, data }, mainnet());
    expect(d.title).toBe('Lets 0x68b3…Fc45 spend up to 1,000 USDC');
    expect(codes(d)).toEqual([]);
  });

  it('approve to a spender with no code warns', async () => {
    const data = encodeFunctionData({ abi: erc20Abi, functionName: 'approve', args: [EOA_SPENDER, 5n] });
    const d = await describeTx({ to: USDC, data }, mainnet());
    expect(codes(d)).toEqual(['SPENDER_HAS_NO_CODE']);
  });

  it('transferFrom and increaseAllowance', async () => {
    const tf = encodeFunctionData({
      abi: erc20Abi,
      functionName: 'transferFrom',
      args: [ALICE, BOB, 2_000_000n],
    });
    expect((await describeTx({ to: USDC, data: tf }, mainnet())).title).toBe(
      'Moves 2 USDC from 0x1111…1111 to 0x2222…2222',
    );
    const inc = encodeFunctionData({
      abi: miscAbi,
      functionName: 'increaseAllowance',
      args: [ROUTER, 3_000_000n],
    });
    const d = await describeTx({ to: USDC, data: inc }, mainnet());
    expect(d.title).toBe('Lets 0x68b3…Fc45 spend an extra 3 USDC');
    const unl = encodeFunctionData({
      abi: miscAbi,
      functionName: 'increaseAllowance',
      args: [ROUTER, maxUint256],
    });
    expect(codes(await describeTx({ to: USDC, data: unl }, mainnet()))).toEqual(['UNLIMITED_APPROVAL']);
  });

  it('a token without metadata or ERC-165 is shown in base units and flagged ambiguous', async () => {
    const odd = '0x4444444444444444444444444444444444444444' as Address;
    const ctx = { chainId: 1, chain: fakeChain({ contracts: [odd, ROUTER] }) };
    const data = encodeFunctionData({ abi: erc20Abi, functionName: 'approve', args: [ROUTER, 7n] });
    const d = await describeTx({ to: odd, data }, ctx);
    expect(d.title).toBe('Lets 0x68b3…Fc45 spend up to 7 base units of token 0x4444…4444');
    expect(codes(d)).toEqual(['AMBIGUOUS_TOKEN_STANDARD']);
  });
});

describe('ERC-721 and ERC-1155', () => {
  it('approve on an ERC-721 collection names the token id', async () => {
    const data = encodeFunctionData({ abi: erc721Abi, functionName: 'approve', args: [ROUTER, 42n] });
    const d = await describeTx({ to: NFT, data }, mainnet());
    expect(d.title).toBe('Lets 0x68b3…Fc45 transfer NFT #42 of collection 0xBC4C…f13D');
    expect(codes(d)).toEqual([]);
  });

  it('transferFrom and safeTransferFrom of an NFT', async () => {
    const tf = encodeFunctionData({ abi: erc721Abi, functionName: 'transferFrom', args: [ALICE, BOB, 7n] });
    expect((await describeTx({ to: NFT, data: tf }, mainnet())).title).toBe(
      'Sends NFT #7 of collection 0xBC4C…f13D from 0x1111…1111 to 0x2222…2222',
    );
    const stf = encodeFunctionData({
      abi: erc721Abi,
      functionName: 'safeTransferFrom',
      args: [ALICE, BOB, 8n, '0x01'],
    });
    const d = await describeTx({ to: NFT, data: stf }, mainnet());
    expect(decoded(d.calls).family).toBe('erc721');
    expect(d.title).toContain('NFT #8');
  });

  it('setApprovalForAll(true) warns; (false) reads as a revocation', async () => {
    const on = encodeFunctionData({
      abi: erc721Abi,
      functionName: 'setApprovalForAll',
      args: [ROUTER, true],
    });
    const d = await describeTx({ to: NFT, data: on }, mainnet());
    expect(codes(d)).toEqual(['APPROVAL_FOR_ALL']);
    const off = encodeFunctionData({
      abi: erc721Abi,
      functionName: 'setApprovalForAll',
      args: [ROUTER, false],
    });
    const r = await describeTx({ to: NFT, data: off }, mainnet());
    expect(r.title).toMatch(/^Revokes/);
    expect(codes(r)).toEqual([]);
  });

  it('ERC-1155 single and batch transfers', async () => {
    const one = encodeFunctionData({
      abi: miscAbi,
      functionName: 'safeTransferFrom',
      args: [ALICE, BOB, 3n, 10n, '0x'],
    });
    expect((await describeTx({ to: NFT, data: one }, mainnet())).title).toBe(
      'Sends 10 of token id 3 of collection 0xBC4C…f13D from 0x1111…1111 to 0x2222…2222',
    );
    const batch = encodeFunctionData({
      abi: miscAbi,
      functionName: 'safeBatchTransferFrom',
      args: [ALICE, BOB, [1n, 2n], [5n, 6n], '0x'],
    });
    const d = await describeTx({ to: NFT, data: batch }, mainnet());
    expect(d.title).toContain('5 of token id 1, 6 of token id 2');
    const ids = decoded(d.calls).args.find((a) => a.name === 'ids');
    expect(ids && 'children' in ids ? ids.children.map((c) => ('value' in c ? c.value : '')) : []).toEqual([
      '1',
      '2',
    ]);
  });
});

describe('WETH and permits as calls', () => {
  it('deposit uses the value; withdraw the amount', async () => {
    const dep = encodeFunctionData({ abi: miscAbi, functionName: 'deposit' });
    expect((await describeTx({ to: WETH, data: dep, value: '0xde0b6b3a7640000' }, mainnet())).title).toBe(
      'Wraps 1 ETH into wrapped ether at 0xC02a…6Cc2',
    );
    const wd = encodeFunctionData({ abi: miscAbi, functionName: 'withdraw', args: [parseUnits('2.5', 18)] });
    expect((await describeTx({ to: WETH, data: wd }, mainnet())).title).toBe(
      'Unwraps 2.5 WETH at 0xC02a…6Cc2 back into ETH',
    );
  });

  it('EIP-2612 permit call with deadline', async () => {
    const data = encodeFunctionData({
      abi: miscAbi,
      functionName: 'permit',
      args: [ALICE, ROUTER, 1_000_000_000n, JAN_2027, 27, R, R],
    });
    const d = await describeTx({ to: USDC, data }, mainnet());
    expect(decoded(d.calls).family).toBe('eip2612');
    expect(d.title).toBe(
      "Submits 0x1111…1111's signed permit letting 0x68b3…Fc45 spend up to 1,000 USDC until 2027-01-01 00:00 UTC",
    );
  });

  it('DAI permit with allowed=true is unlimited', async () => {
    const data = encodeFunctionData({
      abi: miscAbi,
      functionName: 'permit',
      args: [ALICE, ROUTER, 0n, 0n, true, 27, R, R],
    });
    const d = await describeTx({ to: USDC, data }, mainnet());
    expect(decoded(d.calls).family).toBe('dai-permit');
    expect(codes(d)).toEqual(['UNLIMITED_APPROVAL']);
    expect(d.title).toContain('with no expiry');
  });
});

describe('Permit2', () => {
  it('approve with an expiration, through the canonical contract', async () => {
    const data = encodeFunctionData({
      abi: permit2Abi,
      functionName: 'approve',
      args: [USDC, ROUTER, 5_000_000n, Number(JAN_2027)],
    });
    const d = await describeTx({ to: PERMIT2, data }, mainnet());
    expect(d.title).toBe('Lets 0x68b3…Fc45 spend up to 5 USDC through Permit2 until 2027-01-01 00:00 UTC');
    expect(codes(d)).toEqual([]);
  });

  it('approve of max uint160 is unlimited', async () => {
    const data = encodeFunctionData({
      abi: permit2Abi,
      functionName: 'approve',
      args: [USDC, ROUTER, maxUint160, 2 ** 48 - 1],
    });
    const d = await describeTx({ to: PERMIT2, data }, mainnet());
    expect(codes(d)).toEqual(['UNLIMITED_APPROVAL']);
    expect(d.title).toContain('with no expiry');
  });

  it('permit (single and batch) and transferFrom (single and batch)', async () => {
    const single = encodeFunctionData({
      abi: permit2Abi,
      functionName: 'permit',
      args: [
        ALICE,
        {
          details: { token: USDC, amount: 1_000_000n, expiration: Number(JAN_2027), nonce: 0 },
          spender: ROUTER,
          sigDeadline: JAN_2027,
        },
        SIG,
      ],
    });
    expect((await describeTx({ to: PERMIT2, data: single }, mainnet())).title).toBe(
      "Submits 0x1111…1111's signed Permit2 permit letting 0x68b3…Fc45 spend up to 1 USDC until 2027-01-01 00:00 UTC",
    );
    const batch = encodeFunctionData({
      abi: permit2Abi,
      functionName: 'permit',
      args: [
        ALICE,
        {
          details: [
            { token: USDC, amount: 1_000_000n, expiration: Number(JAN_2027), nonce: 0 },
            { token: WETH, amount: maxUint160, expiration: Number(JAN_2027), nonce: 0 },
          ],
          spender: ROUTER,
          sigDeadline: JAN_2027,
        },
        SIG,
      ],
    });
    const b = await describeTx({ to: PERMIT2, data: batch }, mainnet());
    expect(b.title).toContain('1 USDC');
    expect(b.title).toContain('an unlimited amount of WETH');
    expect(codes(b)).toEqual(['UNLIMITED_APPROVAL']);
    const tf = encodeFunctionData({
      abi: permit2Abi,
      functionName: 'transferFrom',
      args: [ALICE, BOB, 3_000_000n, USDC],
    });
    expect((await describeTx({ to: PERMIT2, data: tf }, mainnet())).title).toBe(
      'Moves 3 USDC from 0x1111…1111 to 0x2222…2222 through Permit2',
    );
    const tfb = encodeFunctionData({
      abi: permit2Abi,
      functionName: 'transferFrom',
      args: [[{ from: ALICE, to: BOB, amount: 1_000_000n, token: USDC }]],
    });
    expect((await describeTx({ to: PERMIT2, data: tfb }, mainnet())).title).toBe(
      'Moves 1 USDC from 0x1111…1111 to 0x2222…2222 through Permit2',
    );
  });

  it('SignatureTransfer with and without witness, and the batch form', async () => {
    const permit = { permitted: { token: USDC, amount: 2_000_000n }, nonce: 1n, deadline: JAN_2027 };
    const plain = encodeFunctionData({
      abi: permit2Abi,
      functionName: 'permitTransferFrom',
      args: [permit, { to: BOB, requestedAmount: 1_500_000n }, ALICE, SIG],
    });
    const p = await describeTx({ to: PERMIT2, data: plain }, mainnet());
    expect(p.title).toBe(
      'Moves 1.5 USDC from 0x1111…1111 to 0x2222…2222 with a signed Permit2 transfer (signed for up to 2 USDC)',
    );
    const witness = encodeFunctionData({
      abi: permit2Abi,
      functionName: 'permitWitnessTransferFrom',
      args: [
        permit,
        { to: BOB, requestedAmount: 1n },
        ALICE,
        R,
        'ExampleTrade witness)ExampleTrade(address exchange)',
        SIG,
      ],
    });
    const w = await describeTx({ to: PERMIT2, data: witness }, mainnet());
    expect(codes(w)).toEqual(['PERMIT2_WITNESS']);
    expect(w.warnings[0]?.message).toContain(R);
    const batch = encodeFunctionData({
      abi: permit2Abi,
      functionName: 'permitTransferFrom',
      args: [
        {
          permitted: [
            { token: USDC, amount: 1n },
            { token: WETH, amount: 2n },
          ],
          nonce: 1n,
          deadline: JAN_2027,
        },
        [
          { to: BOB, requestedAmount: 1n },
          { to: ALICE, requestedAmount: 2n },
        ],
        ALICE,
        SIG,
      ],
    });
    const b = await describeTx({ to: PERMIT2, data: batch }, mainnet());
    expect(b.title.split('; ')).toHaveLength(2);
  });

  it('a Permit2 call to another address says so', async () => {
    const data = encodeFunctionData({
      abi: permit2Abi,
      functionName: 'approve',
      args: [USDC, ROUTER, 1n, 0],
    });
    const d = await describeTx({ to: ROUTER, data }, mainnet());
    expect(d.title).toContain('a Permit2-style contract at 0x68b3…Fc45');
    expect(d.title).toContain('for this block only');
  });
});

describe('multicall', () => {
  it('decodes each inner call of a Uniswap-style multicall', async () => {
    const inner = [
      encodeFunctionData({ abi: erc20Abi, functionName: 'approve', args: [PERMIT2, maxUint256] }),
      encodeFunctionData({ abi: erc20Abi, functionName: 'transfer', args: [BOB, 1_000_000n] }),
    ];
    const data = encodeFunctionData({ abi: miscAbi, functionName: 'multicall', args: [JAN_2027, inner] });
    const d = await describeTx({ to: USDC, data }, mainnet());
    const call = decoded(d.calls);
    expect(call.summary).toBe('Runs 2 calls in one transaction through 0xA0b8…eB48');
    expect(call.inner.map((c) => c.summary)).toEqual([
      'Lets 0x0000…8BA3 spend an unlimited amount of USDC',
      'Sends 1 USDC to 0x2222…2222',
    ]);
    expect(codes(d)).toEqual(['UNLIMITED_APPROVAL']);
  });

  it('nested aggregate3 inside multicall keeps targets and values', async () => {
    const approve = encodeFunctionData({
      abi: erc721Abi,
      functionName: 'setApprovalForAll',
      args: [ROUTER, true],
    });
    const agg = encodeFunctionData({
      abi: miscAbi,
      functionName: 'aggregate3Value',
      args: [[{ target: NFT, allowFailure: false, value: 5n, callData: approve }]],
    });
    const outer = encodeFunctionData({ abi: miscAbi, functionName: 'multicall', args: [[agg]] });
    const d = await describeTx({ to: ROUTER, data: outer }, mainnet());
    const lvl1 = decoded(decoded(d.calls).inner[0] ?? null);
    const lvl2 = decoded(lvl1.inner[0] ?? null);
    expect(lvl2.to).toBe(NFT);
    expect(lvl2.value).toBe('5');
    expect(lvl2.depth).toBe(2);
    expect(codes(d)).toEqual(['APPROVAL_FOR_ALL']);
  });

  it('nesting deeper than the bound is refused, not truncated', () => {
    let data: Hex = encodeFunctionData({ abi: erc20Abi, functionName: 'transfer', args: [BOB, 1n] });
    for (let i = 0; i <= MAX_CALL_DEPTH; i++)
      data = encodeFunctionData({ abi: miscAbi, functionName: 'multicall', args: [[data]] });
    const node = decodeCall(ROUTER, data);
    expect(node.status).toBe('malformed');
    expect(node.status === 'malformed' && node.error.code).toBe('CALLDATA_TOO_DEEP');
    // One level less is fine.
    let ok: Hex = encodeFunctionData({ abi: erc20Abi, functionName: 'transfer', args: [BOB, 1n] });
    for (let i = 0; i < MAX_CALL_DEPTH; i++)
      ok = encodeFunctionData({ abi: miscAbi, functionName: 'multicall', args: [[ok]] });
    expect(decodeCall(ROUTER, ok).status).toBe('decoded');
  });

  it('a too-deep multicall makes the description refused', async () => {
    let data: Hex = '0x';
    for (let i = 0; i <= MAX_CALL_DEPTH + 1; i++)
      data = encodeFunctionData({ abi: miscAbi, functionName: 'multicall', args: [[data]] });
    const d = await describeTx({ to: ROUTER, data }, mainnet());
    expect(d.refused).toBe(true);
    expect(codes(d)).toContain('CALLDATA_TOO_DEEP');
  });

  it('more inner calls than the budget are refused', () => {
    const t = encodeFunctionData({ abi: erc20Abi, functionName: 'transfer', args: [BOB, 1n] });
    const data = encodeFunctionData({ abi: miscAbi, functionName: 'multicall', args: [Array(64).fill(t)] });
    const node = decodeCall(ROUTER, data);
    expect(node.status === 'malformed' && node.error.code).toBe('CALLDATA_TOO_DEEP');
  });
});

describe('unknown and malformed calldata', () => {
  it('an unknown selector is shown with its raw data and a caution', async () => {
    const data = '0xdeadbeef0000000000000000000000000000000000000000000000000000000000000001' as Hex;
    const d = await describeTx({ to: ROUTER, data }, mainnet());
    expect(d.calls?.status).toBe('unknown');
    expect(d.calls?.selector).toBe('0xdeadbeef');
    expect(d.calls?.data).toBe(data);
    expect(codes(d)).toEqual(['UNKNOWN_CALL']);
    expect(d.refused).toBe(false);
  });

  it('a known selector with truncated arguments is refused with a typed error', async () => {
    const good = encodeFunctionData({ abi: erc20Abi, functionName: 'transfer', args: [BOB, 1n] });
    const data = good.slice(0, 50) as Hex;
    const d = await describeTx({ to: USDC, data }, mainnet());
    expect(d.calls?.status).toBe('malformed');
    expect(d.calls?.status === 'malformed' && d.calls.error.code).toBe('CALLDATA_MALFORMED');
    expect(d.calls?.data).toBe(data);
    expect(d.refused).toBe(true);
    expect(codes(d)).toEqual(['CALLDATA_MALFORMED']);
  });

  it('non-hex, odd-length and sub-selector calldata are refused, never thrown', async () => {
    for (const data of ['0xzz', '0x123', '0x1234', 'hello']) {
      const d = await describeTx({ to: USDC, data }, mainnet());
      expect(d.refused).toBe(true);
      expect(d.calls?.status === 'malformed' && d.calls.error.code).toBe('CALLDATA_NOT_HEX');
    }
  });

  it('an inner malformed call refuses the whole multicall', async () => {
    const bad = '0xa9059cbb00' as Hex;
    const data = encodeFunctionData({ abi: miscAbi, functionName: 'multicall', args: [[bad]] });
    const d = await describeTx({ to: ROUTER, data }, mainnet());
    expect(d.refused).toBe(true);
    expect(decoded(d.calls).inner[0]?.status).toBe('malformed');
  });

  it('bytes appended after the arguments are reported as non-canonical', async () => {
    const data =
      `${encodeFunctionData({ abi: erc20Abi, functionName: 'transfer', args: [BOB, 1n] })}cafe` as Hex;
    const d = await describeTx({ to: USDC, data }, mainnet());
    expect(decoded(d.calls).canonical).toBe(false);
    expect(codes(d)).toEqual(['CALLDATA_NONCANONICAL']);
  });

  it('an invalid transaction field is refused with the raw body kept', async () => {
    const tx = { to: 'not-an-address', data: '0x' };
    const d = await describeTx(tx, mainnet());
    expect(d.refused).toBe(true);
    expect(d.raw).toBe(tx);
    const both = await describeTx({ to: USDC, data: '0x', input: '0x12345678' }, mainnet());
    expect(both.refused).toBe(true);
  });

  it('the description is plain JSON', async () => {
    const data = encodeFunctionData({ abi: erc20Abi, functionName: 'transfer', args: [BOB, 1n] });
    const d = await describeTx(
      { to: USDC, data, value: 0n, gas: 21000n, maxFeePerGas: 10n ** 9n },
      mainnet(),
    );
    const { raw: _raw, ...rest } = d;
    expect(JSON.parse(JSON.stringify(rest))).toEqual(rest);
    expect(d.fields.find((f) => f.label === 'Maximum fee')?.value).toBe('0.000021 ETH');
  });
});
