/**
 * Co-approval of vault requests (sends; reshares via `ReshareRunner`): create, receive, decide,
 * tally, run the threshold ceremony with the approvers, and follow the result (broadcast and chain
 * status for sends). One bridge session (kind `sign` / `reshare`, TTL = the request's 24 h) per
 * request, every member (and joiner) in it; messages are E2E envelopes through `SessionChannel`.
 *
 * Who does what (vault-request.ts has the wire format):
 *  1. the initiator builds the raw unsigned transaction from its RPC, signs the request (its
 *     approval) and sends it to every member (`q.request`, wrapped with its public identity so a
 *     joining device can open it);
 *  2. every device decodes the raw bytes itself, shows them, and its user approves or rejects; the
 *     signed decision goes to every member (`q.decision`); every device verifies every decision
 *     against the member keys it stores and tallies power itself — neither the relay nor one member
 *     can fake a quorum;
 *  3. the initiator coordinates: once it holds a verified quorum it picks the signers (approvers,
 *     online ones first) and sends a signed `q.start` (attempt k, signers); each chosen signer
 *     re-checks the quorum from its own verified decisions before it touches its share, then runs
 *     `SignSession` over the channel under label `sign<k>`;
 *  4. signers serialise the signed transaction (recovery-checked against the vault address), send it
 *     to the chain and to every member (`q.broadcast`); every device verifies it is *this* request's
 *     transaction signed by the vault and follows its receipt.
 *
 * Restarts (ARCHITECTURE rule 12): proposal, decisions, ceremony attempt/signers and the signed
 * transaction are in IndexedDB. Round state of a running ceremony is not (it is secret and
 * short-lived): a device that restarts mid-ceremony asks the coordinator for a new attempt
 * (`q.retry`) instead of rejoining with different messages. The transaction's nonce is fixed in the
 * request, so however many attempts finish, at most one transaction can ever be mined.
 */
import type { BridgeClient, DeliveredMessage } from '@concord/bridge-server/client';
import type { Description } from '@concord/bridge-server/describe';
import {
  bodyDigests,
  bodyOrigin,
  COULD_NOT_SIGN,
  type Control,
  checkDigestSignature,
  chooseSigners,
  type Decision,
  decisionMessage,
  decodeControl,
  decodeRequest,
  describeBody,
  encodeControl,
  encodeRequest,
  isLive,
  MAX_ATTEMPTS,
  REQUEST_TTL_MS,
  RequestError,
  type RequestMember,
  requestAlarm,
  requestHash,
  requestOfAlarm,
  requestTimeProblem,
  reshareSafetyCode,
  reshareStartProblem,
  reviewedSendProblem,
  type SigningBody,
  stallAction,
  stallDeadline,
  startMessage,
  type TallyMember,
  tally,
  type VaultRequest,
  verifyDecision,
  verifyStart,
} from '@concord/bridge-server/vault';
import { openInvitation, wrapInvitation } from '@concord/bridge-server/vault/proposal';
import type { Signature } from '@concord/tss';
import { decodeDescriptor, encodeDescriptor, isTssError, KeyShare, SignSession } from '@concord/tss';
import { equalBytes, fromHex } from '@concord/tss/bytes';
import { pointToBytes } from '@concord/tss/curve';
import { signTransaction, toRsv } from '@concord/tss/eth';
import {
  decodePublicIdentity,
  fromBase64url,
  type PublicDeviceIdentity,
  toBase64url,
} from '@concord/tss/transport';
import { toHex, zeroize } from '../../shared/bytes.ts';
import { ExtensionError } from '../../shared/errors.ts';
import type {
  RequestMemberView,
  RequestPhase,
  RequestView,
  ReshareInput,
  SendInput,
  TxSummary,
} from '../../shared/messages.ts';
import { layoutProblem } from '../../shared/quorum.ts';
import type { CeremonyRecord, ProposalRecord, TxRecord, VaultRecord } from '../../storage/records.ts';
import type { Repositories } from '../../storage/repositories/index.ts';
import { SharesRepository } from '../../storage/repositories/shares.ts';
import type { Platform } from '../platform.ts';
import { banCulprits, excludedFor, type RunningAttempt, sessionsWith, withReport } from './ban-reports.ts';
import { SessionChannel } from './ceremony-runner.ts';
import type { ChainService } from './chain.ts';
import { describeSigning } from './describe-request.ts';
import { EarlyBuffer } from './early-buffer.ts';
import { type EnvelopeKeyring, openWithAny } from './envelope-keys.ts';
import type { DeviceIdentity } from './identity-api.ts';
import { deviceFingerprint, encodePublicIdentity, parseDeviceCode, publicIdentity } from './identity-api.ts';
import type { ReshareRunner } from './reshare.ts';
import { COULD_NOT_RESHARE, reshareInRounds, reshareStallDeadline } from './reshare-liveness.ts';
import { SerialQueue } from './serial.ts';
import { checkSignedTx } from './tx-check.ts';
import { decodeUnsignedTx } from './tx-codec.ts';

/** The notification a member gets for a new request, by kind. */
const NOTICE_TITLE: Record<VaultRequest['body']['kind'], string> = {
  send: 'Transaction needs your approval',
  reshare: 'Signer change needs your approval',
  message: 'Message signature needs your approval',
  'typed-data': 'Typed data signature needs your approval',
};

export const Q = {
  request: 'q.request',
  decision: 'q.decision',
  start: 'q.start',
  retry: 'q.retry',
  broadcast: 'q.broadcast',
  certificate: 'q.certificate',
} as const;
/**
 * Tags of request runs (ceremony-runner.ts): protocol messages `sign<k>/r<n>`, `reshare<k>/r<n>`, and
 * the announcement of the run's ephemeral key `<label>/hs` (held too: without it the run waits).
 */
const RUN_TAG = /^(sign|reshare)\d+\/(r\d+|hs)$/;
const MAX_EARLY = 64;
const MAX_EARLY_SESSIONS = 32;
/** A signing attempt with no progress for this long is retried (a signer went away). */
const DEFAULT_STALL_MS = 60_000;
const DEFAULT_FALLBACK_MS = 5_000;
/** How often a pending transaction's receipt is looked up while someone is watching. */
const RECEIPT_POLL_MS = 1_500;

/** A site request's outcome (`RequestService.outcome`). */
export type SigningOutcome =
  | { state: 'pending' }
  | { state: 'signed'; signature: `0x${string}` }
  | { state: 'sent'; txHash: `0x${string}` }
  | { state: 'rejected' | 'failed'; reason: string };

export interface Unlocked {
  identity: DeviceIdentity;
  dek: Uint8Array;
}

export interface Attention {
  /** Sets the extension badge (empty string clears it). */
  badge?: (text: string) => Promise<void>;
  /** A desktop notification (best effort). */
  notify?: (id: string, title: string, message: string) => Promise<void>;
}

export interface RequestServiceDeps {
  repos: Repositories;
  platform: Platform;
  chain: ChainService;
  /** Rotated envelope keys (envelope-keys.ts): a session uses the key its member list names for us. */
  envelopeKeys?: EnvelopeKeyring;
  unlocked: () => Promise<Unlocked | null>;
  connect: () => Promise<BridgeClient>;
  attention?: Attention;
  reshare?: ReshareRunner;
  log?: (code: string, error: unknown) => void;
  stallMs?: number;
  /** Grace period before an approver stands in for an absent initiator (tests shorten it). */
  fallbackMs?: number;
}

interface Live {
  id: string;
  request: VaultRequest;
  bytes: Uint8Array;
  hash: Uint8Array;
  channel: SessionChannel;
  /** Attempts this worker runs a protocol session for. */
  running: Set<number>;
  /** attempt → when this worker's session for it last made progress (pushes the stall back). */
  progress: Map<number, number>;
  /** In-memory twin of the request's alarm while this worker lives (alarms are coarse in tests). */
  timer: ReturnType<typeof setTimeout> | undefined;
  /** When the request's alarm is set for (its next stall deadline or its expiry), if armed. */
  armedFor: number | undefined;
  /** Pending stand-in start while the initiator is away (`maybeFallback`). */
  fallback: ReturnType<typeof setTimeout> | undefined;
  /** Every party of the request (members and joiners), by hex id. */
  parties: Map<string, PublicDeviceIdentity>;
}

/** The vault's current members as the request service needs them. */
function vaultMembers(v: VaultRecord): (TallyMember & { identity: PublicDeviceIdentity; label: string })[] {
  return v.members.map((m) => ({
    deviceId: m.deviceId,
    power: m.weight,
    label: m.label,
    identity: decodePublicIdentity(m.publicIdentity),
  }));
}

export class RequestService {
  private client: BridgeClient | null = null;
  private identity: DeviceIdentity | null = null;
  private unsubscribe: (() => void)[] = [];
  private readonly live = new Map<string, Live>();
  private readonly bySid = new Map<string, string>();
  private readonly early = new EarlyBuffer(MAX_EARLY_SESSIONS, MAX_EARLY);
  /** sid → online device ids (hex), from the relay's session info and presence events. */
  private readonly online = new Map<string, Set<string>>();
  private readonly checked = new Map<string, number>();
  private readonly queue: SerialQueue;

  constructor(private readonly d: RequestServiceDeps) {
    this.queue = new SerialQueue((e) => this.d.log?.('REQUEST', e));
  }

  private serial<T>(fn: () => Promise<T>): Promise<T> {
    return this.queue.run(fn);
  }

  private now(): number {
    return this.d.platform.now();
  }

  private log(code: string, e: unknown): void {
    this.d.log?.(code, e);
  }

  // ---------------------------------------------------------------- bridge lifecycle

