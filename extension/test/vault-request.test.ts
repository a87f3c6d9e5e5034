/**
 * The co-approval request module (background/services/vault-request.ts), pure parts only: the
 * canonical request codec (send and reshare bodies) and what it refuses, decisions that must not be
 * forgeable or replayable across requests, epochs or vaults, the coordinator's signed start, the
 * control-message codec, the power tally, signer selection and the reshare safety code. The reshare
 * descriptor comes from a real in-memory DKG whose party ids are the test devices' ids.
 */

import {
  type Control,
  chooseSigners,
  type Decision,
  decisionMessage,
  decodeControl,
  decodeRequest,
  encodeControl,
  encodeRequest,
  MAX_CLOCK_SKEW_MS,
  MAX_TX_BYTES,
  REQUEST_TTL_MS,
  type RequestMember,
  type ReshareBody,
  requestHash,
  requestTimeProblem,
  reshareSafetyCode,
  reshareStartProblem,
  reviewedSendProblem,
  startMessage,
  type TallyMember,
  tally,
  type VaultRequest,
  verifyDecision,
  verifyStart,
} from '@concord/bridge-server/vault';
import { encodeDescriptor } from '@concord/tss';
import { expectAllOk, runDkg } from '@concord/tss/testing';
import { type DeviceIdentity, generateDeviceIdentity, publicIdentity } from '@concord/tss/transport';
import { sha256 } from '@noble/hashes/sha2.js';
import { beforeAll, describe, expect, it } from 'vitest';
import { concatBytes, toHex, utf8 } from '../src/shared/bytes.ts';

const [A, B, C, X] = [0, 1, 2, 3].map(() => generateDeviceIdentity()) as [
  DeviceIdentity,
  DeviceIdentity,
  DeviceIdentity,
  DeviceIdentity,
];
const hex = (id: DeviceIdentity) => toHex(id.deviceId);
const pub = (id: DeviceIdentity) => publicIdentity(id);
const member = (id: DeviceIdentity, power: number, label = 'dev'): RequestMember => ({
  identity: pub(id),
  deviceId: hex(id),
  power,
  label,
});

const send: VaultRequest = {
  id: '11'.repeat(16),
  vaultId: '22'.repeat(16),
  keyId: '33'.repeat(32),
  groupKey: `02${'44'.repeat(32)}`,
  epoch: 3,
  sid: 'sid-send-1',
  initiator: hex(A),
  createdAt: 1_700_000_000_000,
  expiresAt: 1_700_000_000_000 + REQUEST_TTL_MS,
  body: { kind: 'send', chainId: 1, tx: Uint8Array.from([0x02, 0xf8, 0x6c, 0x01, 0x80, 0x84]) },
};

type Json = Record<string, unknown> & { body: Record<string, unknown> };
const toJson = (bytes: Uint8Array): Json => JSON.parse(new TextDecoder().decode(bytes)) as Json;
/** Re-serialise the request's JSON after `f` edits it (key order of existing keys is kept). */
const edited = (r: VaultRequest, f: (j: Json) => void): Uint8Array => {
  const j = toJson(encodeRequest(r));
  f(j);
  return utf8(JSON.stringify(j));
};
const equalArrays = (a: Uint8Array, b: Uint8Array) => a.length === b.length && a.every((x, i) => x === b[i]);

