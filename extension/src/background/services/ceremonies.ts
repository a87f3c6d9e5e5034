/**
 * Vault creation ceremonies: proposal → every member accepts → weighted DKG (tss `DkgSession`, DKLs23
 * keygen, 4 rounds) over the bridge → the same address on every device, stored as a vault record and
 * an encrypted share record.
 *
 * Flow (one bridge session of kind `dkg` per proposal, created by the proposer with every member):
 *  1. the creator signs the canonical proposal (its own `approve` decision) and sends it to each
 *     invitee as the session's first message (vault-proposal.ts has the wire format);
 *  2. each invitee validates it (schema, identity bindings, layout, creator's signature, relay sender
 *     = proposer) and shows it with the safety code; the user accepts or declines, and the signed
 *     decision goes to every other member;
 *  3. when a device holds a valid `approve` from every member it starts its DKG party; the protocol
 *     messages flow through `SessionChannel` (ceremony-runner.ts), buffered until the party is bound.
 *
 * Persistence (ARCHITECTURE rule 12): the proposal (`proposals`), every signed decision
 * (`approvals`) and the DKG progress (`ceremonies`: status and round) are in IndexedDB, so the UI
 * reads everything from there and a service-worker restart is visible. An open proposal resumes
 * after a restart (the channel is rebuilt from the stored proposal). A DKG whose worker restarted
 * mid-run (or was locked, or whose offscreen Worker died) cannot resume its round state, which lives
 * only in memory by design; it *restarts*: the device announces a new attempt of the same accepted
 * proposal to every member and all run the DKG again under that attempt's label, with no second
 * acceptance (dkg-restart.ts has the rules and bounds). Past the bound or the proposal's expiry it
 * is marked `aborted` with `INTERRUPTED` as before.
 *
 * The DKG party (~3 s of CPU, spread over the rounds) runs in a Worker inside an offscreen document
 * when the browser has one (crypto-host.ts, remote-engine.ts), so it never blocks this worker's
 * message loop; this worker keeps the bridge, persistence and progress, and seals the share. Where
 * there is no offscreen API (unit tests under Node) it runs in process, as before.
 */
import type { BridgeClient, DeliveredMessage } from '@concord/bridge-server/client';
import {
  type Decision,
  decisionMessage,
  decodeDecision,
  decodeProposal,
  decodeProposalPlaintext,
  encodeDecision,
  encodeProposal,
  encodeProposalPlaintext,
  openInvitation,
  type ProposalMember,
  proposalHash,
  proposalSafetyCode,
  type VaultProposal,
  verifyDecision,
  wrapInvitation,
} from '@concord/bridge-server/vault/proposal';
import { DKG_ROUNDS, DkgSession } from '@concord/tss';
import { equalBytes } from '@concord/tss/bytes';
import { toBase64url } from '@concord/tss/transport';
import { toHex, zeroize } from '../../shared/bytes.ts';
import { ExtensionError, isExtensionError } from '../../shared/errors.ts';
import type { CeremonyPhase, CeremonyView, ProposeRequest, VaultView } from '../../shared/messages.ts';
import { layoutProblem, totalPower } from '../../shared/quorum.ts';
import type { ApprovalRecord, CeremonyRecord, ProposalRecord, VaultRecord } from '../../storage/records.ts';
import type { Repositories } from '../../storage/repositories/index.ts';
import { SharesRepository } from '../../storage/repositories/shares.ts';
import type { Platform } from '../platform.ts';
import { type RunHooks, SessionChannel } from './ceremony-runner.ts';
import { cryptoHost } from './crypto-host.ts';
import {
  decodeRestart,
  dkgLabel,
  encodeRestart,
  isDkgTag,
  nextAttempt,
  ownRestart,
  RESTART_TAG,
  restartMessage,
  verifyRestart,
} from './dkg-restart.ts';
import { EarlyBuffer } from './early-buffer.ts';
import {
  type DeviceIdentity,
  deviceFingerprint,
  encodePublicIdentity,
  parseDeviceCode,
  publicIdentity,
} from './identity-api.ts';
import { type DkgOutput, type DkgParty, engineErrorCode, localDkgParty } from './remote-engine.ts';
import { SerialQueue } from './serial.ts';

/** How long an invitation stays answerable (and the bridge session's TTL). */
export const PROPOSAL_TTL_MS = 30 * 60_000;
const PROPOSAL_TAG = 'proposal';
const DECISION_TAG = 'decision';
/** Messages held for a session whose proposal has not arrived yet (a fast peer's decision). */
const MAX_EARLY = 64;
const MAX_EARLY_SESSIONS = 16;
const DEFAULT_DKG_STALL_MS = 10 * 60_000;

