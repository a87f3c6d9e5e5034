/**
 * Warnings raised outside a call family: calldata to an address without code, first interactions,
 * failing chain reads, personal_sign messages (text vs hex, pending transaction hash), and the
 * origin describer (punycode, mixed scripts, look-alikes, long subdomain chains, plain http).
 */
import { type Address, encodeFunctionData, erc20Abi, type Hex, hashMessage, stringToHex } from 'viem';
import { describe, expect, it } from 'vitest';
import {
  describeMessage,
  describeOrigin,
  describeTx,
  hostToUnicode,
  lookalikeOf,
} from '../../src/vault/describe/index.ts';
import { BOB, fakeChain, mainnet, ROUTER, USDC } from './helpers.ts';

const codes = (d: { warnings: { code: string }[] }) => d.warnings.map((w) => w.code);
const transfer = encodeFunctionData({ abi: erc20Abi, functionName: 'transfer', args: [BOB, 1n] });

describe('transaction warnings', () => {
  it('calldata sent to an address without code', async () => {
    const empty = '0x5555555555555555555555555555555555555555' as Address;
    const d = await describeTx({ to: empty, data: transfer }, mainnet());
    expect(codes(d)).toContain('TARGET_HAS_NO_CODE');
    // A plain value transfer to an account is ordinary.
    const plain = await describeTx({ to: empty, value: 1n }, mainnet());
    expect(codes(plain)).toEqual([]);
    expect(plain.title).toBe('Sends 0.000000000000000001 ETH to 0x5555…5555');
  });

  it('first interaction with the target and with the recipient', async () => {
    const seen = new Set([USDC.toLowerCase()]);
    const ctx = mainnet({ known: { hasInteracted: async (a) => seen.has(a.toLowerCase()) } });
    const d = await describeTx({ to: USDC, data: transfer }, ctx);
    expect(d.warnings.filter((w) => w.code === 'FIRST_INTERACTION').map((w) => w.message)).toEqual([
      'This vault has never interacted with 0x2222…2222 (recipient).',
    ]);
    seen.add(BOB.toLowerCase());
    expect(codes(await describeTx({ to: USDC, data: transfer }, ctx))).toEqual([]);
  });

  it('a failing chain reader leaves one warning and still describes the call', async () => {
    const d = await describeTx(
      { to: USDC, data: transfer },
      { chainId: 1, chain: fakeChain({ fail: true }) },
    );
    expect(d.refused).toBe(false);
    expect(d.calls?.status).toBe('decoded');
    expect(codes(d).filter((c) => c === 'CHAIN_READ_FAILED')).toHaveLength(1);
  });

  it('a transaction for another chain is refused; contract creation is flagged', async () => {
    const d = await describeTx({ to: USDC, data: transfer, chainId: '0x5' }, mainnet());
    expect(d.refused).toBe(true);
    expect(codes(d)).toContain('CHAIN_MISMATCH');
    const create = await describeTx({ data: '0x6080' }, mainnet());
    expect(codes(create)).toEqual(['CONTRACT_CREATION']);
  });
});

describe('personal_sign', () => {
  it('printable UTF-8 is shown as text with its EIP-191 digest', async () => {
    const text = 'Sign in to example.org\nNonce: 42 — ✓';
    const d = await describeMessage(stringToHex(text), { chainId: 1 });
    expect(d.message?.encoding).toBe('utf8');
    expect(d.message?.text).toBe(text);
    expect(d.message?.digest).toBe(hashMessage(text));
    expect(codes(d)).toEqual([]);
  });

  it('binary, invalid UTF-8 and bidi-override text are shown as hex', async () => {
    for (const bytes of ['0x00ff10', '0xc328', stringToHex('pay \u202Eevil')] as Hex[]) {
      const d = await describeMessage(bytes, { chainId: 1 });
      expect(d.message?.encoding).toBe('hex');
      expect(d.message?.text).toBe(bytes);
      expect(codes(d)).toEqual(['MESSAGE_NOT_TEXT']);
    }
  });

  it('a message equal to a pending transaction hash warns', async () => {
    const h = `0x${'ab'.repeat(32)}` as Hex;
    const ctx = {
      chainId: 1,
      pending: { pendingHashes: async () => [h.toUpperCase().replace('0X', '0x') as Hex] },
    };
    const d = await describeMessage(h, ctx);
    expect(codes(d)).toEqual(['MESSAGE_IS_PENDING_TX_HASH', 'MESSAGE_NOT_TEXT']);
    const other = await describeMessage(`0x${'cd'.repeat(32)}`, ctx);
    expect(codes(other)).toEqual(['MESSAGE_NOT_TEXT']);
  });

  it('a non-string payload is refused, keeping the raw body', async () => {
    const d = await describeMessage(42, { chainId: 1 });
    expect(d.refused).toBe(true);
    expect(d.raw).toBe(42);
  });
});

