/** Frame codecs and the error table: fast-check properties and table invariants. */
import fc from 'fast-check';
import * as v from 'valibot';
import { describe, expect, it } from 'vitest';
import { b64uDecode, b64uEncode } from '../src/protocol/base64url.ts';
import { ERROR_CODE_LIST, ERROR_CODES, errorCodeForClose } from '../src/protocol/codes.ts';
import {
  ClientFrameSchema,
  fastClientFrame,
  parseClientFrame,
  parseServerFrame,
} from '../src/protocol/frames.ts';
import { deliverJson } from '../src/relay/relay.ts';

const b64 = (n: number) => fc.uint8Array({ minLength: n, maxLength: n }).map(b64uEncode);
const rid = fc.string({ minLength: 1, maxLength: 64 });
const msgId = fc.stringMatching(/^[A-Za-z0-9._:/+=-]{1,128}$/);
const tag = fc.stringMatching(/^[A-Za-z0-9._:/-]{1,64}$/);

const sendFrame = fc.record({
  t: fc.constant('send' as const),
  rid,
  v: fc.constant(1),
  sid: b64(16),
  from: b64(32),
  to: b64(32),
  tag,
  msgId,
  ttlMs: fc.nat(),
  ct: fc.uint8Array({ minLength: 1, maxLength: 300 }).map(b64uEncode),
});
const clientFrame = fc.oneof(
  sendFrame,
  fc.record({ t: fc.constant('ack' as const), seqs: fc.array(fc.nat(), { minLength: 1, maxLength: 50 }) }),
  fc.record({
    t: fc.constant('fetch' as const),
    rid,
    afterSeq: fc.nat(),
    limit: fc.integer({ min: 1, max: 100 }),
  }),
  fc.record({
    t: fc.constant('create_session' as const),
    rid,
    kind: fc.constantFrom('dkg' as const, 'sign' as const, 'refresh' as const),
    members: fc.array(b64(32), { minLength: 2, maxLength: 5 }),
  }),
  fc.record({ t: fc.constant('auth' as const), rid, deviceId: b64(32), sig: b64(64) }),
  fc.record({ t: fc.constant('ping' as const), rid }),
);