export interface Unlocked {
  identity: DeviceIdentity;
  dek: Uint8Array;
}

export interface CeremonyServiceDeps {
  repos: Repositories;
  platform: Platform;
  /** The loaded identity and data key, or null while locked. */
  unlocked: () => Promise<Unlocked | null>;
  /** A ready bridge client for the unlocked identity (connects if needed). */
  connect: () => Promise<BridgeClient>;
  log?: (code: string, error: unknown) => void;
  /**
   * A running DKG that receives nothing for this long is aborted with `TIMEOUT` (a member went away
   * or its messages cannot be delivered), so the UI never shows "round k of 4" forever. Default 10 min.
   */
  dkgStallMs?: number;
}

interface Live {
  proposal: VaultProposal;
  hash: Uint8Array;
  channel: SessionChannel;
  /** This device's DKG party: in the offscreen Worker, or in process where there is none. */
  dkg: DkgParty | undefined;
  /** The DKG attempt this device runs or will run (dkg-restart.ts); 0 = the first run. */
  attempt: number;
  round: number;
  settled: boolean;
  /** Stall watchdog: fires when no protocol message arrived for `dkgStallMs`. */
  stall: ReturnType<typeof setTimeout> | undefined;
}

export class CeremonyService {
  private client: BridgeClient | null = null;
  private identity: DeviceIdentity | null = null;
  private unsubscribe: (() => void) | null = null;
  private readonly live = new Map<string, Live>();
  private readonly bySid = new Map<string, string>();
  private readonly early = new EarlyBuffer(MAX_EARLY_SESSIONS, MAX_EARLY);
  private readonly queue: SerialQueue;

  constructor(private readonly d: CeremonyServiceDeps) {
    this.queue = new SerialQueue((e) => this.d.log?.('CEREMONY', e));
  }

  /** Decisions, starts and completions one at a time (two decisions must not both start the DKG). */
  private serial<T>(fn: () => Promise<T>): Promise<T> {
    return this.queue.run(fn);
  }

  private now(): number {
    return this.d.platform.now();
  }

  // ---------------------------------------------------------------- bridge lifecycle

  /** A new bridge client for the unlocked identity: listen, then rebuild open ceremonies. */
  attach(client: BridgeClient, identity: DeviceIdentity): void {
    this.detachAll();
    this.client = client;
    this.identity = identity;
    this.unsubscribe = client.on('message', (msg) => this.onMessage(msg));
    void this.serial(() => this.restore());
  }

  /** The client went away (lock, URL change): stop routing; a running DKG cannot continue. */
  detach(client: BridgeClient): void {
    if (this.client !== client) return;
    // A running DKG stays `running` in storage without a party here: the next `attach` (unlock,
    // reconnect, new worker) restarts it (see restore).
    this.detachAll();
  }

  private detachAll(): void {
    this.unsubscribe?.();
    this.unsubscribe = null;
    for (const l of this.live.values()) {
      if (l.stall !== undefined) clearTimeout(l.stall);
      l.channel.close();
    }
    this.live.clear();
    this.bySid.clear();
    this.early.clear();
    this.client = null;
    this.identity = null;
  }

  private async restore(): Promise<void> {
    const rows = await this.d.repos.db.proposals.where('kind').equals('create-vault').toArray();
    for (const row of rows) {
      if (row.status !== 'open' && row.status !== 'approved') continue;
      const ceremony = await this.d.repos.ceremonies.get(row.id);
      if (row.status === 'approved' || ceremony?.status === 'running') {
        if (ceremony !== undefined && ceremony.status !== 'running') continue; // done or stopped
        // The DKG's round state was in the previous worker's memory: run it again as a new attempt.
        const next = ownRestart(ceremony?.attempt ?? 0, this.now(), row.expiresAt);
        if (typeof next !== 'number') {
          await this.markAborted(row.id, 'INTERRUPTED');
          continue;
        }
        const proposal = decodeProposal(row.payload);
        if (proposal.id !== row.id) {
          // A row whose payload names another proposal was not written by this service.
          await this.markAborted(row.id, 'INTERRUPTED');
          continue;
        }
        const live = this.bind(proposal, proposalHash(row.payload));
        await this.restartParty(live, next, true);
        continue;
      }
      if (row.expiresAt <= this.now()) {
        await this.d.repos.proposals.put({ ...row, status: 'expired' });
        continue;
      }
      const proposal = decodeProposal(row.payload);
      this.bind(proposal, proposalHash(row.payload));
      await this.maybeStart(row.id);
    }
  }

