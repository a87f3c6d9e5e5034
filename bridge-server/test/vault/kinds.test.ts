/**
 * Request kinds `message` (EIP-191 personal_sign) and `typed-data` (EIP-712 as canonical JSON), and
 * the origin a send/message/typed-data body carries: canonical round trips inside a full request,
 * digests every device recomputes (the spec's "Mail" vector, a fast-check differential against
 * @metamask/eth-sig-util V4, viem's hashMessage), refusals of malformed bodies, non-canonical
 * typed data, a `domain.chainId` other than the request's chain, and bad origins; and the check a
 * device runs on a returned 65-byte signature before storing it or handing it to a site.
 */
import { SignTypedDataVersion, TypedDataUtils } from '@metamask/eth-sig-util';
import { secp256k1 } from '@noble/curves/secp256k1.js';
import fc from 'fast-check';
import { bytesToHex, hashMessage, hexToBytes, recoverMessageAddress, stringToBytes } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { describe, expect, it } from 'vitest';
import {
  bodyDigests,
  bodyOrigin,
  canonicalTypedData,
  checkDigestSignature,
  decodeRequest,
  describeBody,
  encodeRequest,
  isSigningBody,
  MAX_MESSAGE_BYTES,
  REQUEST_TTL_MS,
  type RequestBody,
  sessionKind,
  type VaultRequest,
} from '../../src/vault/index.ts';

const utf8 = (s: string) => new TextEncoder().encode(s);
const MAIL_DIGEST = '0xbe609aee343fb3c4b28e1df9e632fca64fcfaede20f02e86244efddf30957bd2';
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

function request(body: RequestBody): VaultRequest {
  return {
    id: '11'.repeat(16),
    vaultId: '22'.repeat(16),
    keyId: '33'.repeat(32),
    groupKey: `02${'44'.repeat(32)}`,
    epoch: 0,
    sid: 'sid-1',
    initiator: '55'.repeat(32),
    createdAt: 1_700_000_000_000,
    expiresAt: 1_700_000_000_000 + REQUEST_TTL_MS,
    body,
  };
}
const roundTrip = (body: RequestBody) => {
  const bytes = encodeRequest(request(body));
  const back = decodeRequest(bytes);
  expect(encodeRequest(back)).toEqual(bytes);
  return back.body;
};
/** Request bytes with the body's JSON replaced by `f(body)` (everything else canonical). */
const withBody = (body: RequestBody, f: (b: Record<string, unknown>) => void): Uint8Array => {
  const j = JSON.parse(new TextDecoder().decode(encodeRequest(request(body)))) as {
    body: Record<string, unknown>;
  };
  f(j.body);
  return utf8(JSON.stringify(j));
};