describe('send request codec', () => {
  it('round-trips byte-identically', () => {
    const bytes = encodeRequest(send);
    const back = decodeRequest(bytes);
    expect(back).toEqual(send);
    expect(equalArrays(encodeRequest(back), bytes)).toBe(true);
    // The edit helper alone (parse + stringify, no change) yields acceptable bytes.
    expect(decodeRequest(edited(send, () => {}))).toEqual(send);
    // The largest transaction is accepted.
    const big = { ...send, body: { ...send.body, tx: new Uint8Array(MAX_TX_BYTES).fill(7) } } as VaultRequest;
    expect(decodeRequest(encodeRequest(big)).body).toEqual(big.body);
  });

  it('refuses non-JSON, another version, and extra keys', () => {
    expect(() => decodeRequest(utf8('not json'))).toThrow(/not JSON/);
    expect(() => decodeRequest(Uint8Array.from([0xff, 0xfe, 0x7b, 0x7d]))).toThrow(/not JSON/);
    expect(() => decodeRequest(edited(send, (j) => (j.v = 2)))).toThrow(/schema/);
    expect(() => decodeRequest(edited(send, (j) => (j.extra = 1)))).toThrow(/schema/);
    expect(() => decodeRequest(edited(send, (j) => (j.body.note = 'hi')))).toThrow(/schema/);
    expect(() => decodeRequest(edited(send, (j) => (j.body.kind = 'mint')))).toThrow(/schema/);
  });

  it('refuses non-canonical bytes: key order, whitespace, duplicate keys, BOM, non-canonical base64', () => {
    const bytes = encodeRequest(send);
    const j = toJson(bytes);
    const { v: version, id, ...rest } = j;
    expect(() => decodeRequest(utf8(JSON.stringify({ id, v: version, ...rest })))).toThrow(/canonical/);
    expect(() => decodeRequest(utf8(JSON.stringify(j, null, 1)))).toThrow(/canonical/);
    expect(() => decodeRequest(utf8(` ${new TextDecoder().decode(bytes)}`))).toThrow(/canonical/);
    const text = new TextDecoder().decode(bytes);
    expect(() => decodeRequest(utf8(text.replace('{"v":1,', '{"v":1,"v":1,')))).toThrow(/canonical/);
    expect(() => decodeRequest(concatBytes(Uint8Array.from([0xef, 0xbb, 0xbf]), bytes))).toThrow(/canonical/);
    // Same transaction bytes, but base64url with non-zero trailing bits (6 bytes → 8 chars exactly,
    // so use a 5-byte tx whose last char carries 2 unused bits).
    const five = { ...send, body: { ...send.body, tx: Uint8Array.from([1, 2, 3, 4, 5]) } } as VaultRequest;
    const tx = toJson(encodeRequest(five)).body.tx as string;
    const last = tx.at(-1)!;
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    const sloppy = tx.slice(0, -1) + alphabet[alphabet.indexOf(last) + 1]!;
    expect(() => decodeRequest(edited(five, (k) => (k.body.tx = sloppy)))).toThrow(/canonical/);
  });

  it('refuses an empty or oversized transaction', () => {
    const withTx = (tx: Uint8Array) => ({ ...send, body: { ...send.body, tx } }) as VaultRequest;
    expect(() => decodeRequest(encodeRequest(withTx(new Uint8Array(0))))).toThrow(/size/);
    expect(() => decodeRequest(encodeRequest(withTx(new Uint8Array(MAX_TX_BYTES + 1))))).toThrow(/size/);
    expect(() => decodeRequest(encodeRequest(withTx(new Uint8Array(4 * MAX_TX_BYTES))))).toThrow(/schema/);
  });

  it('refuses expiresAt ≤ createdAt', () => {
    expect(() => decodeRequest(encodeRequest({ ...send, expiresAt: send.createdAt }))).toThrow(/expires/);
    expect(() => decodeRequest(encodeRequest({ ...send, expiresAt: send.createdAt - 1 }))).toThrow(/expires/);
    expect(decodeRequest(encodeRequest({ ...send, expiresAt: send.createdAt + 1 })).expiresAt).toBe(
      send.createdAt + 1,
    );
  });

  it('refuses a request that claims to live longer than 24 h (the relay does not bound it)', () => {
    expect(() =>
      decodeRequest(encodeRequest({ ...send, expiresAt: send.createdAt + REQUEST_TTL_MS + 1 })),
    ).toThrow(/longer than 24 h/);
    expect(decodeRequest(encodeRequest(send)).expiresAt - send.createdAt).toBe(REQUEST_TTL_MS);
  });

  it('takes a request by the receiver clock only before it expires and when not made in the future', () => {
    const t = send.createdAt;
    expect(requestTimeProblem(send, t)).toBeNull();
    // Received late from a mailbox: still fine until it expires.
    expect(requestTimeProblem(send, send.expiresAt - 1)).toBeNull();
    expect(requestTimeProblem(send, send.expiresAt)).toMatch(/expired/);
    // Post-dated beyond the skew: its life would stretch past 24 h by this device's clock.
    expect(requestTimeProblem(send, t - MAX_CLOCK_SKEW_MS)).toBeNull();
    expect(requestTimeProblem(send, t - MAX_CLOCK_SKEW_MS - 1)).toMatch(/future/);
  });

  it('refuses malformed hex ids and out-of-range numbers', () => {
    const bad = (p: Partial<VaultRequest>) => () => decodeRequest(encodeRequest({ ...send, ...p }));
    expect(bad({ id: 'AB'.repeat(16) })).toThrow(/schema/);
    expect(bad({ id: 'ab'.repeat(15) })).toThrow(/schema/);
    expect(bad({ id: 'ab'.repeat(17) })).toThrow(/schema/);
    expect(bad({ vaultId: 'zz'.repeat(16) })).toThrow(/schema/);
    expect(bad({ keyId: '33'.repeat(16) })).toThrow(/schema/);
    expect(bad({ groupKey: '44'.repeat(32) })).toThrow(/schema/);
    expect(bad({ initiator: hex(A).toUpperCase() })).toThrow(/schema/);
    expect(bad({ initiator: `0x${hex(A).slice(2)}` })).toThrow(/schema/);
    expect(bad({ epoch: -1 })).toThrow(/schema/);
    expect(bad({ epoch: 1.5 })).toThrow(/schema/);
    expect(bad({ sid: '' })).toThrow(/schema/);
    expect(bad({ body: { kind: 'send', chainId: 0, tx: Uint8Array.of(1) } })).toThrow(/schema/);
  });
});

