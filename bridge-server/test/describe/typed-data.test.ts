/**
 * EIP-712: the spec's "Mail" vector, a fast-check differential of digests against
 * @metamask/eth-sig-util (TypedDataUtils.eip712Hash, V4) over generated typed data, strict parsing
 * refusals, chain checks, and the sentences for Permit / DAI Permit / Permit2 types.
 */
import { SignTypedDataVersion, TypedDataUtils } from '@metamask/eth-sig-util';
import fc from 'fast-check';
import { bytesToHex, maxUint256 } from 'viem';
import { describe, expect, it } from 'vitest';
import { describeTypedData, parseTypedData } from '../../src/vault/describe/index.ts';
import { ALICE, fakeChain, mainnet, PERMIT2, ROUTER, USDC } from './helpers.ts';

const codes = (d: { warnings: { code: string }[] }) => d.warnings.map((w) => w.code);

const MAIL = {
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
    chainId: 1,
    verifyingContract: '0xCcCCccccCCCCcCCCCCCcCcCccCcCCCcCcccccccC',
  },
  message: {
    from: { name: 'Cow', wallet: '0xCD2a3d9F938E13CD947Ec05AbC7FE734Df8DD826' },
    to: { name: 'Bob', wallet: '0xbBbBBBBbbBBBbbbBbbBbbbbBBbBbbbbBbBbbBBbB' },
    contents: 'Hello, Bob!',
  },
};

describe('EIP-712 digest', () => {
  it('matches the spec "Mail" vector', () => {
    expect(parseTypedData(JSON.stringify(MAIL)).digest).toBe(
      '0xbe609aee343fb3c4b28e1df9e632fca64fcfaede20f02e86244efddf30957bd2',
    );
  });

  it('shows the Mail message as a tree with its domain', async () => {
    const d = await describeTypedData(JSON.stringify(MAIL), { chainId: 1 });
    expect(d.refused).toBe(false);
    expect(d.title).toBe('Signs a Mail message for Ether Mail');
    expect(d.typedData?.domain.map((n) => n.name)).toEqual([
      'name',
      'version',
      'chainId',
      'verifyingContract',
    ]);
    const from = d.typedData?.message[0];
    expect(from && 'children' in from ? from.children.map((c) => ('value' in c ? c.value : '')) : []).toEqual(
      ['Cow', '0xCD2a3d9F938E13CD947Ec05AbC7FE734Df8DD826'],
    );
  });

  // Generated typed data: a few struct types with atomic, array and nested-struct fields.
  const atomic = fc.constantFrom(
    'address',
    'bool',
    'string',
    'bytes',
    'uint8',
    'uint256',
    'int32',
    'int256',
    'bytes1',
    'bytes32',
    'uint160',
  );
  const sample = (type: string): fc.Arbitrary<unknown> => {
    switch (type) {
      case 'address':
        return fc.uint8Array({ minLength: 20, maxLength: 20 }).map((b) => bytesToHex(b));
      case 'bool':
        return fc.boolean();
      case 'string':
        return fc.string({ unit: 'binary', maxLength: 20 });
      case 'bytes':
        return fc.uint8Array({ maxLength: 40 }).map((b) => bytesToHex(b));
      case 'bytes1':
        return fc.uint8Array({ minLength: 1, maxLength: 1 }).map((b) => bytesToHex(b));
      case 'bytes32':
        return fc.uint8Array({ minLength: 32, maxLength: 32 }).map((b) => bytesToHex(b));
      case 'uint8':
        return fc.integer({ min: 0, max: 255 });
      case 'uint160':
        return fc.bigInt({ min: 0n, max: 2n ** 160n - 1n }).map((n) => n.toString());
      case 'uint256':
        return fc.bigInt({ min: 0n, max: 2n ** 256n - 1n }).map((n) => `0x${n.toString(16)}`);
      case 'int32':
        return fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 });
      default:
        return fc.bigInt({ min: -(2n ** 255n), max: 2n ** 255n - 1n }).map((n) => n.toString());
    }
  };
  const typedData = fc
    .record({
      inner: fc.array(atomic, { minLength: 1, maxLength: 4 }),
      outer: fc.array(atomic, { minLength: 0, maxLength: 4 }),
      innerArray: fc.boolean(),
      chainId: fc.integer({ min: 1, max: 2 ** 31 }),
    })
    .chain(({ inner, outer, innerArray, chainId }) => {
      const innerFields = inner.map((t, i) => ({ name: `i${i}`, type: t }));
      const outerFields = [
        ...outer.map((t, i) => ({ name: `o${i}`, type: i === 0 ? `${t}[]` : t })),
        { name: 'child', type: innerArray ? 'Inner[]' : 'Inner' },
      ];
      const innerValue = fc.record(Object.fromEntries(innerFields.map((f) => [f.name, sample(f.type)])));
      const outerValue = fc.record({
        ...Object.fromEntries(
          outer.map((t, i) => [`o${i}`, i === 0 ? fc.array(sample(t), { maxLength: 3 }) : sample(t)]),
        ),
        child: innerArray ? fc.array(innerValue, { maxLength: 3 }) : innerValue,
      });
      return fc.record({
        types: fc.constant({
          EIP712Domain: [
            { name: 'name', type: 'string' },
            { name: 'chainId', type: 'uint256' },
          ],
          Inner: innerFields,
          Outer: outerFields,
        }),
        primaryType: fc.constant('Outer'),
        domain: fc.record({ name: fc.string({ maxLength: 10 }), chainId: fc.constant(chainId) }),
        message: outerValue,
      });
    });

  it('equals @metamask/eth-sig-util V4 on generated typed data', () => {
    fc.assert(
      fc.property(typedData, (td) => {
        const ours = parseTypedData(JSON.stringify(td)).digest;
        // biome-ignore lint/suspicious/noExplicitAny: eth-sig-util's TypedMessage generic wants literal type names.
        const theirs = bytesToHex(TypedDataUtils.eip712Hash(td as any, SignTypedDataVersion.V4));
        expect(ours).toBe(theirs);
      }),
      { numRuns: 150 },
    );
  });
});

