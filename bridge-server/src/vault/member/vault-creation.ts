/**
 * Vault creation on a headless member: receive a proposal, let the `Decider` accept or decline it,
 * and run the weighted DKG (tss `DkgSession`, DKLs23 keygen, 4 rounds) with every member once each
 * has accepted. Mirrors the extension's ceremonies.ts message for message (proposal.ts has the wire
 * format):
 *  - the invitation is the first message of a bridge session of kind `dkg`, tag `proposal`, wrapped
 *    with the proposer's public identity; it must be for that session, sent by its proposer, name
 *    this member, carry the proposer's valid `approve` signature and not be expired;
 *  - decisions travel as control messages with tag `decision` and msgIds `decision:<recipient16>`;
 *  - the DKG runs under label `dkg` (attempt 0) once this member holds a valid `approve` from every
 *    member, its messages through `MemberChannel`.
 * The DKG's round state is never stored. A member restarted mid-DKG runs it again as a new attempt
 * of the same accepted proposal (../dkg-restart.ts): it re-sends its approval (msgId prefix
 * `decision:<n>`) and a signed announcement (tag `restart`, prefix `restart:<n>`), and runs under
 * label `dkg.<n>`; an announcement from a member moves this one to that attempt. Past the bound or
 * the proposal's expiry the DKG ends as `INTERRUPTED`.
 */
import type { DkgResult, RoundEngine } from '@concord/tss';
import { equalBytes, toHex } from '@concord/tss/bytes';
import { encodePublicIdentity, toBase64url } from '@concord/tss/transport';
import type { DeliveredMessage } from '../../client/client.ts';
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
} from '../dkg-restart.ts';
import { EarlyBuffer } from '../early-buffer.ts';
import {
  type Decision,
  decisionMessage,
  decodeDecision,
  decodeProposal,
  decodeProposalPlaintext,
  encodeDecision,
  openInvitation,
  proposalHash,
  proposalSafetyCode,
  type VaultProposal,
  verifyDecision,
} from '../proposal.ts';
import { MemberChannel } from './channel.ts';
import type { MemberContext } from './context.ts';
import { isMemberError } from './errors.ts';
import type { VaultRecord } from './store.ts';

const PROPOSAL_TAG = 'proposal';
const DECISION_TAG = 'decision';
/** How long an invitation stays answerable (the extension's `PROPOSAL_TTL_MS`). */
const PROPOSAL_TTL_MS = 30 * 60_000;

interface Live {
  proposal: VaultProposal;
  hash: Uint8Array;
  channel: MemberChannel;
  dkg: RoundEngine<DkgResult> | undefined;
  /** The DKG attempt this member runs or will run; 0 = the first run. */
  attempt: number;
  settled: boolean;
}

export class VaultCreation {
  private readonly live = new Map<string, Live>();
  private readonly bySid = new Map<string, string>();
  private readonly early = new EarlyBuffer(16, 64);

  constructor(private readonly c: MemberContext) {}

  /** Rebinds open proposals after a start; a DKG cut by the restart runs again as a new attempt. */
  async restore(): Promise<void> {
    const now = this.c.clock.now();
    for (const row of await this.c.store.proposals()) {
      if (row.status !== 'open' && row.status !== 'approved') continue;
      const dkg = await this.c.store.dkg(row.id);
      if (dkg?.status === 'running' || row.status === 'approved') {
        if (dkg !== undefined && dkg.status !== 'running') continue; // done or stopped
        // The DKG's round state was in the stopped process's memory: run it again as a new attempt.
        const next = ownRestart(dkg?.attempt ?? 0, now, row.expiresAt);
        if (typeof next !== 'number') {
          await this.markAborted(row.id, dkg?.attempt ?? 0, 'INTERRUPTED');
          continue;
        }
        const live = this.bind(decodeProposal(row.payload), proposalHash(row.payload));
        await this.restartParty(live, next, true);
        continue;
      }
      if (row.expiresAt <= now) {
        await this.c.store.setProposalStatus(row.id, 'expired');
        continue;
      }
      const proposal = decodeProposal(row.payload);
      this.bind(proposal, proposalHash(row.payload));
      await this.askDecider(row.id);
      await this.maybeStart(row.id);
    }
  }

