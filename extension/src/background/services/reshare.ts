/**
 * Runs an approved reshare request on this device (tss `ReshareSession`, PROTOCOL.md reshare:
 * dealers re-deal their Lagrange-weighted old shares to the new committee; same key, epoch + 1),
 * then the two-phase finish: the new share is stored *pending*, each new party signs the transcript
 * with its device key and sends the signature to everyone (`q.certificate`), and a share becomes
 * active only with the complete certificate (tss `CertificateCollector` / `activate`). Until then
 * the old epoch keeps signing, so a reshare that dies half-way leaves the vault usable.
 *
 * Who takes part: every member of the new committee, and enough approving members of the current
 * committee to deal (approving kept members first, then removed approvers heaviest-first, until
 * the old threshold). The coordinator's signed start names the dealers; every device refuses a start
 * naming a dealer whose approval it did not verify itself.
 *
 * Where the rounds run: in the offscreen document's Worker when the browser has one (crypto-host.ts;
 * a reshare costs about a DKG's CPU, fresh OT setup for every new pair), else in process (unit tests,
 * Node). Both run the session with `deferSignature` and return the pending share and the public
 * record; this service worker then compares the descriptor with the approved layout
 * (reshare-layout.ts) and only then signs the certificate message (the Worker never holds the
 * identity key). After activation the vault record is the certified descriptor's.
 *
 * Envelope-key rotation (envelope-rotation.ts, envelope-keys.ts): a new party draws a fresh envelope
 * key before it signs, and signs the certificate message bound to it; the certificate must bind a
 * fresh key of every new party, and activation records those keys in the vault record (and so
 * switches this device to its own new key), after which keys no one lists any more are wiped.
 *
 * Persistence: the pending share (sealed, status `pending`), the reshare record needed to check
 * certificate signatures (public) and every verified certificate signature live in IndexedDB, so a
 * worker restart after this device signed still activates when the last signature arrives.
 */

import type { TallyMember, VaultRequest } from '@concord/bridge-server/vault';
import { decodeDescriptor, encodeDescriptor, isTssError, KeyShare, type VaultDescriptor } from '@concord/tss';
import { restoreKeyShare } from '@concord/tss/backup';
import { equalBytes, fromHex } from '@concord/tss/bytes';
import { scalarToBytes } from '@concord/tss/curve';
import {
  activate,
  CertificateCollector,
  certificateMessage,
  identityKeysFromIds,
  ReshareSession,
  rotationMessage,
} from '@concord/tss/reshare';
import { toHex, zeroize } from '../../shared/bytes.ts';
import type { CeremonyRecord, VaultRecord } from '../../storage/records.ts';
import type { Repositories } from '../../storage/repositories/index.ts';
import { SharesRepository, shareId } from '../../storage/repositories/shares.ts';
import type { Platform } from '../platform.ts';
import type { SessionChannel } from './ceremony-runner.ts';
import { type CryptoHost, cryptoHost } from './crypto-host.ts';
import type { EnvelopeKeyring } from './envelope-keys.ts';
import { addPacked, packRotatedSignature, rotationPolicyOf, withRotatedKeys } from './envelope-rotation.ts';
import { type DeviceIdentity, publicIdentity } from './identity-api.ts';
import {
  engineErrorCode,
  type RemoteReshareEngine,
  type RemoteReshareOutput,
  type ReshareParams,
} from './remote-engine.ts';
import {
  approvedLayout,
  DESCRIPTOR_MISMATCH,
  LayoutMismatchError,
  layoutMismatch,
  vaultRecordFromCertified,
} from './reshare-layout.ts';
import { openRestore } from './restore.ts';

/** What the request service hands the runner for one request. */
export interface ReshareContext {
  id: string;
  request: VaultRequest;
  hash: Uint8Array;
  channel: SessionChannel;
  self: DeviceIdentity | null;
  serial: <T>(fn: () => Promise<T>) => Promise<T>;
  /** This device's session of `attempt` made progress (reshare-liveness.ts). */
  progress?: (attempt: number) => void;
  sendCertificate: (attempt: number, sig: Uint8Array) => void;
  aborted: (attempt: number, code: string) => Promise<void>;
  finished: () => Promise<void>;
}