describe('strict parsing', () => {
  const refused = async (input: unknown, fragment: string) => {
    const d = await describeTypedData(input, { chainId: 1 });
    expect(d.refused).toBe(true);
    expect(d.warnings[0]?.message).toContain(fragment);
    expect(d.raw).toBe(input);
  };
  it('refuses non-JSON, duplicate keys, undeclared and missing fields, bad values', async () => {
    await refused('{not json', 'not JSON');
    await refused(
      JSON.stringify(MAIL).replace(
        '"contents":"Hello, Bob!"',
        '"contents":"Hello, Bob!","contents":"Pay Eve"',
      ),
      'repeats the key "contents"',
    );
    await refused(JSON.stringify({ ...MAIL, message: { ...MAIL.message, extra: 1 } }), 'not a field of Mail');
    await refused(
      JSON.stringify({ ...MAIL, message: { ...MAIL.message, contents: undefined } }),
      'message.contents: missing',
    );
    await refused(
      JSON.stringify({ ...MAIL, domain: { ...MAIL.domain, chainId: 1e300 } }),
      'not an exact integer',
    );
    await refused(JSON.stringify({ ...MAIL, primaryType: 'Nope' }), 'not defined');
    await refused(
      JSON.stringify({ ...MAIL, types: { ...MAIL.types, Person: [{ name: 'name', type: 'strang' }] } }),
      'neither atomic nor defined',
    );
    await refused(
      JSON.stringify({ ...MAIL, message: { ...MAIL.message, from: { name: 'Cow', wallet: '0x12' } } }),
      'not an address',
    );
  });
});

