/**
 * The co-approval state machine (bridge-server/src/vault/co-approval.ts) without network or
 * storage: every transition from stored state + context + event to next state + effects, with real
 * Ed25519 device identities so forged, replayed and flipped decisions and starts fail for real.
 */
import {
  type AttemptState,
  COULD_NOT_SIGN,
  coordinatorOf,
  type Decision,
  decisionMessage,
  decodeControl,
  type Effect,
  type Event,
  encodeControl,
  encodeRequest,
  MAX_ATTEMPTS,
  type RequestMember,
  type RequestState,
  type ReshareBody,
  requestHash,
  reshareParticipants,
  type StepContext,
  startMessage,
  step,
  type VaultRequest,
} from '@concord/bridge-server/vault';
import { type DeviceIdentity, generateDeviceIdentity, publicIdentity } from '@concord/tss/transport';
import { bytesToHex } from '@noble/hashes/utils.js';
import { describe, expect, it } from 'vitest';

const [A, B, C, D, X] = [0, 1, 2, 3, 4].map(() => generateDeviceIdentity()) as [
  DeviceIdentity,
  DeviceIdentity,
  DeviceIdentity,
  DeviceIdentity,
  DeviceIdentity,
];
const hex = (d: DeviceIdentity) => bytesToHex(d.deviceId);
const [a, b, c, d, x] = [A, B, C, D, X].map(hex) as [string, string, string, string, string];
const T0 = 1_800_000_000_000;
const TTL = 24 * 60 * 60_000;
const STALL = 60_000;

/** A [A:2, B:1, C:1] vault, threshold 3. */
const MEMBERS = [
  { deviceId: a, power: 2 },
  { deviceId: b, power: 1 },
  { deviceId: c, power: 1 },
];
const ids = new Map([A, B, C, D, X].map((i) => [hex(i), i]));

function request(kind: 'send' | 'reshare' = 'send', initiator = a): VaultRequest {
  const member = (id: DeviceIdentity, power: number): RequestMember => ({
    identity: publicIdentity(id),
    deviceId: hex(id),
    power,
    label: 'x',
  });
  const body: VaultRequest['body'] =
    kind === 'send'
      ? { kind: 'send', chainId: 31337, tx: new Uint8Array([2, 0xc0]) }
      : ({
          kind: 'reshare',
          name: 'v',
          threshold: 3,
          members: [member(A, 2), member(B, 1), member(C, 1), member(D, 1)].sort((p, q) =>
            p.deviceId.localeCompare(q.deviceId),
          ),
          current: [member(A, 2), member(B, 1), member(C, 1)].sort((p, q) =>
            p.deviceId.localeCompare(q.deviceId),
          ),
          descriptor: new Uint8Array([1]),
        } satisfies ReshareBody);
  return {
    id: '11'.repeat(16),
    vaultId: '22'.repeat(16),
    keyId: '33'.repeat(32),
    groupKey: `02${'44'.repeat(32)}`,
    epoch: 0,
    sid: 'sid-1',
    initiator,
    createdAt: T0,
    expiresAt: T0 + TTL,
    body,
  };
}

const SEND = request();
const HASH = requestHash(encodeRequest(SEND));
const RESHARE = request('reshare');
const RHASH = requestHash(encodeRequest(RESHARE));

function sig(id: DeviceIdentity, decision: Decision, hash = HASH): Uint8Array {
  return id.sign(decisionMessage(hash, decision));
}

function ctx(self: string, over: Partial<StepContext> = {}): StepContext {
  const req = over.request ?? SEND;
  const deciders = new Map([A, B, C].map((i) => [hex(i), publicIdentity(i)]));
  if (req.body.kind === 'reshare') deciders.set(d, publicIdentity(D));
  return {
    self,
    now: T0 + 1000,
    request: req,
    hash: req === SEND ? HASH : requestHash(encodeRequest(req)),
    quorum: { members: MEMBERS, threshold: 3 },
    deciders,
    parties: deciders,
    online: new Set([a, b, c]),
    bans: new Set(),
    running: new Set(),
    progress: new Map(),
    stallMs: STALL,
    fallbackMs: 5_000,
    armedFor: T0 + TTL,
    fallbackArmed: false,
    ...over,
  };
}

