/**
 * Tests for the EIP-1559 transaction codec (tx-codec.ts): byte-exact agreement with viem, strict
 * canonical decoding, ERC-20 `transfer` recognition, the EIP-1559 signing hash and signature
 * serialisation (EIP-2 low-s) checked against an independent signer (@noble/curves).
 */
import { secp256k1 } from '@noble/curves/secp256k1.js';
import {
  bytesToHex,
  concatHex,
  encodeFunctionData,
  erc20Abi,
  fromRlp,
  hexToBytes,
  keccak256,
  recoverTransactionAddress,
  serializeTransaction,
  toRlp,
} from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { describe, expect, it } from 'vitest';
import {
  classify,
  decodeUnsignedTx,
  encodeUnsignedTx,
  formatUnitsDisplay,
  MAX_UNSIGNED_TX_BYTES,
  serializeSigned,
  signedTxHash,
  txDigest,
  type UnsignedTx,
} from '../src/background/services/tx-codec.ts';
import { ExtensionError } from '../src/shared/errors.ts';

const KEY = '0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d' as const;
const N = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n;
const TOKEN = '0x5FbDB2315678afecb367f032d93F642f64180aa3' as const;
const BOB = '0x70997970C51812dc3A010C7d01b50e0d17dc79C8' as const;

const base: UnsignedTx = {
  chainId: 31337,
  nonce: 7,
  to: BOB,
  value: 10n ** 18n,
  data: '0x',
  gas: 25_200n,
  maxFeePerGas: 2_000_000_000n,
  maxPriorityFeePerGas: 1_000_000_000n,
};

function viemHex(tx: UnsignedTx): `0x${string}` {
  return serializeTransaction({ type: 'eip1559', ...tx, accessList: [] });
}

