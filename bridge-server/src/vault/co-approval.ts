/**
 * The co-approval protocol of one request as a pure state machine, in the style of the tss
 * sessions: `step(state, context, event)` takes what is stored about the request, what this device
 * knows right now (its id, the clock reading, who is online, its bans) and one event — a control
 * message received, a local decision, a timer that fired, a presence change — and returns the next
 * state and the effects to carry out: records to store, control messages to send, timers to arm, a
 * ceremony to run. No I/O and no clock inside: time comes in the context, signatures that need a
 * device key are requested as effects (`send-start`) or come in events (a local decision).
 *
 * The rules (request.ts has the wire format and the signatures):
 *  - Decisions: only from a member of the current epoch or, for a reshare, a joiner; the Ed25519
 *    signature over (request hash, decision) is checked here; the first decision of a device wins,
 *    so a replayed or flipped one changes nothing. `tally` counts power, each member once.
 *  - Coordination: the initiator starts attempt 1 once it holds a verified quorum; when it is away
 *    the online approver with the smallest id stands in after a grace period; the coordinator of the
 *    current attempt starts the next one. A start is taken only from the initiator or an approver,
 *    signed, within `MAX_ATTEMPTS`, before expiry; a reshare's start only with dealers this device saw
 *    approve (`reshareStartProblem`).
 *  - Signer choice: approvers, the coordinator first, then online, heaviest; never a member this
 *    device holds a ban against. A reshare: the new committee ∪ approving dealers (kept first).
 *  - A chosen signer re-checks the quorum of the chosen set from its own verified decisions before
 *    it touches its share; one that lost its round state (restart) asks for a new attempt.
 *  - Liveness (liveness.ts): each device that holds a running attempt keeps a stall deadline; at the
 *    deadline the coordinator (or a stand-in) starts the next attempt, a signer asks for one; after
 *    `MAX_ATTEMPTS` every device gives up ("could not sign"; the nonce is fixed in the request, so at
 *    most one transaction can ever be mined).
 *  - Expiry: nothing starts, runs or is taken after `expiresAt` (`isLive`); a send expires whatever
 *    its attempts, a reshare whose ceremony ran finishes its certificate.
 */
import type { PublicDeviceIdentity } from '@concord/tss/transport';
import { VaultError } from './errors.ts';
import type { ReshareBody } from './kinds/reshare.ts';
import { COULD_NOT_SIGN, MAX_ATTEMPTS, stallAction, stallDeadline } from './liveness.ts';
import {
  chooseSigners,
  type Decision,
  isLive,
  reshareStartProblem,
  type TallyMember,
  tally,
  type VaultRequest,
  verifyDecision,
  verifyStart,
} from './request.ts';

export type RequestStatus = 'open' | 'approved' | 'rejected' | 'expired' | 'executed';

/** The current attempt as stored (the extension keeps it in its ceremony row). */
export interface AttemptState {
  status: 'running' | 'done' | 'aborted';
  attempt?: number;
  /** Sorted hex ids; empty when an attempt found too few signers. */
  signers?: string[];
  /** Reshare: the current members among `signers` who deal. */
  dealers?: string[];
  /** Who signed the current attempt's start. */
  coordinator?: string;
  /** Highest attempt this device started a protocol session for (its round state is not kept). */
  myAttempt?: number;
  /** When the current attempt counts as stalled here (epoch ms). */
  stallAt?: number;
  abortCode: string | null;
  /** Reshare: this device's session finished; only certificate signatures are missing. */
  sessionDone?: boolean;
  /**
   * Coordinator: members a chosen signer refused to sign with (it holds a ban against them); left
   * out of every later attempt of this request.
   */
  excluded?: string[];
}

export interface RequestState {
  status: RequestStatus;
  /** Verified decisions by hex device id (members and joiners). */
  decisions: ReadonlyMap<string, Decision>;
  attempt: AttemptState | undefined;
  /** A signed result exists (a send's signed transaction). */
  signed: boolean;
}

export interface Quorum {
  members: TallyMember[];
  threshold: number;
}