  attach(client: BridgeClient, identity: DeviceIdentity): void {
    this.detachAll();
    this.client = client;
    this.identity = identity;
    this.unsubscribe = [
      client.on('message', (m) => this.onMessage(m)),
      client.on('presence', (p) => {
        const set = this.online.get(p.sid);
        if (set === undefined) return;
        const hex = toHex(fromBase64url(p.deviceId, 'device id'));
        if (p.online) set.add(hex);
        else set.delete(hex);
        const id = this.bySid.get(p.sid);
        // Either way: a signer coming back may complete an attempt, an initiator leaving may call
        // for a stand-in coordinator.
        if (id !== undefined) void this.serial(() => this.evaluate(id));
      }),
    ];
    void this.serial(() => this.restore());
  }

  detach(client: BridgeClient): void {
    if (this.client === client) this.detachAll();
  }

  private detachAll(): void {
    for (const u of this.unsubscribe) u();
    this.unsubscribe = [];
    for (const l of this.live.values()) {
      // Only the in-memory timers: the persisted alarms stay, a later worker acts on them.
      if (l.timer !== undefined) clearTimeout(l.timer);
      if (l.fallback !== undefined) clearTimeout(l.fallback);
      l.channel.close();
    }
    this.live.clear();
    this.bySid.clear();
    this.early.clear();
    this.online.clear();
    this.client = null;
    this.identity = null;
  }

  /**
   * Requests that still need this device: open or approved ones, and signed sends whose transaction
   * is not mined yet (a worker that died between storing its signed transaction and sending it to
   * the chain and to the others must still do both; a signer that missed it asks again).
   */
  private async restorableRows(): Promise<{ row: ProposalRecord; pendingTx: TxRecord | undefined }[]> {
    const rows = await this.d.repos.db.proposals.where('kind').anyOf('sign', 'reshare').toArray();
    const out: { row: ProposalRecord; pendingTx: TxRecord | undefined }[] = [];
    for (const row of rows) {
      if (row.status === 'open' || row.status === 'approved') out.push({ row, pendingTx: undefined });
      else if (row.status === 'executed' && row.kind === 'sign') {
        const tx = await this.d.repos.db.transactions.get(row.id);
        if (tx?.status === 'pending') out.push({ row, pendingTx: tx });
      }
    }
    return out;
  }

  /** Rebinds every open request after a (re)connect and re-sends what this device owes. */
  private async restore(): Promise<void> {
    for (const { row, pendingTx } of await this.restorableRows()) {
      try {
        const request = decodeRequest(row.payload);
        await this.cacheVault(request.vaultId);
        const live = this.bind(request, row.payload);
        if (pendingTx !== undefined) {
          for (const raw of pendingTx.raws) await this.pushToChain(row.id, raw as `0x${string}`);
          continue;
        }
        await this.resend(live);
        await this.evaluate(row.id);
      } catch (e) {
        this.log('RESTORE', e);
      }
    }
    await this.refreshAttention();
  }

  /**
   * Re-sends this device's own messages of a request: the initiator's request, this device's
   * decision. Message ids are deterministic, so the relay stores each once (a re-sealed duplicate of
   * a stored message is refused as a conflict, which is fine: the original is there).
   */
  private async resend(live: Live): Promise<void> {
    const identity = this.identity;
    if (identity === null) return;
    const self = toHex(identity.deviceId);
    const mine = (await this.d.repos.approvals.forProposal(live.id)).find((a) => a.deviceId === self);
    if (live.request.initiator === self) await this.sendRequestMessages(live, mine?.signature);
    else if (mine !== undefined) this.sendDecision(live, mine.decision, mine.signature);
  }

  // ---------------------------------------------------------------- inbound

  private onMessage(msg: DeliveredMessage): void {
    if (this.bySid.has(msg.sid)) return; // its channel handles it
    if (msg.tag === Q.request) {
      void this.serial(() => this.onRequestMessage(msg)).catch((e: unknown) => this.log('REQUEST_IN', e));
      return;
    }
    // Held until the request is bound: our control messages, and protocol messages of our runs (after
    // a worker restart the mailbox catch-up can deliver a signer's round message before `restore`
    // has rebuilt the channel; dropping it would stall that attempt until the stall timer).
    if (!msg.tag.startsWith('q.') && !RUN_TAG.test(msg.tag)) return;
    this.early.hold(msg);
  }

  /** A new request from a member (or, for a reshare, a device inviting this one to join). */
  private async onRequestMessage(msg: DeliveredMessage): Promise<void> {
    const identity = this.identity;
    if (identity === null || this.bySid.has(msg.sid)) return;
    const { sender, plaintext } = openWithAny(this.d.envelopeKeys?.all() ?? [identity], (id) =>
      openInvitation(id, msg, Q.request, 'request'),
    );
    const c = decodeControl(plaintext);
    if (c.t !== 'request') throw new Error('not a request');
    const request = decodeRequest(c.request);
    const hash = requestHash(c.request);
    if (request.sid !== msg.sid) throw new Error('request is for another session');
    if (request.initiator !== toHex(sender.deviceId)) throw new Error('request sender is not its initiator');
    // Its life is bounded to 24 h by `decodeRequest`; here: not expired, not post-dated.
    const timeProblem = requestTimeProblem(request, this.now());
    if (timeProblem !== null) throw new Error(timeProblem);
    if ((await this.d.repos.proposals.get(request.id)) !== undefined) return;

    // Which identity is the initiator's: the vault record's (members) — or, for a device joining
    // through a reshare, the self-authenticating identity the request itself lists.
    const vault = await this.cacheVault(request.vaultId);
    const self = toHex(identity.deviceId);
    let initiatorKey: PublicDeviceIdentity | undefined;
    if (vault !== undefined) {
      if (vault.publicKey !== request.groupKey || vault.epoch !== request.epoch) {
        throw new Error('request is for another key or epoch of this vault');
      }
      initiatorKey = vaultMembers(vault).find((m) => m.deviceId === request.initiator)?.identity;
    } else if (request.body.kind === 'reshare' && request.body.members.some((m) => m.deviceId === self)) {
      const d = decodeDescriptor(request.body.descriptor);
      if (toHex(pointToBytes(d.groupPublicKey)) !== request.groupKey || d.epoch !== request.epoch) {
        throw new Error('reshare descriptor does not match the request');
      }
      initiatorKey = request.body.current.find((m) => m.deviceId === request.initiator)?.identity;
    }
    if (initiatorKey === undefined || !equalBytes(initiatorKey.agreementKey, sender.agreementKey)) {
      throw new Error('request initiator is not a member');
    }
    if (!verifyDecision(initiatorKey, hash, 'approve', c.sig)) throw new Error('request signature invalid');
    // Refuse what cannot be shown: a send's raw transaction must decode and be for the stated
    // chain, typed data must be for the request's chain (`describeBody` throws otherwise).
    describeBody(request.body);
    const now = this.now();
    const db = this.d.repos.db;
    await db.transaction('rw', db.proposals, db.approvals, async () => {
      await this.d.repos.proposals.put(proposalRecord(request, c.request, now));
      await this.d.repos.approvals.add({
        proposalId: request.id,
        deviceId: request.initiator,
        decision: 'approve',
        signature: c.sig,
        createdAt: now,
      });
    });
    this.bind(request, c.request);
    await this.evaluate(request.id);
    await this.d.attention
      ?.notify?.(
        request.id,
        NOTICE_TITLE[request.body.kind],
        `${vault?.name ?? 'A vault'}: open Concord to review it on this device.`,
      )
      .catch((e: unknown) => this.log('NOTIFY', e));
    await this.refreshAttention();
  }

  private bind(request: VaultRequest, bytes: Uint8Array): Live {
    const existing = this.live.get(request.id);
    if (existing !== undefined) return existing;
    const client = this.client;
    const identity = this.identity;
    if (client === null || identity === null) throw new ExtensionError('LOCKED', 'Unlock Concord first.');
    const parties = new Map<string, PublicDeviceIdentity>();
    return this.bindWith(request, bytes, client, identity, parties);
  }

  private bindWith(
    request: VaultRequest,
    bytes: Uint8Array,
    client: BridgeClient,
    identity: DeviceIdentity,
    parties: Map<string, PublicDeviceIdentity>,
  ): Live {
    const id = request.id;
    // The parties: the descriptor's old parties are known to members through the vault record, to
    // joiners through the request itself; both are filled lazily by `partiesOf`.
    for (const p of this.partiesFromRequest(request)) parties.set(toHex(p.deviceId), p);
    const channel = new SessionChannel({
      client,
      identity: this.envelopeIdentity(parties, identity),
      sid: request.sid,
      members: [...parties.values()],
      ttlMs: Math.max(1, request.expiresAt - this.now()),
      onControl: (m) => {
        void this.serial(() => this.onControl(id, m.header.from, m.plaintext)).catch((e: unknown) =>
          this.log('CONTROL', e),
        );
      },
      onReject: (code) => this.log(`ENVELOPE_${code}`, new Error(code)),
    });
    const live: Live = {
      id,
      request,
      bytes,
      hash: requestHash(bytes),
      channel,
      running: new Set(),
      progress: new Map(),
      timer: undefined,
      armedFor: undefined,
      fallback: undefined,
      parties,
    };
    this.live.set(id, live);
    this.bySid.set(request.sid, id);
    this.online.set(request.sid, this.online.get(request.sid) ?? new Set());
    // After a worker restart the request is bound before the client is connected: join once it is
    // (a join refused as "not connected" would leave this device blind to who is online).
    client
      .waitReady()
      .then(() => client.join(request.sid))
      .then((info) => {
        const set = this.online.get(request.sid);
        if (set === undefined) return;
        for (const dev of info.online) set.add(toHex(fromBase64url(dev, 'device id')));
      })
      .catch((e: unknown) => this.log('JOIN', e));
    for (const m of this.early.take(request.sid)) channel.deliver(m);
    return live;
  }

  /** The identity whose envelope key the session's member list names for this device (rotation). */
  private envelopeIdentity(parties: ReadonlyMap<string, PublicDeviceIdentity>, base: DeviceIdentity) {
    return this.d.envelopeKeys?.identityFor(parties.get(toHex(base.deviceId))) ?? base;
  }