describe('frame codecs', () => {
  it('valid client frames round-trip through JSON and validation', () => {
    fc.assert(
      fc.property(clientFrame, (f) => {
        const r = parseClientFrame(JSON.stringify(f));
        expect(r.ok).toBe(true);
        if (r.ok) expect(r.frame).toEqual(f);
      }),
      { numRuns: 300 },
    );
  });

  it('arbitrary text and JSON never throw and are rejected unless valid', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.json()), (s) => {
        const r = parseClientFrame(s);
        const r2 = parseServerFrame(s);
        expect(typeof r.ok).toBe('boolean');
        expect(typeof r2.ok).toBe('boolean');
      }),
      { numRuns: 500 },
    );
  });

  it('unknown fields, wrong types and bad ids are rejected; the reason never echoes values', () => {
    const good = { t: 'ping', rid: 'r' };
    expect(parseClientFrame(JSON.stringify(good)).ok).toBe(true);
    expect(parseClientFrame(JSON.stringify({ ...good, extra: 1 })).ok).toBe(false);
    const bad = parseClientFrame(
      JSON.stringify({
        t: 'send',
        rid: 'r',
        v: 1,
        sid: 'x',
        from: 'y',
        to: 'z',
        tag: 't',
        msgId: 'm',
        ct: 'SECRET!!',
      }),
    );
    expect(bad).toMatchObject({ ok: false, rid: 'r' });
    if (!bad.ok) expect(bad.reason).not.toContain('SECRET');
  });

  it('the send/ack fast path accepts only what the full schema accepts, with the same output', () => {
    // Mutations aimed at every check the fast path makes: wrong types, lengths at and past the
    // bounds, characters outside each alphabet, unknown and missing keys, non-integer seqs.
    const junk = fc.oneof(
      fc.constant(undefined),
      fc.constant(null),
      fc.constant(''),
      fc.constant(-1),
      fc.constant(1.5),
      fc.constant(Number.MAX_SAFE_INTEGER + 2),
      fc.constant('a"b'),
      fc.constant('x'.repeat(43)),
      fc.constant('x'.repeat(22)),
      fc.constant('é'.repeat(43)),
      fc.constant('+'.repeat(43)),
      fc.constant([]),
      fc.constant([1, -1]),
      fc.constant({}),
      fc.string({ maxLength: 130 }),
      fc.integer(),
      fc.double(),
    );
    const key = fc.constantFrom(
      't',
      'rid',
      'v',
      'sid',
      'from',
      'to',
      'tag',
      'msgId',
      'ttlMs',
      'ct',
      'seqs',
      'x',
    );
    const ack = fc.record(
      { t: fc.constant('ack'), rid, seqs: fc.array(fc.nat(), { minLength: 1, maxLength: 5 }) },
      { requiredKeys: ['t', 'seqs'] },
    );
    const base = fc.oneof(sendFrame, ack);
    const mutated = fc
      .tuple(base, fc.array(fc.tuple(key, junk, fc.boolean()), { maxLength: 3 }))
      .map(([f, muts]) => {
        const o: Record<string, unknown> = { ...f };
        for (const [k, val, del] of muts) {
          if (del) delete o[k];
          else o[k] = val;
        }
        // Through JSON like a real frame (drops undefined, keeps __proto__ as an own key).
        return JSON.parse(JSON.stringify(o)) as unknown;
      });
    let fastHits = 0;
    fc.assert(
      fc.property(
        fc.oneof(
          base.map((f) => JSON.parse(JSON.stringify(f)) as unknown),
          mutated,
        ),
        (raw) => {
          const fast = fastClientFrame(raw);
          const full = v.safeParse(ClientFrameSchema, raw);
          if (fast !== undefined) {
            fastHits++;
            expect(full.success).toBe(true);
            if (full.success) expect(fast).toEqual(full.output);
          } else if (full.success) {
            // Only frames other than send/ack may skip the fast path.
            expect(['send', 'ack']).not.toContain(full.output.t);
          }
        },
      ),
      { numRuns: 3000 },
    );
    expect(fastHits).toBeGreaterThan(300);
    expect(fastClientFrame(JSON.parse('{"t":"ack","seqs":[1],"__proto__":{}}'))).toBeUndefined();
  });

  it('the relay builds deliver frames exactly as JSON.stringify would, and they parse', () => {
    fc.assert(
      fc.property(sendFrame, fc.nat(), fc.nat(), (f, seq, ts) => {
        const m = {
          sid: f.sid,
          sender: f.from,
          recipient: f.to,
          msgId: f.msgId,
          tag: f.tag,
          seq,
          ts,
          expiresAt: ts,
          ct: f.ct,
        };
        const text = deliverJson(m);
        const want = {
          t: 'deliver',
          sid: f.sid,
          from: f.from,
          to: f.to,
          tag: f.tag,
          msgId: f.msgId,
          seq,
          ts,
          ct: f.ct,
        };
        expect(text).toBe(JSON.stringify(want));
        expect(parseServerFrame(text)).toEqual({ ok: true, frame: want });
      }),
      { numRuns: 500 },
    );
  });

  it('base64url round-trips and rejects non-canonical input', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 100 }), (b) => {
        expect(b64uDecode(b64uEncode(b))).toEqual(b);
      }),
    );
    expect(() => b64uDecode('AB')).toThrow();
    expect(() => b64uDecode('A')).toThrow();
    expect(() => b64uDecode('AA==')).toThrow();
  });

  it('every code in the error table parses in an error frame (the client would drop it otherwise)', () => {
    for (const code of ERROR_CODE_LIST) {
      expect(parseServerFrame(JSON.stringify({ t: 'error', code, message: 'm' })).ok).toBe(true);
    }
  });

  it('error table: close codes are distinct and map back', () => {
    const closes = ERROR_CODE_LIST.map((c) => ERROR_CODES[c].close);
    expect(new Set(closes).size).toBe(closes.length);
    for (const c of ERROR_CODE_LIST) {
      const n = ERROR_CODES[c].close;
      expect(n === 1001 || n === 1008 || n === 1009 || n === 1011 || (n >= 4000 && n <= 4999)).toBe(true);
      expect(errorCodeForClose(n)).toBe(c);
    }
  });
});