describe('reshare request codec', () => {
  // Current committee: A and B, power 1 each, threshold 2 (a real DKG with their device ids).
  let descriptor: Uint8Array;
  let reshare: VaultRequest;

  beforeAll(() => {
    const ids = [A.deviceId, B.deviceId];
    const [first] = expectAllOk(runDkg({ powers: [1, 1], threshold: 2, ids, seed: 'vault-request-test' }));
    descriptor = encodeDescriptor(first!.descriptor);
    reshare = {
      ...send,
      id: '55'.repeat(16),
      sid: 'sid-reshare-1',
      body: {
        kind: 'reshare',
        name: 'Treasury',
        threshold: 2,
        members: [member(A, 1, 'A'), member(B, 1, 'B'), member(C, 1, 'C')],
        current: [member(A, 1, 'A'), member(B, 1, 'B')],
        descriptor,
      },
    };
  }, 60_000);

  const withBody = (p: Record<string, unknown>): VaultRequest =>
    ({ ...reshare, body: { ...reshare.body, ...p } }) as VaultRequest;

  it('round-trips byte-identically with sorted members and identities', () => {
    const bytes = encodeRequest(reshare);
    const back = decodeRequest(bytes);
    expect(equalArrays(encodeRequest(back), bytes)).toBe(true);
    if (back.body.kind !== 'reshare') throw new Error('kind');
    const ids = back.body.members.map((m) => m.deviceId);
    expect(ids).toEqual([hex(A), hex(B), hex(C)].sort());
    expect(back.body.members.find((m) => m.deviceId === hex(C))!.identity).toEqual(pub(C));
    expect(back.body.current.map((m) => m.deviceId)).toEqual([hex(A), hex(B)].sort());
    expect(equalArrays(back.body.descriptor, descriptor)).toBe(true);
    // Input member order does not change the bytes.
    const members = (reshare.body as { members: RequestMember[] }).members;
    expect(equalArrays(encodeRequest(withBody({ members: [...members].reverse() })), bytes)).toBe(true);
  });

  it('refuses duplicate or unsorted members', () => {
    const m = (reshare.body as { members: RequestMember[] }).members;
    expect(() => decodeRequest(encodeRequest(withBody({ members: [...m, m[0]!] })))).toThrow(/duplicate/);
    expect(() =>
      decodeRequest(encodeRequest(withBody({ current: [member(A, 1), member(A, 1), member(B, 1)] }))),
    ).toThrow(/duplicate/);
    const reversed = edited(reshare, (j) => (j.body.members as unknown[]).reverse());
    expect(() => decodeRequest(reversed)).toThrow(/not sorted/);
    const reversedCurrent = edited(reshare, (j) => (j.body.current as unknown[]).reverse());
    expect(() => decodeRequest(reversedCurrent)).toThrow(/not sorted/);
  });

  it('refuses a layout that layoutProblem rejects', () => {
    // One member holds the threshold alone.
    const heavy = withBody({ members: [member(A, 2), member(B, 1), member(C, 1)], threshold: 2 });
    expect(() => decodeRequest(encodeRequest(heavy))).toThrow(/single device/);
    expect(() => decodeRequest(encodeRequest(withBody({ threshold: 1 })))).toThrow(/single device/);
    expect(() => decodeRequest(encodeRequest(withBody({ threshold: 4 })))).toThrow(/threshold/);
    expect(() => decodeRequest(encodeRequest(withBody({ members: [member(A, 1)] })))).toThrow(/schema/);
    expect(() => decodeRequest(encodeRequest(withBody({ name: '' })))).toThrow(/schema/);
  });

  it('refuses a current committee that does not match the descriptor', () => {
    const refuse = (current: RequestMember[]) => () => decodeRequest(encodeRequest(withBody({ current })));
    expect(refuse([member(A, 1)])).toThrow(/descriptor/);
    expect(refuse([member(A, 1), member(B, 1), member(C, 1)])).toThrow(/descriptor/);
    expect(refuse([member(A, 2), member(B, 1)])).toThrow(/descriptor/);
    expect(refuse([member(A, 1), member(X, 1)])).toThrow(/descriptor/);
  });

  it('refuses an undecodable descriptor', () => {
    const refuse = (d: Uint8Array) => () => decodeRequest(encodeRequest(withBody({ descriptor: d })));
    expect(refuse(new Uint8Array(0))).toThrow(/descriptor does not decode/);
    expect(refuse(descriptor.slice(0, descriptor.length - 1))).toThrow(/descriptor does not decode/);
    expect(refuse(concatBytes(descriptor, Uint8Array.of(0)))).toThrow(/descriptor does not decode/);
    const vaultIdFlipped = Uint8Array.from(descriptor);
    vaultIdFlipped[1]! ^= 1; // byte 0 is the version, 1..32 the vault id
    expect(refuse(vaultIdFlipped)).toThrow(/descriptor does not decode/);
  });

  it('safety code: stable for identical requests, sensitive to members, powers, threshold and id', () => {
    const code = reshareSafetyCode(reshare);
    expect(code).toMatch(/^\d{5}( \d{5}){5}$/);
    expect(reshareSafetyCode(decodeRequest(encodeRequest(reshare)))).toBe(code);
    const members = (reshare.body as { members: RequestMember[] }).members;
    expect(reshareSafetyCode(withBody({ members: [...members].reverse() }))).toBe(code);
    // Labels are not committed to.
    expect(reshareSafetyCode(withBody({ members: members.map((m) => ({ ...m, label: 'x' })) }))).toBe(code);
    expect(reshareSafetyCode(withBody({ members: [member(A, 2), member(B, 1), member(C, 1)] }))).not.toBe(
      code,
    );
    expect(reshareSafetyCode(withBody({ members: [member(A, 1), member(B, 1), member(X, 1)] }))).not.toBe(
      code,
    );
    // Same device id, another agreement key (a relay substituting C's identity).
    const otherC = { ...member(C, 1), identity: { ...pub(C), agreementKey: pub(X).agreementKey } };
    expect(reshareSafetyCode(withBody({ members: [member(A, 1), member(B, 1), otherC] }))).not.toBe(code);
    expect(reshareSafetyCode(withBody({ threshold: 3 }))).not.toBe(code);
    expect(reshareSafetyCode({ ...reshare, id: '66'.repeat(16) })).not.toBe(code);
    expect(() => reshareSafetyCode(send)).toThrow(/not a reshare/);
  });
});