  /** Everyone in the request's session: the request's joiners plus the vault's current members. */
  private partiesFromRequest(request: VaultRequest): PublicDeviceIdentity[] {
    const out: PublicDeviceIdentity[] = [];
    if (request.body.kind === 'reshare') {
      out.push(
        ...request.body.members.map((m) => m.identity),
        ...request.body.current.map((m) => m.identity),
      );
    }
    const cached = this.vaultCache.get(request.vaultId);
    if (cached !== undefined) out.push(...cached);
    return out;
  }

  /** Member identities per vault (filled before binding; see `withVault`). */
  private readonly vaultCache = new Map<string, PublicDeviceIdentity[]>();

  private async cacheVault(vaultId: string): Promise<VaultRecord | undefined> {
    const v = await this.d.repos.vaults.get(vaultId);
    if (v !== undefined)
      this.vaultCache.set(
        vaultId,
        vaultMembers(v).map((m) => m.identity),
      );
    return v;
  }

  private async onControl(id: string, from: Uint8Array, plaintext: Uint8Array): Promise<void> {
    const live = this.live.get(id);
    if (live === undefined) return;
    const sender = toHex(from);
    const c = decodeControl(plaintext);
    if (c.t === 'request') return; // only ever the first message, handled before binding
    if (!equalBytes(c.hash, live.hash)) throw new Error('control message for another request');
    switch (c.t) {
      case 'decision':
        return this.onDecision(live, sender, c.decision, c.sig);
      case 'start':
        return this.onStart(live, sender, c);
      case 'retry':
        return this.onRetry(live, c.attempt, sender, c.banned);
      case 'broadcast':
        return this.onBroadcast(live, c.raw);
      case 'certificate':
        return this.d.reshare?.onCertificate(this.reshareContext(live), sender, c.attempt, c.sig);
    }
  }

  /** Who may decide: the current members (their power counts) and, for a reshare, the joiners. */
  private async deciders(live: Live): Promise<Map<string, PublicDeviceIdentity>> {
    const out = new Map<string, PublicDeviceIdentity>();
    const vault = await this.cacheVault(live.request.vaultId);
    if (vault !== undefined) for (const m of vaultMembers(vault)) out.set(m.deviceId, m.identity);
    else if (live.request.body.kind === 'reshare') {
      // A joiner has no vault record: the request lists the current committee's identities, checked
      // against the descriptor when it was decoded.
      for (const m of live.request.body.current) out.set(m.deviceId, m.identity);
    }
    if (live.request.body.kind === 'reshare') {
      for (const m of live.request.body.members) if (!out.has(m.deviceId)) out.set(m.deviceId, m.identity);
    }
    return out;
  }

  private async onDecision(live: Live, sender: string, decision: Decision, sig: Uint8Array): Promise<void> {
    const key = (await this.deciders(live)).get(sender);
    if (key === undefined) throw new Error('decision from a non-member');
    if (!verifyDecision(key, live.hash, decision, sig)) throw new Error('decision signature invalid');
    const existing = (await this.d.repos.approvals.forProposal(live.id)).find((a) => a.deviceId === sender);
    if (existing !== undefined) return; // one decision per device; first one wins
    await this.d.repos.approvals.add({
      proposalId: live.id,
      deviceId: sender,
      decision,
      signature: sig,
      createdAt: this.now(),
    });
    await this.evaluate(live.id);
    await this.refreshAttention();
  }

  private async onStart(live: Live, sender: string, c: Extract<Control, { t: 'start' }>): Promise<void> {
    // The initiator coordinates; an approver may stand in when the initiator is away (see
    // `maybeFallback`). Anyone else's start is refused. Every signer still re-checks the quorum.
    const approvedBySender = (await this.decisions(live.id)).get(sender) === 'approve';
    if (sender !== live.request.initiator && !approvedBySender) {
      throw new Error('start from a device that is neither the initiator nor an approver');
    }
    const key = live.parties.get(sender) ?? (await this.deciders(live)).get(sender);
    if (key === undefined || !verifyStart(key, live.hash, c.attempt, c.signers, c.sig, c.dealers)) {
      throw new Error('start signature invalid');
    }
    if (live.request.body.kind !== 'reshare' && c.dealers !== undefined)
      throw new Error('a signature has no dealers');
    if (live.request.body.kind === 'reshare') {
      const problem = await this.dealerProblem(live, c.signers, c.dealers);
      if (problem !== null) throw new RequestError(`reshare start refused: ${problem}`);
    }
    if (c.attempt > MAX_ATTEMPTS) throw new Error('start beyond the attempt limit');
    if (!isLive(live.request, this.now())) {
      await this.evaluate(live.id); // marks it expired here
      throw new Error('start for an expired request');
    }
    // A device that holds the signed transaction answers any later attempt with it. The coordinator
    // can have lost the broadcast (the relay delivered it to a worker that died before storing it)
    // and would otherwise start attempts that no one who already signed takes part in.
    const tx = await this.resultOf(live.id);
    if (tx !== undefined) {
      this.rebroadcast(live, tx, `s${c.attempt}`);
      return;
    }
    const current = await this.d.repos.ceremonies.get(live.id);
    if (current?.attempt !== undefined && current.attempt >= c.attempt) return;
    const now = this.now();
    await this.d.repos.ceremonies.put({
      ...(current ?? ceremonyRecord(live, now)),
      status: current?.status === 'done' ? 'done' : 'running',
      attempt: c.attempt,
      signers: [...c.signers].sort(),
      ...(c.dealers === undefined ? {} : { dealers: [...c.dealers].sort() }),
      coordinator: sender,
      abortCode: null,
      stallAt: now + this.stallMs(),
      updatedAt: now,
    });
    await this.evaluate(live.id);
  }

  /**
   * Why a reshare's start (participants and dealers) must be refused here, or null: each dealer
   * must be a current member whose approval this device verified (vault-request.ts).
   */
  private async dealerProblem(
    live: Live,
    signers: readonly string[],
    dealers: readonly string[] | undefined,
  ): Promise<string | null> {
    const q = await this.quorumOf(live);
    if (live.request.body.kind !== 'reshare' || q === null) return 'the current committee is unknown';
    const decisions = await this.decisions(live.id);
    const approvers = new Set(
      q.members.filter((m) => decisions.get(m.deviceId) === 'approve').map((m) => m.deviceId),
    );
    return reshareStartProblem(live.request.body, signers, dealers, approvers, q.threshold);
  }

  /** The device that coordinates the current attempt (the initiator until someone stood in). */
  private coordinatorOf(live: Live, c: CeremonyRecord | undefined): string {
    return c?.coordinator ?? live.request.initiator;
  }

  private async onRetry(live: Live, attempt: number, from?: string, banned?: string[]): Promise<void> {
    const tx = await this.resultOf(live.id);
    if (tx !== undefined) {
      // Already signed (whoever coordinates): tell everyone again instead of signing twice.
      this.rebroadcast(live, tx, `r${attempt}`);
      return;
    }
    const self = this.identity === null ? '' : toHex(this.identity.deviceId);
    const c = await this.d.repos.ceremonies.get(live.id);
    if (this.coordinatorOf(live, c) !== self) return;
    if (c === undefined || c.status !== 'running' || c.attempt !== attempt) return;
    if (from !== undefined && banned !== undefined) {
      // A victim's ban, reported as a reason (ban-reports.ts): left out of this request from now on.
      await this.d.repos.ceremonies.put(withReport(c, from, banned, new Set(c.signers ?? [])));
    }
    await this.newAttempt(live, attempt + 1);
  }

  /**
   * A signed transaction (or a message / typed-data signature) from a signer: verify it is this
   * request's, signed by the vault.
   */
  private async onBroadcast(live: Live, raw: Uint8Array): Promise<void> {
    const hex = `0x${toHex(raw)}` as const;
    if (live.request.body.kind === 'send') await this.acceptSigned(live, hex, false);
    else await this.acceptSignature(live, raw, false);
  }

  /**
   * What this request produced, if anything: a send's signed transaction(s), or a message's or
   * typed data's 65-byte signature (kept on its proposal row).
   */
  private async resultOf(id: string): Promise<{ raws: readonly string[] } | undefined> {
    const tx = await this.d.repos.db.transactions.get(id);
    if (tx !== undefined) return tx;
    const row = await this.d.repos.proposals.get(id);
    return row?.signature === undefined ? undefined : { raws: [`0x${toHex(row.signature)}`] };
  }

  // ---------------------------------------------------------------- requests from the UI

  private async requireUnlocked(): Promise<Unlocked> {
    const u = await this.d.unlocked();
    if (u === null) throw new ExtensionError('LOCKED', 'Unlock Concord first.');
    return u;
  }

  private async vaultOrThrow(vaultId: string): Promise<VaultRecord & { address: string; publicKey: string }> {
    const v = await this.cacheVault(vaultId);
    if (v === undefined || v.status !== 'active' || v.address === null || v.publicKey === null) {
      throw new ExtensionError('NOT_FOUND', 'That vault is not available on this device.');
    }
    return v as VaultRecord & { address: string; publicKey: string };
  }

  /** This device's share of a vault, decoded (caller destroys it). */
  private async openShare(vaultId: string, dek: Uint8Array): Promise<KeyShare> {
    const rec = await this.d.repos.shares.active(vaultId);
    if (rec === undefined) throw new ExtensionError('NOT_FOUND', 'This device holds no share of that vault.');
    const secret = SharesRepository.openSecret(rec, dek);
    try {
      return KeyShare.decode(secret);
    } finally {
      zeroize(secret);
    }
  }

  async preview(input: SendInput): Promise<TxSummary> {
    await this.requireUnlocked();
    const vault = await this.vaultOrThrow(input.vaultId);
    const from = vault.address as `0x${string}`;
    const unsigned = await this.d.chain.buildSend({ ...input, from });
    // The exact bytes go back with the summary: proposing them binds the approval to what was shown.
    return { ...(await this.d.chain.describe(unsigned, from)), unsigned: `0x${toHex(unsigned)}` };
  }