function state(over: Partial<RequestState> = {}): RequestState {
  return { status: 'open', decisions: new Map([[a, 'approve']]), attempt: undefined, signed: false, ...over };
}

const running = (over: Partial<AttemptState> = {}): AttemptState => ({
  status: 'running',
  attempt: 1,
  signers: [a, b].sort(),
  coordinator: a,
  abortCode: null,
  stallAt: T0 + 1000 + STALL,
  ...over,
});

const kinds = (fx: Effect[]) => fx.map((e) => e.t);
const only = <K extends Effect['t']>(fx: Effect[], t: K) =>
  fx.filter((e): e is Extract<Effect, { t: K }> => e.t === t);

function startEvent(
  from: DeviceIdentity,
  attempt: number,
  signers: string[],
  dealers?: string[],
  hash = HASH,
): Extract<Event, { t: 'start' }> {
  const sorted = [...signers].sort();
  return {
    t: 'start',
    from: hex(from),
    attempt,
    signers: sorted,
    ...(dealers === undefined ? {} : { dealers: [...dealers].sort() }),
    sig: from.sign(startMessage(hash, attempt, sorted, dealers?.slice().sort())),
  };
}

describe('decisions', () => {
  it('records a member decision whose signature verifies, once', () => {
    const r = step(state(), ctx(c), { t: 'decision', from: b, decision: 'approve', sig: sig(B, 'approve') });
    expect(r.refused).toBeUndefined();
    expect(r.state.decisions.get(b)).toBe('approve');
    expect(only(r.effects, 'add-decision')).toEqual([
      { t: 'add-decision', from: b, decision: 'approve', sig: sig(B, 'approve') },
    ]);
    expect(r.state.status).toBe('approved');
  });

  it('refuses a forged decision (signed by another device)', () => {
    const r = step(state(), ctx(c), { t: 'decision', from: b, decision: 'approve', sig: sig(C, 'approve') });
    expect(r.refused?.message).toBe('decision signature invalid');
    expect(r.effects).toEqual([]);
    expect(r.state.decisions.has(b)).toBe(false);
  });

  it('refuses a decision replayed from another request', () => {
    const other = requestHash(encodeRequest({ ...SEND, id: '55'.repeat(16) }));
    const r = step(state(), ctx(c), {
      t: 'decision',
      from: b,
      decision: 'approve',
      sig: sig(B, 'approve', other),
    });
    expect(r.refused?.message).toBe('decision signature invalid');
    expect(r.effects).toEqual([]);
  });

  it('refuses a flipped decision (a reject signature presented as an approval)', () => {
    const r = step(state(), ctx(c), { t: 'decision', from: b, decision: 'approve', sig: sig(B, 'reject') });
    expect(r.refused?.message).toBe('decision signature invalid');
    expect(r.state.decisions.has(b)).toBe(false);
  });

  it('refuses a decision from a device that is not a member', () => {
    const r = step(state(), ctx(c), { t: 'decision', from: x, decision: 'approve', sig: sig(X, 'approve') });
    expect(r.refused?.message).toBe('decision from a non-member');
    expect(r.effects).toEqual([]);
  });

  it('keeps the first decision of a device: a later opposite one changes nothing', () => {
    const s = state({
      decisions: new Map([
        [a, 'approve'],
        [b, 'reject'],
      ]),
    });
    const r = step(s, ctx(c), { t: 'decision', from: b, decision: 'approve', sig: sig(B, 'approve') });
    expect(r.refused).toBeUndefined();
    expect(r.effects).toEqual([]);
    expect(r.state.decisions.get(b)).toBe('reject');
  });

  it('a local decision is stored, sent and evaluated; a second one is refused', () => {
    const r = step(state(), ctx(b), { t: 'decide', decision: 'approve', sig: sig(B, 'approve') });
    expect(kinds(r.effects).slice(0, 2)).toEqual(['add-decision', 'send-decision']);
    expect(r.state.status).toBe('approved');
    const again = step(r.state, ctx(b), { t: 'decide', decision: 'reject', sig: sig(B, 'reject') });
    expect(again.refused?.code).toBe('REQUEST_CLOSED');
    expect(again.refused?.message).toBe('You have already answered.');
  });

  it('a local decision is refused when closed, expired, signed, or from a non-member', () => {
    const dec: Event = { t: 'decide', decision: 'approve', sig: sig(B, 'approve') };
    expect(step(state({ status: 'rejected' }), ctx(b), dec).refused?.code).toBe('REQUEST_CLOSED');
    expect(step(state({ signed: true }), ctx(b), dec).refused?.code).toBe('REQUEST_CLOSED');
    expect(step(state(), ctx(b, { now: SEND.expiresAt }), dec).refused?.code).toBe('REQUEST_CLOSED');
    const r = step(state(), ctx(x), { t: 'decide', decision: 'approve', sig: sig(X, 'approve') });
    expect(r.refused?.message).toBe('This device is not a signer of this request.');
  });
});

