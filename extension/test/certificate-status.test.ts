/**
 * The wire format and decisions of reshare certificate delivery (certificate-status.ts): round trip,
 * refusal of malformed statuses, whom a device announces to, and when it answers.
 */

import {
  announceTargets,
  CertStatusError,
  decodeCertStatus,
  encodeCertStatus,
  isAnswer,
  shouldAnswer,
  statusMsgId,
} from '@concord/bridge-server/vault/certificate-status';
import { describe, expect, it } from 'vitest';
import { utf8 } from '../src/shared/bytes.ts';

const id = (c: string) => c.repeat(64);
const REQ = 'ab'.repeat(16);
// A certificate signature travels with the signer's new envelope identity: 64 + 130 bytes.
const sig = (n: number) => new Uint8Array(194).fill(n);

describe('certificate status wire format', () => {
  it('round-trips', () => {
    const s = { request: REQ, attempt: 2, activated: true, sigs: [{ from: id('a'), sig: sig(1) }] };
    expect(decodeCertStatus(encodeCertStatus(s))).toEqual(s);
  });

  it('refuses a status that lists a signer twice, bad sizes, unknown fields or non-JSON', () => {
    const twice = encodeCertStatus({
      request: REQ,
      attempt: 1,
      activated: false,
      sigs: [
        { from: id('a'), sig: sig(1) },
        { from: id('a'), sig: sig(2) },
      ],
    });
    expect(() => decodeCertStatus(twice)).toThrow(/twice/);
    const short = encodeCertStatus({ request: REQ, attempt: 1, activated: false, sigs: [] });
    const json = JSON.parse(new TextDecoder().decode(short)) as Record<string, unknown>;
    for (const bad of [
      { ...json, sigs: [{ from: id('a'), sig: 'AA' }] },
      { ...json, attempt: 0 },
      { ...json, request: 'xyz' },
      { ...json, extra: 1 },
    ]) {
      expect(() => decodeCertStatus(utf8(JSON.stringify(bad)))).toThrow(CertStatusError);
    }
    expect(() => decodeCertStatus(utf8('{'))).toThrow(/not JSON/);
  });
});

describe('certificate delivery decisions', () => {
  const base = {
    self: id('a'),
    participants: [id('a'), id('b'), id('c'), id('d')],
    newMembers: [id('a'), id('b'), id('c')],
    confirmed: [] as string[],
  };

  it('a waiting device asks every other participant, dealers included', () => {
    expect(announceTargets({ ...base, activated: false })).toEqual([id('b'), id('c'), id('d')]);
  });

  it('an activated device re-sends to the new members that have not confirmed, then stops', () => {
    expect(announceTargets({ ...base, activated: true, confirmed: [id('a'), id('b')] })).toEqual([id('c')]);
    expect(announceTargets({ ...base, activated: true, confirmed: [id('a'), id('b'), id('c')] })).toEqual([]);
  });

  it('only a device holding the certificate answers, and never an answer', () => {
    const ask = statusMsgId('ask', 1, id('b'));
    const ans = statusMsgId('ans', 1, id('b'));
    expect([isAnswer(ask), isAnswer(ans)]).toEqual([false, true]);
    expect(shouldAnswer(true, isAnswer(ask))).toBe(true);
    expect(shouldAnswer(true, isAnswer(ans))).toBe(false);
    expect(shouldAnswer(false, isAnswer(ask))).toBe(false);
  });
});