describe('decisions', () => {
  const hash = requestHash(encodeRequest(send));
  const approveB = B.sign(decisionMessage(hash, 'approve'));

  it('a member’s approve verifies', () => {
    expect(hash.length).toBe(32);
    expect(verifyDecision(pub(B), hash, 'approve', approveB)).toBe(true);
    const rejectC = C.sign(decisionMessage(hash, 'reject'));
    expect(verifyDecision(pub(C), hash, 'reject', rejectC)).toBe(true);
  });

  it('forged decisions fail: wrong key, claimed as someone else, flipped', () => {
    const byX = X.sign(decisionMessage(hash, 'approve'));
    expect(verifyDecision(pub(B), hash, 'approve', byX)).toBe(false);
    // B's real signature presented as C's.
    expect(verifyDecision(pub(C), hash, 'approve', approveB)).toBe(false);
    // Approve presented as reject, and vice versa.
    expect(verifyDecision(pub(B), hash, 'reject', approveB)).toBe(false);
    const rejectB = B.sign(decisionMessage(hash, 'reject'));
    expect(verifyDecision(pub(B), hash, 'approve', rejectB)).toBe(false);
  });

  it('replayed decisions fail for another request, epoch or vault', () => {
    const other = (p: Partial<VaultRequest>) => requestHash(encodeRequest({ ...send, ...p }));
    for (const h of [
      other({ id: '12'.repeat(16) }),
      other({ epoch: send.epoch + 1 }),
      other({ vaultId: '23'.repeat(16) }),
      other({ keyId: '34'.repeat(32) }),
      other({ expiresAt: send.expiresAt + 1 }),
    ]) {
      expect(equalArrays(h, hash)).toBe(false);
      expect(verifyDecision(pub(B), h, 'approve', approveB)).toBe(false);
    }
  });

  it('signatures without the domain tags fail', () => {
    expect(verifyDecision(pub(B), hash, 'approve', B.sign(hash))).toBe(false);
    const untagged = sha256(concatBytes(hash, utf8('approve')));
    expect(verifyDecision(pub(B), hash, 'approve', B.sign(untagged))).toBe(false);
    // The request hash itself is tagged: a plain SHA-256 of the bytes is a different hash.
    expect(equalArrays(requestHash(encodeRequest(send)), sha256(encodeRequest(send)))).toBe(false);
    // A start signature is not a decision.
    const start = B.sign(startMessage(hash, 1, [hex(B)]));
    expect(verifyDecision(pub(B), hash, 'approve', start)).toBe(false);
  });

  it('malformed signatures fail without throwing', () => {
    const l = 2n ** 252n + 27742317777372353535851937790883648493n;
    // s + L: the same signature made malleable (rejected by strict verification).
    let s = 0n;
    for (let i = 31; i >= 0; i--) s = (s << 8n) | BigInt(approveB[32 + i]!);
    s += l;
    const malleable = Uint8Array.from(approveB);
    for (let i = 0; i < 32; i++) malleable[32 + i] = Number((s >> BigInt(8 * i)) & 0xffn);
    for (const sig of [
      new Uint8Array(0),
      approveB.slice(0, 63),
      concatBytes(approveB, Uint8Array.of(0)),
      new Uint8Array(64),
      new Uint8Array(64).fill(0xff),
      malleable,
    ]) {
      expect(() => verifyDecision(pub(B), hash, 'approve', sig)).not.toThrow();
      expect(verifyDecision(pub(B), hash, 'approve', sig)).toBe(false);
    }
    const badKey = { ...pub(B), deviceId: new Uint8Array(31) };
    expect(verifyDecision(badKey, hash, 'approve', approveB)).toBe(false);
  });
});

