/**
 * Golden transcripts (ARCHITECTURE style rule 7): re-runs the seeded DKG and signing ceremonies of
 * `vectors.ts` and compares every message hash, byte count, descriptor, key-share digest and the
 * signature with `dkg.golden.json` / `sign.golden.json` exactly. Any drift in the wire format, RNG
 * consumption or protocol arithmetic shows up here first. If the change is intentional, run
 * `npm run golden` and commit the reviewed diff; otherwise it is a regression.
 */
import { readFileSync } from 'node:fs';
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { beforeAll, describe, expect, it } from 'vitest';
import { ethereumAddress } from '../../src/address.ts';
import { fromHex } from '../../src/bytes.ts';
import {
  buildDkgGolden,
  buildSignGolden,
  type DkgGolden,
  GOLDEN_FILES,
  type SignGolden,
  serialise,
} from './vectors.ts';

const HINT =
  'golden transcript drifted. If this change to the protocol, wire format or RNG use is intentional, run `npm run golden` and commit the reviewed diff; otherwise it is a regression';

const load = <T>(url: URL): T => JSON.parse(readFileSync(url, 'utf8')) as T;

describe('golden transcripts', () => {
  let dkg: DkgGolden;
  let sign: SignGolden;
  const expectedDkg = load<DkgGolden>(GOLDEN_FILES.dkg);
  const expectedSign = load<SignGolden>(GOLDEN_FILES.sign);

  beforeAll(() => {
    const built = buildDkgGolden();
    dkg = built.golden;
    sign = buildSignGolden(built.results);
  });

  it('the golden files are the canonical serialisation of their contents', () => {
    expect(readFileSync(GOLDEN_FILES.dkg, 'utf8'), 'dkg.golden.json was hand-edited or reformatted').toBe(
      serialise(expectedDkg),
    );
    expect(readFileSync(GOLDEN_FILES.sign, 'utf8'), 'sign.golden.json was hand-edited or reformatted').toBe(
      serialise(expectedSign),
    );
  });

  it('DKG: parameters, message hashes in delivery order and round byte counts match', () => {
    expect(dkg.parameters, `DKG parameters: ${HINT}`).toEqual(expectedDkg.parameters);
    expect(dkg.traffic.messages.length, `DKG message count: ${HINT}`).toBe(
      expectedDkg.traffic.messages.length,
    );
    dkg.traffic.messages.forEach((m, i) => {
      expect(m, `DKG message #${i} (round ${m.round}): ${HINT}`).toEqual(expectedDkg.traffic.messages[i]);
    });
    expect(dkg.traffic.bytesByRound, `DKG bytes by round: ${HINT}`).toEqual(expectedDkg.traffic.bytesByRound);
    expect(dkg.traffic.totalBytes, `DKG total bytes: ${HINT}`).toBe(expectedDkg.traffic.totalBytes);
  });

  it('DKG: descriptors, vault address and key-share digests match', () => {
    expect(dkg.descriptors, `DKG descriptors: ${HINT}`).toEqual(expectedDkg.descriptors);
    expect(new Set(dkg.descriptors).size, 'every party holds the same descriptor').toBe(1);
    expect(dkg.vaultId, `vault id: ${HINT}`).toBe(expectedDkg.vaultId);
    expect(dkg.groupPublicKey, `group key: ${HINT}`).toBe(expectedDkg.groupPublicKey);
    expect(dkg.address, `vault address: ${HINT}`).toBe(expectedDkg.address);
    expect(dkg.keyShareSha256, `key-share digests: ${HINT}`).toEqual(expectedDkg.keyShareSha256);
    expect(new Set(dkg.keyShareSha256).size, 'key shares differ per party').toBe(3);
    // The whole record, in case a field is added to one side only.
    expect(dkg, `DKG record: ${HINT}`).toEqual(expectedDkg);
  });

  it('signing: message hashes, byte counts and the signature match', () => {
    expect(sign.parameters, `signing parameters: ${HINT}`).toEqual(expectedSign.parameters);
    sign.traffic.messages.forEach((m, i) => {
      expect(m, `signing message #${i} (round ${m.round}): ${HINT}`).toEqual(
        expectedSign.traffic.messages[i],
      );
    });
    expect(sign.traffic.bytesByRound, `signing bytes by round: ${HINT}`).toEqual(
      expectedSign.traffic.bytesByRound,
    );
    expect(sign.signature, `signature: ${HINT}`).toEqual(expectedSign.signature);
    expect(sign, `signing record: ${HINT}`).toEqual(expectedSign);
  });

  it('the recorded signature verifies with plain secp256k1 and recovers to the recorded address', () => {
    // Guards the files themselves: a regenerated vector must still be a valid signature.
    const digest = fromHex(expectedSign.parameters.digest);
    const compact = fromHex(expectedSign.signature.compact);
    const pub = fromHex(expectedDkg.groupPublicKey);
    expect(secp256k1.verify(compact, digest, pub, { prehash: false, lowS: true })).toBe(true);
    const recovered = secp256k1.Signature.fromBytes(compact, 'compact')
      .addRecoveryBit(expectedSign.signature.recovery)
      .recoverPublicKey(digest);
    expect(ethereumAddress(recovered)).toBe(expectedDkg.address);
    expect(expectedSign.parameters.vaultId).toBe(expectedDkg.vaultId);
  });
});