  /**
   * Proposes a send. With `unsigned` (the preview's bytes, what the UI sends) the request carries
   * exactly those bytes — the initiator's approval covers the fee, gas and nonce it reviewed, not
   * values a second build picked afterwards — once they are checked to be this send (vault-request.ts
   * `reviewedSendProblem`). Without it (an API caller that did not preview) the send is built now.
   */
  async createSend(input: SendInput & { unsigned?: string }): Promise<RequestView> {
    const u = await this.requireUnlocked();
    const vault = await this.vaultOrThrow(input.vaultId);
    const from = vault.address as `0x${string}`;
    const { unsigned: reviewedHex, ...send } = input;
    const built = await this.d.chain.buildSend({ ...send, from });
    let tx = built;
    if (reviewedHex !== undefined) {
      let reviewed: Uint8Array;
      let problem: string | null;
      try {
        reviewed = fromHex(reviewedHex.slice(2));
        problem = reviewedSendProblem(decodeUnsignedTx(reviewed), decodeUnsignedTx(built));
      } catch (cause) {
        throw new ExtensionError(
          'INVALID_REQUEST',
          'The reviewed transaction cannot be read; review again.',
          {
            cause,
          },
        );
      }
      if (problem !== null) throw new ExtensionError('INVALID_REQUEST', problem);
      tx = reviewed;
    }
    return this.create(u, vault, { kind: 'send', chainId: input.chainId, tx }, 'sign');
  }

  /**
   * Proposes a send that could not be signed again, as a new request (new id, new approvals): the
   * same unsigned transaction, decoded and shown again on every device. Any member may do it.
   */
  async reopen(id: string): Promise<RequestView> {
    const u = await this.requireUnlocked();
    const before = await this.view(id);
    if (!before.canReopen) {
      throw new ExtensionError(
        'REQUEST_CLOSED',
        'Only a send that could not be signed can be proposed again.',
      );
    }
    const row = await this.d.repos.proposals.get(id);
    if (row === undefined) throw new ExtensionError('NOT_FOUND', 'No such request.');
    const old = decodeRequest(row.payload);
    if (old.body.kind !== 'send')
      throw new ExtensionError('REQUEST_CLOSED', 'Only a send can be proposed again.');
    const vault = await this.vaultOrThrow(old.vaultId);
    return this.create(u, vault, { kind: 'send', chainId: old.body.chainId, tx: old.body.tx }, 'sign');
  }

  /**
   * Proposes a site's request (a message, typed data, or a transaction it asked to send), after this
   * device's user approved it on the approval screen: the request is this device's approval.
   */
  async createSigning(vaultId: string, body: SigningBody): Promise<RequestView> {
    const u = await this.requireUnlocked();
    const vault = await this.vaultOrThrow(vaultId);
    return this.create(u, vault, body, 'sign');
  }

  /** Where a request stands for the site waiting on it. */
  async outcome(id: string): Promise<SigningOutcome> {
    const row = await this.d.repos.proposals.get(id);
    if (row === undefined) return { state: 'failed', reason: 'The request is gone from this device.' };
    if (row.signature !== undefined) return { state: 'signed', signature: `0x${toHex(row.signature)}` };
    const tx = await this.d.repos.db.transactions.get(id);
    if (tx !== undefined) {
      return { state: 'sent', txHash: (tx.minedHash ?? tx.hashes[0]) as `0x${string}` };
    }
    const view = await this.view(id);
    if (view.phase === 'rejected')
      return { state: 'rejected', reason: 'The co-signers rejected the request.' };
    if (view.phase === 'expired')
      return { state: 'rejected', reason: 'The request expired before enough co-signers approved.' };
    if (view.phase === 'failed')
      return { state: 'failed', reason: view.error ?? 'The request could not be signed.' };
    return { state: 'pending' };
  }

  async createReshare(input: ReshareInput): Promise<RequestView> {
    const u = await this.requireUnlocked();
    const vault = await this.vaultOrThrow(input.vaultId);
    const current = vaultMembers(vault);
    const members: RequestMember[] = [];
    for (const k of input.keep) {
      const m = current.find((c) => c.deviceId === k.deviceId);
      if (m === undefined) throw new ExtensionError('INVALID_REQUEST', 'A kept signer is not in the vault.');
      members.push({
        identity: m.identity,
        deviceId: m.deviceId,
        power: k.power,
        label: k.label.trim() || m.label,
      });
    }
    input.add.forEach((inv, i) => {
      let identity: PublicDeviceIdentity;
      try {
        identity = parseDeviceCode(inv.code);
      } catch (cause) {
        throw new ExtensionError('INVALID_REQUEST', `New signer ${i + 1}: that is not a valid device code.`, {
          cause,
        });
      }
      const deviceId = toHex(identity.deviceId);
      if (members.some((m) => m.deviceId === deviceId) || current.some((m) => m.deviceId === deviceId)) {
        throw new ExtensionError('INVALID_REQUEST', `New signer ${i + 1} is already in the vault.`);
      }
      members.push({ identity, deviceId, power: inv.power, label: inv.label.trim() || `Signer ${i + 1}` });
    });
    members.sort((a, b) => a.deviceId.localeCompare(b.deviceId));
    const problem = layoutProblem(members, input.threshold);
    if (problem !== null) throw new ExtensionError('INVALID_REQUEST', problem);
    const ks = await this.openShare(vault.id, u.dek);
    let descriptor: Uint8Array;
    try {
      descriptor = encodeDescriptor(ks.descriptor);
    } finally {
      ks.destroy();
    }
    const currentMembers: RequestMember[] = current
      .map((m) => ({ identity: m.identity, deviceId: m.deviceId, power: m.power, label: m.label }))
      .sort((a, b) => a.deviceId.localeCompare(b.deviceId));
    return this.create(
      u,
      vault,
      {
        kind: 'reshare',
        name: vault.name,
        threshold: input.threshold,
        members,
        current: currentMembers,
        descriptor,
      },
      'reshare',
    );
  }

  private async create(
    u: Unlocked,
    vault: VaultRecord & { publicKey: string },
    body: VaultRequest['body'],
    kind: 'sign' | 'reshare',
  ): Promise<RequestView> {
    const ks = await this.openShare(vault.id, u.dek);
    let keyId: string;
    let epoch: number;
    try {
      keyId = toHex(ks.vaultId);
      epoch = ks.epoch;
    } finally {
      ks.destroy();
    }
    const self = publicIdentity(u.identity);
    const selfHex = toHex(self.deviceId);
    const everyone = new Map<string, PublicDeviceIdentity>();
    for (const m of vaultMembers(vault)) everyone.set(m.deviceId, m.identity);
    if (body.kind === 'reshare') for (const m of body.members) everyone.set(m.deviceId, m.identity);
    const client = await this.d.connect();
    const info = await client.createSession(
      kind,
      [...everyone.values()].map((p) => toBase64url(p.deviceId)),
      REQUEST_TTL_MS,
    );
    const now = this.now();
    const request: VaultRequest = {
      id: toHex(this.d.platform.rng(16)),
      vaultId: vault.id,
      keyId,
      groupKey: vault.publicKey,
      epoch,
      sid: info.sid,
      initiator: selfHex,
      createdAt: now,
      expiresAt: now + REQUEST_TTL_MS,
      body,
    };
    const bytes = encodeRequest(request);
    const hash = requestHash(bytes);
    const sig = u.identity.sign(decisionMessage(hash, 'approve'));
    const db = this.d.repos.db;
    await db.transaction('rw', db.proposals, db.approvals, async () => {
      await this.d.repos.proposals.put(proposalRecord(request, bytes, now));
      await this.d.repos.approvals.add({
        proposalId: request.id,
        deviceId: selfHex,
        decision: 'approve',
        signature: sig,
        createdAt: now,
      });
    });
    await this.serial(async () => {
      const live = this.bind(request, bytes);
      await this.sendRequestMessages(live, sig);
      await this.evaluate(request.id);
    });
    return this.view(request.id);
  }

  private async sendRequestMessages(live: Live, sig: Uint8Array | undefined): Promise<void> {
    const client = this.client;
    const identity = this.identity;
    if (client === null || identity === null || sig === undefined) return;
    const self = publicIdentity(this.envelopeIdentity(live.parties, identity));
    const plaintext = encodeControl({ t: 'request', request: live.bytes, sig });
    for (const [hex, p] of live.parties) {
      if (hex === toHex(self.deviceId)) continue;
      const msgId = `${Q.request}:${toBase64url(p.deviceId).slice(0, 16)}`;
      const envelope = live.channel.seal(p.deviceId, Q.request, msgId, plaintext);
      client
        .send({
          sid: live.request.sid,
          to: toBase64url(p.deviceId),
          tag: Q.request,
          msgId,
          envelope: wrapInvitation(self, envelope),
          ttlMs: Math.max(1, live.request.expiresAt - this.now()),
        })
        .catch((e: unknown) => this.log('SEND', e));
    }
  }

  /**
   * Sends a control message to every other party of the request. `msgIdPrefix` must be the same for
   * a resend of the same message (the relay then keeps one copy) and differ between messages.
   */
  private sendControl(live: Live, tag: string, msgIdPrefix: string, c: Control): void {
    live.channel.broadcast(tag, msgIdPrefix, encodeControl(c)).catch((e: unknown) => this.log('SEND', e));
  }

  private sendDecision(live: Live, decision: Decision, sig: Uint8Array): void {
    this.sendControl(live, Q.decision, Q.decision, { t: 'decision', hash: live.hash, decision, sig });
  }

  /**
   * Sends a signed transaction to every other party. `why` names a re-send (the attempt that asked):
   * the relay keeps a message id after its delivery was acknowledged, so a re-send under the first
   * id would never be delivered again — even to a worker that acknowledged it and then died.
   */
  private sendBroadcast(live: Live, raw: string, why?: string): void {
    const prefix = `${Q.broadcast}:${raw.slice(-16)}${why === undefined ? '' : `:${why}`}`;
    this.sendControl(live, Q.broadcast, prefix, {
      t: 'broadcast',
      hash: live.hash,
      raw: fromHex(raw.slice(2)),
    });
  }

