/**
 * Co-approval requests on a headless member: the adapter that drives the pure machine
 * (co-approval.ts `step`) with this member's ports. For every event — a control message received, the
 * decider's answer, a timer, a presence change, a ceremony ending — it loads the request's stored
 * state, builds the context (vault members and threshold, who is online, attempts running here),
 * calls `step`, writes every state change of the step in one store transaction, and only then
 * carries out the other effects in order (sending, signing a start, running a ceremony, timers).
 * Signing a send is send-signer.ts.
 *
 * Wire format: the extension's requests.ts is the reference, message for message — tags `q.request`
 * (wrapped with the initiator's identity), `q.decision`, `q.start`, `q.retry`, `q.broadcast`; msgId
 * prefixes `q.decision`, `q.start<k>`, `q.retry<k>:<why>`, `q.broadcast:<last 16 hex of raw>[:<why>]`;
 * signing runs under label `sign<k>`; one bridge session (kind `sign`) per request.
 *
 * Not here yet: initiating requests, reshares (a reshare request is stored and decided, but this
 * member does not run its ceremony), bans (this member holds none), receipts (the chain port only
 * broadcasts).
 */
import { fromHex, toHex } from '@concord/tss/bytes';
import { decodePublicIdentity, fromBase64url, type PublicDeviceIdentity } from '@concord/tss/transport';
import type { DeliveredMessage } from '../../client/client.ts';
import { type Effect, type Event, type RequestState, type StepResult, step } from '../co-approval.ts';
import { EarlyBuffer } from '../early-buffer.ts';
import { VaultError } from '../errors.ts';
import { describeBody } from '../kinds/index.ts';
import { openInvitation } from '../proposal.ts';
import {
  type Control,
  type Decision,
  decisionMessage,
  decodeControl,
  decodeRequest,
  encodeControl,
  requestHash,
  requestTimeProblem,
  startMessage,
  type VaultRequest,
  verifyDecision,
} from '../request.ts';
import { MemberChannel } from './channel.ts';
import type { MemberContext } from './context.ts';
import { MemberError } from './errors.ts';
import type { TimerHandle } from './ports.ts';
import { SendSigner } from './send-signer.ts';
import type { DecisionRecord, RequestChanges, VaultRecord } from './store.ts';

export const Q = {
  request: 'q.request',
  decision: 'q.decision',
  start: 'q.start',
  retry: 'q.retry',
  broadcast: 'q.broadcast',
  certificate: 'q.certificate',
} as const;
/** Protocol messages and announcements of request runs, held until the request is bound. */
const RUN_TAG = /^(sign|reshare)\d+\/(r\d+|hs)$/;

export interface Live {
  id: string;
  request: VaultRequest;
  bytes: Uint8Array;
  hash: Uint8Array;
  channel: MemberChannel;
  vault: VaultRecord;
  parties: Map<string, PublicDeviceIdentity>;
  running: Set<number>;
  progress: Map<number, number>;
  timer: TimerHandle | undefined;
  armedFor: number | undefined;
  fallback: TimerHandle | undefined;
}

function identities(v: VaultRecord): Map<string, PublicDeviceIdentity> {
  return new Map(
    v.members.map((m) => [m.deviceId, decodePublicIdentity(fromBase64url(m.publicIdentity, 'identity'))]),
  );
}

export class RequestRuntime {
  private readonly live = new Map<string, Live>();
  private readonly bySid = new Map<string, string>();
  private readonly early = new EarlyBuffer(32, 64);
  private readonly online = new Map<string, Set<string>>();
  private closed = false;

  private readonly signer: SendSigner;

  constructor(private readonly c: MemberContext) {
    this.signer = new SendSigner(c, {
      drive: (live, e) => this.drive(live, e),
      current: (live) => this.live.get(live.id) === live,
      broadcast: (live, raw) => this.sendBroadcast(live, raw),
    });
  }

  // ---------------------------------------------------------------- lifecycle

  /** Rebinds every open request after a start, re-sends this member's decision, asks what is owed. */
  async restore(): Promise<void> {
    for (const row of await this.c.store.requests()) {
      if (row.status !== 'open' && row.status !== 'approved') continue;
      try {
        const request = decodeRequest(row.payload);
        const vault = await this.c.store.vault(request.vaultId);
        if (vault === undefined) continue;
        const live = this.bind(request, row.payload, vault);
        const mine = (await this.c.store.decisions(row.id)).find((d) => d.deviceId === this.c.self);
        if (mine !== undefined) this.sendDecision(live, mine.decision, mine.sig);
        await this.drive(live, { t: 'evaluate' });
        if (mine === undefined) void this.askDecider(row.id);
      } catch (e) {
        this.c.log('RESTORE', e);
      }
    }
  }