  // ---------------------------------------------------------------- inbound

  private onMessage(msg: DeliveredMessage): void {
    if (this.bySid.has(msg.sid)) return; // its channel handles it
    if (msg.tag === PROPOSAL_TAG) {
      void this.serial(() => this.onInvitation(msg)).catch((e: unknown) => this.d.log?.('INVITATION', e));
      return;
    }
    // Only this service's own traffic is held (a fast peer's decision or DKG message): vault requests
    // on the same client use `q.*` tags and their own labels (requests.ts).
    if (msg.tag !== DECISION_TAG && msg.tag !== RESTART_TAG && !isDkgTag(msg.tag)) return;
    this.early.hold(msg);
  }

  /** Validates an invitation (first message of a `dkg` session) and stores it as an open proposal. */
  private async onInvitation(msg: DeliveredMessage): Promise<void> {
    const identity = this.identity;
    if (identity === null || this.bySid.has(msg.sid)) return;
    const { sender, plaintext } = openInvitation(identity, msg, PROPOSAL_TAG, 'invitation');
    const { bytes, sig } = decodeProposalPlaintext(plaintext);
    const proposal = decodeProposal(bytes);
    const hash = proposalHash(bytes);
    const self = toHex(identity.deviceId);
    const proposer = proposal.members.find((m) => m.deviceId === proposal.proposer);
    if (proposal.sid !== msg.sid) throw new Error('proposal is for another session');
    if (proposer === undefined || !equalBytes(proposer.identity.agreementKey, sender.agreementKey)) {
      throw new Error('proposal sender is not its proposer');
    }
    if (!proposal.members.some((m) => m.deviceId === self)) throw new Error('not a member');
    if (!verifyDecision(sender, hash, 'approve', sig)) throw new Error('proposal signature invalid');
    if (proposal.expiresAt <= this.now()) throw new Error('proposal expired');
    if ((await this.d.repos.proposals.get(proposal.id)) !== undefined) return;
    // The proposer chooses the id, which becomes the local vault id here: an id already used by a
    // vault or share of this device (e.g. one joined through a reshare, which has no proposal row)
    // would make the DKG write into that vault. Refused before anything is stored or shown.
    if (await this.d.repos.vaults.idTaken(proposal.id)) {
      throw new ExtensionError(
        'VAULT_ID_COLLISION',
        'The proposal names the id of a vault already on this device.',
      );
    }
    const now = this.now();
    await this.d.repos.db.transaction(
      'rw',
      this.d.repos.db.proposals,
      this.d.repos.db.approvals,
      async () => {
        await this.d.repos.proposals.put(proposalRecord(proposal, bytes, now));
        await this.d.repos.approvals.add(approvalRecord(proposal.id, proposal.proposer, 'approve', sig, now));
      },
    );
    this.bind(proposal, hash);
  }

  /** Creates the channel for a proposal and replays what arrived before it. */
  private bind(proposal: VaultProposal, hash: Uint8Array): Live {
    const client = this.client;
    const identity = this.identity;
    if (client === null || identity === null) throw new ExtensionError('LOCKED', 'Unlock Concord first.');
    const id = proposal.id;
    const channel = new SessionChannel({
      client,
      identity,
      sid: proposal.sid,
      members: proposal.members.map((m) => m.identity),
      ttlMs: PROPOSAL_TTL_MS,
      onControl: (m) => {
        if (m.header.tag === DECISION_TAG) {
          void this.serial(() => this.onDecision(id, m.header.from, m.plaintext)).catch((e: unknown) =>
            this.d.log?.('DECISION', e),
          );
        } else if (m.header.tag === RESTART_TAG) {
          void this.serial(() => this.onRestart(id, m.header.from, m.plaintext)).catch((e: unknown) =>
            this.d.log?.('DKG_RESTART', e),
          );
        }
      },
      onReject: (code) => this.d.log?.(`ENVELOPE_${code}`, new Error(code)),
    });
    const live: Live = {
      proposal,
      hash,
      channel,
      dkg: undefined,
      attempt: 0,
      round: 0,
      settled: false,
      stall: undefined,
    };
    this.live.set(id, live);
    this.bySid.set(proposal.sid, id);
    for (const m of this.early.take(proposal.sid)) channel.deliver(m);
    return live;
  }