  private rebroadcast(live: Live, tx: { raws: readonly string[] }, why: string): void {
    for (const raw of tx.raws) this.sendBroadcast(live, raw, why);
  }

  async decide(id: string, approve: boolean): Promise<RequestView> {
    const u = await this.requireUnlocked();
    await this.d.connect();
    await this.serial(async () => {
      const live = this.live.get(id);
      const row = await this.d.repos.proposals.get(id);
      if (live === undefined || row === undefined) throw new ExtensionError('NOT_FOUND', 'No such request.');
      // An approved but unsigned request still takes approvals: a late approver who is online can
      // replace an approver who went away as a signer.
      const signedAlready = (await this.resultOf(id)) !== undefined;
      if (
        !(row.status === 'open' || row.status === 'approved') ||
        signedAlready ||
        row.expiresAt <= this.now()
      ) {
        throw new ExtensionError('REQUEST_CLOSED', 'This request can no longer be answered.');
      }
      const self = toHex(u.identity.deviceId);
      if (!(await this.deciders(live)).has(self)) {
        throw new ExtensionError('REQUEST_CLOSED', 'This device is not a signer of this request.');
      }
      const mine = (await this.d.repos.approvals.forProposal(id)).find((a) => a.deviceId === self);
      if (mine !== undefined) throw new ExtensionError('REQUEST_CLOSED', 'You have already answered.');
      const decision: Decision = approve ? 'approve' : 'reject';
      const sig = u.identity.sign(decisionMessage(live.hash, decision));
      await this.d.repos.approvals.add({
        proposalId: id,
        deviceId: self,
        decision,
        signature: sig,
        createdAt: this.now(),
      });
      this.sendDecision(live, decision, sig);
      await this.evaluate(id);
    });
    await this.refreshAttention();
    return this.view(id);
  }

  // ---------------------------------------------------------------- the state machine

  /** Power members of the current epoch (the ones whose approvals count) and the threshold. */
  private async quorumOf(live: Live): Promise<{ members: TallyMember[]; threshold: number } | null> {
    const vault = await this.cacheVault(live.request.vaultId);
    if (vault !== undefined) return { members: vaultMembers(vault), threshold: vault.threshold };
    if (live.request.body.kind === 'reshare') {
      const d = decodeDescriptor(live.request.body.descriptor);
      return { members: live.request.body.current, threshold: d.threshold };
    }
    return null;
  }

  private async decisions(id: string): Promise<Map<string, Decision>> {
    const out = new Map<string, Decision>();
    for (const a of await this.d.repos.approvals.forProposal(id)) out.set(a.deviceId, a.decision);
    return out;
  }

  /**
   * Moves a request forward from what is stored: expiry, rejection, approval; the coordinator's
   * first start; joining an attempt this device was chosen for; asking for a new attempt after a
   * restart. Runs inside `serial`.
   */
  private async evaluate(id: string): Promise<void> {
    const live = this.live.get(id);
    const identity = this.identity;
    const row = await this.d.repos.proposals.get(id);
    if (live === undefined || identity === null || row === undefined) return;
    if (row.status === 'rejected' || row.status === 'expired' || row.status === 'executed') {
      await this.clearTimer(live);
      return;
    }
    const self = toHex(identity.deviceId);
    const ceremony = await this.d.repos.ceremonies.get(id);
    const signed = await this.resultOf(id);
    // A send expires whatever its attempts (nothing is signed after `expiresAt`); a reshare whose
    // ceremony ran is left to finish its certificate (reshare.ts), as before.
    // One that could not be signed stays so (it ended before its expiry).
    const expirable =
      signed === undefined &&
      (ceremony === undefined || (live.request.body.kind !== 'reshare' && ceremony.status !== 'aborted'));
    if (!isLive(live.request, this.now()) && expirable) {
      await this.d.repos.proposals.put({ ...row, status: 'expired' });
      await this.clearTimer(live);
      await this.refreshAttention();
      return;
    }
    // The expiry alarm (a stall deadline, when earlier, replaces it in `watchAttempt`).
    if (live.armedFor === undefined) this.schedule(live, live.request.expiresAt);
    const q = await this.quorumOf(live);
    if (q === null) return;
    const decisions = await this.decisions(id);
    const t = tally(q.members, q.threshold, decisions);
    if (live.request.body.kind === 'reshare') {
      // Joiners must accept too: a device is never made a signer without its consent.
      const joiners = live.request.body.members.filter(
        (m) => !q.members.some((o) => o.deviceId === m.deviceId),
      );
      const declined = joiners.some((j) => decisions.get(j.deviceId) === 'reject');
      if (declined || t.state === 'rejected') {
        await this.d.repos.proposals.put({ ...row, status: 'rejected' });
        return;
      }
      if (t.state !== 'approved' || !joiners.every((j) => decisions.get(j.deviceId) === 'approve')) return;
    } else if (t.state === 'rejected') {
      await this.d.repos.proposals.put({ ...row, status: 'rejected' });
      return;
    } else if (t.state !== 'approved') return;

    if (row.status === 'open') await this.d.repos.proposals.put({ ...row, status: 'approved' });
    if (signed !== undefined) return;
    if (ceremony === undefined) {
      if (live.request.initiator === self) await this.newAttempt(live, 1);
      else this.maybeFallback(live, self, q.members, decisions);
      return;
    }
    if (ceremony.status !== 'running' || ceremony.attempt === undefined || ceremony.signers === undefined)
      return;
    if (ceremony.reshare !== undefined) {
      // Our reshare session finished (possibly in a previous worker); only signatures are missing.
      await this.d.reshare?.resume(this.reshareContext(live));
      return;
    }
    const k = ceremony.attempt;
    const isSend = live.request.body.kind !== 'reshare';
    if (ceremony.signers.includes(self) && !live.running.has(k)) {
      // Every chosen signer's approval must be one this device verified itself.
      const chosenPower = ceremony.signers.reduce((s, d) => {
        const m = q.members.find((x) => x.deviceId === d);
        return s + (m !== undefined && decisions.get(d) === 'approve' ? m.power : 0);
      }, 0);
      const refused = isSend ? null : await this.dealerProblem(live, ceremony.signers, ceremony.dealers);
      if ((ceremony.myAttempt ?? 0) >= k) {
        // We started attempt k in a previous worker: its round state is gone. Ask for a new one.
        await this.retryAfter(live, k, 'restart');
      } else if (refused !== null) {
        // Checked again on the stored start (a worker restart, a row stored before the check): a
        // device never deals or receives in a reshare whose dealers it did not see approve.
        this.log('START_REFUSED', new RequestError(`reshare start refused: ${refused}`));
      } else if (!isSend || chosenPower >= q.threshold) {
        await this.d.repos.ceremonies.put({ ...ceremony, myAttempt: k, updatedAt: this.now() });
        live.running.add(k);
        if (isSend) await this.runSign(live, k, ceremony.signers);
        else
          await this.d.reshare?.run(this.reshareContext(live), k, ceremony.signers, ceremony.dealers ?? []);
      }
      // Otherwise: wait for the missing decisions; the stall deadline below still runs.
    } else if (
      isSend &&
      ceremony.signers.length === 0 &&
      this.coordinatorOf(live, ceremony) === self &&
      (await this.pickSigners(live, q, decisions, self)) !== null
    ) {
      // An attempt that found too few signers, and now enough approved: start the next one.
      await this.newAttempt(live, k + 1);
    }
    // Every device that holds a running attempt keeps its stall deadline armed (a reshare's only
    // while its rounds run here: reshare-liveness.ts).
    if (isSend || reshareInRounds(await this.d.repos.ceremonies.get(live.id))) await this.watchAttempt(live);
  }

  /** The signers of a send's next attempt as this coordinator sees them, or null (too few). */
  private async pickSigners(
    live: Live,
    q: { members: TallyMember[]; threshold: number },
    decisions: ReadonlyMap<string, Decision>,
    self: string,
  ): Promise<string[] | null> {
    const bans = excludedFor(
      await this.d.repos.ceremonies.get(live.id),
      (await this.d.repos.bans.forVault(live.request.vaultId)).map((b) => b.deviceId),
    );
    const approvers = q.members.filter((m) => decisions.get(m.deviceId) === 'approve');
    return chooseSigners(approvers, q.threshold, this.online.get(live.request.sid) ?? new Set(), self, bans);
  }

  /** Coordinator: pick signers and start attempt `k` (persisted before anyone is told). */
  private async newAttempt(live: Live, k: number): Promise<void> {
    const identity = this.identity;
    if (identity === null) return;
    const self = toHex(identity.deviceId);
    const isSend = live.request.body.kind !== 'reshare';
    if (!isLive(live.request, this.now())) return; // `evaluate` marks it expired
    if (k > MAX_ATTEMPTS) {
      await this.giveUp(live);
      return;
    }
    const q = await this.quorumOf(live);
    if (q === null) return;
    const decisions = await this.decisions(live.id);
    let signers: string[] | null;
    let dealers: string[] | undefined;
    if (live.request.body.kind === 'reshare') {
      // Everyone of the new committee and enough approving old parties to deal: the reshare runner
      // decides.
      const approvers = q.members.filter((m) => decisions.get(m.deviceId) === 'approve');
      const p = this.d.reshare?.participants(this.reshareContext(live), approvers, q.threshold) ?? null;
      signers = p?.signers ?? null;
      dealers = p?.dealers;
    } else {
      signers = await this.pickSigners(live, q, decisions, self);
    }
    const now = this.now();
    const current = await this.d.repos.ceremonies.get(live.id);
    if (signers === null) {
      if (!isSend) {
        await this.markAborted(live.id, 'NOT_ENOUGH_SIGNERS');
        return;
      }
      // Too few signers now (bans): the attempt is recorded without signers so its deadline runs
      // (and counts against the bound); a later approval starts the next one at once (`evaluate`).
      await this.d.repos.ceremonies.put({
        ...(current ?? ceremonyRecord(live, now)),
        status: 'running',
        attempt: k,
        signers: [],
        coordinator: self,
        abortCode: 'NOT_ENOUGH_SIGNERS',
        stallAt: now + this.stallMs(),
        updatedAt: now,
      });
      await this.watchAttempt(live);
      return;
    }
    const sig = identity.sign(startMessage(live.hash, k, signers, dealers));
    await this.d.repos.ceremonies.put({
      ...(current ?? ceremonyRecord(live, now)),
      status: 'running',
      attempt: k,
      signers,
      ...(dealers === undefined ? {} : { dealers }),
      coordinator: self,
      abortCode: null,
      stallAt: now + this.stallMs(),
      updatedAt: now,
    });
    this.sendControl(live, Q.start, `${Q.start}${k}`, {
      t: 'start',
      hash: live.hash,
      attempt: k,
      signers,
      ...(dealers === undefined ? {} : { dealers }),
      sig,
    });
    await this.evaluate(live.id);
  }