  /** A message on the client: an invitation, or traffic of a session not bound yet. */
  onMessage(msg: DeliveredMessage): void {
    if (this.bySid.has(msg.sid)) return; // its channel has it
    if (msg.tag === PROPOSAL_TAG) {
      void this.c.serial.run(() => this.onInvitation(msg)).catch((e: unknown) => this.c.log('INVITATION', e));
      return;
    }
    if (msg.tag === DECISION_TAG || msg.tag === RESTART_TAG || isDkgTag(msg.tag)) this.early.hold(msg);
  }

  close(): void {
    for (const l of this.live.values()) l.channel.close();
    this.live.clear();
  }

  private async onInvitation(msg: DeliveredMessage): Promise<void> {
    if (this.bySid.has(msg.sid)) return;
    const { sender, plaintext } = openInvitation(this.c.identity, msg, PROPOSAL_TAG, 'invitation');
    const { bytes, sig } = decodeProposalPlaintext(plaintext);
    const proposal = decodeProposal(bytes);
    const hash = proposalHash(bytes);
    const proposer = proposal.members.find((m) => m.deviceId === proposal.proposer);
    if (proposal.sid !== msg.sid) throw new Error('proposal is for another session');
    if (proposer === undefined || !equalBytes(proposer.identity.agreementKey, sender.agreementKey)) {
      throw new Error('proposal sender is not its proposer');
    }
    if (!proposal.members.some((m) => m.deviceId === this.c.self)) throw new Error('not a member');
    if (!verifyDecision(sender, hash, 'approve', sig)) throw new Error('proposal signature invalid');
    const now = this.c.clock.now();
    if (proposal.expiresAt <= now) throw new Error('proposal expired');
    if (await this.c.store.idTaken(proposal.id)) throw new Error('proposal names a vault id already here');
    const added = await this.c.store.addProposal(
      {
        id: proposal.id,
        sid: proposal.sid,
        payload: bytes,
        status: 'open',
        createdAt: now,
        expiresAt: proposal.expiresAt,
      },
      { subject: proposal.id, deviceId: proposal.proposer, decision: 'approve', sig, createdAt: now },
    );
    if (!added) return;
    this.bind(proposal, hash);
    // Asked outside the queue: a decider may take its time (a person, a policy callback).
    void this.askAndApply(proposal.id);
  }

  private bind(proposal: VaultProposal, hash: Uint8Array): Live {
    const id = proposal.id;
    const channel = new MemberChannel({
      client: this.c.client,
      identity: this.c.identity,
      sid: proposal.sid,
      members: proposal.members.map((m) => m.identity),
      ttlMs: PROPOSAL_TTL_MS,
      onControl: (m) => {
        if (m.header.tag === DECISION_TAG) {
          void this.c.serial
            .run(() => this.onDecision(id, m.header.from, m.plaintext))
            .catch((e: unknown) => this.c.log('DECISION', e));
        } else if (m.header.tag === RESTART_TAG) {
          void this.c.serial
            .run(() => this.onRestart(id, m.header.from, m.plaintext))
            .catch((e: unknown) => this.c.log('DKG_RESTART', e));
        }
      },
      onReject: (code) => this.c.log(`ENVELOPE_${code}`, new Error(code)),
    });
    const live: Live = { proposal, hash, channel, dkg: undefined, attempt: 0, settled: false };
    this.live.set(id, live);
    this.bySid.set(proposal.sid, id);
    for (const m of this.early.take(proposal.sid)) channel.deliver(m);
    return live;
  }

  private async askAndApply(id: string): Promise<void> {
    await this.c.serial.run(() => this.askDecider(id)).catch((e: unknown) => this.c.log('DECIDER', e));
  }