  private async onDecision(id: string, from: Uint8Array, plaintext: Uint8Array): Promise<void> {
    const live = this.live.get(id);
    if (live === undefined) return;
    const d = decodeDecision(plaintext);
    const member = live.proposal.members.find((m) => equalBytes(m.identity.deviceId, from));
    if (member === undefined) throw new Error('decision from a non-member');
    if (!equalBytes(d.hash, live.hash)) throw new Error('decision for another proposal');
    if (!verifyDecision(member.identity, live.hash, d.decision, d.sig))
      throw new Error('decision signature invalid');
    const existing = (await this.d.repos.approvals.forProposal(id)).find(
      (a) => a.deviceId === member.deviceId,
    );
    if (existing !== undefined) return; // one decision per device; a resend is a no-op
    await this.d.repos.approvals.add(approvalRecord(id, member.deviceId, d.decision, d.sig, this.now()));
    if (d.decision === 'reject') await this.reject(id);
    else await this.maybeStart(id);
  }

  // ---------------------------------------------------------------- requests from the UI

  /** Creates the bridge session, stores and sends the signed proposal. */
  async propose(req: ProposeRequest): Promise<CeremonyView> {
    const u = await this.d.unlocked();
    if (u === null) throw new ExtensionError('LOCKED', 'Unlock Concord first.');
    const name = req.name.trim();
    if (name === '') throw new ExtensionError('INVALID_REQUEST', 'Give the vault a name.');
    const self = publicIdentity(u.identity);
    const members: ProposalMember[] = [
      {
        identity: self,
        deviceId: toHex(self.deviceId),
        power: req.selfPower,
        label: req.selfLabel.trim() || 'This device',
      },
    ];
    req.invitees.forEach((inv, i) => {
      let identity: ReturnType<typeof parseDeviceCode>;
      try {
        identity = parseDeviceCode(inv.code);
      } catch (cause) {
        throw new ExtensionError('INVALID_REQUEST', `Signer ${i + 1}: that is not a valid device code.`, {
          cause,
        });
      }
      const deviceId = toHex(identity.deviceId);
      if (members.some((m) => m.deviceId === deviceId)) {
        throw new ExtensionError('INVALID_REQUEST', `Signer ${i + 1} is already in the vault.`);
      }
      members.push({ identity, deviceId, power: inv.power, label: inv.label.trim() || `Signer ${i + 1}` });
    });
    const problem = layoutProblem(members, req.threshold);
    if (problem !== null) throw new ExtensionError('INVALID_REQUEST', problem);

    const client = await this.d.connect();
    const info = await client.createSession(
      'dkg',
      members.map((m) => toBase64url(m.identity.deviceId)),
      PROPOSAL_TTL_MS,
    );
    const now = this.now();
    const proposal: VaultProposal = {
      id: toHex(this.d.platform.rng(16)),
      sid: info.sid,
      name,
      threshold: req.threshold,
      proposer: toHex(self.deviceId),
      members: members.sort((a, b) => a.deviceId.localeCompare(b.deviceId)),
      createdAt: now,
      expiresAt: now + PROPOSAL_TTL_MS,
    };
    const bytes = encodeProposal(proposal);
    const hash = proposalHash(bytes);
    const sig = u.identity.sign(decisionMessage(hash, 'approve'));
    await this.d.repos.db.transaction(
      'rw',
      this.d.repos.db.proposals,
      this.d.repos.db.approvals,
      async () => {
        await this.d.repos.proposals.put(proposalRecord(proposal, bytes, now));
        await this.d.repos.approvals.add(approvalRecord(proposal.id, proposal.proposer, 'approve', sig, now));
      },
    );
    await this.serial(async () => {
      const live = this.bind(proposal, hash);
      const plaintext = encodeProposalPlaintext(bytes, sig);
      for (const m of proposal.members) {
        if (m.deviceId === proposal.proposer) continue;
        const msgId = `${PROPOSAL_TAG}:${toBase64url(m.identity.deviceId).slice(0, 16)}`;
        const envelope = live.channel.seal(m.identity.deviceId, PROPOSAL_TAG, msgId, plaintext);
        // The client's outbox keeps it until the relay accepts it, across reconnects.
        client
          .send({
            sid: proposal.sid,
            to: toBase64url(m.identity.deviceId),
            tag: PROPOSAL_TAG,
            msgId,
            envelope: wrapInvitation(self, envelope),
            ttlMs: PROPOSAL_TTL_MS,
          })
          .catch((e: unknown) => this.d.log?.('SEND', e));
      }
    });
    return this.view(proposal.id);
  }