describe('tally at every boundary ([2,1,1], threshold 3)', () => {
  const cases: [string, [string, Decision][], string][] = [
    ['initiator alone (2 of 3): pending', [[a, 'approve']], 'open'],
    [
      'initiator + one (3 of 3): approved',
      [
        [a, 'approve'],
        [b, 'approve'],
      ],
      'approved',
    ],
    [
      'initiator + one reject: 3 still reachable',
      [
        [a, 'approve'],
        [b, 'reject'],
      ],
      'open',
    ],
    [
      'initiator + two rejects: 2 < 3, rejected',
      [
        [a, 'approve'],
        [b, 'reject'],
        [c, 'reject'],
      ],
      'rejected',
    ],
    ['heavy reject: 2 left < 3', [[a, 'reject']], 'rejected'],
    [
      'light approvals only (2 of 3) with the heavy undecided',
      [
        [b, 'approve'],
        [c, 'approve'],
      ],
      'open',
    ],
    [
      'light approvals and the heavy rejects',
      [
        [b, 'approve'],
        [c, 'approve'],
        [a, 'reject'],
      ],
      'rejected',
    ],
  ];
  for (const [name, decisions, status] of cases) {
    it(name, () => {
      const r = step(state({ decisions: new Map(decisions) }), ctx(c, { online: new Set([a, b, c]) }), {
        t: 'evaluate',
      });
      expect(r.state.status).toBe(status);
    });
  }

  it('a threshold of total power needs every member', () => {
    const q = { members: MEMBERS, threshold: 4 };
    const three = new Map<string, Decision>([
      [a, 'approve'],
      [b, 'approve'],
    ]);
    expect(step(state({ decisions: three }), ctx(c, { quorum: q }), { t: 'evaluate' }).state.status).toBe(
      'open',
    );
    three.set(c, 'approve');
    expect(step(state({ decisions: three }), ctx(c, { quorum: q }), { t: 'evaluate' }).state.status).toBe(
      'approved',
    );
  });
});