  /**
   * Liveness when the initiator is away: approvals reached the threshold but no start arrived and
   * the relay shows the initiator offline. The online approver with the smallest id stands in as
   * coordinator after a short grace period (so a returning initiator usually wins). Two stand-ins
   * with different presence views can only cost an attempt: a signer set mismatch aborts without
   * blame and the nonce is fixed, so at most one transaction is ever mined.
   */
  private maybeFallback(
    live: Live,
    self: string,
    members: readonly TallyMember[],
    decisions: ReadonlyMap<string, Decision>,
  ): void {
    const online = this.online.get(live.request.sid) ?? new Set<string>();
    if (online.has(live.request.initiator) || decisions.get(self) !== 'approve') return;
    const onlineApprovers = members
      .map((m) => m.deviceId)
      .filter((d) => decisions.get(d) === 'approve' && (d === self || online.has(d)))
      .sort();
    if (onlineApprovers[0] !== self || live.fallback !== undefined) return;
    live.fallback = setTimeout(() => {
      live.fallback = undefined;
      void this.serial(async () => {
        const stillNone = (await this.d.repos.ceremonies.get(live.id)) === undefined;
        const away = !(this.online.get(live.request.sid) ?? new Set()).has(live.request.initiator);
        if (stillNone && away && this.live.get(live.id) === live) await this.newAttempt(live, 1);
      });
    }, this.d.fallbackMs ?? DEFAULT_FALLBACK_MS);
  }

  /**
   * After attempt `k` failed or lost its state here: the coordinator starts `k + 1` itself, anyone
   * else asks the coordinator to (`why` keeps the message ids of different reasons apart).
   */
  private async retryAfter(live: Live, k: number, why: string, banned: string[] = []): Promise<void> {
    const self = this.identity === null ? '' : toHex(this.identity.deviceId);
    if (this.coordinatorOf(live, await this.d.repos.ceremonies.get(live.id)) === self) {
      await this.newAttempt(live, k + 1);
      return;
    }
    this.sendControl(live, Q.retry, `${Q.retry}${k}:${why}`, {
      t: 'retry',
      hash: live.hash,
      attempt: k,
      ...(banned.length === 0 ? {} : { banned }),
    });
  }

  /**
   * Stops this device's other signing sessions of `vaultId` that include a signer it just banned
   * and asks for their next attempt without it (ban-reports.ts). Runs inside `serial`.
   */
  private async abortSessionsWith(vaultId: string, culprits: string[], except: string): Promise<void> {
    const running: RunningAttempt[] = [];
    for (const live of this.live.values()) {
      if (live.id === except || live.request.body.kind === 'reshare') continue;
      const c = await this.d.repos.ceremonies.get(live.id);
      const attempt = c?.status === 'running' && c.attempt !== undefined && live.progress.has(c.attempt);
      running.push({
        id: live.id,
        vaultId: live.request.vaultId,
        attempt: attempt ? c.attempt : undefined,
        signers: c?.signers ?? [],
      });
    }
    for (const r of sessionsWith(running, vaultId, culprits)) {
      const live = this.live.get(r.id);
      if (live === undefined || r.attempt === undefined) continue;
      live.channel.stopRun(`sign${r.attempt}`);
      live.progress.delete(r.attempt);
      await this.markAborted(live.id, 'BANNED_PARTY');
      await this.retryAfter(live, r.attempt, 'ban', culprits);
    }
  }

  private stallMs(): number {
    return this.d.stallMs ?? DEFAULT_STALL_MS;
  }

  /**
   * Keeps the running attempt's persisted stall deadline and its alarm, and acts once it passed
   * (request-liveness.ts). Runs inside `serial`.
   */
  private async watchAttempt(live: Live): Promise<void> {
    const c = await this.d.repos.ceremonies.get(live.id);
    if ((await this.resultOf(live.id)) !== undefined) {
      await this.clearTimer(live);
      return;
    }
    if (c?.status !== 'running' || c.attempt === undefined || c.signers === undefined) {
      // No attempt to watch (given up, or none yet): only the expiry stays armed.
      if (c?.status === 'aborted') await this.clearTimer(live);
      else this.schedule(live, live.request.expiresAt);
      return;
    }
    const now = this.now();
    let stallAt = c.stallAt;
    if (stallAt === undefined) {
      // A row from before deadlines were kept: its deadline starts now.
      stallAt = now + this.stallMs();
      await this.d.repos.ceremonies.put({ ...c, stallAt });
    }
    const deadline =
      live.request.body.kind === 'reshare'
        ? reshareStallDeadline(stallAt, live.progress.get(c.attempt), this.stallMs())
        : stallDeadline(stallAt, live.progress.get(c.attempt), this.stallMs());
    if (now < deadline) {
      this.schedule(live, deadline);
      return;
    }
    await this.onStall(live, { ...c, attempt: c.attempt, signers: c.signers, stallAt });
  }

  private async onStall(
    live: Live,
    c: CeremonyRecord & { attempt: number; signers: string[]; stallAt: number },
  ): Promise<void> {
    const self = this.identity === null ? '' : toHex(this.identity.deviceId);
    const k = c.attempt;
    const decisions = await this.decisions(live.id);
    const action = stallAction({
      attempt: k,
      self,
      coordinator: this.coordinatorOf(live, c),
      signers: c.signers,
      approvers: [...decisions].filter(([, d]) => d === 'approve').map(([id]) => id),
      online: this.online.get(live.request.sid) ?? new Set(),
    });
    switch (action.kind) {
      case 'give-up':
        await this.giveUp(live);
        return;
      case 'next-attempt':
        await this.newAttempt(live, k + 1);
        return;
      case 'ask-retry':
        // One message id per deadline: every ask is a new message the coordinator sees.
        this.sendControl(live, Q.retry, `${Q.retry}${k}:stall${c.stallAt}`, {
          t: 'retry',
          hash: live.hash,
          attempt: k,
        });
        break;
      case 'wait':
        break;
    }
    const next = this.now() + this.stallMs();
    await this.d.repos.ceremonies.put({ ...c, stallAt: next, updatedAt: this.now() });
    this.schedule(live, next);
  }

  /**
   * Arms the request's alarm (survives the worker) and its in-memory twin for `when`, or for the
   * request's expiry if that comes first. On firing, `evaluate` expires the request or acts on the
   * stall deadline.
   */
  private schedule(live: Live, when: number): void {
    const at = Math.min(when, live.request.expiresAt);
    // The in-memory timer is re-armed on every call: its delay is relative, so a clock that jumped
    // since it was set must not leave it late (the alarm itself is absolute).
    if (live.timer !== undefined) clearTimeout(live.timer);
    const rearmAlarm = live.armedFor !== at;
    live.armedFor = at;
    // setTimeout holds at most ~24.8 days; requests live at most 24 h (+ skew).
    live.timer = setTimeout(
      () => {
        live.timer = undefined;
        live.armedFor = undefined;
        if (this.live.get(live.id) !== live) return;
        void this.serial(() => this.evaluate(live.id)).catch((e: unknown) => this.log('STALL', e));
      },
      Math.max(0, at - this.now()),
    );
    if (rearmAlarm) {
      this.d.platform.alarms.create(requestAlarm(live.id), at).catch((e: unknown) => this.log('ALARM', e));
    }
  }

  private async clearTimer(live: Live): Promise<void> {
    if (live.timer !== undefined) clearTimeout(live.timer);
    live.timer = undefined;
    live.armedFor = undefined;
    await this.d.platform.alarms.clear(requestAlarm(live.id)).catch((e: unknown) => this.log('ALARM', e));
  }

  /** Attempts are used up: the request ends as "could not sign" on this device. */
  private async giveUp(live: Live): Promise<void> {
    const c = await this.d.repos.ceremonies.get(live.id);
    if (c !== undefined && c.status !== 'done') {
      await this.d.repos.ceremonies.put({
        ...c,
        status: 'aborted',
        abortCode: live.request.body.kind === 'reshare' ? COULD_NOT_RESHARE : COULD_NOT_SIGN,
        updatedAt: this.now(),
      });
    }
    await this.clearTimer(live);
    await this.refreshAttention();
  }

  /**
   * A request alarm fired, possibly in a worker that just started for it (app.ts brings the bridge
   * up first, whose `restore` rebinds the request): act on the persisted deadline.
   */
  async onAlarm(name: string): Promise<void> {
    const id = requestOfAlarm(name);
    if (id === null) return;
    await this.serial(async () => {
      if (this.live.has(id)) await this.evaluate(id);
    });
  }

  // ---------------------------------------------------------------- signing a send