  /** This device's accept or decline, signed and sent to every other member. */
  async respond(id: string, accept: boolean): Promise<CeremonyView> {
    const u = await this.d.unlocked();
    if (u === null) throw new ExtensionError('LOCKED', 'Unlock Concord first.');
    await this.d.connect();
    await this.serial(async () => {
      const live = this.live.get(id);
      const row = await this.d.repos.proposals.get(id);
      if (live === undefined || row === undefined || row.status !== 'open' || row.expiresAt <= this.now()) {
        throw new ExtensionError('INVALID_REQUEST', 'This proposal can no longer be answered.');
      }
      const self = toHex(u.identity.deviceId);
      const mine = (await this.d.repos.approvals.forProposal(id)).find((a) => a.deviceId === self);
      if (mine !== undefined) throw new ExtensionError('INVALID_REQUEST', 'You have already answered.');
      const decision: Decision = accept ? 'approve' : 'reject';
      const sig = u.identity.sign(decisionMessage(live.hash, decision));
      await this.d.repos.approvals.add(approvalRecord(id, self, decision, sig, this.now()));
      live.channel
        .broadcast(DECISION_TAG, DECISION_TAG, encodeDecision({ decision, hash: live.hash, sig }))
        .catch((e: unknown) => this.d.log?.('SEND', e));
      if (decision === 'reject') await this.reject(id);
      else await this.maybeStart(id);
    });
    return this.view(id);
  }

  // ---------------------------------------------------------------- the DKG

  /** Starts this device's DKG party once every member has approved. Runs inside `serial`. */
  private async maybeStart(id: string): Promise<void> {
    const live = this.live.get(id);
    if (live === undefined || this.identity === null || live.dkg !== undefined) return;
    const row = await this.d.repos.proposals.get(id);
    if (row === undefined || row.status !== 'open') return;
    if (!(await this.allApproved(live))) return;
    await this.startParty(live);
  }

  /** Whether this device holds an `approve` from every member of the live proposal. */
  private async allApproved(live: Live): Promise<boolean> {
    const approvals = await this.d.repos.approvals.forProposal(live.proposal.id);
    const approved = new Set(approvals.filter((a) => a.decision === 'approve').map((a) => a.deviceId));
    return live.proposal.members.every((m) => approved.has(m.deviceId));
  }

  /** Starts this device's party for attempt `live.attempt` and persists it as running round 1. */
  private async startParty(live: Live): Promise<void> {
    const identity = this.identity;
    if (identity === null) return;
    const id = live.proposal.id;
    const attempt = live.attempt;
    const before = await this.d.repos.ceremonies.get(id);
    if (before !== undefined && before.status !== 'running') return; // done or stopped: never rerun
    const label = dkgLabel(attempt);
    const params = {
      parties: live.proposal.members.map((m) => ({ id: m.identity.deviceId, power: m.power })),
      threshold: live.proposal.threshold,
      selfId: identity.deviceId,
    };
    // Off this worker when the browser can host a Worker for it; the remote session opens on `start`,
    // so nothing is held there if the transaction below fails.
    const host = cryptoHost();
    let dkg: DkgParty;
    let bindRun: (hooks: RunHooks) => void;
    if (host !== null) {
      const engine = host.dkg(params);
      dkg = engine;
      bindRun = (hooks) => live.channel.runAsync(engine, label, hooks);
    } else {
      const session = new DkgSession(params);
      dkg = localDkgParty(session);
      bindRun = (hooks) => live.channel.run(session, label, hooks);
    }
    // Bound before the record says `running`: a running record without a live party in this worker
    // means the worker restarted mid-DKG (see viewOf).
    live.dkg = dkg;
    live.round = 1;
    const now = this.now();
    const db = this.d.repos.db;
    await db.transaction('rw', db.proposals, db.ceremonies, async () => {
      const row = await this.d.repos.proposals.get(id);
      if (row !== undefined && row.status === 'open') {
        await this.d.repos.proposals.put({ ...row, status: 'approved' });
      }
      const c = await this.d.repos.ceremonies.get(id);
      await this.d.repos.ceremonies.put({
        ...(c ?? ceremonyRecord(id, now)),
        status: 'running',
        round: 1,
        attempt,
        abortCode: null,
        updatedAt: now,
      });
    });
    bindRun({
      onError: (e) => {
        // Only an abort of the session itself ends the run. A failed send is retried by the client's
        // outbox, and a message the session refused (wrong round, malformed frame) leaves its state
        // unchanged: letting either end the run would hand any peer a cheap way to stop it.
        const abort = dkg.abortError;
        if (abort === undefined) {
          this.d.log?.(engineErrorCode(e) ?? 'DKG_MESSAGE', e);
        } else if (abort.code === 'INTERRUPTED') {
          // The offscreen Worker holding the round state is gone: like a worker restart.
          void this.serial(() => this.restartOwn(live, dkg));
        } else {
          this.settle(live, () => this.markAborted(id, abort.code));
        }
      },
      onStep: () => this.onStep(live),
    });
  }