describe('start and signer choice', () => {
  const approved = () =>
    state({
      decisions: new Map([
        [a, 'approve'],
        [b, 'approve'],
      ]),
    });

  it('the initiator with a quorum starts attempt 1 with itself and online approvers, and runs', () => {
    const r = step(approved(), ctx(a), { t: 'evaluate' });
    const start = only(r.effects, 'send-start');
    expect(start).toEqual([{ t: 'send-start', attempt: 1, signers: [a, b].sort() }]);
    expect(r.state.attempt).toMatchObject({ attempt: 1, coordinator: a, status: 'running', myAttempt: 1 });
    expect(only(r.effects, 'run')).toEqual([{ t: 'run', attempt: 1, signers: [a, b].sort(), dealers: [] }]);
    // The start is stored before it is sent.
    expect(kinds(r.effects).indexOf('put-attempt')).toBeLessThan(kinds(r.effects).indexOf('send-start'));
  });

  it('prefers online approvers over offline ones', () => {
    const s = state({
      decisions: new Map([
        [a, 'approve'],
        [b, 'approve'],
        [c, 'approve'],
      ]),
    });
    const r = step(s, ctx(a, { online: new Set([c]) }), { t: 'evaluate' });
    expect(only(r.effects, 'send-start')[0]?.signers).toEqual([a, c].sort());
  });

  it('never chooses a member this device holds a ban against', () => {
    const s = state({
      decisions: new Map([
        [a, 'approve'],
        [b, 'approve'],
        [c, 'approve'],
      ]),
    });
    const r = step(s, ctx(a, { bans: new Set([b]) }), { t: 'evaluate' });
    expect(only(r.effects, 'send-start')[0]?.signers).toEqual([a, c].sort());
  });

  it('records an attempt without signers when bans leave too few, and starts the next when one approves', () => {
    const r = step(approved(), ctx(a, { bans: new Set([b]) }), { t: 'evaluate' });
    expect(only(r.effects, 'send-start')).toEqual([]);
    expect(r.state.attempt).toMatchObject({ attempt: 1, signers: [], abortCode: 'NOT_ENOUGH_SIGNERS' });
    const later = step(r.state, ctx(a, { bans: new Set([b]) }), {
      t: 'decision',
      from: c,
      decision: 'approve',
      sig: sig(C, 'approve'),
    });
    expect(only(later.effects, 'send-start')).toEqual([
      { t: 'send-start', attempt: 2, signers: [a, c].sort() },
    ]);
  });

  it('a chosen signer takes a valid start and runs once', () => {
    const r = step(approved(), ctx(b), startEvent(A, 1, [a, b]));
    expect(r.refused).toBeUndefined();
    expect(only(r.effects, 'run')).toHaveLength(1);
    const again = step(r.state, ctx(b, { running: new Set([1]) }), { t: 'evaluate' });
    expect(only(again.effects, 'run')).toEqual([]);
  });

  it('a chosen signer waits while a chosen approval is not verified here', () => {
    const r = step(state(), ctx(b), startEvent(A, 1, [a, c]));
    expect(r.refused).toBeUndefined();
    expect(only(r.effects, 'run')).toEqual([]);
    expect(r.state.attempt?.attempt).toBe(1);
  });

  it('refuses a start from a device that neither initiated nor approved', () => {
    expect(step(approved(), ctx(b), startEvent(C, 1, [a, b])).refused?.message).toBe(
      'start from a device that is neither the initiator nor an approver',
    );
  });

  it('refuses a start whose signature does not cover its signers or attempt', () => {
    const e = startEvent(A, 1, [a, b]);
    expect(step(approved(), ctx(b), { ...e, signers: [a, c].sort() }).refused?.message).toBe(
      'start signature invalid',
    );
    expect(step(approved(), ctx(b), { ...e, attempt: 2 }).refused?.message).toBe('start signature invalid');
    expect(
      step(approved(), ctx(b), { ...e, sig: B.sign(startMessage(HASH, 1, e.signers)) }).refused,
    ).toBeDefined();
  });

  it('refuses dealers on a send, a start past the attempt limit, and a start after expiry', () => {
    expect(step(approved(), ctx(b), startEvent(A, 1, [a, b], [a])).refused?.message).toBe(
      'a send has no dealers',
    );
    expect(step(approved(), ctx(b), startEvent(A, MAX_ATTEMPTS + 1, [a, b])).refused?.message).toBe(
      'start beyond the attempt limit',
    );
    const late = step(approved(), ctx(b, { now: SEND.expiresAt }), startEvent(A, 1, [a, b]));
    expect(late.refused?.code).toBe('REQUEST_CLOSED');
    expect(late.state.status).toBe('expired');
    expect(only(late.effects, 'run')).toEqual([]);
  });

  it('ignores a start for an attempt it already has, and answers one after signing with the result', () => {
    const s = state({
      decisions: new Map([
        [a, 'approve'],
        [b, 'approve'],
      ]),
      attempt: running({ attempt: 2 }),
    });
    expect(step(s, ctx(b), startEvent(A, 2, [a, b])).effects).toEqual([]);
    const signed = step({ ...s, signed: true }, ctx(b), startEvent(A, 3, [a, b]));
    expect(signed.effects).toEqual([{ t: 'rebroadcast', why: 's3' }]);
  });
});

