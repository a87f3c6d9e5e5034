/**
 * A party's output of key generation (and later of a reshare): the public vault descriptor plus the
 * secret part — its point shares s(x), and per peer the OT seeds and zero-share seed that signing
 * needs. Canonical versioned binary encoding; `toJSON` redacts every secret.
 */
import { equalBytes, toHex, zeroize } from './bytes.ts';
import { Reader, Writer } from './codec/binary.ts';
import { decodeDescriptor, encodeDescriptor, type VaultDescriptor } from './descriptor.ts';
import { TssError } from './errors.ts';
import { mulG } from './math/scalar.ts';
import { ABO_BLOCKS, ABO_LEAVES, type AboFullSeeds, type AboPuncturedSeeds, SEED_BYTES } from './ot/types.ts';

export const KEYSHARE_FORMAT = 'concord-keyshare';
export const KEYSHARE_VERSION = 1;
const LEAF_BYTES = ABO_BLOCKS * ABO_LEAVES * SEED_BYTES;

export interface PeerState {
  readonly id: Uint8Array;
  /** This party was base-OT sender toward the peer: RVOLE receiver seeds. */
  readonly full: AboFullSeeds;
  /** The peer was base-OT sender toward this party: RVOLE sender seeds. */
  readonly punctured: AboPuncturedSeeds;
  /** Pairwise seed for zero-sharing in signing (same on both ends). */
  readonly zeroSeed: Uint8Array;
}

export class KeyShare {
  readonly descriptor: VaultDescriptor;
  readonly selfId: Uint8Array;
  /** s(x) for each of this party's points, in point order. */
  readonly shares: readonly bigint[];
  readonly peers: readonly PeerState[];

  constructor(
    descriptor: VaultDescriptor,
    selfId: Uint8Array,
    shares: readonly bigint[],
    peers: readonly PeerState[],
  ) {
    const self = descriptor.parties.find((p) => equalBytes(p.id, selfId));
    if (!self) throw new TssError('INVALID_PARAMETERS', 'key share owner is not a vault party');
    if (shares.length !== self.points.length)
      throw new TssError('BAD_LENGTH', 'one share per point required');
    // A share restored from a backup has no pairwise state (backups never hold OT seeds); it can
    // deal in a refresh but cannot sign until that refresh gives it new OT state.
    if (peers.length !== 0 && peers.length !== descriptor.parties.length - 1) {
      throw new TssError('BAD_LENGTH', 'one state per peer required');
    }
    this.descriptor = descriptor;
    this.selfId = selfId;
    this.shares = shares;
    this.peers = peers;
  }

  /** True for a share restored from a backup: no OT state yet, so it must refresh before signing. */
  get restored(): boolean {
    return this.peers.length === 0 && this.descriptor.parties.length > 1;
  }

  get vaultId(): Uint8Array {
    return this.descriptor.vaultId;
  }
  get epoch(): number {
    return this.descriptor.epoch;
  }
  get selfPoints(): readonly bigint[] {
    return this.descriptor.parties.find((p) => equalBytes(p.id, this.selfId))!.points;
  }

  peer(id: Uint8Array): PeerState | undefined {
    return this.peers.find((p) => equalBytes(p.id, id));
  }

  /** Check every own share against the public shares of the descriptor. */
  verify(): void {
    this.selfPoints.forEach((x, k) => {
      if (!mulG(this.shares[k]!).equals(this.descriptor.publicShares[Number(x) - 1]!)) {
        throw new TssError('PUBLIC_KEY_MISMATCH', `share for point ${x} does not match its public share`);
      }
    });
  }

  encode(): Uint8Array {
    const w = new Writer().bytes(new TextEncoder().encode(KEYSHARE_FORMAT)).u8(KEYSHARE_VERSION);
    w.bytes(encodeDescriptor(this.descriptor)).raw(this.selfId);
    w.list(this.shares, (ww, s) => ww.scalar(s));
    w.list(this.peers, (ww, p) => {
      ww.raw(p.id).raw(p.full.leaves).raw(p.punctured.delta).raw(p.punctured.leaves).raw(p.zeroSeed);
    });
    return w.finish();
  }

  static decode(bytes: Uint8Array): KeyShare {
    const r = new Reader(bytes, 'keyshare');
    const fmt = new TextDecoder().decode(r.bytes(64));
    if (fmt !== KEYSHARE_FORMAT) throw new TssError('DECODE_FAILED', 'not a Concord key share');
    r.expectU8(KEYSHARE_VERSION, 'key share version');
    const descriptor = decodeDescriptor(r.bytes(1 << 20));
    const selfId = r.raw(32);
    const shares = r.list(1, 256, (rr, i) => rr.scalar(`share[${i}]`));
    const peers = r.list(0, 64, (rr) => {
      const id = rr.raw(32);
      const full: AboFullSeeds = { kind: 'abo-full', leaves: rr.raw(LEAF_BYTES) };
      const delta = rr.raw(ABO_BLOCKS);
      for (const d of delta) if (d >= ABO_LEAVES) throw new TssError('DECODE_FAILED', 'keyshare: bad delta');
      const punctured: AboPuncturedSeeds = { kind: 'abo-punctured', delta, leaves: rr.raw(LEAF_BYTES) };
      return { id, full, punctured, zeroSeed: rr.raw(32) };
    });
    r.end();
    const ks = new KeyShare(descriptor, selfId, shares, peers);
    ks.verify();
    return ks;
  }

  /** Zero every secret buffer. The object is unusable afterwards. */
  destroy(): void {
    for (const p of this.peers) zeroize(p.full.leaves, p.punctured.leaves, p.punctured.delta, p.zeroSeed);
    (this.shares as bigint[]).fill(0n);
  }

  toJSON(): Record<string, unknown> {
    return {
      type: 'KeyShare',
      vaultId: toHex(this.vaultId),
      epoch: this.epoch,
      selfId: toHex(this.selfId),
      secret: '[redacted]',
    };
  }

  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return `KeyShare(${JSON.stringify(this.toJSON())})`;
  }
}