export interface ReshareRunnerDeps {
  repos: Repositories;
  platform: Platform;
  unlocked: () => Promise<{ identity: DeviceIdentity; dek: Uint8Array } | null>;
  /** Where the rounds run off this worker; `cryptoHost` by default (tests pass a fake Worker). */
  host?: () => CryptoHost | null;
  /** This device's envelope identities: a new party draws its rotated key here before signing. */
  keys: EnvelopeKeyring;
  /** Wipes envelope keys no one lists any more (after an activation). */
  pruneKeys?: () => Promise<void>;
  /** This device moved to the new epoch of request `id` (certificate-delivery.ts confirms it). */
  onActivated?: (id: string) => void;
  log?: (code: string, e: unknown) => void;
}

/**
 * What `onFinished` needs of a finished session: a tss `ReshareOutcome` in process, or the Worker's
 * output plus the signature this service worker made (remote). `pending` is secret; it is sealed,
 * then destroyed.
 */
interface FinishedReshare {
  descriptor: VaultDescriptor;
  record: { sessionId: Uint8Array; transcript: Uint8Array };
  pending: KeyShare | undefined;
  ownSignature: Uint8Array | undefined;
}

/** Public facts of a finished reshare session, kept to verify certificate signatures later. */
interface Pending {
  attempt: number;
  descriptor: VaultDescriptor;
  record: { sessionId: Uint8Array; transcript: Uint8Array };
}

export class ReshareRunner {
  /** Per request: the finished session's public facts (rebuilt from storage after a restart). */
  private readonly pending = new Map<string, Pending>();

  constructor(private readonly d: ReshareRunnerDeps) {}

  /**
   * The participants of a reshare — the new committee ∪ its dealers — and the dealers: approving
   * current members only (a device never deals for a layout it did not approve; every signer checks
   * it, vault-request.ts `reshareStartProblem`), kept members first (they take part anyway), then
   * heaviest, until the current threshold. A kept member that did not approve receives only. Sorted
   * hex ids, or null when the approvers cannot deal.
   */
  participants(
    ctx: ReshareContext,
    approvers: readonly TallyMember[],
    oldThreshold: number,
  ): { signers: string[]; dealers: string[] } | null {
    const body = ctx.request.body;
    if (body.kind !== 'reshare') return null;
    const kept = new Set(body.members.map((m) => m.deviceId));
    const order = [...approvers].sort(
      (a, b) =>
        Number(kept.has(b.deviceId)) - Number(kept.has(a.deviceId)) ||
        b.power - a.power ||
        a.deviceId.localeCompare(b.deviceId),
    );
    const dealers: string[] = [];
    let dealing = 0;
    for (const a of order) {
      if (dealing >= oldThreshold) break;
      dealers.push(a.deviceId);
      dealing += a.power;
    }
    if (dealing < oldThreshold) return null;
    return { signers: [...new Set([...kept, ...dealers])].sort(), dealers: dealers.sort() };
  }