describe('message kind', () => {
  const body: RequestBody = {
    kind: 'message',
    chainId: 31337,
    origin: 'http://127.0.0.1:5173',
    message: utf8('Sign in to Example\nNonce: 42'),
  };

  it('round-trips byte-identically, with and without an origin', () => {
    expect(roundTrip(body)).toEqual(body);
    const plain = { ...body, origin: null } as RequestBody;
    expect(roundTrip(plain)).toEqual(plain);
    expect(new TextDecoder().decode(encodeRequest(request(plain)))).not.toContain('origin');
    expect(sessionKind(body)).toBe('sign');
    expect(isSigningBody(body)).toBe(true);
    expect(bodyOrigin(body)).toBe('http://127.0.0.1:5173');
  });

  it('signs the EIP-191 digest of the raw bytes, recomputed from the body', async () => {
    const b = roundTrip(body);
    const [digest] = bodyDigests(b);
    expect(bytesToHex(digest!)).toBe(hashMessage('Sign in to Example\nNonce: 42'));
    // A real key's personal_sign over the same bytes verifies against that digest.
    const account = privateKeyToAccount(`0x${'07'.repeat(32)}`);
    const sig = await account.signMessage({ message: { raw: (b as { message: Uint8Array }).message } });
    expect(await recoverMessageAddress({ message: 'Sign in to Example\nNonce: 42', signature: sig })).toBe(
      account.address,
    );
    const d = describeBody(b);
    expect(d).toMatchObject({ kind: 'message', origin: 'http://127.0.0.1:5173' });
    expect(d.kind === 'message' && d.view.encoding).toBe('utf8');
  });

  it('shows bytes that are not text as hex', () => {
    const d = describeBody({ ...body, message: Uint8Array.from([0xde, 0xad, 0x00, 0xef]) } as RequestBody);
    expect(d.kind === 'message' && d.view).toMatchObject({ encoding: 'hex', text: '0xdead00ef' });
  });

  it('refuses an empty or oversized message and extra keys', () => {
    expect(() =>
      decodeRequest(encodeRequest(request({ ...body, message: new Uint8Array(0) } as RequestBody))),
    ).toThrow(/message size out of range/);
    const big = { ...body, message: new Uint8Array(MAX_MESSAGE_BYTES + 1).fill(65) } as RequestBody;
    expect(() => decodeRequest(encodeRequest(request(big)))).toThrow(/schema|out of range/);
    expect(() => decodeRequest(withBody(body, (b) => (b.hash = '00')))).toThrow(/schema/);
    expect(() => decodeRequest(withBody(body, (b) => (b.message = 'a+b/')))).toThrow(/schema/);
  });

  it('refuses an origin that is not an https (or local http) origin in serialised form', () => {
    for (const origin of [
      'http://evil.example',
      'https://app.example/',
      'https://APP.example',
      'javascript:alert(1)',
      'https://app.example/path',
      'chrome-extension://abcdefghijklmnop',
      'not an origin',
    ]) {
      expect(() => decodeRequest(withBody(body, (b) => (b.origin = origin))), origin).toThrow(
        /origin|schema/,
      );
    }
    for (const origin of ['https://app.example', 'https://xn--pple-43d.com', 'http://localhost:3000']) {
      expect(bodyOrigin(decodeRequest(withBody(body, (b) => (b.origin = origin))).body)).toBe(origin);
    }
  });
});