/** What this device knows besides the stored state; everything the rules read that is not stored. */
export interface StepContext {
  self: string;
  now: number;
  request: VaultRequest;
  hash: Uint8Array;
  /** Members of the request's epoch and its threshold; null when unknown here. */
  quorum: Quorum | null;
  /** Whose decisions count or are recorded: current members, and a reshare's joiners. */
  deciders: ReadonlyMap<string, PublicDeviceIdentity>;
  /** Every party of the request's session (for a start's signature). */
  parties: ReadonlyMap<string, PublicDeviceIdentity>;
  /** Devices the relay shows online in the request's session. */
  online: ReadonlySet<string>;
  /** Members this device holds a ban against (never chosen as signers). */
  bans: ReadonlySet<string>;
  /** Attempts this process runs a protocol session for now. */
  running: ReadonlySet<number>;
  /** attempt → when this process's session for it last made progress. */
  progress: ReadonlyMap<number, number>;
  stallMs: number;
  fallbackMs: number;
  /** When the request's timer is armed for, if it is. */
  armedFor: number | undefined;
  /** A stand-in start is pending (`arm-fallback` was carried out and has not fired). */
  fallbackArmed: boolean;
}

export type Event =
  /** Re-read the state: a timer fired, the presence changed, after a restart, after storing. */
  | { t: 'evaluate' }
  /** A signed decision received from `from`. */
  | { t: 'decision'; from: string; decision: Decision; sig: Uint8Array }
  /** This device's person (or policy) decided; `sig` is its signature over the decision. */
  | { t: 'decide'; decision: Decision; sig: Uint8Array }
  | {
      t: 'start';
      from: string;
      attempt: number;
      signers: readonly string[];
      dealers?: readonly string[];
      sig: Uint8Array;
    }
  /** `from` asks the coordinator for a new attempt after `attempt`, optionally `without` some signers. */
  | { t: 'retry'; from: string; attempt: number; without?: readonly string[] }
  /** The stand-in grace period passed. */
  | { t: 'fallback' }
  /** This device's ceremony of `attempt` aborted with `code` (a new attempt is asked for). */
  | { t: 'aborted'; attempt: number; code: string }
  /** The ceremony could not run here (`code`); recorded, no new attempt. */
  | { t: 'failed'; code: string }
  /** The ceremony's result is final here (a reshare's new epoch is active). */
  | { t: 'finished' };

export type Effect =
  | { t: 'set-status'; status: RequestStatus }
  | { t: 'add-decision'; from: string; decision: Decision; sig: Uint8Array }
  | { t: 'put-attempt'; attempt: AttemptState }
  /** Send this device's decision to every party. */
  | { t: 'send-decision'; decision: Decision; sig: Uint8Array }
  /** Sign and send the start of `attempt` (message id `start<k>`). */
  | { t: 'send-start'; attempt: number; signers: string[]; dealers?: string[] }
  /** Ask the coordinator for a new attempt; `why` keeps message ids of different asks apart. */
  | { t: 'send-retry'; attempt: number; why: string; without?: string[] }
  /** Send the signed result again (someone started or asked for an attempt after it existed). */
  | { t: 'rebroadcast'; why: string }
  /** Run this device's part of attempt `attempt` with these signers (and dealers). */
  | { t: 'run'; attempt: number; signers: string[]; dealers: string[] }
  /** A reshare whose session finished here: collect the certificate. */
  | { t: 'resume' }
  /** Arm the request's timer (persistent alarm) for `at`, replacing any earlier one. */
  | { t: 'arm'; at: number }
  | { t: 'disarm' }
  /** Arm the stand-in grace timer (`fallback` event after `afterMs`). */
  | { t: 'arm-fallback'; afterMs: number }
  /** Something worth a log line that is not an error of the event (a refused stored start). */
  | { t: 'log'; code: string; message: string }
  /** The request's standing for the person changed (badge, list). */
  | { t: 'attention' };

export interface StepResult {
  state: RequestState;
  effects: Effect[];
  /** The event was refused (after `effects`, which still apply): the reason, for the log. */
  refused?: VaultError;
}