describe('origin', () => {
  it('decodes punycode like the platform does', async () => {
    const { domainToUnicode } = await import('node:url');
    for (const host of [
      'xn--mnchen-3ya.de',
      'xn--uniswp-7nf.org',
      'xn--v-7sbav.com',
      'xn--80ak6aa92e.com',
      'xn--fiqs8s.xn--fiqz9s',
    ]) {
      expect(hostToUnicode(host).unicode).toBe(domainToUnicode(host));
    }
  });

  it('a well-known domain and its subdomains pass', () => {
    expect(describeOrigin('https://app.uniswap.org').warnings).toEqual([]);
    expect(describeOrigin('http://localhost:5173').warnings).toEqual([]);
  });

  it('flags a Cyrillic homograph (punycode, mixed scripts, look-alike)', () => {
    // "uniswаp.org" with a Cyrillic "а".
    const o = describeOrigin('https://xn--uniswp-7nf.org');
    expect(o.hostUnicode).toBe('uniswаp.org');
    expect(codes(o).sort()).toEqual(['ORIGIN_LOOKALIKE', 'ORIGIN_MIXED_SCRIPTS', 'ORIGIN_PUNYCODE']);
    // An all-Cyrillic look-alike has no mixed label but still folds to the known name.
    expect(lookalikeOf('аррӏе.com')).toBeNull();
    expect(lookalikeOf('ааvе.com')).toBe('aave.com');
  });

  it('flags typo-squats, brand-in-subdomain and long chains', () => {
    expect(lookalikeOf('uniswep.org')).toBe('uniswap.org');
    expect(lookalikeOf('un1swap.com')).toBe('uniswap.org');
    expect(lookalikeOf('uniswap.org.claim-rewards.xyz')).toBe('uniswap.org');
    expect(lookalikeOf('opensea-airdrop.com')).toBe('opensea.io');
    expect(lookalikeOf('example.org')).toBeNull();
    expect(lookalikeOf('dave.com')).toBeNull();
    expect(codes(describeOrigin('https://a.b.c.d.e.example.org'))).toEqual(['ORIGIN_LONG_SUBDOMAIN']);
  });

  it('plain http off localhost is dangerous; a non-web origin is refused', () => {
    expect(codes(describeOrigin('http://example.org'))).toEqual(['ORIGIN_INSECURE']);
    expect(describeOrigin('chrome-extension://abc').warnings[0]?.severity).toBe('refuse');
    expect(describeOrigin('not a url').warnings[0]?.code).toBe('ORIGIN_UNPARSEABLE');
  });

  it('origin warnings are part of every description', async () => {
    const d = await describeMessage(stringToHex('hi'), { chainId: 1, origin: 'https://xn--uniswp-7nf.org' });
    expect(d.origin?.display).toBe('https://uniswаp.org');
    expect(codes(d)).toContain('ORIGIN_LOOKALIKE');
    const r = await describeTx({ to: ROUTER, value: 1n }, { chainId: 1, origin: 'file:///etc/passwd' });
    expect(r.refused).toBe(true);
  });
});
