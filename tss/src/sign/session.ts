/**
 * One party's signing ceremony: the pure rounds of `rounds.ts` driven by the shared round engine.
 * Refuses before any message leaves if the signers' power is below the threshold, a signer is not a
 * vault party, or a signer is banned (its OT state is burned until a refresh).
 */

import { toHex } from '../bytes.ts';
import { TssError } from '../errors.ts';
import type { KeyShare } from '../keyshare.ts';
import { cryptoRandomBytes, type RandomBytes } from '../random.ts';
import { decodeInbox, type ProtocolMessage, RoundEngine } from '../session/engine.ts';
import { type SignContext, signContext } from './context.ts';
import {
  decodeSignS0,
  decodeSignS1,
  decodeSignS2,
  decodeSignS3,
  encodeSignS0,
  encodeSignS1,
  encodeSignS2,
  encodeSignS3,
} from './messages.ts';
import {
  type KeepS0,
  type KeepS1,
  type KeepS2,
  type KeepS3,
  type Signature,
  signCombine,
  signRound0,
  signRound1,
  signRound2,
  signRound3,
} from './rounds.ts';

export interface SignOptions {
  readonly keyShare: KeyShare;
  /** Ids of every signing party, self included. */
  readonly signers: readonly Uint8Array[];
  /** The 32-byte message hash (e.g. keccak-256 of a transaction). */
  readonly digest: Uint8Array;
  /** Hex ids of parties banned after a failed OT/RVOLE/Γ check. */
  readonly banned?: ReadonlySet<string>;
  readonly rng?: RandomBytes;
}

export const SIGN_ROUNDS = 4;

export class SignSession extends RoundEngine<Signature> {
  readonly ctx: SignContext;
  private readonly rng: RandomBytes;
  private keep: KeepS0 | KeepS1 | KeepS2 | KeepS3 | undefined;

  constructor(opts: SignOptions) {
    const ctx = signContext(opts.keyShare, opts.signers, opts.digest, opts.banned);
    super(
      ctx.self.id,
      ctx.peers.map((p) => p.id),
      ['broadcast', 'p2p', 'p2p', 'broadcast'],
    );
    this.ctx = ctx;
    this.rng = opts.rng ?? cryptoRandomBytes;
  }

  protected firstRound(): ProtocolMessage[] {
    const { keep, broadcast } = signRound0(this.ctx, this.rng);
    this.keep = keep;
    return [this.message(1, null, encodeSignS0(broadcast))];
  }

  protected onRound(
    round: number,
    inbox: Map<string, Uint8Array>,
  ): ProtocolMessage[] | { result: Signature } {
    switch (round) {
      case 1: {
        const { keep, toPeer } = signRound1(
          this.ctx,
          this.keep as KeepS0,
          decodeInbox(inbox, decodeSignS0),
          this.rng,
        );
        this.keep = keep;
        return this.ctx.peers.map((p) => this.message(2, p.id, encodeSignS1(toPeer.get(toHex(p.id))!)));
      }
      case 2: {
        const { keep, toPeer } = signRound2(
          this.ctx,
          this.keep as KeepS1,
          decodeInbox(inbox, decodeSignS1),
          this.rng,
        );
        this.keep = keep;
        return this.ctx.peers.map((p) => this.message(3, p.id, encodeSignS2(toPeer.get(toHex(p.id))!)));
      }
      case 3: {
        const { keep, broadcast } = signRound3(
          this.ctx,
          this.keep as KeepS2,
          decodeInbox(inbox, decodeSignS2),
        );
        this.keep = keep;
        return [this.message(4, null, encodeSignS3(broadcast))];
      }
      case 4:
        return { result: signCombine(this.ctx, this.keep as KeepS3, decodeInbox(inbox, decodeSignS3)) };
      default:
        throw new TssError('WRONG_ROUND', `no round ${round}`);
    }
  }

  protected wipe(): void {
    const k = this.keep as Partial<KeepS1> | undefined;
    if (k?.receivers) for (const r of k.receivers.values()) r.destroy();
    this.keep = undefined;
  }
}
