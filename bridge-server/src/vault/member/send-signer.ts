/**
 * Signing a `send` request on a headless member: open this member's sealed share only for a live
 * request of its own key and epoch, run tss `SignSession` (DKLs23) under label `sign<k>` through the
 * request's channel, turn the signature into the signed EIP-1559 transaction (tss/eth re-checks it
 * recovers to the vault address), and take a signed transaction — its own or a peer's `q.broadcast`
 * — only when it is byte for byte the approved transaction signed by the vault (`checkSignedTx`).
 * The result is stored (request executed, attempt done) before it is sent to anyone or to the chain.
 */
import { isTssError, KeyShare, type Signature } from '@concord/tss';
import { fromHex, toHex } from '@concord/tss/bytes';
import { signTransaction } from '@concord/tss/eth';
import type { Event, StepResult } from '../co-approval.ts';
import { VaultError } from '../errors.ts';
import { decodeUnsignedTx } from '../kinds/eip1559.ts';
import { bodyDigests } from '../kinds/index.ts';
import { checkSignedTx } from '../kinds/signed-tx.ts';
import { isLive } from '../request.ts';
import type { MemberContext } from './context.ts';
import type { Live } from './requests.ts';

/** What the signer needs of the request runtime. */
export interface SignerHooks {
  drive(live: Live, e: Event): Promise<StepResult>;
  /** Whether `live` is still the bound request (not closed or replaced). */
  current(live: Live): boolean;
  /** Sends a signed transaction to every other party (`q.broadcast`). */
  broadcast(live: Live, raw: string): void;
}

export class SendSigner {
  constructor(
    private readonly c: MemberContext,
    private readonly h: SignerHooks,
  ) {}

  async run(live: Live, k: number, signers: string[]): Promise<void> {
    const body = live.request.body;
    // The share is touched only for a request still alive (the last check before a signature).
    if (body.kind !== 'send' || !isLive(live.request, this.c.clock.now())) return;
    const stored = await this.c.store.share(live.request.vaultId);
    if (stored === undefined) {
      await this.h.drive(live, { t: 'failed', code: 'NO_SHARE' });
      return;
    }
    const ks = KeyShare.decode(stored.secret);
    stored.secret.fill(0);
    if (ks.epoch !== live.request.epoch || toHex(ks.vaultId) !== live.request.keyId) {
      ks.destroy();
      await this.h.drive(live, { t: 'failed', code: 'EPOCH_MISMATCH' });
      return;
    }
    let session: ReturnType<MemberContext['host']['sign']>;
    try {
      session = this.c.host.sign({
        keyShare: ks,
        signers: signers.map((s) => fromHex(s)),
        digest: bodyDigests(body)[0]!,
        banned: new Set(),
      });
    } catch (e) {
      ks.destroy();
      await this.h.drive(live, { t: 'failed', code: isTssError(e) ? e.code : 'INTERNAL' });
      return;
    }
    let settled = false;
    const settle = (fn: () => Promise<unknown>): void => {
      if (settled) return;
      settled = true;
      live.progress.delete(k);
      ks.destroy();
      void this.c.serial
        .run(async () => {
          if (this.h.current(live)) await fn();
        })
        .catch((e: unknown) => this.c.log('SIGN', e));
    };
    live.channel.run(session, `sign${k}`, {
      onStep: () => {
        if (settled) return;
        live.progress.set(k, this.c.clock.now());
        if (session.finished) {
          const sig = session.output();
          settle(() => this.onSigned(live, sig));
        }
      },
      onError: (e) => {
        const abort = session.abortError;
        if (abort === undefined) {
          this.c.log(isTssError(e) ? e.code : 'SIGN_MESSAGE', e);
          return;
        }
        settle(() => this.h.drive(live, { t: 'aborted', attempt: k, code: abort.code }));
      },
    });
  }

  private async onSigned(live: Live, sig: Signature): Promise<void> {
    if (live.request.body.kind !== 'send') return;
    const tx = decodeUnsignedTx(live.request.body.tx);
    // tss/eth re-checks that the signature recovers to the vault address before serialising.
    const raw = await signTransaction({
      transaction: { type: 'eip1559', ...tx },
      address: live.vault.address,
      sign: () => sig,
    });
    await this.acceptSigned(live, raw, true);
  }

  /** Stores a signed transaction of this request (checked: exactly its bytes, signed by the vault). */
  async acceptSigned(live: Live, raw: `0x${string}`, own: boolean): Promise<void> {
    const body = live.request.body;
    if (body.kind !== 'send') return;
    if (!isLive(live.request, this.c.clock.now())) {
      throw new VaultError('REQUEST_CLOSED', 'signed transaction for an expired request');
    }
    const hash = await checkSignedTx(raw, body.tx, live.vault.address);
    const isNew = await this.c.store.putSigned({
      requestId: live.id,
      raw,
      hash,
      createdAt: this.c.clock.now(),
    });
    if (!isNew) return;
    live.timer?.cancel();
    live.timer = undefined;
    live.armedFor = undefined;
    if (own) this.h.broadcast(live, raw);
    if (this.c.chain !== undefined) {
      // Another signer's copy may already be in; the chain decides (the nonce is fixed).
      await this.c.chain.broadcast(body.chainId, raw).catch((e: unknown) => this.c.log('BROADCAST', e));
    }
  }
}
