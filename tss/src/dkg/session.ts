/**
 * One party's DKG ceremony: drives the pure rounds of `rounds.ts` through the shared round engine.
 * Bytes in, bytes out; no I/O, no clock.
 */
import { ethereumAddress } from '../address.ts';
import { equalBytes } from '../bytes.ts';
import { DESCRIPTOR_VERSION, type VaultDescriptor, vaultIdFromSession } from '../descriptor.ts';
import { TssError } from '../errors.ts';
import { KeyShare, type PeerState } from '../keyshare.ts';
import type { PartySpec } from '../math/weighted.ts';
import { cryptoRandomBytes, type RandomBytes } from '../random.ts';
import { decodeInbox, type ProtocolMessage, RoundEngine } from '../session/engine.ts';
import {
  decodeDkgR1,
  decodeDkgR2,
  decodeDkgR3,
  decodeDkgR4,
  encodeDkgR1,
  encodeDkgR2,
  encodeDkgR3,
  encodeDkgR4,
} from './messages.ts';
import { type DkgContext, dkgContext, hexId } from './params.ts';
import {
  dkgFinalize,
  dkgRound1,
  dkgRound2,
  dkgRound3,
  dkgRound4,
  type KeepR1,
  type KeepR2,
  type KeepR3,
  type KeepR4,
} from './rounds.ts';

export interface DkgOptions {
  readonly parties: readonly PartySpec[];
  readonly threshold: number;
  readonly selfId: Uint8Array;
  readonly rng?: RandomBytes;
}

export interface DkgResult {
  readonly keyShare: KeyShare;
  readonly descriptor: VaultDescriptor;
}

export const DKG_ROUNDS = 4;

export class DkgSession extends RoundEngine<DkgResult> {
  readonly ctx: DkgContext;
  private readonly rng: RandomBytes;
  private keep: KeepR1 | KeepR2 | KeepR3 | KeepR4 | undefined;

  constructor(opts: DkgOptions) {
    const ctx = dkgContext(opts.parties, opts.threshold, opts.selfId);
    super(
      ctx.self.id,
      ctx.peers.map((p) => p.id),
      ['broadcast', 'p2p', 'p2p', 'broadcast'],
    );
    this.ctx = ctx;
    this.rng = opts.rng ?? cryptoRandomBytes;
  }

  protected firstRound(): ProtocolMessage[] {
    const { keep, broadcast } = dkgRound1(this.ctx, this.rng);
    this.keep = keep;
    return [this.message(1, null, encodeDkgR1(broadcast))];
  }

  protected onRound(
    round: number,
    inbox: Map<string, Uint8Array>,
  ): ProtocolMessage[] | { result: DkgResult } {
    const ctx = this.ctx;
    const peerPower = (hex: string) => ctx.peers.find((p) => hexId(p) === hex)!.power;
    switch (round) {
      case 1: {
        const r1 = decodeInbox(inbox, (b) => decodeDkgR1(b));
        const { keep, toPeer } = dkgRound2(ctx, this.keep as KeepR1, r1, this.rng);
        this.keep = keep;
        return ctx.peers.map((p) => this.message(2, p.id, encodeDkgR2(toPeer.get(hexId(p))!)));
      }
      case 2: {
        const r2 = decodeInbox(inbox, (b) => decodeDkgR2(b, ctx.params.threshold));
        const { keep, toPeer } = dkgRound3(ctx, this.keep as KeepR2, r2, this.rng);
        this.keep = keep;
        return ctx.peers.map((p) => this.message(3, p.id, encodeDkgR3(toPeer.get(hexId(p))!)));
      }
      case 3: {
        const r3 = decodeInbox(inbox, (b) => decodeDkgR3(b, ctx.self.power));
        const { keep, broadcast } = dkgRound4(ctx, this.keep as KeepR3, r3, this.rng);
        this.keep = keep;
        return [this.message(4, null, encodeDkgR4(broadcast))];
      }
      case 4: {
        const r4 = decodeInbox(inbox, (b, hex) => decodeDkgR4(b, peerPower(hex), ctx.params.parties.length));
        const keep = dkgFinalize(ctx, this.keep as KeepR4, r4);
        return { result: this.build(keep) };
      }
      default:
        throw new TssError('WRONG_ROUND', `no round ${round}`);
    }
  }

  private build(keep: KeepR4): DkgResult {
    const ctx = this.ctx;
    const descriptor: VaultDescriptor = {
      version: DESCRIPTOR_VERSION,
      vaultId: vaultIdFromSession(keep.sessionId),
      dkgSessionId: keep.sessionId,
      epoch: 0,
      groupPublicKey: keep.groupKey,
      address: ethereumAddress(keep.groupKey),
      parties: ctx.params.parties.map((p) => ({ id: p.id, power: p.power, points: p.points })),
      threshold: ctx.params.threshold,
      publicShares: keep.publicShares,
    };
    const peers: PeerState[] = ctx.peers.map((p) => {
      const s = keep.peers.get(hexId(p))!;
      return { id: p.id, full: s.full, punctured: s.punctured!, zeroSeed: s.zeroSeed! };
    });
    const keyShare = new KeyShare(descriptor, ctx.self.id, [...keep.shares], peers);
    return { keyShare, descriptor };
  }

  protected wipe(): void {
    const k = this.keep as Partial<KeepR1 & KeepR3 & KeepR4> | undefined;
    if (k) {
      k.coeffs?.fill(0n);
      k.selfShares?.fill(0n);
      k.shares?.fill(0n); // the KeyShare holds its own copy
      if (k.otReceivers) for (const o of k.otReceivers.values()) o.destroy();
    }
    this.keep = undefined;
  }

  /** True if `id` is this session's party. */
  isSelf(id: Uint8Array): boolean {
    return equalBytes(id, this.selfId);
  }
}