describe('coordinator start', () => {
  const hash = requestHash(encodeRequest(send));
  const signers = [hex(A), hex(B)];
  const sig = A.sign(startMessage(hash, 1, signers));

  it('verifies; signer order does not matter', () => {
    expect(verifyStart(pub(A), hash, 1, signers, sig)).toBe(true);
    expect(verifyStart(pub(A), hash, 1, [...signers].reverse(), sig)).toBe(true);
    expect(startMessage(hash, 1, [...signers].reverse())).toEqual(startMessage(hash, 1, signers));
  });

  it('fails for another set, attempt or request, or a non-coordinator key', () => {
    expect(verifyStart(pub(A), hash, 1, [hex(A), hex(C)], sig)).toBe(false);
    expect(verifyStart(pub(A), hash, 1, [hex(A)], sig)).toBe(false);
    expect(verifyStart(pub(A), hash, 1, [hex(A), hex(B), hex(C)], sig)).toBe(false);
    expect(verifyStart(pub(A), hash, 2, signers, sig)).toBe(false);
    const other = requestHash(encodeRequest({ ...send, id: '12'.repeat(16) }));
    expect(verifyStart(pub(A), other, 1, signers, sig)).toBe(false);
    const byB = B.sign(startMessage(hash, 1, signers));
    expect(verifyStart(pub(A), hash, 1, signers, byB)).toBe(false);
    expect(verifyStart(pub(B), hash, 1, signers, sig)).toBe(false);
    // A decision signature is not a start.
    expect(verifyStart(pub(A), hash, 1, signers, A.sign(decisionMessage(hash, 'approve')))).toBe(false);
    expect(verifyStart(pub(A), hash, 1, signers, new Uint8Array(64))).toBe(false);
  });
});