  /**
   * Moves `live` to attempt `attempt`: abandons every earlier attempt's run on the channel, announces
   * the attempt to every member when this device is the one that lost its party, and starts a party.
   * Runs inside `serial`.
   */
  private async restartParty(live: Live, attempt: number, announce: boolean): Promise<void> {
    const identity = this.identity;
    if (identity === null || live.settled) return;
    if (live.stall !== undefined) clearTimeout(live.stall);
    live.stall = undefined;
    for (let k = 0; k < attempt; k++) live.channel.stopRun(dkgLabel(k));
    live.dkg = undefined;
    live.attempt = attempt;
    if (announce) {
      // This device's own signed approval again first: the worker may have died before the relay
      // took the original, and the others start no attempt without it (a duplicate is a no-op there).
      const self = toHex(identity.deviceId);
      const mine = (await this.d.repos.approvals.forProposal(live.proposal.id)).find(
        (a) => a.deviceId === self,
      );
      if (mine !== undefined && mine.decision === 'approve') {
        live.channel
          .broadcast(
            DECISION_TAG,
            `${DECISION_TAG}:${attempt}`,
            encodeDecision({ decision: 'approve', hash: live.hash, sig: mine.signature }),
          )
          .catch((e: unknown) => this.d.log?.('SEND', e));
      }
      const sig = identity.sign(restartMessage(live.hash, attempt));
      live.channel
        .broadcast(RESTART_TAG, `${RESTART_TAG}:${attempt}`, encodeRestart({ hash: live.hash, attempt, sig }))
        .catch((e: unknown) => this.d.log?.('SEND', e));
    }
    await this.startParty(live);
  }

  /** This device's party of the current attempt was lost while the worker lives: restart it. */
  private async restartOwn(live: Live, lost: DkgParty): Promise<void> {
    if (live.settled || live.dkg !== lost) return;
    const row = await this.d.repos.proposals.get(live.proposal.id);
    const next = ownRestart(live.attempt, this.now(), row?.expiresAt ?? 0);
    if (typeof next !== 'number') {
      this.settle(live, () => this.markAborted(live.proposal.id, 'INTERRUPTED'));
      return;
    }
    await this.restartParty(live, next, true);
  }

  /**
   * A member announces a new attempt (it lost its party). Followed only for this exact proposal, from
   * a member, correctly signed, newer than ours and within the bound; it never stands in for an
   * acceptance: without every member's `approve` here, it only sets the attempt a later start uses.
   */
  private async onRestart(id: string, from: Uint8Array, plaintext: Uint8Array): Promise<void> {
    const live = this.live.get(id);
    if (live === undefined || live.settled) return;
    const r = decodeRestart(plaintext);
    const member = live.proposal.members.find((m) => equalBytes(m.identity.deviceId, from));
    if (member === undefined) throw new Error('restart from a non-member');
    if (!equalBytes(r.hash, live.hash)) throw new Error('restart for another proposal');
    if (!verifyRestart(member.identity, live.hash, r.attempt, r.sig))
      throw new Error('restart signature invalid');
    const row = await this.d.repos.proposals.get(id);
    if (row === undefined) return;
    const refusal = nextAttempt(live.attempt, r.attempt, this.now(), row.expiresAt);
    if (refusal !== null) {
      if (refusal !== 'NOT_NEWER') this.d.log?.(`DKG_RESTART_${refusal}`, new Error(refusal));
      return;
    }
    if (live.dkg === undefined) {
      // Not started here yet (approvals still arriving): start at that attempt when they are in.
      live.attempt = r.attempt;
      return;
    }
    await this.restartParty(live, r.attempt, false);
  }

