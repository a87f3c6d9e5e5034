/**
 * Properties of the DKG and signing wire codecs (tss/src/dkg/messages.ts, tss/src/sign/messages.ts;
 * ARCHITECTURE rule 5): random valid messages round-trip exactly (decode ∘ encode = id, and
 * re-encoding is byte-identical), every truncation and every trailing byte is refused with a typed
 * error, counts that disagree with the parameters are refused, and arbitrary bytes never make a
 * decoder throw anything but a `TssError`.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { toHex } from '../../src/bytes.ts';
import {
  type DkgR2ToPeer,
  decodeDkgR1,
  decodeDkgR2,
  decodeDkgR3,
  decodeDkgR4,
  encodeDkgR1,
  encodeDkgR2,
  encodeDkgR3,
  encodeDkgR4,
} from '../../src/dkg/messages.ts';
import { TssError } from '../../src/errors.ts';
import { Point } from '../../src/math/scalar.ts';
import type { SchnorrProof } from '../../src/proofs/schnorr.ts';
import {
  decodeSignS0,
  decodeSignS1,
  decodeSignS2,
  decodeSignS3,
  encodeSignS0,
  encodeSignS1,
  encodeSignS2,
  encodeSignS3,
} from '../../src/sign/messages.ts';
import { bytes, point, RUNS, scalar, varBytes } from './arbitraries.ts';

/** Points and bytes to hex, recursively, so decoded and original messages compare structurally. */
function norm(v: unknown): unknown {
  if (v instanceof Point) return `P:${toHex(v.toBytes(true))}`;
  if (v instanceof Uint8Array) return `B:${toHex(v)}`;
  if (Array.isArray(v)) return v.map(norm);
  if (v !== null && typeof v === 'object') {
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, norm(x)]));
  }
  return v;
}

const isTssError = (f: () => unknown): boolean => {
  try {
    f();
    return false;
  } catch (e) {
    return e instanceof TssError;
  }
};
const codeOf = (f: () => unknown): string => {
  try {
    f();
    return 'ok';
  } catch (e) {
    return e instanceof TssError ? e.code : `non-TssError: ${String(e)}`;
  }
};

const proof = (): fc.Arbitrary<SchnorrProof> => fc.record({ R: point(), z: scalar() });
const proofs = (n: number) => fc.array(proof(), { minLength: n, maxLength: n });

interface Case<M> {
  readonly name: string;
  readonly arb: fc.Arbitrary<{ m: M; param: number }>;
  readonly encode: (m: M) => Uint8Array;
  readonly decode: (b: Uint8Array, param: number) => M;
  /** Decoding with this parameter instead must fail (wrong expected count), if the codec takes one. */
  readonly wrongParam?: (param: number) => number;
}

const noParam = <M>(arb: fc.Arbitrary<M>) => arb.map((m) => ({ m, param: 0 }));
const withCount = <M>(build: (n: number) => fc.Arbitrary<M>) =>
  fc.integer({ min: 1, max: 4 }).chain((n) => build(n).map((m) => ({ m, param: n })));