describe('reshare start: dealers', () => {
  const hash = requestHash(encodeRequest(send));
  // Current committee A(2) B(1) C(1), threshold 3; the new one keeps A and B, drops C, adds X.
  const body: ReshareBody = {
    kind: 'reshare',
    name: 'v',
    threshold: 2,
    members: [member(A, 1), member(B, 1), member(X, 1)],
    current: [member(A, 2), member(B, 1), member(C, 1)],
    descriptor: new Uint8Array(1),
  };
  const all = [hex(A), hex(B), hex(X)].sort();

  it('accepts dealers that approved and reach the current threshold', () => {
    const approvers = new Set([hex(A), hex(B)]);
    expect(reshareStartProblem(body, all, [hex(A), hex(B)], approvers, 3)).toBeNull();
    // A removed member that approved may deal too (it then takes part).
    const withC = [...all, hex(C)];
    const approvedC = new Set([hex(A), hex(C)]);
    expect(reshareStartProblem(body, withC, [hex(A), hex(C)], approvedC, 3)).toBeNull();
  });

  it('refuses a dealer whose approval this device did not verify, or any other bad start', () => {
    const onlyA = new Set([hex(A)]);
    // B is kept but did not approve: it may not be named as a dealer.
    expect(reshareStartProblem(body, all, [hex(A), hex(B)], onlyA, 3)).toMatch(
      new RegExp(`dealer ${hex(B).slice(0, 16)} has not approved`),
    );
    // C did not approve: a coordinator cannot make it deal.
    expect(reshareStartProblem(body, [...all, hex(C)], [hex(A), hex(C)], onlyA, 3)).toMatch(
      /has not approved/,
    );
    // X is no current member: it holds no share to deal.
    expect(reshareStartProblem(body, all, [hex(A), hex(X)], new Set([hex(A), hex(X)]), 3)).toMatch(
      /not a member of the current committee/,
    );
    expect(reshareStartProblem(body, all, [hex(A)], onlyA, 3)).toMatch(/below the current threshold/);
    expect(reshareStartProblem(body, all, [hex(A), hex(A)], onlyA, 2)).toMatch(/twice/);
    expect(reshareStartProblem(body, all, undefined, onlyA, 3)).toMatch(/names no dealers/);
    // The participants must be the new committee plus the dealers, nothing less or more.
    const ab = new Set([hex(A), hex(B)]);
    expect(reshareStartProblem(body, [hex(A), hex(B)], [hex(A), hex(B)], ab, 3)).toMatch(/participants/);
    expect(reshareStartProblem(body, [...all, hex(C)], [hex(A), hex(B)], ab, 3)).toMatch(/participants/);
  });

  it("the start signature covers the dealers, and a send's start never passes for a reshare's", () => {
    const sig = A.sign(startMessage(hash, 1, all, [hex(A), hex(B)]));
    expect(verifyStart(pub(A), hash, 1, all, sig, [hex(B), hex(A)])).toBe(true);
    expect(verifyStart(pub(A), hash, 1, all, sig, [hex(A)])).toBe(false);
    expect(verifyStart(pub(A), hash, 1, all, sig, [hex(A), hex(C)])).toBe(false);
    expect(verifyStart(pub(A), hash, 1, all, sig)).toBe(false);
    expect(verifyStart(pub(A), hash, 1, all, A.sign(startMessage(hash, 1, all)), [hex(A), hex(B)])).toBe(
      false,
    );
  });
});

describe('control messages', () => {
  const hash = requestHash(encodeRequest(send));
  const sig = new Uint8Array(64).fill(9);
  const variants: Control[] = [
    { t: 'request', request: encodeRequest(send), sig },
    { t: 'decision', hash, decision: 'reject', sig },
    { t: 'start', hash, attempt: 2, signers: [hex(B), hex(A)], sig },
    { t: 'retry', hash, attempt: 1000 },
    { t: 'broadcast', hash, raw: Uint8Array.from([0x02, 0xf8, 1, 2, 3]) },
    { t: 'certificate', hash, sig, attempt: 1 },
    { t: 'start', hash, attempt: 1, signers: [hex(B), hex(A)], dealers: [hex(A)], sig },
  ];

  it('round-trips every variant', () => {
    for (const c of variants) {
      const bytes = encodeControl(c);
      const back = decodeControl(bytes);
      expect(back).toEqual(c);
      expect(equalArrays(encodeControl(back), bytes)).toBe(true);
    }
  });

  const json = (c: Control) =>
    JSON.parse(new TextDecoder().decode(encodeControl(c))) as Record<string, unknown>;
  const refuse = (o: unknown) => () => decodeControl(utf8(JSON.stringify(o)));

  it('refuses unknown types, extra fields, oversize fields and out-of-range attempts', () => {
    expect(() => decodeControl(utf8('nope'))).toThrow(/not JSON/);
    expect(refuse({ ...json(variants[3]!), t: 'abort' })).toThrow(/schema/);
    for (const c of variants) expect(refuse({ ...json(c), extra: 1 })).toThrow(/schema/);
    const start = json(variants[2]!);
    expect(refuse({ ...start, attempt: 0 })).toThrow(/schema/);
    expect(refuse({ ...start, attempt: 1001 })).toThrow(/schema/);
    expect(refuse({ ...start, attempt: 1.5 })).toThrow(/schema/);
    expect(refuse({ ...json(variants[3]!), attempt: 0 })).toThrow(/schema/);
    expect(refuse({ ...json(variants[5]!), attempt: 0 })).toThrow(/schema/);
    expect(refuse({ ...start, signers: [] })).toThrow(/schema/);
    expect(
      refuse({ ...start, signers: Array.from({ length: 17 }, (_, i) => i.toString(16).padStart(64, '0')) }),
    ).toThrow(/schema/);
    expect(refuse({ ...start, signers: [hex(A).toUpperCase()] })).toThrow(/schema/);
    expect(refuse({ ...json(variants[6]!), dealers: [] })).toThrow(/schema/);
    expect(refuse({ ...json(variants[6]!), dealers: ['zz'] })).toThrow(/schema/);
    expect(refuse({ ...json(variants[1]!), decision: 'abstain' })).toThrow(/schema/);
    expect(refuse({ ...json(variants[1]!), hash: 'A'.repeat(65) })).toThrow(/schema/);
    expect(refuse({ ...json(variants[1]!), sig: 'A'.repeat(129) })).toThrow(/schema/);
    expect(refuse({ ...json(variants[1]!), sig: 'AA+/' })).toThrow(/schema/);
    expect(refuse({ ...json(variants[0]!), request: 'A'.repeat(256 * 1024 + 1) })).toThrow(/schema/);
    expect(refuse({ ...json(variants[4]!), raw: 'A'.repeat(256 * 1024 + 1) })).toThrow(/schema/);
    const { sig: _omit, ...noSig } = json(variants[1]!);
    expect(refuse(noSig)).toThrow(/schema/);
  });
});

