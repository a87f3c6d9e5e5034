/**
 * One party's reshare (or refresh) ceremony: the pure rounds of `rounds.ts` driven by the shared
 * round engine (session/engine.ts), like dkg/session.ts. Bytes in, bytes out; no I/O, no clock.
 * The old KeyShare is only read: whatever happens here, the old epoch stays usable until a
 * complete certificate activates the new one (certificate.ts, state.ts).
 */
import { equalBytes } from '../bytes.ts';
import type { VaultDescriptor } from '../descriptor.ts';
import { TssError } from '../errors.ts';
import type { KeyShare } from '../keyshare.ts';
import type { PartySpec } from '../math/weighted.ts';
import { cryptoRandomBytes, type RandomBytes } from '../random.ts';
import { decodeFrom, type ProtocolMessage, RoundEngine } from '../session/engine.ts';
import type { IdentitySigner } from './certificate.ts';
import {
  decodeReshareR1,
  decodeReshareR2,
  decodeReshareR3,
  decodeReshareR4,
  type Expect,
  encodeReshareR1,
  encodeReshareR2,
  encodeReshareR3,
  encodeReshareR4,
} from './messages.ts';
import { descriptorHash, type Member, type ReshareContext, reshareContext } from './params.ts';
import {
  type KeepR1,
  type KeepR2,
  type KeepR3,
  type KeepR4,
  type ReshareOutcome,
  reshareFinalize,
  reshareRound1,
  reshareRound2,
  reshareRound3,
  reshareRound4,
} from './rounds.ts';

export interface ReshareOptions {
  /**
   * The descriptor of the epoch being replaced. An old party may omit it (its share's descriptor
   * is used); a joining device must obtain it from the vault out of band.
   */
  readonly oldDescriptor?: VaultDescriptor;
  /** This party's active share, if it is an old party (required if it deals). */
  readonly oldShare?: KeyShare;
  /** Old parties taking part; their power must reach the old threshold. */
  readonly oldParties: readonly Uint8Array[];
  readonly newParties: readonly PartySpec[];
  readonly newThreshold: number;
  readonly selfId: Uint8Array;
  /** Signs the certificate message with the device identity key (required for a new party). */
  readonly signer?: IdentitySigner;
  /**
   * The caller signs the certificate message itself (a new party then needs no `signer`, and its
   * outcome's `ownSignature` is undefined): for a session that runs where the identity key must not
   * be, such as the wallet's ceremony Worker. The caller signs `certificateMessage(outcome.descriptor,
   * outcome.record.sessionId, outcome.record.transcript)` once the session finished; that signature
   * is exactly the one the session would have made. Excludes `signer`, so no key is passed in vain.
   */
  readonly deferSignature?: true;
  readonly rng?: RandomBytes;
}

export const RESHARE_ROUNDS = 4;

export class ReshareSession extends RoundEngine<ReshareOutcome> {
  readonly ctx: ReshareContext;
  private readonly rng: RandomBytes;
  private readonly oldShare: KeyShare | undefined;
  private readonly signer: IdentitySigner | undefined;
  private readonly deferSignature: boolean;
  private keep: KeepR1 | KeepR2 | KeepR3 | KeepR4 | undefined;