  async run(
    ctx: ReshareContext,
    attempt: number,
    participants: readonly string[],
    dealers: readonly string[],
  ): Promise<void> {
    const body = ctx.request.body;
    const u = await this.d.unlocked();
    if (body.kind !== 'reshare' || u === null) return;
    const self = toHex(u.identity.deviceId);
    const oldDescriptor = decodeDescriptor(body.descriptor);
    const isOld = dealers.includes(self);
    let oldShare: KeyShare | undefined;
    if (isOld) {
      const rec = await this.d.repos.shares.active(ctx.request.vaultId);
      const restored = rec === undefined ? await this.d.repos.db.restores.get(ctx.request.keyId) : undefined;
      if (rec !== undefined && rec.epoch === ctx.request.epoch) {
        const secret = SharesRepository.openSecret(rec, u.dek);
        try {
          oldShare = KeyShare.decode(secret);
        } finally {
          zeroize(secret);
        }
      } else if (restored !== undefined && restored.epoch === ctx.request.epoch) {
        // A device restored from its backup: its point shares plus the descriptor this request
        // carries rebuild a share that can deal (tss restoreKeyShare checks every field).
        const source = openRestore(restored, u.dek);
        try {
          oldShare = restoreKeyShare(source, oldDescriptor);
        } catch (e) {
          await ctx.aborted(attempt, isTssError(e) ? e.code : 'INTERNAL');
          return;
        } finally {
          source.pointShares.length = 0;
        }
      } else {
        await ctx.aborted(attempt, 'EPOCH_MISMATCH');
        return;
      }
    }
    if (!participants.includes(self)) return;
    const params: Omit<ReshareParams, 'oldShare'> = {
      oldDescriptor,
      oldParties: dealers.map((p) => fromHex(p)),
      newParties: body.members.map((m) => ({ id: m.identity.deviceId, power: m.power })),
      newThreshold: body.threshold,
      selfId: u.identity.deviceId,
    };
    // Off this worker when the browser can host a Worker for it (see the header).
    const host = (this.d.host ?? cryptoHost)();
    if (host !== null) {
      this.runRemote(ctx, attempt, host, params, oldShare, u.identity);
      return;
    }
    let session: ReshareSession;
    try {
      // Deferred like the Worker's: the certificate is signed in `signChecked`, after the layout check.
      session = new ReshareSession({
        ...params,
        ...(oldShare === undefined ? {} : { oldShare }),
        deferSignature: true,
        rng: this.d.platform.rng,
      });
    } catch (e) {
      oldShare?.destroy();
      await ctx.aborted(attempt, isTssError(e) ? e.code : 'INTERNAL');
      return;
    }
    let settled = false;
    ctx.channel.run(session, `reshare${attempt}`, {
      onStep: () => {
        ctx.progress?.(attempt);
        if (settled || !session.finished) return;
        settled = true;
        oldShare?.destroy();
        const { descriptor, record, pending } = session.output();
        void ctx
          .serial(() => this.signChecked(ctx, attempt, { descriptor, record, pending }, u.identity))
          .catch((e: unknown) => this.d.log?.('RESHARE', e));
      },
      onError: (e) => {
        const abort = session.abortError;
        if (abort === undefined) {
          this.d.log?.(isTssError(e) ? e.code : 'RESHARE_MESSAGE', e);
          return;
        }
        if (settled) return;
        settled = true;
        oldShare?.destroy();
        void ctx
          .serial(() => ctx.aborted(attempt, abort.code))
          .catch((err: unknown) => this.d.log?.('RESHARE', err));
      },
    });
  }

  /**
   * `run` with the session in the offscreen Worker. Of the old share only its point shares cross
   * (dealing needs nothing else; OT and zero-share seeds stay here) and the share is destroyed here
   * at once; the engine wipes the bytes once sent. Abort handling is the in-process path's.
   */
  private runRemote(
    ctx: ReshareContext,
    attempt: number,
    host: CryptoHost,
    params: Omit<ReshareParams, 'oldShare'>,
    oldShare: KeyShare | undefined,
    identity: DeviceIdentity,
  ): void {
    let oldPointShares: Uint8Array[] | undefined;
    try {
      oldPointShares = oldShare?.shares.map((k) => scalarToBytes(k));
    } finally {
      oldShare?.destroy();
    }
    const engine = host.reshare({ ...params, ...(oldPointShares === undefined ? {} : { oldPointShares }) });
    let settled = false;
    ctx.channel.runAsync(engine, `reshare${attempt}`, {
      onStep: () => {
        ctx.progress?.(attempt);
        if (settled || !engine.finished) return;
        settled = true;
        void this.finishRemote(ctx, attempt, engine, identity).catch((e: unknown) =>
          this.d.log?.('RESHARE', e),
        );
      },
      onError: (e) => {
        const abort = engine.abortError;
        if (abort === undefined) {
          this.d.log?.(engineErrorCode(e) ?? 'RESHARE_MESSAGE', e);
          return;
        }
        if (settled) return;
        settled = true;
        engine.dispose();
        void ctx
          .serial(() => ctx.aborted(attempt, abort.code))
          .catch((err: unknown) => this.d.log?.('RESHARE', err));
      },
    });
  }