describe('tally', () => {
  // [2,1,1] threshold 3.
  const members: TallyMember[] = [
    { deviceId: hex(A), power: 2 },
    { deviceId: hex(B), power: 1 },
    { deviceId: hex(C), power: 1 },
  ];
  const run = (entries: [DeviceIdentity, Decision][]) =>
    tally(members, 3, new Map(entries.map(([id, d]) => [hex(id), d])));

  it('pending / approved / rejected boundaries with power bookkeeping', () => {
    const none = run([]);
    expect(none).toEqual({
      approvedPower: 0,
      rejectedPower: 0,
      undecidedPower: 4,
      approvers: [],
      state: 'pending',
    });
    expect(run([[A, 'approve']])).toMatchObject({ state: 'pending', approvedPower: 2, undecidedPower: 2 });
    expect(
      run([
        [B, 'approve'],
        [C, 'approve'],
      ]),
    ).toMatchObject({ state: 'pending', approvedPower: 2 });
    const ab = run([
      [A, 'approve'],
      [B, 'approve'],
    ]);
    expect(ab).toEqual({
      approvedPower: 3,
      rejectedPower: 0,
      undecidedPower: 1,
      approvers: [hex(A), hex(B)].sort(),
      state: 'approved',
    });
    expect(run([[A, 'reject']])).toMatchObject({ state: 'rejected', rejectedPower: 2, undecidedPower: 2 });
    expect(
      run([
        [B, 'reject'],
        [C, 'reject'],
      ]),
    ).toMatchObject({ state: 'rejected', rejectedPower: 2 });
    // Exactly the threshold still reachable: pending, not rejected.
    expect(run([[B, 'reject']])).toMatchObject({ state: 'pending', rejectedPower: 1, undecidedPower: 3 });
    expect(
      run([
        [A, 'approve'],
        [B, 'reject'],
      ]),
    ).toMatchObject({ state: 'pending', undecidedPower: 1 });
    expect(
      run([
        [A, 'approve'],
        [B, 'reject'],
        [C, 'reject'],
      ]),
    ).toMatchObject({ state: 'rejected' });
    expect(
      run([
        [A, 'approve'],
        [B, 'approve'],
        [C, 'reject'],
      ]),
    ).toMatchObject({ state: 'approved' });
    for (const t of [
      none,
      ab,
      run([
        [A, 'reject'],
        [C, 'approve'],
      ]),
    ]) {
      expect(t.approvedPower + t.rejectedPower + t.undecidedPower).toBe(4);
    }
  });

  it('ignores non-members and counts each member once', () => {
    const withX = run([
      [A, 'approve'],
      [X, 'approve'],
      [X, 'reject'],
    ]);
    expect(withX).toMatchObject({ approvedPower: 2, rejectedPower: 0, undecidedPower: 2, state: 'pending' });
    expect(withX.approvers).toEqual([hex(A)]);
    // A stranger "rejecting" with a huge claimed stake changes nothing.
    expect(run([[X, 'reject']]).state).toBe('pending');
    // Decisions keyed by the exact member id only (no case folding).
    const upper = tally(members, 3, new Map<string, Decision>([[hex(A).toUpperCase(), 'approve']]));
    expect(upper.approvedPower).toBe(0);
  });
});