function refuses(bytes: Uint8Array, pattern: RegExp): void {
  let err: unknown;
  try {
    decodeUnsignedTx(bytes);
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(ExtensionError);
  expect((err as ExtensionError).code).toBe('INVALID_REQUEST');
  expect((err as ExtensionError).message).toMatch(pattern);
}

/** Re-encodes the 9 RLP items after `edit`, for hand-made malformed inputs. */
type Rlp = `0x${string}` | Rlp[];

function withItems(tx: UnsignedTx, edit: (items: Rlp[]) => void): Uint8Array {
  const items = fromRlp(`0x${viemHex(tx).slice(4)}`, 'hex') as Rlp[];
  edit(items);
  return hexToBytes(concatHex(['0x02', toRlp(items)]));
}

function sign(digest: Uint8Array): { r: bigint; s: bigint; recovery: number } {
  const sig = secp256k1.sign(digest, hexToBytes(KEY), { prehash: false, format: 'recovered' });
  const parsed = secp256k1.Signature.fromBytes(sig, 'recovered');
  if (parsed.recovery === undefined) throw new Error('no recovery bit');
  return { r: parsed.r, s: parsed.s, recovery: parsed.recovery };
}

describe('encode / decode', () => {
  it('encodes exactly as viem and round-trips', () => {
    const bytes = encodeUnsignedTx(base);
    expect(bytesToHex(bytes)).toBe(viemHex(base));
    expect(bytes[0]).toBe(0x02);
    expect(decodeUnsignedTx(bytes)).toEqual(base);
  });

  it('round-trips zero fields, calldata and a lowercase address (returned checksummed)', () => {
    const tx: UnsignedTx = {
      ...base,
      nonce: 0,
      value: 0n,
      to: BOB.toLowerCase() as `0x${string}`,
      data: '0xdeadbeef',
      maxPriorityFeePerGas: 0n,
    };
    const out = decodeUnsignedTx(encodeUnsignedTx(tx));
    expect(out).toEqual({ ...tx, to: BOB });
  });

  it('refuses non-canonical integers (leading zero) even though they parse', () => {
    const bytes = withItems(base, (items) => {
      items[1] = '0x0007';
    });
    refuses(bytes, /canonical/);
  });

  it('refuses signed, legacy, type-1 and unknown-type transactions', async () => {
    const account = privateKeyToAccount(KEY);
    const signed = await account.signTransaction({ type: 'eip1559', ...base });
    refuses(hexToBytes(signed), /already signed/);

    const legacy = serializeTransaction({
      type: 'legacy',
      chainId: 31337,
      nonce: 1,
      to: BOB,
      value: 1n,
      gas: 21_000n,
      gasPrice: 1n,
    });
    refuses(hexToBytes(legacy), /legacy/);

    const eip2930 = serializeTransaction({
      type: 'eip2930',
      chainId: 31337,
      nonce: 1,
      to: BOB,
      value: 1n,
      gas: 21_000n,
      gasPrice: 1n,
      accessList: [],
    });
    refuses(hexToBytes(eip2930), /type 1/);
    refuses(new Uint8Array([0x04, 0xc0]), /type 4/);
  });

  it('refuses contract creation, access lists, trailing bytes, bad RLP, empty and oversized input', () => {
    refuses(
      withItems(base, (items) => {
        items[5] = '0x';
      }),
      /Contract creation/,
    );
    const withList = serializeTransaction({
      type: 'eip1559',
      ...base,
      accessList: [{ address: TOKEN, storageKeys: [] }],
    });
    refuses(hexToBytes(withList), /access list/);

    const good = encodeUnsignedTx(base);
    const trailing = new Uint8Array(good.length + 1);
    trailing.set(good);
    refuses(trailing, /RLP/);
    refuses(good.subarray(0, good.length - 3), /RLP/);
    refuses(new Uint8Array(0), /empty/);
    refuses(
      withItems(base, (items) => {
        items.push('0x');
      }),
      /10 fields/,
    );
    refuses(
      withItems(base, (items) => {
        items[6] = ['0x01'];
      }),
      /value/,
    );

    const big = encodeUnsignedTx({ ...base, data: bytesToHex(new Uint8Array(MAX_UNSIGNED_TX_BYTES)) });
    refuses(big, /larger than 128 KiB/);
    // Just under the bound is fine.
    const ok = encodeUnsignedTx({ ...base, data: bytesToHex(new Uint8Array(MAX_UNSIGNED_TX_BYTES - 200)) });
    expect(decodeUnsignedTx(ok).data.length).toBe(2 + 2 * (MAX_UNSIGNED_TX_BYTES - 200));
  });

  it('refuses chain id 0 and a priority fee above the fee cap', () => {
    refuses(
      withItems(base, (items) => {
        items[0] = '0x';
      }),
      /chain id/,
    );
    expect(() => encodeUnsignedTx({ ...base, maxPriorityFeePerGas: base.maxFeePerGas + 1n })).toThrow(
      /priority fee/,
    );
  });
});

describe('classify', () => {
  const transfer = encodeFunctionData({ abi: erc20Abi, functionName: 'transfer', args: [BOB, 250_500_000n] });

  it('empty data is a native transfer', () => {
    expect(classify(base)).toEqual({ kind: 'native', recipient: BOB, amount: 10n ** 18n, token: null });
  });

  it('exact ERC-20 transfer calldata with zero value is a token transfer', () => {
    const tx = { ...base, to: TOKEN, value: 0n, data: transfer };
    expect(classify(decodeUnsignedTx(encodeUnsignedTx(tx)))).toEqual({
      kind: 'erc20-transfer',
      recipient: BOB,
      amount: 250_500_000n,
      token: TOKEN,
    });
  });

  it('junk suffix, dirty address padding, ETH value or another function ⇒ contract call', () => {
    const junk = { ...base, to: TOKEN, value: 0n, data: `${transfer}00` as const };
    expect(classify(junk)).toEqual({ kind: 'contract-call', recipient: TOKEN, amount: 0n, token: null });

    // Same selector and amount, but non-zero bytes in the address word's padding.
    const dirty = `${transfer.slice(0, 10)}ff${transfer.slice(12)}` as `0x${string}`;
    expect(classify({ ...base, to: TOKEN, value: 0n, data: dirty }).kind).toBe('contract-call');

    expect(classify({ ...base, to: TOKEN, value: 1n, data: transfer }).kind).toBe('contract-call');

    const approve = encodeFunctionData({ abi: erc20Abi, functionName: 'approve', args: [BOB, 1n] });
    expect(classify({ ...base, to: TOKEN, value: 0n, data: approve }).kind).toBe('contract-call');
    expect(classify({ ...base, value: 5n, data: '0x1234' })).toEqual({
      kind: 'contract-call',
      recipient: BOB,
      amount: 5n,
      token: null,
    });
  });

  it('formats display amounts', () => {
    expect(formatUnitsDisplay(10n ** 18n, 18, 'ETH')).toBe('1 ETH');
    expect(formatUnitsDisplay(250_500_000n, 6, 'USDC')).toBe('250.5 USDC');
    expect(formatUnitsDisplay(7n, 0, '?')).toBe('7 ?');
  });
});

describe('digest and signatures', () => {
  it('txDigest is keccak256 of the unsigned serialisation', () => {
    const bytes = encodeUnsignedTx(base);
    expect(bytesToHex(txDigest(bytes))).toBe(keccak256(viemHex(base)));
    // It refuses to hash what it cannot describe.
    expect(() => txDigest(new Uint8Array([0x01, 0xc0]))).toThrow(ExtensionError);
  });

  it('a noble signature over txDigest serialises into a tx that recovers to the signer', async () => {
    const bytes = encodeUnsignedTx(base);
    const sig = sign(txDigest(bytes));
    const raw = serializeSigned(base, sig);
    const account = privateKeyToAccount(KEY);
    expect(await recoverTransactionAddress({ serializedTransaction: raw as `0x02${string}` })).toBe(
      account.address,
    );
    // RFC 6979 is deterministic, so viem's own signer must produce the very same bytes.
    expect(raw).toBe(await account.signTransaction({ type: 'eip1559', ...base }));
    expect(signedTxHash(raw)).toBe(keccak256(raw));
  });

  it('normalises a high-s signature to low-s (EIP-2) with the same signer', async () => {
    const sig = sign(txDigest(encodeUnsignedTx(base)));
    const low = serializeSigned(base, sig);
    const high = serializeSigned(base, { r: sig.r, s: N - sig.s, recovery: sig.recovery ^ 1 });
    expect(high).toBe(low);
  });

  it('refuses out-of-range signatures', () => {
    expect(() => serializeSigned(base, { r: 0n, s: 1n, recovery: 0 })).toThrow(/out of range/);
    expect(() => serializeSigned(base, { r: 1n, s: N, recovery: 0 })).toThrow(/out of range/);
    expect(() => serializeSigned(base, { r: 1n, s: 1n, recovery: 2 })).toThrow(/recovery/);
  });
});