describe('typed-data kind', () => {
  const body = (data: unknown, chainId = 1): RequestBody => ({
    kind: 'typed-data',
    chainId,
    origin: 'https://mail.example',
    data: canonicalTypedData(data),
  });

  it('signs the spec "Mail" digest, recomputed from canonical JSON', () => {
    const b = roundTrip(body(MAIL));
    expect(bytesToHex(bodyDigests(b)[0]!)).toBe(MAIL_DIGEST);
    expect(describeBody(b)).toMatchObject({
      kind: 'typed-data',
      origin: 'https://mail.example',
      primaryType: 'Mail',
      domainChainId: 1,
      digest: MAIL_DIGEST,
    });
  });

  it('has one canonical form whatever the dApp sent (key order, number forms, address case)', () => {
    const shuffled = {
      message: {
        contents: 'Hello, Bob!',
        to: { wallet: '0xbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb', name: 'Bob' },
        from: { wallet: '0xcd2a3d9f938e13cd947ec05abc7fe734df8dd826', name: 'Cow' },
      },
      domain: { ...MAIL.domain, chainId: '0x1' },
      primaryType: 'Mail',
      types: { Mail: MAIL.types.Mail, Person: MAIL.types.Person, EIP712Domain: MAIL.types.EIP712Domain },
    };
    expect(canonicalTypedData(JSON.stringify(shuffled))).toBe(canonicalTypedData(MAIL));
    expect(canonicalTypedData(MAIL)).toContain('"chainId":"1"');
  });

  it('refuses typed data that is not in canonical form', () => {
    const b = body(MAIL);
    const data = (b as { data: string }).data;
    const variants = [
      JSON.stringify(MAIL), // the dApp's own form: chainId as a number
      data.replace('{"types"', '{ "types"'),
      data.replace('"chainId":"1"', '"chainId":"0x1"'),
      data.replace(
        '0xCcCCccccCCCCcCCCCCCcCcCccCcCCCcCcccccccC',
        '0xcccccccccccccccccccccccccccccccccccccccc',
      ),
    ];
    for (const v of variants) {
      expect(() => decodeRequest(withBody(b, (x) => (x.data = v)))).toThrow(/canonical/);
    }
  });

  it('refuses malformed typed data with a specific reason', () => {
    const b = body(MAIL);
    const data = (b as { data: string }).data;
    const cases: [string, RegExp][] = [
      ['not json', /not JSON/],
      [
        data.replace('"contents":"Hello, Bob!"', '"contents":"Hello, Bob!","contents":"Hi"'),
        /repeats the key/,
      ],
      [data.replace('"contents":"Hello, Bob!"', '"contents":"Hello","extra":"1"'), /not a field of Mail/],
      [data.replace('"primaryType":"Mail"', '"primaryType":"Letter"'), /not defined/],
      [data.replace('"primaryType":"Mail"', '"primaryType":"EIP712Domain"'), /signs no message/],
      [data.replace('"name":"Cow",', ''), /missing/],
    ];
    for (const [v, why] of cases) {
      expect(() => decodeRequest(withBody(b, (x) => (x.data = v))), v.slice(0, 40)).toThrow(why);
    }
    expect(() => canonicalTypedData({ ...MAIL, domain: { ...MAIL.domain, chainId: -1 } })).toThrow(
      /does not fit uint256/,
    );
  });

  it('refuses a domain.chainId other than the request chain (number, hex string, decimal string)', () => {
    for (const chainId of [5, '0x5', '5']) {
      const td = { ...MAIL, domain: { ...MAIL.domain, chainId } };
      const b = body(td, 1);
      expect(() => decodeRequest(encodeRequest(request(b)))).toThrow(/typed data is for chain 5.*chain 1/);
      expect(() => describeBody(b)).toThrow(/chain 5/);
    }
    // The same typed data for its own chain is fine; a domain without chainId is left to the warnings.
    expect(() => roundTrip(body({ ...MAIL, domain: { ...MAIL.domain, chainId: '0x5' } }, 5))).not.toThrow();
    const { chainId: _c, ...noChain } = MAIL.domain;
    const noChainTd = {
      ...MAIL,
      types: { ...MAIL.types, EIP712Domain: MAIL.types.EIP712Domain.filter((f) => f.name !== 'chainId') },
      domain: noChain,
    };
    expect(describeBody(roundTrip(body(noChainTd, 10)))).toMatchObject({ domainChainId: null });
  });

  // Generated typed data (a nested struct, arrays, every atomic family), differential with eth-sig-util.
  const atomic = fc.constantFrom(
    'address',
    'bool',
    'string',
    'bytes',
    'uint8',
    'uint256',
    'int64',
    'bytes32',
  );
  const sample = (type: string): fc.Arbitrary<unknown> => {
    switch (type) {
      case 'address':
        return fc.uint8Array({ minLength: 20, maxLength: 20 }).map((b) => bytesToHex(b));
      case 'bool':
        return fc.boolean();
      case 'string':
        return fc.string({ unit: 'grapheme', maxLength: 16 });
      case 'bytes':
        return fc.uint8Array({ maxLength: 40 }).map((b) => bytesToHex(b));
      case 'bytes32':
        return fc.uint8Array({ minLength: 32, maxLength: 32 }).map((b) => bytesToHex(b));
      case 'uint8':
        return fc.integer({ min: 0, max: 255 });
      case 'uint256':
        return fc.bigInt({ min: 0n, max: 2n ** 256n - 1n }).map((n) => `0x${n.toString(16)}`);
      default:
        return fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }).map((n) => n.toString());
    }
  };
  const generated = fc
    .record({
      inner: fc.array(atomic, { minLength: 1, maxLength: 4 }),
      outer: fc.array(atomic, { maxLength: 3 }),
      many: fc.boolean(),
      chainId: fc.integer({ min: 1, max: 2 ** 31 }),
    })
    .chain(({ inner, outer, many, chainId }) => {
      const innerFields = inner.map((t, i) => ({ name: `i${i}`, type: t }));
      const outerFields = [
        ...outer.map((t, i) => ({ name: `o${i}`, type: t })),
        { name: 'child', type: many ? 'Inner[]' : 'Inner' },
      ];
      const innerValue = fc.record(Object.fromEntries(innerFields.map((f) => [f.name, sample(f.type)])));
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
        message: fc.record({
          ...Object.fromEntries(outer.map((t, i) => [`o${i}`, sample(t)])),
          child: many ? fc.array(innerValue, { maxLength: 3 }) : innerValue,
        }),
      });
    });

  it('digest of the canonical body equals @metamask/eth-sig-util V4 on the dApp input', () => {
    fc.assert(
      fc.property(generated, (td) => {
        const b = roundTrip(body(JSON.stringify(td), td.domain.chainId));
        // biome-ignore lint/suspicious/noExplicitAny: eth-sig-util's TypedMessage generic wants literal type names.
        const theirs = bytesToHex(TypedDataUtils.eip712Hash(td as any, SignTypedDataVersion.V4));
        expect(bytesToHex(bodyDigests(b)[0]!)).toBe(theirs);
        // Canonicalising is idempotent.
        expect(canonicalTypedData((b as { data: string }).data)).toBe((b as { data: string }).data);
      }),
      { numRuns: 100 },
    );
  });
});