  /** Takes the Worker's output, signs the certificate message here (new party), then `onFinished`. */
  private async finishRemote(
    ctx: ReshareContext,
    attempt: number,
    engine: RemoteReshareEngine,
    identity: DeviceIdentity,
  ): Promise<void> {
    let out: RemoteReshareOutput;
    try {
      out = await engine.output();
    } catch (e) {
      // The Worker or its session is gone (or its output did not check out): this attempt is over.
      engine.dispose();
      await ctx.serial(() => ctx.aborted(attempt, engineErrorCode(e) ?? 'INTERNAL'));
      return;
    }
    // The session is over in the Worker: free the document now rather than when the channel closes.
    engine.dispose();
    await ctx.serial(() => this.signChecked(ctx, attempt, out, identity));
  }

  /**
   * Both paths end here (runs in `serial`). The session's descriptor must be exactly the layout the
   * members approved (reshare-layout.ts): a Worker, or a session, that produced another one is
   * refused before anything is signed or stored. Then only a new party signs, and only now: the
   * rounds passed every check and the pending share was checked against the descriptor (tss
   * `deferSignature`; the Worker never holds the identity key).
   */
  private async signChecked(
    ctx: ReshareContext,
    attempt: number,
    out: RemoteReshareOutput,
    identity: DeviceIdentity,
  ): Promise<void> {
    const body = ctx.request.body;
    const problem =
      body.kind === 'reshare' ? layoutMismatch(out.descriptor, approvedLayout(body)) : 'not a reshare';
    if (problem !== null) {
      out.pending?.destroy();
      this.d.log?.(DESCRIPTOR_MISMATCH, new LayoutMismatchError(problem));
      await ctx.aborted(attempt, DESCRIPTOR_MISMATCH);
      return;
    }
    let ownSignature: Uint8Array | undefined;
    let drawn: Uint8Array | undefined;
    try {
      if (out.pending !== undefined) {
        // A new party: its next envelope key, stored before it is signed for (envelope-keys.ts).
        const u = await this.d.unlocked();
        if (u === null) throw new Error('locked before the certificate could be signed');
        const next = publicIdentity(
          await this.d.keys.draw(ctx.request.vaultId, out.descriptor.epoch, u.dek, this.d.platform.now()),
        );
        drawn = next.agreementKey;
        const m = certificateMessage(out.descriptor, out.record.sessionId, out.record.transcript);
        ownSignature = packRotatedSignature(identity.sign(rotationMessage(m, next)), next);
      }
    } catch (e) {
      out.pending?.destroy();
      if (drawn !== undefined) this.d.keys.settle(drawn);
      throw e;
    }
    try {
      await this.onFinished(ctx, attempt, { ...out, ownSignature });
    } finally {
      if (drawn !== undefined) this.d.keys.settle(drawn);
    }
  }

  private async onFinished(ctx: ReshareContext, attempt: number, outcome: FinishedReshare): Promise<void> {
    const u = await this.d.unlocked();
    const pending: Pending = { attempt, descriptor: outcome.descriptor, record: outcome.record };
    this.pending.set(ctx.id, pending);
    const db = this.d.repos.db;
    const now = this.d.platform.now();
    await db.transaction('rw', [db.shares, db.ceremonies], async () => {
      if (outcome.pending !== undefined && u !== null) {
        const secret = outcome.pending.encode();
        try {
          await db.shares.put(
            SharesRepository.build(
              {
                vaultId: ctx.request.vaultId,
                epoch: outcome.descriptor.epoch,
                status: 'pending',
                secret,
                createdAt: now,
              },
              u.dek,
              this.d.platform.rng,
            ),
          );
        } finally {
          zeroize(secret);
          outcome.pending.destroy();
        }
      }
      const c = await db.ceremonies.get(ctx.id);
      if (c !== undefined) {
        await db.ceremonies.put({
          ...c,
          reshare: {
            attempt,
            sessionId: toHex(outcome.record.sessionId),
            transcript: toHex(outcome.record.transcript),
            descriptor: toHex(encodeDescriptor(outcome.descriptor)),
          },
          updatedAt: now,
        });
      }
    });
    if (outcome.ownSignature !== undefined && u !== null) {
      await this.addSignature(ctx, attempt, toHex(u.identity.deviceId), outcome.ownSignature);
      ctx.sendCertificate(attempt, outcome.ownSignature);
    }
    await this.tryActivate(ctx);
  }