  close(): void {
    this.closed = true;
    for (const l of this.live.values()) {
      l.timer?.cancel();
      l.fallback?.cancel();
      l.channel.close();
    }
    this.live.clear();
  }

  onMessage(msg: DeliveredMessage): void {
    if (this.bySid.has(msg.sid)) return;
    if (msg.tag === Q.request) {
      void this.c.serial
        .run(() => this.onRequestMessage(msg))
        .catch((e: unknown) => this.c.log('REQUEST_IN', e));
      return;
    }
    if (msg.tag.startsWith('q.') || RUN_TAG.test(msg.tag)) this.early.hold(msg);
  }

  onPresence(p: { sid: string; deviceId: string; online: boolean }): void {
    const set = this.online.get(p.sid);
    if (set === undefined) return;
    const hex = toHex(fromBase64url(p.deviceId, 'device id'));
    if (p.online) set.add(hex);
    else set.delete(hex);
    const id = this.bySid.get(p.sid);
    const live = id === undefined ? undefined : this.live.get(id);
    if (live !== undefined) this.queue(live, { t: 'evaluate' }, 'PRESENCE');
  }

  // ---------------------------------------------------------------- inbound

  private async onRequestMessage(msg: DeliveredMessage): Promise<void> {
    if (this.bySid.has(msg.sid)) return;
    const { sender, plaintext } = openInvitation(this.c.identity, msg, Q.request, 'request');
    const c = decodeControl(plaintext);
    if (c.t !== 'request') throw new VaultError('INVALID_REQUEST', 'not a request');
    const request = decodeRequest(c.request);
    const hash = requestHash(c.request);
    if (request.sid !== msg.sid) throw new VaultError('INVALID_REQUEST', 'request is for another session');
    if (request.initiator !== toHex(sender.deviceId)) {
      throw new VaultError('INVALID_REQUEST', 'request sender is not its initiator');
    }
    const now = this.c.clock.now();
    const timeProblem = requestTimeProblem(request, now);
    if (timeProblem !== null) throw new VaultError('INVALID_REQUEST', timeProblem);
    if ((await this.c.store.request(request.id)) !== undefined) return;
    const vault = await this.c.store.vault(request.vaultId);
    if (vault === undefined)
      throw new VaultError('INVALID_REQUEST', 'request for a vault this member does not hold');
    if (vault.publicKey !== request.groupKey || vault.epoch !== request.epoch) {
      throw new VaultError('INVALID_REQUEST', 'request is for another key or epoch of this vault');
    }
    const initiatorKey = identities(vault).get(request.initiator);
    if (initiatorKey === undefined || toHex(initiatorKey.agreementKey) !== toHex(sender.agreementKey)) {
      throw new VaultError('INVALID_REQUEST', 'request initiator is not a member');
    }
    if (!verifyDecision(initiatorKey, hash, 'approve', c.sig)) {
      throw new VaultError('INVALID_REQUEST', 'request signature invalid');
    }
    // Refuse what cannot be shown (a send's bytes must decode and be for the stated chain).
    describeBody(request.body);
    const added = await this.c.store.addRequest(
      {
        id: request.id,
        vaultId: request.vaultId,
        payload: c.request,
        status: 'open',
        createdAt: now,
        expiresAt: request.expiresAt,
      },
      { subject: request.id, deviceId: request.initiator, decision: 'approve', sig: c.sig, createdAt: now },
    );
    if (!added) return;
    const live = this.bind(request, c.request, vault);
    await this.drive(live, { t: 'evaluate' });
    void this.askDecider(request.id);
  }

  private bind(request: VaultRequest, bytes: Uint8Array, vault: VaultRecord): Live {
    const existing = this.live.get(request.id);
    if (existing !== undefined) return existing;
    const id = request.id;
    const parties = identities(vault);
    const channel = new MemberChannel({
      client: this.c.client,
      identity: this.c.identity,
      sid: request.sid,
      members: [...parties.values()],
      ttlMs: Math.max(1, request.expiresAt - this.c.clock.now()),
      onControl: (m) => {
        void this.c.serial
          .run(async () => {
            const refused = await this.receive(id, toHex(m.header.from), m.plaintext);
            if (refused !== undefined) this.c.log('CONTROL_REFUSED', refused);
          })
          .catch((e: unknown) => this.c.log('CONTROL', e));
      },
      onReject: (code) => this.c.log(`ENVELOPE_${code}`, new Error(code)),
    });
    const live: Live = {
      id,
      request,
      bytes,
      hash: requestHash(bytes),
      channel,
      vault,
      parties,
      running: new Set(),
      progress: new Map(),
      timer: undefined,
      armedFor: undefined,
      fallback: undefined,
    };
    this.live.set(id, live);
    this.bySid.set(request.sid, id);
    this.online.set(request.sid, this.online.get(request.sid) ?? new Set());
    const client = this.c.client;
    client
      .waitReady()
      .then(() => client.join(request.sid))
      .then((info) => {
        const set = this.online.get(request.sid);
        if (set === undefined) return;
        for (const dev of info.online) set.add(toHex(fromBase64url(dev, 'device id')));
        this.queue(live, { t: 'evaluate' }, 'JOIN');
      })
      .catch((e: unknown) => this.c.log('JOIN', e));
    for (const m of this.early.take(request.sid)) channel.deliver(m);
    return live;
  }

