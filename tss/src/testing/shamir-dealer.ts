/**
 * TEST ONLY: a trusted dealer that splits a key with the weighted point map (`math/weighted.ts`)
 * into `BackupSource`s, standing in for DKG output in backup and recovery tests. A real vault never
 * has a dealer; the key never exists in one place. `reshareFromDealer` models a reshare: same
 * secret, fresh polynomial, new epoch, possibly new parties and threshold.
 */

import type { BackupSource } from '../backup/source.ts';
import { toHex } from '../bytes.ts';
import { evaluate, randomPolynomial } from '../math/polynomial.ts';
import { mulG, pointToBytes, randomScalar } from '../math/scalar.ts';
import { weightedParams } from '../math/weighted.ts';
import type { RandomBytes } from '../random.ts';

export interface DealerParty {
  /** 32-byte id; random from the RNG when omitted. */
  id?: Uint8Array;
  power: number;
}

export interface DealOptions {
  parties: readonly DealerParty[];
  threshold: number;
  rng: RandomBytes;
  /** Fixed secret (to model a reshare of the same key); random otherwise. */
  secret?: bigint;
  epoch?: number;
  vaultId?: Uint8Array;
}

export interface Dealt {
  /** The dealt secret: tests compare recovery output against it. */
  secret: bigint;
  groupPublicKey: Uint8Array;
  vaultId: Uint8Array;
  /** One source per party, in id order. */
  sources: BackupSource[];
}

export function dealBackups(opts: DealOptions): Dealt {
  const { rng } = opts;
  const specs = opts.parties.map((p) => ({ id: p.id ?? rng(32), power: p.power }));
  const params = weightedParams(specs, opts.threshold);
  const secret = opts.secret ?? randomScalar(rng);
  const f = randomPolynomial(opts.threshold, rng, secret);
  const groupPublicKey = pointToBytes(mulG(secret));
  const vaultId = opts.vaultId ?? rng(32);
  const epoch = opts.epoch ?? 0;
  const parties = params.parties.map((p) => ({ id: p.id.slice(), power: p.power, points: [...p.points] }));
  const sources = params.parties.map(
    (p): BackupSource => ({
      vaultId: vaultId.slice(),
      epoch,
      groupPublicKey: groupPublicKey.slice(),
      threshold: opts.threshold,
      parties: parties.map((q) => ({ id: q.id.slice(), power: q.power, points: [...q.points] })),
      partyId: p.id.slice(),
      pointShares: p.points.map((x) => ({ x, share: evaluate(f, x) })),
      publicShares: p.points.map((x) => ({ x, point: pointToBytes(mulG(evaluate(f, x))) })),
    }),
  );
  return { secret, groupPublicKey, vaultId, sources };
}

/** The same key dealt again at a later epoch (fresh polynomial), keeping the vault id. */
export function reshareFromDealer(
  prev: Dealt,
  opts: Omit<DealOptions, 'secret' | 'vaultId'> & { epoch: number },
): Dealt {
  return dealBackups({ ...opts, secret: prev.secret, vaultId: prev.vaultId });
}

/** Short label for test names. */
export function shortId(id: Uint8Array): string {
  return toHex(id).slice(0, 8);
}
