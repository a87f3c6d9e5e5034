/**
 * `BackupSource`: the plain input a backup is made from and the output a backup opens to.
 *
 * It is deliberately not the DKG's `KeyShare`: the lead adapts `KeyShare` to this shape, so the file
 * format does not change when the protocol's kept state does. It carries this party's evaluation
 * points only (weighted Shamir, PROTOCOL.md 5; `math/weighted.ts`) and never OT or pairwise state:
 * a restored device runs a fresh pairwise setup.
 *
 * `validateSource` is the one structural check, shared by `createBackup`, `openBackup` and the
 * recovery core, so a hand-built or tampered source is refused the same way everywhere.
 */
import { equalBytes, toHex } from '../bytes.ts';
import { TssError } from '../errors.ts';
import { N, pointFromBytes } from '../math/scalar.ts';
import { PARTY_ID_BYTES, type WeightedParams, weightedParams } from '../math/weighted.ts';

export const VAULT_ID_BYTES = 32;
export const GROUP_KEY_BYTES = 33;
/** Epochs are counted by reshares; a u32 keeps them exact in JSON and in the AD encoding. */
export const MAX_EPOCH = 0xffffffff;

export interface BackupParty {
  /** 32-byte party id (sorted order defines the point map). */
  id: Uint8Array;
  /** Signing power: the number of evaluation points the party holds. */
  power: number;
  /** The party's evaluation points (consecutive, 1-based, in id order). */
  points: bigint[];
}

export interface BackupSource {
  vaultId: Uint8Array;
  /** Reshare counter: backups from different epochs never mix. */
  epoch: number;
  /** 33-byte compressed secp256k1 group public key. */
  groupPublicKey: Uint8Array;
  /** Number of points needed to rebuild the key. */
  threshold: number;
  parties: BackupParty[];
  /** The party this backup belongs to. */
  partyId: Uint8Array;
  /** SECRET. This party's Shamir shares, one per evaluation point. */
  pointShares: { x: bigint; share: bigint }[];
  /** x·G-style public shares: share_x·G for each of this party's points (33-byte compressed). */
  publicShares: { x: bigint; point: Uint8Array }[];
}

/** A source that passed `validateSource`, with its derived weighted parameters. */
export interface ValidatedSource {
  readonly source: BackupSource;
  readonly params: WeightedParams;
  /** This party's points, ascending. */
  readonly points: readonly bigint[];
}

function fail(what: string, msg: string): never {
  throw new TssError('INVALID_PARAMETERS', `${what}: ${msg}`);
}

function isBytes(b: unknown, len: number): b is Uint8Array {
  return b instanceof Uint8Array && b.length === len;
}

/** Describe why an evaluation point is unusable, or undefined if it is a valid, in-map point. */
export function badPointReason(x: unknown, totalPower: number): string | undefined {
  if (typeof x !== 'bigint') return 'evaluation point is not an integer';
  if (x === 0n) return 'evaluation point x = 0 (that is the secret itself; never a share)';
  if (x < 0n) return `evaluation point x = ${x} is negative`;
  if (x >= N) return `evaluation point x = ${x} is not below the group order n`;
  if (x > BigInt(totalPower))
    return `evaluation point x = ${x} is outside the vault's points 1..${totalPower}`;
  return undefined;
}

/**
 * Check every field of a source: lengths, the point map (recomputed from ids and powers with
 * `weightedParams`, so a file cannot claim points it was not assigned), this party's share and
 * public-share lists (exactly its points, in order), shares in [1, n), public shares on the curve.
 * Does not check share·G against the public share (that costs a scalar multiplication per point;
 * callers that hold shares do it).
 */