  constructor(opts: ReshareOptions) {
    const oldDescriptor = opts.oldDescriptor ?? opts.oldShare?.descriptor;
    if (!oldDescriptor) throw new TssError('INVALID_PARAMETERS', 'the old descriptor is required');
    if (opts.oldShare) {
      if (!equalBytes(opts.oldShare.selfId, opts.selfId))
        throw new TssError('INVALID_PARAMETERS', 'old share belongs to another party');
      if (!equalBytes(descriptorHash(opts.oldShare.descriptor), descriptorHash(oldDescriptor))) {
        throw new TssError('EPOCH_MISMATCH', 'old share and old descriptor differ');
      }
    }
    const ctx = reshareContext(
      {
        oldDescriptor,
        oldParties: opts.oldParties,
        newParties: opts.newParties,
        newThreshold: opts.newThreshold,
      },
      opts.selfId,
    );
    if (ctx.self.dealer && !opts.oldShare)
      throw new TssError('INVALID_PARAMETERS', 'a dealer needs its old share');
    if (opts.deferSignature === true && opts.signer)
      throw new TssError('INVALID_PARAMETERS', 'a deferred signature takes no signer');
    if (ctx.self.next && !opts.signer && opts.deferSignature !== true)
      throw new TssError('INVALID_PARAMETERS', 'a new party needs a signer');
    super(
      ctx.self.id,
      ctx.peers.map((p) => p.id),
      ['broadcast', 'p2p', 'p2p', 'broadcast'],
    );
    this.ctx = ctx;
    this.rng = opts.rng ?? cryptoRandomBytes;
    this.oldShare = opts.oldShare;
    this.signer = opts.signer;
    this.deferSignature = opts.deferSignature === true;
  }

  /** What this party expects from `sender` (counts derive from both roles). */
  private expect(sender: Member): Expect {
    const self = this.ctx.self;
    return {
      feldman: sender.dealer ? this.ctx.next.threshold : 0,
      shares: sender.dealer && self.next ? self.next.power : 0,
      pair: sender.next !== undefined && self.next !== undefined,
      senderPower: sender.next?.power ?? 0,
      zeroSeedConfirmations: sender.next ? this.ctx.next.parties.length - 1 : 0,
    };
  }

  protected firstRound(): ProtocolMessage[] {
    const { keep, broadcast } = reshareRound1(this.ctx, this.oldShare, this.rng);
    this.keep = keep;
    return [this.message(1, null, encodeReshareR1(broadcast))];
  }

  protected onRound(
    round: number,
    inbox: Map<string, Uint8Array>,
  ): ProtocolMessage[] | { result: ReshareOutcome } {
    const ctx = this.ctx;
    const decodeAll = <T>(decode: (b: Uint8Array, e: Expect) => T): Map<string, T> => {
      const out = new Map<string, T>();
      for (const [hex, bytes] of inbox) {
        const sender = ctx.peers.find((p) => p.hex === hex)!;
        out.set(
          hex,
          decodeFrom(hex, () => decode(bytes, this.expect(sender))),
        );
      }
      return out;
    };
    switch (round) {
      case 1: {
        const r1 = decodeAll((b) => decodeReshareR1(b));
        const prev = this.keep as KeepR1;
        const { keep, toPeer } = reshareRound2(ctx, prev, r1, this.rng);
        this.keep = keep;
        return ctx.peers.map((p) => this.message(2, p.id, encodeReshareR2(toPeer.get(p.hex)!)));
      }
      case 2: {
        const r2 = decodeAll(decodeReshareR2);
        const prev = this.keep as KeepR2;
        const { keep, toPeer } = reshareRound3(ctx, prev, r2, this.rng);
        this.keep = keep;
        return ctx.peers.map((p) => this.message(3, p.id, encodeReshareR3(toPeer.get(p.hex)!)));
      }
      case 3: {
        const r3 = decodeAll(decodeReshareR3);
        const prev = this.keep as KeepR3;
        const { keep, broadcast } = reshareRound4(ctx, prev, r3, this.rng);
        // Round 3's OT receivers were consumed and its pair state moved into round 4's keep.
        this.keep = keep;
        return [this.message(4, null, encodeReshareR4(broadcast))];
      }
      case 4: {
        const r4 = decodeAll(decodeReshareR4);
        return { result: reshareFinalize(ctx, this.keep as KeepR4, r4, this.signer, this.deferSignature) };
      }
      default:
        throw new TssError('WRONG_ROUND', `no round ${round}`);
    }
  }

  protected wipe(): void {
    // The pending KeyShare holds its own copies; the session's secrets go now.
    this.keep?.destroy();
    this.keep = undefined;
  }
}