  /** A certificate signature from `from` for `attempt` (verified once this device has the transcript). */
  async onCertificate(ctx: ReshareContext, from: string, attempt: number, sig: Uint8Array): Promise<void> {
    await this.addSignature(ctx, attempt, from, sig);
    await this.tryActivate(ctx);
  }

  private async addSignature(
    ctx: ReshareContext,
    attempt: number,
    from: string,
    sig: Uint8Array,
  ): Promise<void> {
    const c = await this.d.repos.ceremonies.get(ctx.id);
    if (c === undefined) return;
    const sigs = { ...(c.certSigs ?? {}) };
    const key = `${attempt}:${from}`;
    if (sigs[key] !== undefined) return;
    sigs[key] = toHex(sig);
    await this.d.repos.ceremonies.put({ ...c, certSigs: sigs, updatedAt: this.d.platform.now() });
  }

  /**
   * Certificate signatures relayed by another participant (certificate-delivery.ts), possibly of
   * third parties: each is verified against this device's own finished session before it is stored,
   * so a relayer cannot fill a slot with garbage (a stored slot that does not verify is replaced).
   */
  async onRelayedCertificates(
    ctx: ReshareContext,
    attempt: number,
    sigs: readonly { from: string; sig: Uint8Array }[],
  ): Promise<void> {
    const c = await this.d.repos.ceremonies.get(ctx.id);
    if (c?.reshare === undefined || c.status === 'done' || c.reshare.attempt !== attempt) return;
    const pending = this.pendingOf(ctx.id, c);
    const target = { descriptor: pending.descriptor, record: pending.record };
    const keys = identityKeysFromIds(pending.descriptor);
    const policy = ctx.request.body.kind === 'reshare' ? rotationPolicyOf(ctx.request.body) : undefined;
    const verifies = (from: string, sig: Uint8Array): boolean => {
      try {
        addPacked(new CertificateCollector(target, keys, policy), from, sig);
        return true;
      } catch {
        return false;
      }
    };
    const stored = { ...(c.certSigs ?? {}) };
    let changed = false;
    for (const { from, sig } of sigs) {
      const key = `${attempt}:${from}`;
      const prior = stored[key];
      if (prior !== undefined && verifies(from, fromHex(prior))) continue;
      if (!verifies(from, sig)) {
        this.d.log?.('CERTIFICATE', new Error(`relayed signature of ${from} does not verify`));
        continue;
      }
      stored[key] = toHex(sig);
      changed = true;
    }
    if (changed) {
      await this.d.repos.ceremonies.put({ ...c, certSigs: stored, updatedAt: this.d.platform.now() });
    }
    await this.tryActivate(ctx);
  }

  /** After a restart: a finished session waiting for signatures picks up where it was. */
  resume(ctx: ReshareContext): Promise<void> {
    return this.tryActivate(ctx);
  }