  private onStep(live: Live): void {
    const dkg = live.dkg;
    if (dkg === undefined || live.settled) return;
    if (live.stall !== undefined) clearTimeout(live.stall);
    live.stall = setTimeout(() => {
      this.settle(live, () => this.markAborted(live.proposal.id, 'TIMEOUT'));
    }, this.d.dkgStallMs ?? DEFAULT_DKG_STALL_MS);
    if (dkg.finished) {
      this.settle(live, () => this.complete(live));
      return;
    }
    const round = Math.min(dkg.progress.round, DKG_ROUNDS);
    if (round !== live.round) {
      live.round = round;
      const id = live.proposal.id;
      void this.serial(async () => {
        const c = await this.d.repos.ceremonies.get(id);
        if (c !== undefined && c.status === 'running' && c.round < round) {
          await this.d.repos.ceremonies.put({ ...c, round, updatedAt: this.now() });
        }
      });
    }
  }

  /** Runs `fn` once per live ceremony (done or aborted), then closes its channel. */
  private settle(live: Live, fn: () => Promise<void>): void {
    if (live.settled) return;
    live.settled = true;
    if (live.stall !== undefined) clearTimeout(live.stall);
    void this.serial(async () => {
      try {
        await fn();
      } finally {
        live.channel.close();
        this.live.delete(live.proposal.id);
        // Keep bySid so late messages of the finished session are not taken for a new invitation.
      }
    });
  }

  /** Stores the vault and the sealed share, in one transaction. */
  private async complete(live: Live): Promise<void> {
    const id = live.proposal.id;
    const dkg = live.dkg;
    if (dkg === undefined) return;
    const u = await this.d.unlocked();
    if (u === null) {
      await this.markAborted(id, 'LOCKED');
      return;
    }
    let out: DkgOutput;
    try {
      // From the offscreen Worker this is a call that can fail (the Worker is gone): then abort.
      out = await dkg.output();
    } catch (e) {
      await this.markAborted(id, engineErrorCode(e) ?? 'INTERNAL');
      return;
    }
    const { keyShare: secret, descriptor } = out;
    const now = this.now();
    const vault: VaultRecord = {
      id,
      name: live.proposal.name,
      epoch: descriptor.epoch,
      threshold: live.proposal.threshold,
      members: live.proposal.members.map((m) => ({
        deviceId: m.deviceId,
        label: m.label,
        weight: m.power,
        publicIdentity: encodePublicIdentity(m.identity),
      })),
      publicKey: toHex(descriptor.groupPublicKey.toBytes(true)),
      address: descriptor.address,
      status: 'active',
      createdAt: now,
      updatedAt: now,
    };
    try {
      const share = SharesRepository.build(
        { vaultId: id, epoch: descriptor.epoch, status: 'active', secret, createdAt: now },
        u.dek,
        this.d.platform.rng,
      );
      const db = this.d.repos.db;
      await db.transaction('rw', [db.vaults, db.shares, db.ceremonies, db.proposals], async () => {
        // Never over an existing vault: a vault may have arrived under this id since the proposal
        // was accepted (refused on receipt otherwise). The transaction then writes nothing.
        await this.d.repos.vaults.create(vault);
        await this.d.repos.shares.addFirst(share);
        const c = await db.ceremonies.get(id);
        await db.ceremonies.put({
          ...(c ?? ceremonyRecord(id, now)),
          status: 'done',
          round: DKG_ROUNDS,
          updatedAt: now,
        });
        const p = await db.proposals.get(id);
        if (p !== undefined) await db.proposals.put({ ...p, status: 'executed' });
      });
    } catch (e) {
      if (!isExtensionError(e, 'VAULT_ID_COLLISION')) throw e;
      await this.markAborted(id, 'VAULT_ID_COLLISION');
    } finally {
      zeroize(secret);
    }
  }

  private async reject(id: string): Promise<void> {
    const row = await this.d.repos.proposals.get(id);
    if (row !== undefined && row.status === 'open')
      await this.d.repos.proposals.put({ ...row, status: 'rejected' });
    const live = this.live.get(id);
    if (live !== undefined) {
      live.settled = true;
      live.channel.close();
      this.live.delete(id);
    }
  }

  private async markAborted(id: string, code: string): Promise<void> {
    const now = this.now();
    const c = (await this.d.repos.ceremonies.get(id)) ?? ceremonyRecord(id, now);
    if (c.status === 'done') return;
    await this.d.repos.ceremonies.put({ ...c, status: 'aborted', abortCode: code, updatedAt: now });
  }

  // ---------------------------------------------------------------- views

  async list(): Promise<CeremonyView[]> {
    const rows = await this.d.repos.db.proposals.where('kind').equals('create-vault').toArray();
    rows.sort((a, b) => b.createdAt - a.createdAt);
    return Promise.all(rows.map((r) => this.viewOf(r)));
  }