  /** Asks the decider about a proposal this member has not answered; signs and sends its answer. */
  private async askDecider(id: string): Promise<void> {
    const live = this.live.get(id);
    if (live === undefined) return;
    const mine = (await this.c.store.decisions(id)).find((d) => d.deviceId === this.c.self);
    if (mine !== undefined) return;
    const verdict = await this.c.decider.proposal({
      proposal: live.proposal,
      safetyCode: proposalSafetyCode(live.proposal),
    });
    if (verdict === 'abstain') return;
    const row = await this.c.store.proposal(id);
    if (row === undefined || row.status !== 'open' || row.expiresAt <= this.c.clock.now()) return;
    const decision: Decision = verdict;
    const sig = this.c.identity.sign(decisionMessage(live.hash, decision));
    await this.c.store.addDecision({
      subject: id,
      deviceId: this.c.self,
      decision,
      sig,
      createdAt: this.c.clock.now(),
    });
    live.channel
      .broadcast(DECISION_TAG, DECISION_TAG, encodeDecision({ decision, hash: live.hash, sig }))
      .catch((e: unknown) => this.c.log('SEND', e));
    if (decision === 'reject') await this.reject(id);
    else await this.maybeStart(id);
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
    const added = await this.c.store.addDecision({
      subject: id,
      deviceId: member.deviceId,
      decision: d.decision,
      sig: d.sig,
      createdAt: this.c.clock.now(),
    });
    if (!added) return; // first one wins
    if (d.decision === 'reject') await this.reject(id);
    else await this.maybeStart(id);
  }

  private async reject(id: string): Promise<void> {
    const row = await this.c.store.proposal(id);
    if (row?.status === 'open') await this.c.store.setProposalStatus(id, 'rejected');
    const live = this.live.get(id);
    if (live !== undefined) {
      live.settled = true;
      live.channel.close();
      this.live.delete(id);
    }
  }

  /** Starts this member's DKG party once every member approved. Runs inside the queue. */
  private async maybeStart(id: string): Promise<void> {
    const live = this.live.get(id);
    if (live === undefined || live.dkg !== undefined) return;
    const row = await this.c.store.proposal(id);
    if (row === undefined || row.status !== 'open') return;
    const approved = new Set(
      (await this.c.store.decisions(id)).filter((d) => d.decision === 'approve').map((d) => d.deviceId),
    );
    if (!live.proposal.members.every((m) => approved.has(m.deviceId))) return;
    await this.startParty(live);
  }

  /**
   * Moves `live` to attempt `attempt`: abandons earlier attempts' runs, announces the attempt when
   * this member is the one that lost its party, and starts a party. Runs inside the queue.
   */
  private async restartParty(live: Live, attempt: number, announce: boolean): Promise<void> {
    if (live.settled) return;
    for (let k = 0; k < attempt; k++) live.channel.stopRun(dkgLabel(k));
    live.dkg = undefined;
    live.attempt = attempt;
    if (announce) {
      // Our approval again first: the others start no attempt without it (a duplicate is a no-op).
      const mine = (await this.c.store.decisions(live.proposal.id)).find((d) => d.deviceId === this.c.self);
      if (mine?.decision === 'approve') {
        live.channel
          .broadcast(
            DECISION_TAG,
            `${DECISION_TAG}:${attempt}`,
            encodeDecision({ decision: 'approve', hash: live.hash, sig: mine.sig }),
          )
          .catch((e: unknown) => this.c.log('SEND', e));
      }
      const sig = this.c.identity.sign(restartMessage(live.hash, attempt));
      live.channel
        .broadcast(RESTART_TAG, `${RESTART_TAG}:${attempt}`, encodeRestart({ hash: live.hash, attempt, sig }))
        .catch((e: unknown) => this.c.log('SEND', e));
    }
    await this.startParty(live);
  }