  private async runSign(live: Live, k: number, signers: string[]): Promise<void> {
    // The share is touched only for a request still alive (the last check before a signature).
    if (!isLive(live.request, this.now())) return;
    const u = await this.d.unlocked();
    if (u === null || live.request.body.kind === 'reshare') return;
    const body = live.request.body;
    const ks = await this.openShare(live.request.vaultId, u.dek);
    if (ks.epoch !== live.request.epoch || toHex(ks.vaultId) !== live.request.keyId) {
      ks.destroy();
      await this.markAborted(live.id, 'EPOCH_MISMATCH');
      return;
    }
    const banned = new Set((await this.d.repos.bans.forVault(live.request.vaultId)).map((b) => b.deviceId));
    let session: SignSession;
    try {
      session = new SignSession({
        keyShare: ks,
        signers: signers.map((s) => fromHex(s)),
        // Recomputed here from the raw body (EIP-1559 signing hash, EIP-191 or EIP-712 digest).
        digest: bodyDigests(body)[0]!,
        banned,
        rng: this.d.platform.rng,
      });
    } catch (e) {
      ks.destroy();
      await this.markAborted(live.id, isTssError(e) ? e.code : 'INTERNAL');
      // Chosen again with a signer this device banned: say so, rather than stall the attempt.
      if (isTssError(e) && e.code === 'BANNED_PARTY')
        await this.retryAfter(live, k, 'banned', [...e.culprits]);
      return;
    }
    let settled = false;
    const settle = (fn: () => Promise<void>) => {
      if (settled) return;
      settled = true;
      live.progress.delete(k);
      ks.destroy();
      void this.serial(fn).catch((e: unknown) => this.log('SIGN', e));
    };
    live.progress.set(k, this.now());
    live.channel.run(session, `sign${k}`, {
      onStep: () => {
        if (settled) return;
        // Progress pushes this worker's stall deadline back (`watchAttempt` reads it when due).
        live.progress.set(k, this.now());
        if (session.finished) {
          const sig = session.output();
          settle(() => this.onSigned(live, sig));
        }
      },
      onError: (e) => {
        const abort = session.abortError;
        if (abort === undefined) {
          this.log(isTssError(e) ? e.code : 'SIGN_MESSAGE', e);
          return;
        }
        settle(async () => {
          const self = this.identity === null ? '' : toHex(this.identity.deviceId);
          const culprits = banCulprits(abort, self);
          // The ban is stored before the abort is (ban-reports.ts): a worker that dies in between
          // still refuses the culprit.
          for (const culprit of culprits) {
            await this.d.repos.bans.add({
              vaultId: live.request.vaultId,
              deviceId: culprit,
              reason: abort.code,
              createdAt: this.now(),
            });
          }
          await this.markAborted(live.id, abort.code);
          if (culprits.length > 0) await this.abortSessionsWith(live.request.vaultId, culprits, live.id);
          await this.retryAfter(live, k, 'abort', culprits);
        });
      },
    });
  }

  private async onSigned(live: Live, sig: Signature): Promise<void> {
    if (live.request.body.kind === 'message' || live.request.body.kind === 'typed-data') {
      // SignSession already verified the combined signature with plain secp256k1 against the group
      // key; `acceptSignature` checks it again, with its recovery id, as it does for a peer's.
      await this.acceptSignature(live, fromHex(toRsv(sig).slice(2)), true);
      return;
    }
    if (live.request.body.kind !== 'send') return;
    const vault = await this.cacheVault(live.request.vaultId);
    if (vault?.address == null) return;
    const tx = decodeUnsignedTx(live.request.body.tx);
    // tss/eth re-checks that the signature recovers to the vault address before serialising.
    const raw = await signTransaction({
      transaction: { type: 'eip1559', ...tx },
      address: vault.address,
      sign: () => sig,
    });
    await this.acceptSigned(live, raw, true);
  }

  /**
   * Stores a signed transaction for the request (after checking it is exactly the request's
   * transaction, signed by the vault), tells the others, and sends it to the chain.
   */
  private async acceptSigned(live: Live, raw: `0x${string}`, own: boolean): Promise<void> {
    if (live.request.body.kind !== 'send') return;
    // Nothing signed is taken (nor sent to the chain) once the request expired, ours included: a
    // session that finished late must not outlive the request every member approved.
    if (!isLive(live.request, this.now())) throw new Error('signed transaction for an expired request');
    const vault = await this.cacheVault(live.request.vaultId);
    if (vault?.address == null) return;
    const hash = await checkSignedTx(raw, live.request.body.tx, vault.address);
    const db = this.d.repos.db;
    const now = this.now();
    let isNew = false;
    await db.transaction('rw', [db.transactions, db.ceremonies, db.proposals], async () => {
      const prev = await db.transactions.get(live.id);
      if (prev?.hashes.includes(hash)) return;
      isNew = true;
      const rec: TxRecord = prev
        ? { ...prev, raws: [...prev.raws, raw], hashes: [...prev.hashes, hash], updatedAt: now }
        : {
            id: live.id,
            vaultId: live.request.vaultId,
            chainId: live.request.body.kind === 'send' ? live.request.body.chainId : 0,
            raws: [raw],
            hashes: [hash],
            status: 'pending',
            minedHash: null,
            blockNumber: null,
            lastError: null,
            checkedAt: 0,
            updatedAt: now,
          };
      await db.transactions.put(rec);
      const c = await db.ceremonies.get(live.id);
      if (c !== undefined) await db.ceremonies.put({ ...c, status: 'done', updatedAt: now });
      const p = await db.proposals.get(live.id);
      if (p !== undefined) await db.proposals.put({ ...p, status: 'executed' });
    });
    if (!isNew) return;
    await this.clearTimer(live);
    if (own) this.sendBroadcast(live, raw);
    await this.pushToChain(live.id, raw);
    await this.refreshAttention();
  }

  /**
   * Stores a message's or typed data's signature for the request after checking it is the vault
   * key's signature of the digest this device recomputed (r ‖ s ‖ v, low s, v recovering the
   * group key), and tells the others.
   */
  private async acceptSignature(live: Live, sig: Uint8Array, own: boolean): Promise<void> {
    const body = live.request.body;
    if (body.kind !== 'message' && body.kind !== 'typed-data') return;
    if (!isLive(live.request, this.now())) throw new Error('signature for an expired request');
    checkDigestSignature(sig, bodyDigests(body)[0]!, live.request.groupKey);
    const db = this.d.repos.db;
    const now = this.now();
    let isNew = false;
    await db.transaction('rw', [db.ceremonies, db.proposals], async () => {
      const p = await db.proposals.get(live.id);
      if (p === undefined || p.signature !== undefined) return;
      isNew = true;
      await db.proposals.put({ ...p, status: 'executed', signature: sig });
      const c = await db.ceremonies.get(live.id);
      if (c !== undefined) await db.ceremonies.put({ ...c, status: 'done', updatedAt: now });
    });
    if (!isNew) return;
    await this.clearTimer(live);
    if (own) this.sendBroadcast(live, `0x${toHex(sig)}`);
    await this.refreshAttention();
  }

  private async pushToChain(id: string, raw: `0x${string}`): Promise<void> {
    const tx = await this.d.repos.db.transactions.get(id);
    if (tx === undefined) return;
    let lastError: string | null = null;
    try {
      await this.d.chain.broadcast(tx.chainId, raw);
    } catch (e) {
      // Another device's transaction for the same nonce may already be in; the receipt decides.
      lastError = e instanceof ExtensionError ? e.message : 'The RPC refused the transaction.';
      this.log('BROADCAST', e);
    }
    const cur = await this.d.repos.db.transactions.get(id);
    if (cur !== undefined)
      await this.d.repos.db.transactions.put({ ...cur, lastError, updatedAt: this.now() });
  }

  /** Follows pending transactions' receipts (called while a page polls). */
  private async pollReceipts(): Promise<void> {
    const pending = await this.d.repos.db.transactions.where('status').equals('pending').toArray();
    const now = this.now();
    for (const tx of pending) {
      if (now - (this.checked.get(tx.id) ?? 0) < RECEIPT_POLL_MS) continue;
      this.checked.set(tx.id, now);
      for (const hash of tx.hashes) {
        try {
          const s = await this.d.chain.status(tx.chainId, hash as `0x${string}`);
          if (s.state === 'pending') continue;
          await this.d.repos.db.transactions.put({
            ...tx,
            status: s.state,
            minedHash: hash,
            blockNumber: s.blockNumber,
            checkedAt: now,
            updatedAt: now,
          });
          break;
        } catch (e) {
          this.log('RECEIPT', e);
        }
      }
    }
  }

  private async markAborted(id: string, code: string): Promise<void> {
    const c = await this.d.repos.ceremonies.get(id);
    if (c === undefined || c.status === 'done') return;
    await this.d.repos.ceremonies.put({ ...c, abortCode: code, updatedAt: this.now() });
  }

  // ---------------------------------------------------------------- reshare glue

  /** Certificate signatures relayed outside the request's session (certificate-delivery.ts). */
  reshareCertificates(
    id: string,
    attempt: number,
    sigs: readonly { from: string; sig: Uint8Array }[],
  ): Promise<void> {
    return this.serial(async () => {
      const live = this.live.get(id);
      if (live === undefined) return;
      await this.d.reshare?.onRelayedCertificates(this.reshareContext(live), attempt, sigs);
    });
  }

  private reshareContext(live: Live) {
    return {
      id: live.id,
      request: live.request,
      hash: live.hash,
      channel: live.channel,
      self: this.identity,
      serial: <T>(fn: () => Promise<T>) => this.serial(fn),
      // Progress of this device's session pushes the attempt's stall deadline back.
      progress: (attempt: number) => live.progress.set(attempt, this.now()),
      sendCertificate: (attempt: number, sig: Uint8Array) =>
        this.sendControl(live, Q.certificate, `${Q.certificate}${attempt}`, {
          t: 'certificate',
          hash: live.hash,
          attempt,
          sig,
        }),
      // Both are called from code already serialised by `serial`: they must not re-enter it.
      aborted: async (attempt: number, code: string) => {
        await this.markAborted(live.id, code);
        await this.retryAfter(live, attempt, 'abort');
      },
      finished: async () => {
        const db = this.d.repos.db;
        const c = await db.ceremonies.get(live.id);
        if (c !== undefined) await db.ceremonies.put({ ...c, status: 'done', updatedAt: this.now() });
        const p = await db.proposals.get(live.id);
        if (p !== undefined) await db.proposals.put({ ...p, status: 'executed' });
        this.vaultCache.delete(live.request.vaultId);
        await this.refreshAttention();
      },
    };
  }