/**
 * Signers of a reshare: the new committee ∪ its dealers, and the dealers — approving current members
 * only (a device never deals for a layout it did not approve; every signer checks it with
 * `reshareStartProblem`), kept members first (they take part anyway), then heaviest, until the
 * current threshold. A kept member that did not approve receives only. Sorted, or null.
 */
export function reshareParticipants(
  body: ReshareBody,
  approvers: readonly TallyMember[],
  oldThreshold: number,
): { signers: string[]; dealers: string[] } | null {
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

/** The device that coordinates the current attempt (the initiator until someone stood in). */
export function coordinatorOf(request: VaultRequest, attempt: AttemptState | undefined): string {
  return attempt?.coordinator ?? request.initiator;
}

/** A fresh attempt record. */
function newRecord(): AttemptState {
  return { status: 'running', abortCode: null };
}

/** One step; see the module header. */
export function step(state: RequestState, ctx: StepContext, event: Event): StepResult {
  return new Step(state, ctx).handle(event);
}

/** The working copy of one step: state as it evolves, effects in order. */
class Step {
  private s: RequestState;
  private readonly fx: Effect[] = [];
  private armedFor: number | undefined;
  private fallbackArmed: boolean;
  private readonly running: Set<number>;
  private readonly progress: Map<number, number>;

  constructor(
    state: RequestState,
    private readonly c: StepContext,
  ) {
    this.s = { ...state, decisions: new Map(state.decisions) };
    this.armedFor = c.armedFor;
    this.fallbackArmed = c.fallbackArmed;
    this.running = new Set(c.running);
    this.progress = new Map(c.progress);
  }

  handle(e: Event): StepResult {
    let refused: VaultError | undefined;
    try {
      this.dispatch(e);
    } catch (err) {
      if (!(err instanceof VaultError)) throw err;
      refused = err;
    }
    return refused === undefined
      ? { state: this.s, effects: this.fx }
      : { state: this.s, effects: this.fx, refused };
  }

  private dispatch(e: Event): void {
    switch (e.t) {
      case 'evaluate':
        this.evaluate();
        return;
      case 'decision':
        this.onDecision(e.from, e.decision, e.sig);
        return;
      case 'decide':
        this.onDecide(e.decision, e.sig);
        return;
      case 'start':
        this.onStart(e);
        return;
      case 'retry':
        this.onRetry(e.from, e.attempt, e.without);
        return;
      case 'fallback':
        this.fallbackArmed = false;
        if (this.s.attempt === undefined && !this.c.online.has(this.c.request.initiator)) this.newAttempt(1);
        return;
      case 'aborted':
        this.markAborted(e.code);
        this.retryAfter(e.attempt, 'abort');
        return;
      case 'failed':
        this.markAborted(e.code);
        return;
      case 'finished': {
        const a = this.s.attempt;
        if (a !== undefined) this.putAttempt({ ...a, status: 'done' });
        this.setStatus('executed');
        this.fx.push({ t: 'attention' });
        return;
      }
    }
  }

  // ------------------------------------------------------------- effects on the working state

  private setStatus(status: RequestStatus): void {
    this.s = { ...this.s, status };
    this.fx.push({ t: 'set-status', status });
  }

  private putAttempt(attempt: AttemptState): void {
    this.s = { ...this.s, attempt };
    this.fx.push({ t: 'put-attempt', attempt });
  }

  private arm(when: number): void {
    const at = Math.min(when, this.c.request.expiresAt);
    this.armedFor = at;
    this.fx.push({ t: 'arm', at });
  }

  private disarm(): void {
    this.armedFor = undefined;
    this.fx.push({ t: 'disarm' });
  }

  private refuse(message: string, code: 'INVALID_REQUEST' | 'REQUEST_CLOSED' = 'INVALID_REQUEST'): never {
    throw new VaultError(code, message);
  }

  // ------------------------------------------------------------- inbound

  private onDecision(from: string, decision: Decision, sig: Uint8Array): void {
    const key = this.c.deciders.get(from);
    if (key === undefined) this.refuse('decision from a non-member');
    if (!verifyDecision(key, this.c.hash, decision, sig)) this.refuse('decision signature invalid');
    if (this.s.decisions.has(from)) return; // one decision per device; the first one wins
    this.addDecision(from, decision, sig);
    this.evaluate();
    this.fx.push({ t: 'attention' });
  }

  private addDecision(from: string, decision: Decision, sig: Uint8Array): void {
    const decisions = new Map(this.s.decisions);
    decisions.set(from, decision);
    this.s = { ...this.s, decisions };
    this.fx.push({ t: 'add-decision', from, decision, sig });
  }

  private onDecide(decision: Decision, sig: Uint8Array): void {
    const { self, hash, request, now } = this.c;
    // An approved but unsigned request still takes approvals: a late approver who is online can
    // replace an approver who went away as a signer.
    if (
      !(this.s.status === 'open' || this.s.status === 'approved') ||
      this.s.signed ||
      !isLive(request, now)
    ) {
      this.refuse('This request can no longer be answered.', 'REQUEST_CLOSED');
    }
    const key = this.c.deciders.get(self);
    if (key === undefined) this.refuse('This device is not a signer of this request.', 'REQUEST_CLOSED');
    if (this.s.decisions.has(self)) this.refuse('You have already answered.', 'REQUEST_CLOSED');
    if (!verifyDecision(key, hash, decision, sig)) this.refuse('decision signature invalid');
    this.addDecision(self, decision, sig);
    this.fx.push({ t: 'send-decision', decision, sig });
    this.evaluate();
    this.fx.push({ t: 'attention' });
  }

  private onStart(e: Extract<Event, { t: 'start' }>): void {
    const { request, hash, now } = this.c;
    // The initiator coordinates; an approver may stand in when the initiator is away. Anyone else's
    // start is refused. Every signer still re-checks the quorum.
    if (e.from !== request.initiator && this.s.decisions.get(e.from) !== 'approve') {
      this.refuse('start from a device that is neither the initiator nor an approver');
    }
    const key = this.c.parties.get(e.from) ?? this.c.deciders.get(e.from);
    if (key === undefined || !verifyStart(key, hash, e.attempt, e.signers, e.sig, e.dealers)) {
      this.refuse('start signature invalid');
    }
    if (request.body.kind === 'send' && e.dealers !== undefined) this.refuse('a send has no dealers');
    if (request.body.kind === 'reshare') {
      const problem = this.dealerProblem(e.signers, e.dealers);
      if (problem !== null) this.refuse(`reshare start refused: ${problem}`);
    }
    if (e.attempt > MAX_ATTEMPTS) this.refuse('start beyond the attempt limit');
    if (!isLive(request, now)) {
      this.evaluate(); // marks it expired here
      this.refuse('start for an expired request', 'REQUEST_CLOSED');
    }
    // A device that holds the signed result answers any later attempt with it: the coordinator can
    // have lost the broadcast and would otherwise start attempts no one who signed takes part in.
    if (this.s.signed) {
      this.fx.push({ t: 'rebroadcast', why: `s${e.attempt}` });
      return;
    }
    const current = this.s.attempt;
    if (current?.attempt !== undefined && current.attempt >= e.attempt) return;
    this.putAttempt({
      ...(current ?? newRecord()),
      status: current?.status === 'done' ? 'done' : 'running',
      attempt: e.attempt,
      signers: [...e.signers].sort(),
      ...(e.dealers === undefined ? {} : { dealers: [...e.dealers].sort() }),
      coordinator: e.from,
      abortCode: null,
      stallAt: now + this.c.stallMs,
    });
    this.evaluate();
  }

  private onRetry(from: string, attempt: number, without: readonly string[] | undefined): void {
    if (this.s.signed) {
      // Already signed (whoever coordinates): tell everyone again instead of signing twice.
      this.fx.push({ t: 'rebroadcast', why: `r${attempt}` });
      return;
    }
    const a = this.s.attempt;
    if (coordinatorOf(this.c.request, a) !== this.c.self) return;
    if (a === undefined || a.status !== 'running' || a.attempt !== attempt) return;
    if (without !== undefined) {
      // Only a chosen signer of this attempt may refuse co-signers, and only other chosen signers:
      // it could as well refuse to sign at all, so this gives it no power it did not have.
      const chosen = a.signers ?? [];
      if (!chosen.includes(from)) this.refuse('a refusal of co-signers from a device that was not chosen');
      if (without.some((d) => d === from || !chosen.includes(d))) {
        this.refuse('a refusal names a device that was not a co-signer');
      }
      const excluded = [...new Set([...(a.excluded ?? []), ...without])].sort();
      this.putAttempt({ ...a, excluded });
    }
    this.newAttempt(attempt + 1);
  }

  /** Why a reshare's start must be refused here, or null (dealers must be verified approvers). */
  private dealerProblem(signers: readonly string[], dealers: readonly string[] | undefined): string | null {
    const q = this.c.quorum;
    const body = this.c.request.body;
    if (body.kind !== 'reshare' || q === null) return 'the current committee is unknown';
    const approvers = new Set(
      q.members.filter((m) => this.s.decisions.get(m.deviceId) === 'approve').map((m) => m.deviceId),
    );
    return reshareStartProblem(body, signers, dealers, approvers, q.threshold);
  }

  // ------------------------------------------------------------- moving forward

  /**
   * Moves the request forward from the state: expiry, rejection, approval; the coordinator's first
   * start; joining an attempt this device was chosen for; asking for a new attempt after a restart.
   */
  private evaluate(): void {
    const { request, self, now } = this.c;
    const st = this.s.status;
    if (st === 'rejected' || st === 'expired' || st === 'executed') {
      this.disarm();
      return;
    }
    const a = this.s.attempt;
    const isSend = request.body.kind === 'send';
    // A send expires whatever its attempts (nothing is signed after `expiresAt`); a reshare whose
    // ceremony ran is left to finish its certificate. One that could not be signed stays so.
    const expirable = !this.s.signed && (a === undefined || (isSend && a.status !== 'aborted'));
    if (!isLive(request, now) && expirable) {
      this.setStatus('expired');
      this.disarm();
      this.fx.push({ t: 'attention' });
      return;
    }
    // The expiry alarm (a stall deadline, when earlier, replaces it in `watchAttempt`).
    if (this.armedFor === undefined) this.arm(request.expiresAt);
    const q = this.c.quorum;
    if (q === null) return;
    const decisions = this.s.decisions;
    const t = tally(q.members, q.threshold, decisions);
    if (request.body.kind === 'reshare') {
      // Joiners must accept too: a device is never made a signer without its consent.
      const joiners = request.body.members.filter((m) => !q.members.some((o) => o.deviceId === m.deviceId));
      if (joiners.some((j) => decisions.get(j.deviceId) === 'reject') || t.state === 'rejected') {
        this.setStatus('rejected');
        return;
      }
      if (t.state !== 'approved' || !joiners.every((j) => decisions.get(j.deviceId) === 'approve')) return;
    } else if (t.state === 'rejected') {
      this.setStatus('rejected');
      return;
    } else if (t.state !== 'approved') return;

    if (this.s.status === 'open') this.setStatus('approved');
    if (this.s.signed) return;
    if (a === undefined) {
      if (request.initiator === self) this.newAttempt(1);
      else this.maybeFallback(q.members);
      return;
    }
    if (a.status !== 'running' || a.attempt === undefined || a.signers === undefined) return;
    if (a.sessionDone === true) {
      // Our reshare session finished (possibly before a restart); only signatures are missing.
      this.fx.push({ t: 'resume' });
      return;
    }
    const k = a.attempt;
    if (a.signers.includes(self) && !this.running.has(k)) {
      // Every chosen signer's approval must be one this device verified itself.
      const chosenPower = a.signers.reduce((sum, d) => {
        const m = q.members.find((x) => x.deviceId === d);
        return sum + (m !== undefined && decisions.get(d) === 'approve' ? m.power : 0);
      }, 0);
      const refused = isSend ? null : this.dealerProblem(a.signers, a.dealers);
      // A reshare deals fresh OT state to everyone (and clears the bans), so only signing refuses.
      const banned = isSend ? a.signers.filter((d) => d !== self && this.c.bans.has(d)) : [];
      if (banned.length > 0) {
        // This device never signs with a member it holds a ban against (its OT state with it is
        // burned until a refresh): it asks for a new attempt without them instead.
        this.markAborted('BANNED_PARTY');
        this.retryAfter(k, 'ban', banned);
      } else if ((a.myAttempt ?? 0) >= k) {
        // We started attempt k before a restart: its round state is gone. Ask for a new one.
        this.retryAfter(k, 'restart');
      } else if (refused !== null) {
        // Checked again on the stored start: a device never deals or receives in a reshare whose
        // dealers it did not see approve.
        this.fx.push({ t: 'log', code: 'START_REFUSED', message: `reshare start refused: ${refused}` });
      } else if (!isSend || chosenPower >= q.threshold) {
        this.putAttempt({ ...a, myAttempt: k });
        this.running.add(k);
        this.progress.set(k, now);
        this.fx.push({ t: 'run', attempt: k, signers: a.signers, dealers: a.dealers ?? [] });
      }
      // Otherwise: wait for the missing decisions; the stall deadline below still runs.
    } else if (
      isSend &&
      a.signers.length === 0 &&
      coordinatorOf(request, a) === self &&
      this.pickSigners(q) !== null
    ) {
      // An attempt that found too few signers, and now enough approved: start the next one.
      this.newAttempt(k + 1);
    }
    // Every device that holds a running attempt of a send keeps its stall deadline armed. (A
    // reshare's sessions have their own watchdog in the ceremony host.)
    if (isSend) this.watchAttempt();
  }

  /** The signers of a send's next attempt as this coordinator sees them, or null (too few). */
  private pickSigners(q: Quorum): string[] | null {
    const approvers = q.members.filter((m) => this.s.decisions.get(m.deviceId) === 'approve');
    const excluded = new Set([...this.c.bans, ...(this.s.attempt?.excluded ?? [])]);
    return chooseSigners(approvers, q.threshold, this.c.online, this.c.self, excluded);
  }

  /** Coordinator: pick signers and start attempt `k` (stored before anyone is told). */
  private newAttempt(k: number): void {
    const { request, self, now, stallMs } = this.c;
    const isSend = request.body.kind === 'send';
    if (!isLive(request, now)) return; // `evaluate` marks it expired
    if (isSend && k > MAX_ATTEMPTS) {
      this.giveUp();
      return;
    }
    const q = this.c.quorum;
    if (q === null) return;
    let signers: string[] | null;
    let dealers: string[] | undefined;
    if (request.body.kind === 'reshare') {
      const approvers = q.members.filter((m) => this.s.decisions.get(m.deviceId) === 'approve');
      const p = reshareParticipants(request.body, approvers, q.threshold);
      signers = p?.signers ?? null;
      dealers = p?.dealers;
    } else {
      signers = this.pickSigners(q);
    }
    const current = this.s.attempt;
    if (signers === null) {
      if (!isSend) {
        this.markAborted('NOT_ENOUGH_SIGNERS');
        return;
      }
      // Too few signers now (bans): the attempt is recorded without signers so its deadline runs
      // (and counts against the bound); a later approval starts the next one at once (`evaluate`).
      this.putAttempt({
        ...(current ?? newRecord()),
        status: 'running',
        attempt: k,
        signers: [],
        coordinator: self,
        abortCode: 'NOT_ENOUGH_SIGNERS',
        stallAt: now + stallMs,
      });
      this.watchAttempt();
      return;
    }
    this.putAttempt({
      ...(current ?? newRecord()),
      status: 'running',
      attempt: k,
      signers,
      ...(dealers === undefined ? {} : { dealers }),
      coordinator: self,
      abortCode: null,
      stallAt: now + stallMs,
    });
    this.fx.push({ t: 'send-start', attempt: k, signers, ...(dealers === undefined ? {} : { dealers }) });
    this.evaluate();
  }

  /**
   * Liveness when the initiator is away: approvals reached the threshold but no start arrived and
   * the relay shows the initiator offline. The online approver with the smallest id stands in after
   * a grace period (so a returning initiator usually wins). Two stand-ins with different presence
   * views can only cost an attempt: the nonce is fixed, so at most one transaction is ever mined.
   */
  private maybeFallback(members: readonly TallyMember[]): void {
    const { self, online, request } = this.c;
    if (online.has(request.initiator) || this.s.decisions.get(self) !== 'approve') return;
    const onlineApprovers = members
      .map((m) => m.deviceId)
      .filter((d) => this.s.decisions.get(d) === 'approve' && (d === self || online.has(d)))
      .sort();
    if (onlineApprovers[0] !== self || this.fallbackArmed) return;
    this.fallbackArmed = true;
    this.fx.push({ t: 'arm-fallback', afterMs: this.c.fallbackMs });
  }

  /** After attempt `k` failed or lost its state here: the coordinator starts `k + 1`, others ask. */
  private retryAfter(k: number, why: string, without?: string[]): void {
    if (coordinatorOf(this.c.request, this.s.attempt) === this.c.self) {
      this.newAttempt(k + 1);
      return;
    }
    this.fx.push({ t: 'send-retry', attempt: k, why, ...(without === undefined ? {} : { without }) });
  }

  /** Keeps the running attempt's stall deadline armed, and acts once it passed (liveness.ts). */
  private watchAttempt(): void {
    const a = this.s.attempt;
    if (this.s.signed) {
      this.disarm();
      return;
    }
    if (a?.status !== 'running' || a.attempt === undefined || a.signers === undefined) {
      // No attempt to watch (given up, or none yet): only the expiry stays armed.
      if (a?.status === 'aborted') this.disarm();
      else this.arm(this.c.request.expiresAt);
      return;
    }
    const { now, stallMs } = this.c;
    let stallAt = a.stallAt;
    if (stallAt === undefined) {
      // A record from before deadlines were kept: its deadline starts now.
      stallAt = now + stallMs;
      this.putAttempt({ ...a, stallAt });
    }
    const deadline = stallDeadline(stallAt, this.progress.get(a.attempt), stallMs);
    if (now < deadline) {
      this.arm(deadline);
      return;
    }
    this.onStall({ ...a, stallAt }, a.attempt, a.signers, stallAt);
  }

  private onStall(a: AttemptState, k: number, signers: readonly string[], stallAt: number): void {
    const { self, online, now, stallMs } = this.c;
    const action = stallAction({
      attempt: k,
      self,
      coordinator: coordinatorOf(this.c.request, a),
      signers,
      approvers: [...this.s.decisions].filter(([, d]) => d === 'approve').map(([id]) => id),
      online,
    });
    switch (action.kind) {
      case 'give-up':
        this.giveUp();
        return;
      case 'next-attempt':
        this.newAttempt(k + 1);
        return;
      case 'ask-retry':
        // One message id per deadline: every ask is a new message the coordinator sees.
        this.fx.push({ t: 'send-retry', attempt: k, why: `stall${stallAt}` });
        break;
      case 'wait':
        break;
    }
    const next = now + stallMs;
    this.putAttempt({ ...a, stallAt: next });
    this.arm(next);
  }

  /** Attempts are used up: the request ends as "could not sign" on this device. */
  private giveUp(): void {
    const a = this.s.attempt;
    if (a !== undefined && a.status !== 'done') {
      this.putAttempt({ ...a, status: 'aborted', abortCode: COULD_NOT_SIGN });
    }
    this.disarm();
    this.fx.push({ t: 'attention' });
  }

  private markAborted(code: string): void {
    const a = this.s.attempt;
    if (a === undefined || a.status === 'done') return;
    this.putAttempt({ ...a, abortCode: code });
  }
}