  /** Activates the pending share once every new party's signature over this transcript is in. */
  private async tryActivate(ctx: ReshareContext): Promise<void> {
    const c = await this.d.repos.ceremonies.get(ctx.id);
    if (c === undefined || c.reshare === undefined || c.status === 'done') return;
    const pending = this.pendingOf(ctx.id, c);
    const keys = identityKeysFromIds(pending.descriptor);
    if (ctx.request.body.kind !== 'reshare') return;
    const policy = rotationPolicyOf(ctx.request.body);
    const collector = new CertificateCollector(
      { descriptor: pending.descriptor, record: pending.record },
      keys,
      policy,
    );
    for (const [key, sig] of Object.entries(c.certSigs ?? {})) {
      const [attempt, from] = key.split(':');
      if (Number(attempt) !== pending.attempt || from === undefined) continue;
      try {
        addPacked(collector, from, fromHex(sig));
      } catch (e) {
        this.d.log?.('CERTIFICATE', e); // a signature over another transcript: named, ignored
      }
    }
    if (!collector.complete) return;
    const cert = collector.certificate();
    const u = await this.d.unlocked();
    if (u === null) return; // activates on the next unlock (restore re-evaluates)
    const body = ctx.request.body;
    if (body.kind !== 'reshare') return;
    const self = toHex(u.identity.deviceId);
    const db = this.d.repos.db;
    const newEpoch = pending.descriptor.epoch;
    const stays = body.members.some((m) => m.deviceId === self);
    const now = this.d.platform.now();
    const vault = await this.d.repos.vaults.get(ctx.request.vaultId);
    let next: VaultRecord;
    try {
      // The record of the epoch everyone certified; the request only names and labels it.
      // Every member's envelope key is the one its certificate signature bound (rotated).
      next = withRotatedKeys(
        vaultRecordFromCertified(pending.descriptor, body, vault, ctx.request.vaultId, stays, now),
        cert,
      );
    } catch (e) {
      // A certified descriptor that is not the approved layout (a dealer that never signed sees
      // only the certificate): never move to it.
      this.d.log?.(DESCRIPTOR_MISMATCH, e);
      return;
    }
    if (stays) {
      const rec = await this.d.repos.shares.get(shareId(ctx.request.vaultId, newEpoch));
      if (rec === undefined) return;
      const secret = SharesRepository.openSecret(rec, u.dek);
      let share: KeyShare;
      try {
        share = KeyShare.decode(secret);
      } finally {
        zeroize(secret);
      }
      try {
        // Verifies the certificate (rotations included) and the share against the descriptor.
        activate(share, cert, keys, undefined, policy);
      } finally {
        share.destroy();
      }
      if (!equalBytes(share.vaultId, pending.descriptor.vaultId)) return;
    }
    await db.transaction('rw', [db.shares, db.vaults, db.ceremonies, db.restores, db.bans], async () => {
      // A restored share has done its job once the refreshed one is active.
      await db.restores.delete(ctx.request.keyId);
      // Bans end with the epoch (tss README: a refresh clears bans): a ban names a member that
      // cheated in a signing of the old shares, and the new epoch has fresh shares and a fresh OT
      // setup for every pair. Cleared in the same transaction as the activation, so neither is
      // ever seen without the other.
      await db.bans.where('vaultId').equals(ctx.request.vaultId).delete();
      if (stays) {
        const others = (await db.shares.where('vaultId').equals(ctx.request.vaultId).toArray())
          .filter((r) => r.epoch !== newEpoch)
          .map((r) => r.id);
        await db.shares.bulkDelete(others);
        await db.shares.update(shareId(ctx.request.vaultId, newEpoch), { status: 'active' });
      } else {
        // Removed from the committee: this device's old share is no longer part of the vault.
        await db.shares.where('vaultId').equals(ctx.request.vaultId).delete();
      }
      await db.vaults.put(next);
      const cur = await db.ceremonies.get(ctx.id);
      if (cur !== undefined) await db.ceremonies.put({ ...cur, status: 'done', updatedAt: now });
    });
    this.pending.delete(ctx.id);
    await ctx.finished();
    this.d.onActivated?.(ctx.id);
    // The previous key stays while some member may still seal its certificate status to it.
    await this.d.pruneKeys?.().catch((e: unknown) => this.d.log?.('ENVELOPE_KEYS', e));
  }

  private pendingOf(id: string, c: CeremonyRecord): Pending {
    const hit = this.pending.get(id);
    if (hit !== undefined) return hit;
    const r = c.reshare!;
    const p: Pending = {
      attempt: r.attempt,
      descriptor: decodeDescriptor(fromHex(r.descriptor)),
      record: { sessionId: fromHex(r.sessionId), transcript: fromHex(r.transcript) },
    };
    this.pending.set(id, p);
    return p;
  }
}