  // ---------------------------------------------------------------- views and attention

  private async refreshAttention(): Promise<void> {
    const badge = this.d.attention?.badge;
    if (badge === undefined) return;
    const n = (await this.list(false)).filter((r) => r.canDecide).length;
    await badge(n === 0 ? '' : String(n)).catch((e: unknown) => this.log('BADGE', e));
  }

  async list(poll = true): Promise<RequestView[]> {
    if (poll) await this.pollReceipts();
    const rows = await this.d.repos.db.proposals.where('kind').anyOf('sign', 'reshare').toArray();
    rows.sort((a, b) => b.createdAt - a.createdAt);
    const self = await this.selfId();
    const out: RequestView[] = [];
    for (const r of rows) {
      try {
        out.push(await this.viewOf(r, self));
      } catch (e) {
        this.log('VIEW', e);
      }
    }
    return out;
  }

  async view(id: string): Promise<RequestView> {
    await this.pollReceipts();
    const row = await this.d.repos.proposals.get(id);
    if (row === undefined || (row.kind !== 'sign' && row.kind !== 'reshare')) {
      throw new ExtensionError('NOT_FOUND', 'No such request.');
    }
    return this.viewOf(row, await this.selfId());
  }

  /** This device's id (hex) from storage, so views work while locked too ('' before onboarding). */
  private async selfId(): Promise<string> {
    return (await this.d.repos.identity.get())?.deviceId ?? '';
  }

  private async viewOf(row: ProposalRecord, self: string): Promise<RequestView> {
    const request = decodeRequest(row.payload);
    const vault = await this.d.repos.vaults.get(request.vaultId);
    const decisions = await this.decisions(row.id);
    const ceremony = await this.d.repos.ceremonies.get(row.id);
    const tx = await this.d.repos.db.transactions.get(row.id);
    let members: (TallyMember & { label: string; identity: PublicDeviceIdentity })[];
    let threshold: number;
    if (vault !== undefined && vault.epoch === request.epoch) {
      members = vaultMembers(vault);
      threshold = vault.threshold;
    } else if (request.body.kind === 'reshare') {
      // A joiner (no vault yet), or a member after the reshare moved the vault to the next epoch.
      members = request.body.current;
      threshold = decodeDescriptor(request.body.descriptor).threshold;
    } else {
      members = vault === undefined ? [] : vaultMembers(vault);
      threshold = vault?.threshold ?? 0;
    }
    const t = tally(members, threshold, decisions);
    const onlineSet = this.online.get(request.sid) ?? new Set<string>();
    const joiners =
      request.body.kind === 'reshare'
        ? request.body.members.filter((m) => !members.some((o) => o.deviceId === m.deviceId))
        : [];
    const banned = new Set((await this.d.repos.bans.forVault(request.vaultId)).map((b) => b.deviceId));
    const rows: RequestMemberView[] = [
      ...members.map((m) => ({ deviceId: m.deviceId, label: m.label, power: m.power, joining: false })),
      ...joiners.map((m) => ({ deviceId: m.deviceId, label: m.label, power: m.power, joining: true })),
    ].map((m) => ({
      ...m,
      isSelf: m.deviceId === self,
      isInitiator: m.deviceId === request.initiator,
      decision: decisions.get(m.deviceId) ?? null,
      online: m.deviceId === self ? this.client !== null : onlineSet.has(m.deviceId),
      signer: ceremony?.signers?.includes(m.deviceId) ?? false,
      banned: banned.has(m.deviceId),
    }));
    const expired =
      row.status === 'expired' ||
      (!isLive(request, this.now()) &&
        tx === undefined &&
        (row.status === 'open' ||
          (row.status === 'approved' &&
            (ceremony === undefined || (request.body.kind !== 'reshare' && ceremony.status !== 'aborted')))));
    let phase: RequestPhase;
    if (tx !== undefined)
      phase = tx.status === 'mined' ? 'mined' : tx.status === 'failed' ? 'failed' : 'broadcast';
    else if (row.status === 'executed') phase = 'done';
    else if (row.status === 'rejected') phase = 'rejected';
    else if (expired) phase = 'expired';
    else if (ceremony?.status === 'running')
      phase = (ceremony.signers?.length ?? 0) > 0 ? 'signing' : 'approved';
    else if (ceremony?.status === 'aborted') phase = 'failed';
    else if (row.status === 'approved') phase = 'approved';
    else phase = 'pending';
    const myDecision = decisions.get(self) ?? null;
    const canDecide =
      myDecision === null &&
      (row.status === 'open' || (row.status === 'approved' && tx === undefined)) &&
      !expired &&
      rows.some((m) => m.deviceId === self);
    let summary: TxSummary | null = null;
    if (request.body.kind === 'send' && vault?.address != null) {
      summary = await this.describeCached(row.id, request.body.tx, vault.address, tx === undefined);
    }
    const description =
      request.body.kind === 'reshare'
        ? null
        : await this.describedCached(row.id, request.body, vault?.address ?? null);
    return {
      id: row.id,
      vaultId: request.vaultId,
      vaultName: vault?.name ?? 'Vault',
      kind: request.body.kind,
      phase,
      createdAt: request.createdAt,
      expiresAt: request.expiresAt,
      threshold,
      totalPower: members.reduce((s, m) => s + m.power, 0),
      approvedPower: t.approvedPower,
      rejectedPower: t.rejectedPower,
      members: rows,
      myDecision,
      canDecide,
      tx: summary,
      origin: bodyOrigin(request.body),
      description,
      signature: row.signature === undefined ? null : `0x${toHex(row.signature)}`,
      reshare:
        request.body.kind === 'reshare'
          ? {
              oldThreshold: threshold,
              newThreshold: request.body.threshold,
              members: [
                ...request.body.members.map((m) => ({
                  deviceId: m.deviceId,
                  fingerprint: deviceFingerprint(m.identity),
                  label: m.label,
                  oldPower: members.find((o) => o.deviceId === m.deviceId)?.power ?? 0,
                  newPower: m.power,
                })),
                ...members
                  .filter(
                    (o) =>
                      request.body.kind === 'reshare' &&
                      !request.body.members.some((m) => m.deviceId === o.deviceId),
                  )
                  .map((o) => ({
                    deviceId: o.deviceId,
                    fingerprint: deviceFingerprint(o.identity),
                    label: o.label,
                    oldPower: o.power,
                    newPower: 0,
                  })),
              ],
              safetyCode: reshareSafetyCode(request),
              epoch: row.status === 'executed' ? request.epoch + 1 : null,
            }
          : null,
      txHash: tx?.minedHash ?? tx?.hashes[tx.hashes.length - 1] ?? null,
      blockNumber: tx?.blockNumber ?? null,
      attempt: ceremony?.attempt ?? 0,
      error:
        tx?.status === 'failed'
          ? 'The transaction reverted.'
          : ceremony?.abortCode === COULD_NOT_SIGN
            ? `Could not sign: the chosen devices did not finish signing together in ${MAX_ATTEMPTS} attempts. Nothing was signed; any member can propose it again.`
            : ceremony?.abortCode === COULD_NOT_RESHARE
              ? `Could not change the signers: the devices did not finish together in ${MAX_ATTEMPTS} attempts. The vault keeps its current signers and key shares; any member can propose the change again.`
              : (ceremony?.abortCode ?? tx?.lastError ?? null),
      canReopen:
        phase === 'failed' &&
        tx === undefined &&
        request.body.kind === 'send' &&
        vault?.status === 'active' &&
        vault.epoch === request.epoch &&
        rows.some((m) => m.isSelf && !m.joining),
    };
  }

  private readonly described = new Map<string, { at: number; summary: TxSummary; checkNonce: boolean }>();
  private readonly describedFull = new Map<string, { at: number; d: Description }>();

  /**
   * The describer's reading of a signing request (describe/), on this device with its own RPC:
   * the site's origin, decoded calldata, typed data as a tree and sentence, and the warnings.
   */
  private async describedCached(id: string, body: SigningBody, from: string | null): Promise<Description> {
    const hit = this.describedFull.get(id);
    if (hit !== undefined && this.now() - hit.at < 10_000) return hit.d;
    const d = await describeSigning(body, from, await this.d.chain.reader(body.chainId));
    this.describedFull.set(id, { at: this.now(), d });
    return d;
  }

  /** Each device decodes the raw request itself; the chain lookups are cached for a few seconds. */
  private async describeCached(
    id: string,
    tx: Uint8Array,
    address: string,
    checkNonce: boolean,
  ): Promise<TxSummary | null> {
    const hit = this.described.get(id);
    if (hit !== undefined && hit.checkNonce === checkNonce && this.now() - hit.at < 10_000)
      return hit.summary;
    try {
      // Once the request's own transaction is out, its nonce is used by itself: no warning then.
      const summary = await this.d.chain.describe(tx, address as `0x${string}`, { checkNonce });
      this.described.set(id, { at: this.now(), summary, checkNonce });
      return summary;
    } catch (e) {
      this.log('DESCRIBE', e);
      return hit?.summary ?? null;
    }
  }
}

function proposalRecord(r: VaultRequest, bytes: Uint8Array, now: number): ProposalRecord {
  return {
    id: r.id,
    vaultId: r.vaultId,
    kind: r.body.kind === 'reshare' ? 'reshare' : 'sign',
    proposer: r.initiator,
    payload: bytes,
    status: 'open',
    createdAt: now,
    expiresAt: r.expiresAt,
  };
}

function ceremonyRecord(live: Live, now: number): CeremonyRecord {
  return {
    id: live.id,
    vaultId: live.request.vaultId,
    proposalId: live.id,
    kind: live.request.body.kind === 'reshare' ? 'reshare' : 'sign',
    status: 'running',
    round: 0,
    state: null,
    abortCode: null,
    createdAt: now,
    updatedAt: now,
  };
}

export { encodePublicIdentity };