describe('send kind carries the site origin', () => {
  const tx = Uint8Array.from([0x02, 0xf8, 0x6c, 0x01, 0x80, 0x84]);
  it('round-trips with an origin; a send without one keeps its old bytes', () => {
    const withOrigin: RequestBody = { kind: 'send', chainId: 1, tx, origin: 'https://app.uniswap.org' };
    expect(roundTrip(withOrigin)).toEqual(withOrigin);
    expect(bodyOrigin(withOrigin)).toBe('https://app.uniswap.org');
    const plain: RequestBody = { kind: 'send', chainId: 1, tx };
    expect(new TextDecoder().decode(encodeRequest(request(plain)))).toContain(
      '"body":{"kind":"send","chainId":1,"tx":',
    );
    expect(bodyOrigin(roundTrip(plain))).toBeNull();
    expect(() => decodeRequest(withBody(plain, (b) => (b.origin = 'http://evil.example')))).toThrow(/origin/);
  });
});

describe('returned signatures', () => {
  const sk = secp256k1.utils.randomSecretKey();
  const groupKey = bytesToHex(secp256k1.getPublicKey(sk, true)).slice(2);
  const digest = hexToBytes(hashMessage('hello'));
  const sign = (d: Uint8Array) => {
    const rec = secp256k1.sign(d, sk, { prehash: false, format: 'recovered', lowS: true });
    const out = new Uint8Array(65);
    out.set(rec.subarray(1), 0);
    out[64] = rec[0]! + 27;
    return out;
  };

  it("accepts the vault key's signature of the digest with the right v", () => {
    expect(() => checkDigestSignature(sign(digest), digest, groupKey)).not.toThrow();
  });

  it('refuses another digest, another key, a flipped v, high s, and a wrong length', () => {
    const sig = sign(digest);
    expect(() => checkDigestSignature(sig, hexToBytes(hashMessage('other')), groupKey)).toThrow(
      /does not verify/,
    );
    const otherKey = bytesToHex(secp256k1.getPublicKey(secp256k1.utils.randomSecretKey(), true)).slice(2);
    expect(() => checkDigestSignature(sig, digest, otherKey)).toThrow(/does not verify/);
    const flipped = sig.slice();
    flipped[64] = sig[64] === 27 ? 28 : 27;
    expect(() => checkDigestSignature(flipped, digest, groupKey)).toThrow(/recover/);
    const zeroV = sig.slice();
    zeroV[64] = 0;
    expect(() => checkDigestSignature(zeroV, digest, groupKey)).toThrow(/27 nor 28/);
    const n = secp256k1.Point.CURVE().n;
    const s = BigInt(bytesToHex(sig.subarray(32, 64)));
    const high = sig.slice();
    high.set(hexToBytes(`0x${(n - s).toString(16).padStart(64, '0')}`), 32);
    expect(() => checkDigestSignature(high, digest, groupKey)).toThrow(/does not verify/);
    expect(() => checkDigestSignature(sig.subarray(0, 64), digest, groupKey)).toThrow(/65 bytes/);
    expect(() => checkDigestSignature(sig, stringToBytes('short'), groupKey)).toThrow(/32 bytes/);
  });
});