export function validateSource(src: BackupSource, what = 'backup'): ValidatedSource {
  if (typeof src !== 'object' || src === null) fail(what, 'not an object');
  if (!isBytes(src.vaultId, VAULT_ID_BYTES)) fail(what, `vault id must be ${VAULT_ID_BYTES} bytes`);
  if (!isBytes(src.partyId, PARTY_ID_BYTES)) fail(what, `party id must be ${PARTY_ID_BYTES} bytes`);
  if (!Number.isSafeInteger(src.epoch) || src.epoch < 0 || src.epoch > MAX_EPOCH) {
    fail(what, `epoch must be an integer in 0..${MAX_EPOCH}`);
  }
  if (!isBytes(src.groupPublicKey, GROUP_KEY_BYTES)) fail(what, 'group public key must be 33 bytes');
  pointFromBytes(src.groupPublicKey, `${what}: group public key`);
  if (!Array.isArray(src.parties)) fail(what, 'parties must be a list');
  let params: WeightedParams;
  try {
    params = weightedParams(
      src.parties.map((p) => ({ id: p.id, power: p.power })),
      src.threshold,
    );
  } catch (e) {
    fail(what, `party list or threshold invalid (${e instanceof Error ? e.message : 'unknown'})`);
  }
  // The recorded list must be the canonical one: sorted by id with exactly the computed points.
  for (let i = 0; i < params.parties.length; i++) {
    const want = params.parties[i]!;
    const got = src.parties[i]!;
    if (!equalBytes(want.id, got.id)) fail(what, 'parties are not sorted by id');
    if (!Array.isArray(got.points) || got.points.length !== want.points.length) {
      fail(what, `party ${i} must list exactly ${want.points.length} points`);
    }
    for (let k = 0; k < want.points.length; k++) {
      const x = got.points[k];
      const bad = badPointReason(x, params.totalPower);
      if (bad) fail(what, `party ${i}: ${bad}`);
      if (x !== want.points[k]) fail(what, `party ${i}: points do not follow the weighted point map`);
    }
  }
  const me = params.parties.find((p) => equalBytes(p.id, src.partyId));
  if (!me) fail(what, `party id ${toHex(src.partyId)} is not in the party list`);
  const points = me.points;
  const checkList = (list: readonly { x: bigint }[] | unknown, name: string): void => {
    if (!Array.isArray(list)) fail(what, `${name} must be a list`);
    // Report a bad x (0, ≥ n, outside the map) before the generic "not this party's points".
    for (const e of list as { x: unknown }[]) {
      const bad = badPointReason(e?.x, params.totalPower);
      if (bad) fail(what, `${name}: ${bad}`);
    }
    const seen = new Set<bigint>();
    for (const e of list as { x: bigint }[]) {
      if (seen.has(e.x)) fail(what, `${name}: duplicate evaluation point x = ${e.x}`);
      seen.add(e.x);
    }
    if (list.length !== points.length || points.some((x, k) => (list as { x: bigint }[])[k]!.x !== x)) {
      fail(what, `${name} must cover exactly this party's points ${points.join(',')} in order`);
    }
  };
  checkList(src.pointShares, 'point shares');
  checkList(src.publicShares, 'public shares');
  for (const s of src.pointShares) {
    // Never print the share value: only the point it belongs to.
    if (typeof s.share !== 'bigint' || s.share <= 0n || s.share >= N) {
      fail(what, `share for x = ${s.x} is not a scalar in [1, n)`);
    }
  }
  for (const p of src.publicShares) {
    if (!isBytes(p.point, GROUP_KEY_BYTES)) fail(what, `public share for x = ${p.x} must be 33 bytes`);
    pointFromBytes(p.point, `${what}: public share for x = ${p.x}`);
  }
  return { source: src, params, points };
}

/** Attach a redacting `toJSON` (non-enumerable) so a logged source never prints its shares. */
export function withRedaction<T extends BackupSource>(src: T): T {
  Object.defineProperty(src, 'toJSON', {
    enumerable: false,
    value: () => ({
      vaultId: toHex(src.vaultId),
      epoch: src.epoch,
      partyId: toHex(src.partyId),
      points: src.pointShares.map((s) => s.x.toString()),
      pointShares: '[redacted]',
    }),
  });
  return src;
}