describe('retry and attempts', () => {
  const approved = (attempt: AttemptState) =>
    state({
      status: 'approved',
      decisions: new Map([
        [a, 'approve'],
        [b, 'approve'],
      ]),
      attempt,
    });

  it('the coordinator answers a retry of the current attempt with the next one', () => {
    const r = step(approved(running({ myAttempt: 1 })), ctx(a, { running: new Set([1]) }), {
      t: 'retry',
      from: b,
      attempt: 1,
    });
    expect(only(r.effects, 'send-start')).toEqual([{ t: 'send-start', attempt: 2, signers: [a, b].sort() }]);
  });

  it('ignores a retry of another attempt, or one sent to a device that does not coordinate', () => {
    expect(
      step(approved(running({ attempt: 2 })), ctx(a), { t: 'retry', from: b, attempt: 1 }).effects,
    ).toEqual([]);
    expect(step(approved(running()), ctx(c), { t: 'retry', from: b, attempt: 1 }).effects).toEqual([]);
  });

  it('answers a retry after signing with the signed result', () => {
    const r = step({ ...approved(running()), signed: true }, ctx(c), { t: 'retry', from: b, attempt: 1 });
    expect(r.effects).toEqual([{ t: 'rebroadcast', why: 'r1' }]);
  });

  it('a signer that lost its round state (restart) asks for a new attempt', () => {
    const r = step(approved(running({ myAttempt: 1 })), ctx(b), { t: 'evaluate' });
    expect(only(r.effects, 'send-retry')).toEqual([{ t: 'send-retry', attempt: 1, why: 'restart' }]);
    expect(only(r.effects, 'run')).toEqual([]);
  });

  it('an abort asks the coordinator for a new attempt (or starts it, at the coordinator)', () => {
    const r = step(approved(running({ myAttempt: 1 })), ctx(b, { running: new Set([1]) }), {
      t: 'aborted',
      attempt: 1,
      code: 'PUBLIC_KEY_MISMATCH',
    });
    expect(r.state.attempt?.abortCode).toBe('PUBLIC_KEY_MISMATCH');
    expect(only(r.effects, 'send-retry')).toEqual([{ t: 'send-retry', attempt: 1, why: 'abort' }]);
    const atA = step(approved(running({ myAttempt: 1 })), ctx(a, { running: new Set([1]) }), {
      t: 'aborted',
      attempt: 1,
      code: 'X',
    });
    expect(only(atA.effects, 'send-start')[0]?.attempt).toBe(2);
  });

  it(`gives up after ${MAX_ATTEMPTS} attempts: could not sign, timer cleared`, () => {
    const r = step(approved(running({ attempt: MAX_ATTEMPTS, myAttempt: MAX_ATTEMPTS })), ctx(a), {
      t: 'retry',
      from: b,
      attempt: MAX_ATTEMPTS,
    });
    expect(only(r.effects, 'send-start')).toEqual([]);
    expect(r.state.attempt).toMatchObject({ status: 'aborted', abortCode: COULD_NOT_SIGN });
    expect(kinds(r.effects)).toContain('disarm');
    // And nothing restarts it: an aborted send does not even expire.
    const later = step(r.state, ctx(a, { now: SEND.expiresAt + 1 }), { t: 'evaluate' });
    expect(later.state.status).toBe('approved');
    expect(only(later.effects, 'send-start')).toEqual([]);
  });

  it('a stalled attempt: before the deadline the timer is armed for it', () => {
    const s = approved(running({ stallAt: T0 + 50_000 }));
    const r = step(s, ctx(c, { now: T0 + 10_000 }), { t: 'evaluate' });
    expect(only(r.effects, 'arm').at(-1)).toEqual({ t: 'arm', at: T0 + 50_000 });
  });

  it('progress of this device pushes its deadline back', () => {
    const s = approved(running({ stallAt: T0 + 50_000, myAttempt: 1 }));
    const r = step(
      s,
      ctx(b, { now: T0 + 60_000, running: new Set([1]), progress: new Map([[1, T0 + 55_000]]) }),
      {
        t: 'evaluate',
      },
    );
    expect(only(r.effects, 'arm').at(-1)).toEqual({ t: 'arm', at: T0 + 55_000 + STALL });
    expect(only(r.effects, 'send-retry')).toEqual([]);
  });

  it('at the deadline: the coordinator starts the next attempt, a signer asks, a watcher waits', () => {
    const s = approved(running({ stallAt: T0 + 50_000, myAttempt: 1 }));
    const now = T0 + 50_000;
    const atA = step(s, ctx(a, { now, running: new Set([1]) }), { t: 'evaluate' });
    expect(only(atA.effects, 'send-start')[0]?.attempt).toBe(2);
    const atB = step(s, ctx(b, { now, running: new Set([1]) }), { t: 'evaluate' });
    expect(only(atB.effects, 'send-retry')).toEqual([
      { t: 'send-retry', attempt: 1, why: `stall${T0 + 50_000}` },
    ]);
    expect(atB.state.attempt?.stallAt).toBe(now + STALL);
    const atC = step(s, ctx(c, { now }), { t: 'evaluate' });
    expect(only(atC.effects, 'send-retry')).toEqual([]);
    expect(only(atC.effects, 'arm').at(-1)).toEqual({ t: 'arm', at: now + STALL });
  });
});

