/**
 * The public description of a vault that every member holds byte-identically: vault id (a tagged
 * hash of the DKG session id, stable across reshares), DKG session id, epoch, group key, Ethereum
 * address, parties with powers and points, threshold, and every point's public share.
 */
import { ethereumAddress } from './address.ts';
import { equalBytes, toHex } from './bytes.ts';
import { Reader, Writer } from './codec/binary.ts';
import { TssError } from './errors.ts';
import { taggedHash } from './hash.ts';
import { lagrangeAtZero } from './math/lagrange.ts';
import { Point } from './math/scalar.ts';
import { MAX_PARTIES, MAX_TOTAL_POWER, weightedParams } from './math/weighted.ts';
import { TAGS } from './tags.ts';

export const DESCRIPTOR_VERSION = 1;

export interface DescriptorParty {
  readonly id: Uint8Array;
  readonly power: number;
  readonly points: readonly bigint[];
}

export interface VaultDescriptor {
  readonly version: number;
  readonly vaultId: Uint8Array;
  readonly dkgSessionId: Uint8Array;
  readonly epoch: number;
  readonly groupPublicKey: Point;
  /** EIP-55 checksummed. */
  readonly address: string;
  /** Sorted by id; points consecutive from 1. */
  readonly parties: readonly DescriptorParty[];
  readonly threshold: number;
  /** P(x) for x = 1..Σw (index x−1). */
  readonly publicShares: readonly Point[];
}

export function vaultIdFromSession(dkgSessionId: Uint8Array): Uint8Array {
  return taggedHash(TAGS.vaultId, dkgSessionId);
}

export function encodeDescriptor(d: VaultDescriptor): Uint8Array {
  return new Writer()
    .u8(d.version)
    .raw(d.vaultId)
    .raw(d.dkgSessionId)
    .u32(d.epoch)
    .point(d.groupPublicKey)
    .u16(d.threshold)
    .list(d.parties, (w, p) => w.raw(p.id).u16(p.power))
    .list(d.publicShares, (w, P) => w.point(P))
    .finish();
}

export function decodeDescriptor(bytes: Uint8Array): VaultDescriptor {
  const r = new Reader(bytes, 'descriptor');
  r.expectU8(DESCRIPTOR_VERSION, 'descriptor version');
  const vaultId = r.raw(32);
  const dkgSessionId = r.raw(32);
  const epoch = r.u32();
  const groupPublicKey = r.point('groupPublicKey');
  const threshold = r.u16();
  const specs = r.list(1, MAX_PARTIES, (rr) => ({ id: rr.raw(32), power: rr.u16() }));
  const publicShares = r.list(1, MAX_TOTAL_POWER, (rr, i) => rr.point(`publicShare[${i}]`));
  r.end();
  const params = weightedParams(specs, threshold);
  if (publicShares.length !== params.totalPower)
    throw new TssError('BAD_LENGTH', 'descriptor: public share count');
  if (!equalBytes(vaultId, vaultIdFromSession(dkgSessionId))) {
    throw new TssError('DECODE_FAILED', 'descriptor: vault id does not derive from the DKG session id');
  }
  // The first t public shares must interpolate (in the exponent) to the group key.
  const xs = params.parties.flatMap((p) => p.points).slice(0, threshold);
  let implied = Point.ZERO;
  for (const x of xs)
    implied = implied.add(publicShares[Number(x) - 1]!.multiplyUnsafe(lagrangeAtZero(x, xs)));
  if (!implied.equals(groupPublicKey)) {
    throw new TssError(
      'PUBLIC_KEY_MISMATCH',
      'descriptor: public shares do not interpolate to the group key',
    );
  }
  const d: VaultDescriptor = {
    version: DESCRIPTOR_VERSION,
    vaultId,
    dkgSessionId,
    epoch,
    groupPublicKey,
    address: ethereumAddress(groupPublicKey),
    parties: params.parties.map((p) => ({ id: p.id, power: p.power, points: p.points })),
    threshold,
    publicShares,
  };
  return d;
}

export function descriptorToJSON(d: VaultDescriptor): Record<string, unknown> {
  return {
    version: d.version,
    vaultId: toHex(d.vaultId),
    dkgSessionId: toHex(d.dkgSessionId),
    epoch: d.epoch,
    groupPublicKey: toHex(d.groupPublicKey.toBytes(true)),
    address: d.address,
    threshold: d.threshold,
    parties: d.parties.map((p) => ({ id: toHex(p.id), power: p.power, points: p.points.map(Number) })),
    publicShares: d.publicShares.map((P) => toHex(P.toBytes(true))),
  };
}