  /**
   * One control message of request `id` from `from` (hex), as the channel hands it over after
   * opening its envelope. Returns the refusal, if the machine or a check refused it (nothing stored
   * then). Exposed so a test can feed a forged message through the same path.
   */
  async receive(id: string, from: string, plaintext: Uint8Array): Promise<VaultError | undefined> {
    const live = this.live.get(id);
    if (live === undefined) return new VaultError('REQUEST_CLOSED', 'no such request on this member');
    let c: Control;
    try {
      c = decodeControl(plaintext);
    } catch (e) {
      return e instanceof VaultError
        ? e
        : new VaultError('INVALID_REQUEST', 'control message does not decode');
    }
    if (c.t === 'request') return undefined;
    if (toHex(c.hash) !== toHex(live.hash)) {
      return new VaultError('INVALID_REQUEST', 'control message for another request');
    }
    switch (c.t) {
      case 'decision':
        return (await this.drive(live, { t: 'decision', from, decision: c.decision, sig: c.sig })).refused;
      case 'start':
        return (
          await this.drive(live, {
            t: 'start',
            from,
            attempt: c.attempt,
            signers: c.signers,
            ...(c.dealers === undefined ? {} : { dealers: c.dealers }),
            sig: c.sig,
          })
        ).refused;
      case 'retry':
        return (
          await this.drive(live, {
            t: 'retry',
            from,
            attempt: c.attempt,
            ...(c.banned === undefined ? {} : { without: c.banned }),
          })
        ).refused;
      case 'broadcast':
        try {
          await this.signer.acceptSigned(live, `0x${toHex(c.raw)}`, false);
          return undefined;
        } catch (e) {
          return e instanceof VaultError
            ? e
            : new VaultError('INVALID_REQUEST', 'signed transaction refused');
        }
      case 'certificate':
        return undefined; // reshare certificates: not taken part in here yet
    }
  }

  // ---------------------------------------------------------------- the decider

  /** Asks the decider about a request this member has not answered, then decides through the machine. */
  private async askDecider(id: string): Promise<void> {
    try {
      const live = this.live.get(id);
      if (live === undefined) return;
      const verdict = await this.c.decider.request({
        request: live.request,
        description: describeBody(live.request.body),
        address: live.vault.address,
      });
      if (verdict === 'abstain' || this.closed) return;
      await this.c.serial.run(async () => {
        if (this.live.get(id) !== live) return;
        const decision: Decision = verdict;
        const sig = this.c.identity.sign(decisionMessage(live.hash, decision));
        const r = await this.drive(live, { t: 'decide', decision, sig });
        if (r.refused !== undefined) this.c.log('DECIDE_REFUSED', r.refused);
      });
    } catch (e) {
      this.c.log('DECIDER', e);
    }
  }

  // ---------------------------------------------------------------- driving the machine

  private queue(live: Live, e: Event, code: string): void {
    void this.c.serial
      .run(async () => {
        if (this.live.get(live.id) === live) await this.drive(live, e);
      })
      .catch((err: unknown) => this.c.log(code, err));
  }