describe('coordinator hand-over', () => {
  const approved = () =>
    state({
      status: 'approved',
      decisions: new Map([
        [a, 'approve'],
        [b, 'approve'],
        [c, 'approve'],
      ]),
    });

  it('the initiator away: the smallest online approver arms the grace timer, then starts', () => {
    const standIn = [b, c].sort()[0]!;
    const other = standIn === b ? c : b;
    const online = new Set([b, c]);
    const r = step(approved(), ctx(standIn, { online }), { t: 'evaluate' });
    expect(only(r.effects, 'arm-fallback')).toEqual([{ t: 'arm-fallback', afterMs: 5_000 }]);
    expect(
      step(approved(), ctx(other, { online }), { t: 'evaluate' }).effects.some((e) => e.t === 'arm-fallback'),
    ).toBe(false);
    // Armed once only.
    expect(
      only(
        step(approved(), ctx(standIn, { online, fallbackArmed: true }), { t: 'evaluate' }).effects,
        'arm-fallback',
      ),
    ).toEqual([]);
    const fired = step(approved(), ctx(standIn, { online }), { t: 'fallback' });
    const start = only(fired.effects, 'send-start')[0];
    expect(start?.attempt).toBe(1);
    // Offline approvers fill up to the threshold (their mailbox holds the start).
    expect(start?.signers).toEqual([a, b, c].sort());
    expect(fired.state.attempt?.coordinator).toBe(standIn);
  });

  it('no stand-in while the initiator is online, or once a start arrived', () => {
    expect(only(step(approved(), ctx(b), { t: 'evaluate' }).effects, 'arm-fallback')).toEqual([]);
    const started = state({ ...approved(), attempt: running() });
    expect(
      only(step(started, ctx(b, { online: new Set([c]) }), { t: 'fallback' }).effects, 'send-start'),
    ).toEqual([]);
  });

  it("others take the stand-in's start, and later retries go to the stand-in", () => {
    const r = step(approved(), ctx(c, { online: new Set([b, c]) }), startEvent(B, 1, [b, c]));
    expect(r.refused).toBeUndefined();
    expect(coordinatorOf(SEND, r.state.attempt)).toBe(b);
    const retry = step(r.state, ctx(b, { online: new Set([b, c]) }), { t: 'retry', from: c, attempt: 1 });
    expect(only(retry.effects, 'send-start')[0]?.attempt).toBe(2);
  });

  it('a stalled attempt whose coordinator left: the smallest online approver takes over', () => {
    const standIn = [b, c].sort()[0]!;
    const other = standIn === b ? c : b;
    // The stand-in only watches this attempt (it was not chosen).
    const s = state({ ...approved(), attempt: running({ signers: [a, other].sort() }) });
    const now = T0 + 1000 + STALL;
    const r = step(s, ctx(standIn, { now, online: new Set([b, c]) }), { t: 'evaluate' });
    const start = only(r.effects, 'send-start')[0];
    expect(start?.attempt).toBe(2);
    expect(r.state.attempt?.coordinator).toBe(standIn);
  });
});