describe('chain checks', () => {
  it('refuses a domain chainId other than the active chain, in every encoding', async () => {
    for (const chainId of [5, '0x5', '5']) {
      const d = await describeTypedData(JSON.stringify({ ...MAIL, domain: { ...MAIL.domain, chainId } }), {
        chainId: 1,
      });
      expect(d.refused).toBe(true);
      expect(codes(d)).toContain('CHAIN_MISMATCH');
    }
    for (const chainId of [1, '0x1', '1']) {
      const d = await describeTypedData(JSON.stringify({ ...MAIL, domain: { ...MAIL.domain, chainId } }), {
        chainId: 1,
      });
      expect(d.refused).toBe(false);
    }
  });

  it('warns about a domain without chainId and a verifying contract without code', async () => {
    const noChain = {
      ...MAIL,
      types: { ...MAIL.types, EIP712Domain: MAIL.types.EIP712Domain.filter((f) => f.name !== 'chainId') },
      domain: { name: 'Ether Mail', version: '1', verifyingContract: MAIL.domain.verifyingContract },
    };
    const d = await describeTypedData(JSON.stringify(noChain), { chainId: 1, chain: fakeChain({}) });
    expect(codes(d)).toEqual(['VERIFYING_CONTRACT_HAS_NO_CODE', 'TYPED_DATA_NO_CHAIN_ID']);
  });
});

const permitTypes = {
  EIP712Domain: [
    { name: 'name', type: 'string' },
    { name: 'version', type: 'string' },
    { name: 'chainId', type: 'uint256' },
    { name: 'verifyingContract', type: 'address' },
  ],
  Permit: [
    { name: 'owner', type: 'address' },
    { name: 'spender', type: 'address' },
    { name: 'value', type: 'uint256' },
    { name: 'nonce', type: 'uint256' },
    { name: 'deadline', type: 'uint256' },
  ],
};
const usdcDomain = { name: 'USD Coin', version: '2', chainId: 1, verifyingContract: USDC };