  async view(id: string): Promise<CeremonyView> {
    const row = await this.d.repos.proposals.get(id);
    if (row === undefined) throw new ExtensionError('INVALID_REQUEST', 'No such proposal.');
    return this.viewOf(row);
  }

  private async viewOf(row: ProposalRecord): Promise<CeremonyView> {
    const p = decodeProposal(row.payload);
    // Whether this worker runs the party, sampled before and after the reads below: a party that
    // finishes (and leaves `live`) or starts while we read must not look orphaned.
    const hasParty = (): boolean => this.live.get(row.id)?.dkg !== undefined;
    const partyBefore = hasParty();
    const me = await this.d.repos.identity.get();
    const self = me?.deviceId ?? '';
    const approvals = await this.d.repos.approvals.forProposal(row.id);
    const ceremony = await this.d.repos.ceremonies.get(row.id);
    const vault = await this.d.repos.vaults.get(row.id);
    const decisionOf = (id: string) => approvals.find((a) => a.deviceId === id)?.decision ?? null;
    // A `running` record with no party in this worker: the worker restarted mid-DKG (or locked) and
    // the round state is gone. It restarts once the bridge is back (`restore`) if a new attempt is
    // still allowed; otherwise it is shown as interrupted right away, before `restore` persists it.
    const orphaned = ceremony?.status === 'running' && !partyBefore && !hasParty();
    const restartable =
      orphaned && typeof ownRestart(ceremony.attempt ?? 0, this.now(), row.expiresAt) === 'number';
    const lost = orphaned && !restartable;
    let phase: CeremonyPhase;
    if (row.status === 'rejected') phase = 'declined';
    else if (ceremony?.status === 'done') phase = 'done';
    else if (ceremony?.status === 'aborted' || lost) phase = 'failed';
    else if (ceremony?.status === 'running') phase = 'running';
    else if (row.status === 'expired' || row.expiresAt <= this.now()) phase = 'expired';
    else if (decisionOf(self) === null) phase = 'invited';
    else phase = 'waiting';
    return {
      id: row.id,
      name: p.name,
      role: p.proposer === self ? 'creator' : 'invitee',
      threshold: p.threshold,
      totalPower: totalPower(p.members),
      members: p.members.map((m) => ({
        deviceId: m.deviceId,
        fingerprint: deviceFingerprint(m.identity),
        label: m.label,
        power: m.power,
        isSelf: m.deviceId === self,
        isProposer: m.deviceId === p.proposer,
        decision: decisionOf(m.deviceId),
      })),
      safetyCode: proposalSafetyCode(p),
      phase,
      round: ceremony?.round ?? 0,
      rounds: DKG_ROUNDS,
      address: vault?.address ?? null,
      error: lost ? 'INTERRUPTED' : (ceremony?.abortCode ?? null),
      attempt: ceremony?.attempt ?? 0,
      interrupted: restartable,
      createdAt: row.createdAt,
    };
  }

  async vaults(): Promise<VaultView[]> {
    // Keys the record checks (record-auth.ts) if the session was not restored yet in this worker.
    await this.d.unlocked();
    const rows = await this.d.repos.vaults.list();
    return rows.map((v) => ({
      id: v.id,
      name: v.name,
      address: v.address,
      threshold: v.threshold,
      totalPower: v.members.reduce((s, m) => s + m.weight, 0),
      members: v.members.map((m) => ({ deviceId: m.deviceId, label: m.label, power: m.weight })),
      status: v.status,
    }));
  }
}

function proposalRecord(p: VaultProposal, bytes: Uint8Array, now: number): ProposalRecord {
  return {
    id: p.id,
    vaultId: null,
    kind: 'create-vault',
    proposer: p.proposer,
    payload: bytes,
    status: 'open',
    createdAt: now,
    expiresAt: p.expiresAt,
  };
}

function approvalRecord(
  proposalId: string,
  deviceId: string,
  decision: Decision,
  signature: Uint8Array,
  now: number,
): Omit<ApprovalRecord, 'id'> {
  return { proposalId, deviceId, decision, signature, createdAt: now };
}

function ceremonyRecord(id: string, now: number): CeremonyRecord {
  return {
    id,
    vaultId: id,
    proposalId: id,
    kind: 'dkg',
    status: 'running',
    round: 1,
    state: null,
    abortCode: null,
    createdAt: now,
    updatedAt: now,
  };
}