describe('a signer that refuses a banned co-signer', () => {
  const s = state({
    status: 'approved',
    decisions: new Map([
      [a, 'approve'],
      [b, 'approve'],
      [c, 'approve'],
    ]),
    attempt: running({ signers: [a, b, c].sort() }),
  });

  it('does not run, and asks for a new attempt without it', () => {
    const r = step(s, ctx(b, { bans: new Set([c]) }), { t: 'evaluate' });
    expect(only(r.effects, 'run')).toEqual([]);
    expect(r.state.attempt?.abortCode).toBe('BANNED_PARTY');
    expect(only(r.effects, 'send-retry')).toEqual([
      { t: 'send-retry', attempt: 1, why: 'ban', without: [c] },
    ]);
  });

  it('the coordinator leaves the refused member out of every later attempt', () => {
    const r = step(s, ctx(a), { t: 'retry', from: b, attempt: 1, without: [c] });
    expect(r.state.attempt?.excluded).toEqual([c]);
    expect(only(r.effects, 'send-start')).toEqual([{ t: 'send-start', attempt: 2, signers: [a, b].sort() }]);
    const next = step(r.state, ctx(a), { t: 'retry', from: b, attempt: 2 });
    expect(only(next.effects, 'send-start')[0]?.signers).not.toContain(c);
  });

  it('refuses a refusal from a device that was not chosen, or naming one that was not', () => {
    const two = state({ ...s, attempt: running({ signers: [a, b].sort() }) });
    expect(step(two, ctx(a), { t: 'retry', from: c, attempt: 1, without: [b] }).refused?.message).toMatch(
      /not chosen/,
    );
    expect(step(two, ctx(a), { t: 'retry', from: b, attempt: 1, without: [c] }).refused?.message).toMatch(
      /not a co-signer/,
    );
    expect(step(two, ctx(a), { t: 'retry', from: b, attempt: 1, without: [b] }).refused).toBeDefined();
  });

  it('the refusal travels in the retry message, and a plain retry keeps its bytes', () => {
    const withList = decodeControl(encodeControl({ t: 'retry', hash: HASH, attempt: 1, banned: [c] }));
    expect(withList).toEqual({ t: 'retry', hash: HASH, attempt: 1, banned: [c] });
    const plain = new TextDecoder().decode(encodeControl({ t: 'retry', hash: HASH, attempt: 3 }));
    expect(JSON.parse(plain)).toEqual({ t: 'retry', hash: expect.any(String), attempt: 3 });
  });
});

describe('expiry', () => {
  it('arms the expiry on the first evaluation', () => {
    const r = step(state(), ctx(c, { armedFor: undefined }), { t: 'evaluate' });
    expect(only(r.effects, 'arm')).toEqual([{ t: 'arm', at: SEND.expiresAt }]);
  });

  it('now = expiresAt is expired (the boundary is exclusive); one ms before is not', () => {
    const s = state({
      decisions: new Map([
        [a, 'approve'],
        [b, 'approve'],
      ]),
    });
    const before = step(s, ctx(a, { now: SEND.expiresAt - 1 }), { t: 'evaluate' });
    expect(only(before.effects, 'send-start')).toHaveLength(1);
    const at = step(s, ctx(a, { now: SEND.expiresAt }), { t: 'evaluate' });
    expect(at.state.status).toBe('expired');
    expect(kinds(at.effects)).toEqual(['set-status', 'disarm', 'attention']);
  });

  it('a send with a running attempt expires; a signed one does not', () => {
    const s = state({ status: 'approved', attempt: running() });
    expect(step(s, ctx(b, { now: SEND.expiresAt }), { t: 'evaluate' }).state.status).toBe('expired');
    expect(
      step({ ...s, signed: true }, ctx(b, { now: SEND.expiresAt }), { t: 'evaluate' }).state.status,
    ).toBe('approved');
  });

  it('nothing new starts after expiry, even at the coordinator', () => {
    const s = state({
      status: 'approved',
      decisions: new Map([
        [a, 'approve'],
        [b, 'approve'],
      ]),
      attempt: running(),
    });
    const r = step(s, ctx(a, { now: SEND.expiresAt + 5 }), { t: 'retry', from: b, attempt: 1 });
    expect(only(r.effects, 'send-start')).toEqual([]);
    expect(only(r.effects, 'run')).toEqual([]);
  });

  it('a terminal request only clears its timer', () => {
    for (const status of ['rejected', 'expired', 'executed'] as const) {
      expect(step(state({ status }), ctx(a), { t: 'evaluate' }).effects).toEqual([{ t: 'disarm' }]);
    }
  });
});

