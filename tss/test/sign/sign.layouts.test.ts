/**
 * Signing over every DKG layout: an exactly-threshold set, an over-threshold set, a heavy party
 * alone when its power reaches t, and every subset of size ≥ 3 of [1,1,1,1,1] t=3. Each signature
 * verifies with plain secp256k1.verify and recovers (viem) to the vault address. Ethereum formats
 * (EIP-1559, legacy, personal_sign, EIP-712) are checked with viem's own parsers and verifiers.
 */
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { keccak_256 } from '@noble/hashes/sha3.js';
import {
  type Hex,
  parseEther,
  parseTransaction,
  recoverAddress,
  recoverTransactionAddress,
  verifyMessage,
  verifyTypedData,
  toHex as viemHex,
} from 'viem';
import { describe, expect, it } from 'vitest';
import { toHex, utf8 } from '../../src/bytes.ts';
import { signPersonalMessage, signTransaction, signTypedData } from '../../src/eth/index.ts';
import type { KeyShare } from '../../src/keyshare.ts';
import { expectAllOk, inMemorySigner, runSign } from '../../src/testing/driver.ts';
import { loadFixture } from '../fixtures/index.ts';
import { LAYOUTS } from '../fixtures/layouts.ts';

function subsetsOf<T>(items: readonly T[]): T[][] {
  const out: T[][] = [];
  for (let mask = 1; mask < 1 << items.length; mask++) out.push(items.filter((_, i) => mask & (1 << i)));
  return out;
}

const power = (s: readonly KeyShare[]) =>
  s.reduce((acc, k) => acc + k.descriptor.parties.find((p) => toHex(p.id) === toHex(k.selfId))!.power, 0);

async function expectValid(shares: readonly KeyShare[], label: string): Promise<void> {
  const d = shares[0]!.descriptor;
  const digest = keccak_256(utf8(`concord test ${label}`));
  const sigs = expectAllOk(runSign({ keyShares: shares, digest, seed: `sign/${label}` }));
  // Every signer outputs the same signature.
  for (const s of sigs) expect(toHex(s.compact)).toBe(toHex(sigs[0]!.compact));
  const sig = sigs[0]!;
  expect(secp256k1.verify(sig.compact, digest, d.groupPublicKey.toBytes(true), { prehash: false })).toBe(
    true,
  );
  expect(sig.s <= secp256k1.Point.Fn.ORDER >> 1n).toBe(true);
  const recovered = await recoverAddress({
    hash: viemHex(digest),
    signature: { r: viemHex(sig.r, { size: 32 }), s: viemHex(sig.s, { size: 32 }), yParity: sig.recovery },
  });
  expect(recovered).toBe(d.address);
}

describe.each(LAYOUTS.map((l) => [l.name, l] as const))('signing with layout %s', (name, layout) => {
  it('signs with an exactly-threshold set (or the smallest set reaching t)', async () => {
    const f = loadFixture(name);
    const sets = subsetsOf(f.shares).filter((s) => power(s) >= layout.threshold);
    sets.sort((a, b) => power(a) - power(b) || a.length - b.length);
    await expectValid(sets[0]!, `${name}/exact`);
  });

  it('signs with an over-threshold set when one exists', async () => {
    const f = loadFixture(name);
    if (power(f.shares) === layout.threshold) {
      expect(f.shares.length).toBeGreaterThanOrEqual(1); // no over-threshold set in this layout
      return;
    }
    await expectValid(f.shares, `${name}/all`);
  });

  it('lets a heavy party sign alone when its power reaches t', async () => {
    const f = loadFixture(name);
    const heavy = f.shares.filter((s) => power([s]) >= layout.threshold);
    for (const h of heavy) await expectValid([h], `${name}/alone`);
    expect(heavy.length).toBe(layout.powers.filter((w) => w >= layout.threshold).length);
  });
});

describe('every subset of [1,1,1,1,1] t=3', () => {
  const f = () => loadFixture('1-1-1-1-1_t3');
  it.each(
    subsetsOf([0, 1, 2, 3, 4])
      .filter((s) => s.length >= 3)
      .map((s) => [s.join(',')]),
  )('signers %s', async (set) => {
    const shares = set.split(',').map((i) => f().shares[Number(i)]!);
    await expectValid(shares, `5/${set}`);
  });
});

describe('Ethereum formats (viem parses and recovers them)', () => {
  const shares = () => loadFixture('2-1-1_t3').shares.slice(0, 2); // powers 2 + 1 = t
  const vault = () => shares()[0]!.descriptor.address;

  it('signs an EIP-1559 transaction that viem parses and recovers to the vault address', async () => {
    const raw = await signTransaction({
      transaction: {
        type: 'eip1559',
        chainId: 31337,
        nonce: 0,
        to: '0x70997970C51812dc3A010C7d01b50e0d17dc79C8',
        value: parseEther('1'),
        maxFeePerGas: 2_000_000_000n,
        maxPriorityFeePerGas: 1_000_000_000n,
        gas: 21_000n,
      },
      address: vault(),
      sign: inMemorySigner(shares(), 'tx1559'),
    });
    const parsed = parseTransaction(raw);
    expect(parsed.type).toBe('eip1559');
    expect(parsed.value).toBe(parseEther('1'));
    expect(await recoverTransactionAddress({ serializedTransaction: raw as never })).toBe(vault());
  });

  it('signs a legacy EIP-155 transaction', async () => {
    const raw = await signTransaction({
      transaction: {
        type: 'legacy',
        chainId: 1,
        nonce: 7,
        to: vault() as Hex,
        value: 5n,
        gasPrice: 10n,
        gas: 21_000n,
      },
      address: vault(),
      sign: inMemorySigner(shares(), 'legacy'),
    });
    expect(parseTransaction(raw).type).toBe('legacy');
    expect(await recoverTransactionAddress({ serializedTransaction: raw as never })).toBe(vault());
  });

  it('signs EIP-191 personal_sign messages viem verifies', async () => {
    const signature = await signPersonalMessage({
      message: 'hello concord',
      address: vault(),
      sign: inMemorySigner(shares(), 'p'),
    });
    expect(signature).toMatch(/^0x[0-9a-f]{130}$/);
    expect(await verifyMessage({ address: vault() as Hex, message: 'hello concord', signature })).toBe(true);
  });

  it('signs EIP-712 typed data viem verifies', async () => {
    const typedData = {
      domain: {
        name: 'Ether Mail',
        version: '1',
        chainId: 1,
        verifyingContract: '0xCcCCccccCCCCcCCCCCCcCcCccCcCCCcCcccccccC',
      },
      types: {
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
      message: {
        from: { name: 'Cow', wallet: '0xCD2a3d9F938E13CD947Ec05AbC7FE734Df8DD826' },
        to: { name: 'Bob', wallet: '0xbBbBBBBbbBBBbbbBbbBbbbbBBbBbbbbBbBbbBBbB' },
        contents: 'Hello, Bob!',
      },
    } as const;
    const signature = await signTypedData({
      typedData,
      address: vault(),
      sign: inMemorySigner(shares(), 't'),
    });
    expect(await verifyTypedData({ ...typedData, address: vault() as Hex, signature })).toBe(true);
  });
});