  /** Loads the state, steps the machine, stores its changes, carries out the rest in order. */
  private async drive(live: Live, event: Event): Promise<StepResult> {
    const row = await this.c.store.request(live.id);
    if (row === undefined) throw new MemberError('NOT_FOUND', 'request row missing');
    const decisions = new Map<string, Decision>();
    for (const d of await this.c.store.decisions(live.id)) decisions.set(d.deviceId, d.decision);
    const state: RequestState = {
      status: row.status,
      decisions,
      attempt: await this.c.store.attempt(live.id),
      signed: (await this.c.store.signed(live.id)) !== undefined,
    };
    const result = step(
      state,
      {
        self: this.c.self,
        now: this.c.clock.now(),
        request: live.request,
        hash: live.hash,
        quorum: {
          members: live.vault.members.map((m) => ({ deviceId: m.deviceId, power: m.power })),
          threshold: live.vault.threshold,
        },
        deciders: live.parties,
        parties: live.parties,
        online: this.online.get(live.request.sid) ?? new Set(),
        bans: new Set(),
        running: live.running,
        progress: live.progress,
        stallMs: this.c.stallMs,
        fallbackMs: this.c.fallbackMs,
        armedFor: live.armedFor,
        fallbackArmed: live.fallback !== undefined,
      },
      event,
    );
    const changes: RequestChanges = {};
    const added: DecisionRecord[] = [];
    for (const fx of result.effects) {
      if (fx.t === 'set-status') changes.status = fx.status;
      else if (fx.t === 'put-attempt') changes.attempt = fx.attempt;
      else if (fx.t === 'add-decision') {
        added.push({
          subject: live.id,
          deviceId: fx.from,
          decision: fx.decision,
          sig: fx.sig,
          createdAt: this.c.clock.now(),
        });
      }
    }
    if (added.length > 0) changes.decisions = added;
    if (changes.status !== undefined || changes.attempt !== undefined || added.length > 0) {
      await this.c.store.applyRequestChanges(live.id, changes);
    }
    for (const fx of result.effects) await this.carryOut(live, fx);
    return result;
  }

  private async carryOut(live: Live, fx: Effect): Promise<void> {
    switch (fx.t) {
      case 'set-status':
      case 'put-attempt':
      case 'add-decision':
      case 'attention':
      case 'resume':
        return;
      case 'send-decision':
        this.sendDecision(live, fx.decision, fx.sig);
        return;
      case 'send-start': {
        const sig = this.c.identity.sign(startMessage(live.hash, fx.attempt, fx.signers, fx.dealers));
        this.sendControl(live, Q.start, `${Q.start}${fx.attempt}`, {
          t: 'start',
          hash: live.hash,
          attempt: fx.attempt,
          signers: fx.signers,
          ...(fx.dealers === undefined ? {} : { dealers: fx.dealers }),
          sig,
        });
        return;
      }
      case 'send-retry':
        this.sendControl(live, Q.retry, `${Q.retry}${fx.attempt}:${fx.why}`, {
          t: 'retry',
          hash: live.hash,
          attempt: fx.attempt,
          ...(fx.without === undefined || fx.without.length === 0 ? {} : { banned: fx.without }),
        });
        return;
      case 'rebroadcast': {
        const s = await this.c.store.signed(live.id);
        if (s !== undefined) this.sendBroadcast(live, s.raw, fx.why);
        return;
      }
      case 'run':
        live.running.add(fx.attempt);
        live.progress.set(fx.attempt, this.c.clock.now());
        if (live.request.body.kind === 'send') await this.signer.run(live, fx.attempt, fx.signers);
        else this.c.log('RESHARE_UNSUPPORTED', new Error('this member does not run reshares yet'));
        return;
      case 'arm':
        this.schedule(live, fx.at);
        return;
      case 'disarm':
        live.timer?.cancel();
        live.timer = undefined;
        live.armedFor = undefined;
        return;
      case 'arm-fallback':
        live.fallback = this.c.clock.after(fx.afterMs, () => {
          live.fallback = undefined;
          this.queue(live, { t: 'fallback' }, 'FALLBACK');
        });
        return;
      case 'log':
        this.c.log(fx.code, new Error(fx.message));
        return;
    }
  }

  private schedule(live: Live, at: number): void {
    live.timer?.cancel();
    live.armedFor = at;
    live.timer = this.c.clock.after(at - this.c.clock.now(), () => {
      live.timer = undefined;
      live.armedFor = undefined;
      this.queue(live, { t: 'evaluate' }, 'STALL');
    });
  }

  private sendControl(live: Live, tag: string, msgIdPrefix: string, c: Control): void {
    live.channel.broadcast(tag, msgIdPrefix, encodeControl(c)).catch((e: unknown) => this.c.log('SEND', e));
  }

  private sendDecision(live: Live, decision: Decision, sig: Uint8Array): void {
    this.sendControl(live, Q.decision, Q.decision, { t: 'decision', hash: live.hash, decision, sig });
  }

  private sendBroadcast(live: Live, raw: string, why?: string): void {
    const prefix = `${Q.broadcast}:${raw.slice(-16)}${why === undefined ? '' : `:${why}`}`;
    this.sendControl(live, Q.broadcast, prefix, {
      t: 'broadcast',
      hash: live.hash,
      raw: fromHex(raw.slice(2)),
    });
  }
}