describe('chooseSigners', () => {
  const m = (deviceId: string, power: number): TallyMember => ({ deviceId, power });
  const coord = 'c0';

  it('always includes the coordinator, even offline and lighter than others', () => {
    const chosen = chooseSigners([m('a1', 2), m('b1', 2), m(coord, 1)], 3, new Set(['a1', 'b1']), coord);
    expect(chosen).toEqual(['a1', coord]);
  });

  it('prefers online approvers to offline ones, then heavier, then by id; stops at the threshold', () => {
    // The offline heavy one would reach it in one, but online ones come first.
    expect(
      chooseSigners([m(coord, 1), m('ff', 3), m('d1', 1), m('e1', 1)], 3, new Set(['d1', 'e1']), coord),
    ).toEqual([coord, 'd1', 'e1']);
    // Heavier online first: b1 (2) rather than a1 (1).
    expect(chooseSigners([m(coord, 1), m('a1', 1), m('b1', 2)], 3, new Set(['a1', 'b1']), coord)).toEqual([
      'b1',
      coord,
    ]);
    // Equal power: lower id first.
    expect(chooseSigners([m(coord, 1), m('e2', 1), m('e1', 1)], 2, new Set(['e1', 'e2']), coord)).toEqual([
      coord,
      'e1',
    ]);
    // Offline approvers fill in when the online ones fall short.
    expect(chooseSigners([m(coord, 1), m('a1', 1), m('ff', 1)], 3, new Set(['a1']), coord)).toEqual([
      'a1',
      coord,
      'ff',
    ]);
  });

  it('skips excluded members and returns null when the threshold is out of reach', () => {
    const approvers = [m(coord, 1), m('a1', 1), m('b1', 2), m('f1', 1)];
    const online = new Set(['a1', 'b1']);
    expect(chooseSigners(approvers, 3, online, coord, new Set(['b1']))).toEqual(['a1', coord, 'f1']);
    expect(chooseSigners(approvers, 3, online, coord, new Set(['b1', 'f1']))).toBeNull();
    expect(chooseSigners([m(coord, 1), m('a1', 1)], 3, online, coord)).toBeNull();
    expect(chooseSigners([], 1, online, coord)).toBeNull();
  });

  it('returns a sorted list', () => {
    const ids = ['ee', 'dd', 'cc', 'bb', 'aa'];
    const chosen = chooseSigners(
      ids.map((id) => m(id, 1)),
      4,
      new Set(ids),
      'ee',
    );
    expect(chosen).toHaveLength(4);
    expect(chosen).toContain('ee');
    expect(chosen).toEqual([...chosen!].sort());
  });
});

describe('the initiator proposes what it reviewed', () => {
  const shown = {
    chainId: 31337,
    nonce: 4,
    to: '0x00000000000000000000000000000000000000aa',
    value: 10n ** 18n,
    data: '0x',
  };

  it('accepts the reviewed bytes whatever a second build picks for fee, gas or a later nonce', () => {
    expect(reviewedSendProblem(shown, shown)).toBeNull();
    expect(
      reviewedSendProblem(shown, { ...shown, to: shown.to.toUpperCase().replace('0X', '0x') }),
    ).toBeNull();
    // A second build picking a lower nonce (a pending transaction was dropped): the reviewed one is unused.
    expect(reviewedSendProblem(shown, { ...shown, nonce: 3 })).toBeNull();
  });

  it('refuses bytes that are another send, or whose nonce was used since the preview', () => {
    const other = /not this send; review again/;
    expect(reviewedSendProblem({ ...shown, value: 2n }, shown)).toMatch(other);
    expect(reviewedSendProblem({ ...shown, to: `0x${'bb'.repeat(20)}` }, shown)).toMatch(other);
    expect(reviewedSendProblem({ ...shown, chainId: 1 }, shown)).toMatch(other);
    expect(reviewedSendProblem({ ...shown, data: '0xa9059cbb' }, shown)).toMatch(other);
    expect(reviewedSendProblem(shown, { ...shown, nonce: 5 })).toMatch(
      /sent another transaction since the preview/,
    );
  });
});