describe('sentences for known primary types', () => {
  it('EIP-2612 Permit: "lets 0x… spend up to 1,000 USDC until 2027-01-01"', async () => {
    const td = {
      types: permitTypes,
      primaryType: 'Permit',
      domain: usdcDomain,
      message: { owner: ALICE, spender: ROUTER, value: '1000000000', nonce: 0, deadline: 1798761600 },
    };
    const d = await describeTypedData(JSON.stringify(td), mainnet());
    expect(d.title).toBe(
      "Signing lets 0x68b3…Fc45 spend up to 1,000 USDC of 0x1111…1111's tokens until 2027-01-01 00:00 UTC",
    );
    expect(codes(d)).toEqual([]);
  });

  it('an unlimited Permit is flagged; a Permit without spender stays generic', async () => {
    const td = {
      types: permitTypes,
      primaryType: 'Permit',
      domain: usdcDomain,
      message: {
        owner: ALICE,
        spender: ROUTER,
        value: maxUint256.toString(),
        nonce: 0,
        deadline: 1798761600,
      },
    };
    const d = await describeTypedData(JSON.stringify(td), mainnet());
    expect(codes(d)).toEqual(['UNLIMITED_APPROVAL']);
    expect(d.title).toContain('an unlimited amount of USDC');
    const noSpender = {
      types: { ...permitTypes, Permit: permitTypes.Permit.filter((f) => f.name !== 'spender') },
      primaryType: 'Permit',
      domain: usdcDomain,
      message: { owner: ALICE, value: maxUint256.toString(), nonce: 0, deadline: 1 },
    };
    const g = await describeTypedData(JSON.stringify(noSpender), mainnet());
    expect(g.typedData?.sentence).toBeNull();
    expect(g.title).toBe('Signs a Permit message for USD Coin');
  });

  it('DAI Permit (allowed) reads as unlimited', async () => {
    const td = {
      types: {
        EIP712Domain: permitTypes.EIP712Domain,
        Permit: [
          { name: 'holder', type: 'address' },
          { name: 'spender', type: 'address' },
          { name: 'nonce', type: 'uint256' },
          { name: 'expiry', type: 'uint256' },
          { name: 'allowed', type: 'bool' },
        ],
      },
      primaryType: 'Permit',
      domain: usdcDomain,
      message: { holder: ALICE, spender: ROUTER, nonce: 0, expiry: 0, allowed: true },
    };
    const d = await describeTypedData(td, mainnet());
    expect(codes(d)).toEqual(['UNLIMITED_APPROVAL']);
    expect(d.title).toContain('with no expiry (DAI-style permit)');
  });

  const permit2Domain = { name: 'Permit2', chainId: 1, verifyingContract: PERMIT2 };
  const p2Domain = [
    { name: 'name', type: 'string' },
    { name: 'chainId', type: 'uint256' },
    { name: 'verifyingContract', type: 'address' },
  ];
  it('Permit2 PermitSingle and PermitBatch', async () => {
    const details = [
      { name: 'token', type: 'address' },
      { name: 'amount', type: 'uint160' },
      { name: 'expiration', type: 'uint48' },
      { name: 'nonce', type: 'uint48' },
    ];
    const single = {
      types: {
        EIP712Domain: p2Domain,
        PermitDetails: details,
        PermitSingle: [
          { name: 'details', type: 'PermitDetails' },
          { name: 'spender', type: 'address' },
          { name: 'sigDeadline', type: 'uint256' },
        ],
      },
      primaryType: 'PermitSingle',
      domain: permit2Domain,
      message: {
        details: { token: USDC, amount: '1000000000', expiration: 1798761600, nonce: 0 },
        spender: ROUTER,
        sigDeadline: 1798761600,
      },
    };
    const d = await describeTypedData(JSON.stringify(single), mainnet());
    expect(d.title).toBe(
      'Signing a Permit2 allowance lets 0x68b3…Fc45 spend up to 1,000 USDC until 2027-01-01 00:00 UTC (signature valid until 2027-01-01 00:00 UTC)',
    );
    const batch = {
      ...single,
      types: {
        ...single.types,
        PermitBatch: [
          { name: 'details', type: 'PermitDetails[]' },
          { name: 'spender', type: 'address' },
          { name: 'sigDeadline', type: 'uint256' },
        ],
      },
      primaryType: 'PermitBatch',
      message: {
        ...single.message,
        details: [
          single.message.details,
          { ...single.message.details, amount: (2n ** 160n - 1n).toString() },
        ],
      },
    };
    const b = await describeTypedData(JSON.stringify(batch), mainnet());
    expect(b.title).toContain('; lets 0x68b3…Fc45 spend an unlimited amount of USDC');
    expect(codes(b)).toEqual(['UNLIMITED_APPROVAL']);
  });

  it('Permit2 PermitWitnessTransferFrom shows the witness', async () => {
    const td = {
      types: {
        EIP712Domain: p2Domain,
        TokenPermissions: [
          { name: 'token', type: 'address' },
          { name: 'amount', type: 'uint256' },
        ],
        ExampleTrade: [{ name: 'exchange', type: 'address' }],
        PermitWitnessTransferFrom: [
          { name: 'permitted', type: 'TokenPermissions' },
          { name: 'spender', type: 'address' },
          { name: 'nonce', type: 'uint256' },
          { name: 'deadline', type: 'uint256' },
          { name: 'witness', type: 'ExampleTrade' },
        ],
      },
      primaryType: 'PermitWitnessTransferFrom',
      domain: permit2Domain,
      message: {
        permitted: { token: USDC, amount: '5000000' },
        spender: ROUTER,
        nonce: 1,
        deadline: 1798761600,
        witness: { exchange: ALICE },
      },
    };
    const d = await describeTypedData(JSON.stringify(td), mainnet());
    expect(d.title).toBe(
      'Signing lets 0x68b3…Fc45 take 5 USDC from your wallet once, until 2027-01-01 00:00 UTC (Permit2 signed transfer), bound to the ExampleTrade shown under "witness"',
    );
    expect(codes(d)).toEqual(['PERMIT2_WITNESS']);
    const witness = d.typedData?.message.find((n) => n.name === 'witness');
    expect(witness && 'children' in witness ? witness.children[0] : null).toEqual({
      name: 'exchange',
      type: 'address',
      value: ALICE,
    });
  });
});