  /** A member announces a new attempt (it lost its party): followed if valid, newer and in bounds. */
  private async onRestart(id: string, from: Uint8Array, plaintext: Uint8Array): Promise<void> {
    const live = this.live.get(id);
    if (live === undefined || live.settled) return;
    const r = decodeRestart(plaintext);
    const member = live.proposal.members.find((m) => equalBytes(m.identity.deviceId, from));
    if (member === undefined) throw new Error('restart from a non-member');
    if (!equalBytes(r.hash, live.hash)) throw new Error('restart for another proposal');
    if (!verifyRestart(member.identity, live.hash, r.attempt, r.sig))
      throw new Error('restart signature invalid');
    const row = await this.c.store.proposal(id);
    if (row === undefined) return;
    const refusal = nextAttempt(live.attempt, r.attempt, this.c.clock.now(), row.expiresAt);
    if (refusal !== null) {
      if (refusal !== 'NOT_NEWER') this.c.log(`DKG_RESTART_${refusal}`, new Error(refusal));
      return;
    }
    if (live.dkg === undefined) {
      // Not started here yet (approvals still arriving): start at that attempt when they are in.
      live.attempt = r.attempt;
      return;
    }
    await this.restartParty(live, r.attempt, false);
  }

  private async markAborted(id: string, attempt: number, code: string): Promise<void> {
    const d = await this.c.store.dkg(id);
    if (d?.status === 'done') return;
    await this.c.store.putDkg({
      id,
      status: 'aborted',
      attempt,
      abortCode: code,
      updatedAt: this.c.clock.now(),
    });
  }

  /** Starts this member's party for `live.attempt`, stored as running first. */
  private async startParty(live: Live): Promise<void> {
    const id = live.proposal.id;
    const attempt = live.attempt;
    const before = await this.c.store.dkg(id);
    if (before !== undefined && before.status !== 'running') return; // done or stopped: never rerun
    const dkg = this.c.host.dkg({
      parties: live.proposal.members.map((m) => ({ id: m.identity.deviceId, power: m.power })),
      threshold: live.proposal.threshold,
      selfId: this.c.identity.deviceId,
    });
    live.dkg = dkg;
    const now = this.c.clock.now();
    await this.c.store.setProposalStatus(id, 'approved');
    await this.c.store.putDkg({ id, status: 'running', attempt, abortCode: null, updatedAt: now });
    live.channel.run(dkg, dkgLabel(attempt), {
      onError: (e) => {
        const abort = dkg.abortError;
        if (abort === undefined) {
          this.c.log('DKG_MESSAGE', e);
          return;
        }
        if (live.dkg === dkg) this.settle(live, () => this.markAborted(id, attempt, abort.code));
      },
      onStep: () => {
        if (dkg.finished && live.dkg === dkg) this.settle(live, () => this.complete(live, dkg));
      },
    });
  }

  private settle(live: Live, fn: () => Promise<void>): void {
    if (live.settled) return;
    live.settled = true;
    void this.c.serial
      .run(async () => {
        try {
          await fn();
        } finally {
          live.channel.close();
          this.live.delete(live.proposal.id);
        }
      })
      .catch((e: unknown) => this.c.log('DKG', e));
  }

  /** Stores the vault and the sealed share in one transaction. */
  private async complete(live: Live, dkg: RoundEngine<DkgResult>): Promise<void> {
    const { keyShare, descriptor } = dkg.output();
    const secret = keyShare.encode();
    keyShare.destroy();
    const p = live.proposal;
    const now = this.c.clock.now();
    const vault: VaultRecord = {
      id: p.id,
      name: p.name,
      epoch: descriptor.epoch,
      threshold: p.threshold,
      members: p.members.map((m) => ({
        deviceId: m.deviceId,
        label: m.label,
        power: m.power,
        publicIdentity: toBase64url(encodePublicIdentity(m.identity)),
      })),
      publicKey: toHex(descriptor.groupPublicKey.toBytes(true)),
      address: descriptor.address,
      keyId: toHex(descriptor.vaultId),
      createdAt: now,
    };
    try {
      await this.c.store.completeDkg(vault, { epoch: descriptor.epoch, secret }, now);
    } catch (e) {
      if (!isMemberError(e, 'VAULT_EXISTS')) throw e;
      await this.markAborted(p.id, live.attempt, 'VAULT_ID_COLLISION');
    } finally {
      secret.fill(0);
    }
  }
}