const cases = [
  {
    name: 'dkg.r1',
    arb: noParam(fc.record({ contribution: bytes(32), commitment: bytes(32) })),
    encode: encodeDkgR1,
    decode: (b: Uint8Array) => decodeDkgR1(b),
  },
  {
    name: 'dkg.r2',
    arb: withCount(
      (t): fc.Arbitrary<DkgR2ToPeer> =>
        fc.record({
          echo: bytes(32),
          feldman: fc.array(point(), { minLength: t, maxLength: t }),
          salt: bytes(32),
          proofs: proofs(t),
          ot: varBytes(64),
        }),
    ),
    encode: encodeDkgR2,
    decode: decodeDkgR2,
    wrongParam: (t: number) => t + 1,
  },
  {
    name: 'dkg.r3',
    arb: withCount((w) =>
      fc.record({
        echo: bytes(32),
        shares: fc.array(scalar(), { minLength: w, maxLength: w }),
        zeroSeed: bytes(32),
        ot: varBytes(64),
      }),
    ),
    encode: encodeDkgR3,
    decode: decodeDkgR3,
    wrongParam: (w: number) => w + 1,
  },
  {
    name: 'dkg.r4',
    // param w: the sender's power (w proofs) and, for w + 1 parties, w zero-seed confirmations.
    arb: withCount((w) =>
      fc.record({
        transcript: bytes(32),
        proofs: proofs(w),
        zeroSeedConfirmations: fc.array(bytes(32), { minLength: w, maxLength: w }),
      }),
    ),
    encode: encodeDkgR4,
    decode: (b: Uint8Array, w: number) => decodeDkgR4(b, w, w + 1),
    wrongParam: (w: number) => w - 1,
  },
  {
    name: 'sign.s0',
    arb: noParam(
      fc.record({
        vaultId: bytes(32),
        epoch: fc.integer({ min: 0, max: 0xffffffff }),
        digest: bytes(32),
        setHash: bytes(32),
        contribution: bytes(32),
        commitR: bytes(32),
      }),
    ),
    encode: encodeSignS0,
    decode: (b: Uint8Array) => decodeSignS0(b),
  },
  {
    name: 'sign.s1',
    arb: noParam(fc.record({ view: bytes(32), rvole: varBytes(96) })),
    encode: encodeSignS1,
    decode: (b: Uint8Array) => decodeSignS1(b),
  },
  {
    name: 'sign.s2',
    arb: noParam(
      fc.record({
        view: bytes(32),
        rvole: varBytes(96),
        R: point(),
        salt: bytes(32),
        pk: point(),
        gammaU: point(),
        gammaV: point(),
        psi: scalar(),
      }),
    ),
    encode: encodeSignS2,
    decode: (b: Uint8Array) => decodeSignS2(b),
  },
  {
    name: 'sign.s3',
    arb: noParam(fc.record({ view: bytes(32), u: scalar(), w: scalar() })),
    encode: encodeSignS3,
    decode: (b: Uint8Array) => decodeSignS3(b),
  },
] as Case<unknown>[];

describe.each(cases.map((c) => [c.name, c] as const))('%s codec', (_name, c) => {
  it('round-trips random valid messages and re-encodes byte-identically', () => {
    fc.assert(
      fc.property(c.arb, ({ m, param }) => {
        const enc = c.encode(m);
        const dec = c.decode(enc, param);
        expect(norm(dec)).toEqual(norm(m));
        expect(toHex(c.encode(dec))).toBe(toHex(enc));
      }),
      { numRuns: RUNS.medium },
    );
  });

  it('refuses every truncation and any trailing byte with a TssError', () => {
    fc.assert(
      fc.property(c.arb, fc.nat(), fc.integer({ min: 0, max: 255 }), ({ m, param }, cut, extra) => {
        const enc = c.encode(m);
        for (const n of [0, 1, 2, cut % enc.length, enc.length - 1]) {
          expect(
            isTssError(() => c.decode(enc.slice(0, n), param)),
            `cut at ${n}/${enc.length}`,
          ).toBe(true);
        }
        const longer = Uint8Array.of(...enc, extra);
        expect(codeOf(() => c.decode(longer, param))).toBe('DECODE_FAILED');
      }),
      { numRuns: RUNS.medium },
    );
  });

  it('refuses a wrong wire version or message type', () => {
    fc.assert(
      fc.property(c.arb, fc.integer({ min: 0, max: 255 }), ({ m, param }, b) => {
        const enc = c.encode(m);
        const v = enc.slice();
        v[0] = b === enc[0] ? (b + 1) & 0xff : b;
        expect(codeOf(() => c.decode(v, param))).toBe('UNSUPPORTED_VERSION');
        const t = enc.slice();
        t[1] = b === enc[1] ? (b + 1) & 0xff : b;
        expect(codeOf(() => c.decode(t, param))).toBe('WRONG_ROUND');
      }),
      { numRuns: RUNS.medium },
    );
  });

  const wrongParam = c.wrongParam;
  if (wrongParam) {
    it('refuses a count that disagrees with the parameters', () => {
      fc.assert(
        fc.property(c.arb, ({ m, param }) => {
          expect(codeOf(() => c.decode(c.encode(m), wrongParam(param)))).toBe('BAD_LENGTH');
        }),
        { numRuns: RUNS.medium },
      );
    });
  }

  it('throws only TssError on arbitrary input', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), fc.integer({ min: 1, max: 4 }), (b, param) => {
        const code = codeOf(() => c.decode(b, param));
        expect(code.startsWith('non-TssError'), code).toBe(false);
      }),
      { numRuns: RUNS.cheap },
    );
  });
});