describe('reshare', () => {
  const rsig = (id: DeviceIdentity, dec: Decision) => sig(id, dec, RHASH);
  const rctx = (self: string, over: Partial<StepContext> = {}) => ctx(self, { request: RESHARE, ...over });
  const all = new Map<string, Decision>([
    [a, 'approve'],
    [b, 'approve'],
    [d, 'approve'],
  ]);

  it('a joiner must accept too: its rejection rejects the reshare', () => {
    const s = state({
      decisions: new Map([
        [a, 'approve'],
        [b, 'approve'],
      ]),
    });
    expect(step(s, rctx(a), { t: 'evaluate' }).state.status).toBe('open');
    const r = step(s, rctx(a), { t: 'decision', from: d, decision: 'reject', sig: rsig(D, 'reject') });
    expect(r.state.status).toBe('rejected');
  });

  it('the initiator starts with the new committee and approving dealers, kept members first', () => {
    const r = step(state({ decisions: all }), rctx(a), { t: 'evaluate' });
    const start = only(r.effects, 'send-start')[0];
    expect(start?.dealers).toEqual([a, b].sort());
    expect(start?.signers).toEqual([a, b, c, d].sort());
    expect(only(r.effects, 'run')[0]?.dealers).toEqual([a, b].sort());
    expect(reshareParticipants(RESHARE.body as ReshareBody, [{ deviceId: a, power: 2 }], 3)).toBeNull();
  });

  it('refuses a start naming a dealer this device did not see approve', () => {
    const s = state({ decisions: all });
    const e = startEvent(A, 1, [a, b, c, d], [a, c], RHASH);
    expect(step(s, rctx(b), e).refused?.message).toMatch(/reshare start refused: dealer .* has not approved/);
    expect(step(s, rctx(b), startEvent(A, 1, [a, b, c, d], undefined, RHASH)).refused?.message).toMatch(
      /names no dealers/,
    );
  });

  it('a kept member that did not approve still receives; a banned one is not refused in a reshare', () => {
    const s = state({ decisions: all });
    const r = step(s, rctx(c, { bans: new Set([b]) }), startEvent(A, 1, [a, b, c, d], [a, b], RHASH));
    expect(r.refused).toBeUndefined();
    expect(only(r.effects, 'run')).toEqual([
      { t: 'run', attempt: 1, signers: [a, b, c, d].sort(), dealers: [a, b].sort() },
    ]);
  });

  it('certificate flow: a finished session resumes, the result marks it executed', () => {
    const s = state({
      status: 'approved',
      decisions: all,
      attempt: running({ sessionDone: true, signers: [a, b, c, d].sort() }),
    });
    expect(step(s, rctx(c), { t: 'evaluate' }).effects).toContainEqual({ t: 'resume' });
    const done = step(s, rctx(c), { t: 'finished' });
    expect(done.state.status).toBe('executed');
    expect(done.state.attempt?.status).toBe('done');
  });

  it('a reshare whose ceremony ran does not expire (its certificate finishes it)', () => {
    const s = state({ status: 'approved', decisions: all, attempt: running({ sessionDone: true }) });
    expect(step(s, rctx(c, { now: RESHARE.expiresAt + 1 }), { t: 'evaluate' }).state.status).toBe('approved');
  });

  it('too few approving dealers: the attempt is marked, nothing starts', () => {
    const s = state({
      decisions: new Map([
        [b, 'approve'],
        [c, 'approve'],
        [d, 'approve'],
      ]),
      attempt: running({ coordinator: b }),
    });
    const r = step(s, rctx(b), { t: 'retry', from: c, attempt: 1 });
    expect(only(r.effects, 'send-start')).toEqual([]);
    expect(r.state.attempt?.abortCode).toBe('NOT_ENOUGH_SIGNERS');
    expect(ids.size).toBe(5);
  });
});
