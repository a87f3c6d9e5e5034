/**
 * Envelope v2 per-ceremony ephemeral keys (envelope.ts, ceremony-keys.ts): round trip, what a
 * stolen static key does not open, forged announcements, cross-session replay, equivocation, the
 * version bump, and wiping at the end of a context.
 */
import { xchacha20poly1305 } from '@noble/ciphers/chacha.js';
import { x25519 } from '@noble/curves/ed25519.js';
import { describe, expect, it } from 'vitest';
import { concatBytes, toHex, u32be } from '../../src/bytes.ts';
import { TssError } from '../../src/errors.ts';
import { taggedHash } from '../../src/hash.ts';
import { TAGS } from '../../src/tags.ts';
import { seededRandom } from '../../src/testing/rng.ts';
import {
  decodeEnvelope,
  deriveEnvelopeKey,
  type EnvelopeHeader,
  EnvelopeSession,
  encodeHeader,
} from '../../src/transport/envelope.ts';
import {
  type DeviceIdentity,
  decodeDeviceIdentity,
  encodeDeviceIdentity,
  generateDeviceIdentity,
  publicIdentity,
} from '../../src/transport/identity.ts';

const alice = generateDeviceIdentity(seededRandom('alice'));
const bob = generateDeviceIdentity(seededRandom('bob'));
const mallory = generateDeviceIdentity(seededRandom('mallory'));
const all = [alice, bob].map(publicIdentity);

let n = 0;
function session(me: DeviceIdentity, sid = 'sid-1') {
  return new EnvelopeSession({ identity: me, sid, peers: all, rng: seededRandom(`${me.idHex}${sid}${n++}`) });
}

function caught(f: () => unknown): TssError {
  try {
    f();
  } catch (e) {
    if (e instanceof TssError) return e;
    throw e;
  }
  throw new Error('expected a TssError');
}

const secret = new TextEncoder().encode('point share 0x5ec12e7');

/** Alice and Bob in one session, both announced for `ctx`. */
function handshake(ctx = 'reshare1', sid = 'sid-1') {
  const a = session(alice, sid);
  const b = session(bob, sid);
  b.open(a.announce({ to: bob.deviceId, context: ctx, msgId: `${ctx}:hs:a` }));
  a.open(b.announce({ to: alice.deviceId, context: ctx, msgId: `${ctx}:hs:b` }));
  return { a, b };
}

/** Builds and signs an envelope by hand (for inputs an honest sealer never produces). */
function craft(h: EnvelopeHeader, key: Uint8Array, plaintext: Uint8Array, signer: DeviceIdentity) {
  const hb = encodeHeader(h);
  const nonce = new Uint8Array(24).fill(7);
  const ct = xchacha20poly1305(key, nonce, hb).encrypt(plaintext);
  const sig = signer.sign(taggedHash(TAGS.envelopeSig, hb, nonce, ct));
  return concatBytes(hb, nonce, u32be(ct.length), ct, sig);
}

describe('envelope v2: per-ceremony ephemeral keys', () => {
  it('round trip both ways after the announcements; headers carry both ephemerals', () => {
    const { a, b } = handshake();
    const env = a.seal({ to: bob.deviceId, tag: 'reshare1/r2', msgId: 'm1', mode: 'ephemeral' }, secret);
    const opened = b.open(env);
    expect(new TextDecoder().decode(opened.plaintext)).toBe('point share 0x5ec12e7');
    expect(opened.header.mode).toBe('ephemeral');
    expect(toHex(opened.header.ephemeral)).toBe(toHex(a.contextEphemeral('reshare1')));
    expect(toHex(opened.header.peerEphemeral!)).toBe(toHex(b.contextEphemeral('reshare1')));
    // per context, not per session: a second run in the same session draws a new key
    expect(toHex(a.contextEphemeral('reshare2'))).not.toBe(toHex(a.contextEphemeral('reshare1')));
    const back = b.seal({ to: alice.deviceId, tag: 'reshare1/r3', msgId: 'm2', mode: 'ephemeral' }, secret);
    expect(a.open(back).plaintext).toEqual(secret);
    expect(a.hasPeerEphemeral(bob.deviceId, 'reshare1')).toBe(true);
    expect(a.hasPeerEphemeral(bob.deviceId, 'reshare2')).toBe(false);
  });

  it('sealing a ceremony message before the recipient announced is refused, naming the recipient', () => {
    const a = session(alice);
    a.contextEphemeral('sign1');
    const e = caught(() =>
      a.seal({ to: bob.deviceId, tag: 'sign1/r1', msgId: 'm', mode: 'ephemeral' }, secret),
    );
    expect(e.code).toBe('HANDSHAKE_REQUIRED');
    expect(e.message).toContain(toHex(bob.deviceId).slice(0, 16));
    // and before this device announced its own
    const b = session(bob);
    expect(
      caught(() => b.seal({ to: alice.deviceId, tag: 'dkg/r1', msgId: 'm', mode: 'ephemeral' }, secret)).code,
    ).toBe('HANDSHAKE_REQUIRED');
  });

  it("a recipient's static secret alone (a stolen backup) opens no ceremony envelope", () => {
    const { a, b } = handshake();
    const recorded = a.seal({ to: bob.deviceId, tag: 'reshare1/r2', msgId: 'm1', mode: 'ephemeral' }, secret);
    const control = a.seal({ to: bob.deviceId, tag: 'q.decision', msgId: 'c1' }, secret);
    // The thief restores Bob's identity from its encoding (what a device backup carries).
    const stolen = decodeDeviceIdentity(encodeDeviceIdentity(bob));
    const thief = new EnvelopeSession({ identity: stolen, sid: 'sid-1', peers: all });
    // Positive control: the stolen static key does open a static-mode control message.
    expect(thief.open(control).plaintext).toEqual(secret);
    // The ceremony message: refused, since the thief holds no ephemeral for the context…
    expect(caught(() => thief.open(recorded)).code).toBe('HANDSHAKE_REQUIRED');
    // …and by hand: every DH term computable from both static secrets, in every arrangement, fails.
    const h = decodeEnvelope(recorded);
    const ss = stolen.agree(alice.agreementKey);
    const es = stolen.agree(h.header.ephemeral);
    const se = alice.agree(h.header.peerEphemeral!); // even Alice's static secret as well
    const guesses = [
      [ss, es, se, ss],
      [ss, es, se, es],
      [ss, es, se, se],
      [ss, es, se, new Uint8Array(32)],
    ];
    for (const shared of guesses) {
      const key = deriveEnvelopeKey({
        mode: 'ephemeral',
        sid: 'sid-1',
        from: alice.deviceId,
        to: bob.deviceId,
        ephemeral: h.header.ephemeral,
        peerEphemeral: h.header.peerEphemeral,
        shared,
      });
      expect(() => xchacha20poly1305(key, h.nonce, h.headerBytes).decrypt(h.ciphertext)).toThrow();
    }
    // The static-mode key (what v1 used) does not open it either.
    const v1Key = deriveEnvelopeKey({
      mode: 'static',
      sid: 'sid-1',
      from: alice.deviceId,
      to: bob.deviceId,
      ephemeral: h.header.ephemeral,
      peerEphemeral: null,
      shared: [ss, es],
    });
    expect(() => xchacha20poly1305(v1Key, h.nonce, h.headerBytes).decrypt(h.ciphertext)).toThrow();
    // The legitimate recipient opens it while the context lives, and not after it ended (wiped).
    const again = a.seal({ to: bob.deviceId, tag: 'reshare1/r2', msgId: 'm2', mode: 'ephemeral' }, secret);
    expect(b.open(recorded).plaintext).toEqual(secret);
    b.endContext('reshare1');
    expect(caught(() => b.open(again)).code).toBe('HANDSHAKE_REQUIRED');
    expect(caught(() => b.contextEphemeral('reshare1')).code).toBe('SESSION_STATE');
    thief.destroy();
  });

  it('a forged or unsigned announcement is refused naming the claimed sender, and adopts nothing', () => {
    const b = session(bob);
    b.contextEphemeral('sign1');
    // Mallory (not a member) announces under Alice's id: the signature check fails.
    const m = new EnvelopeSession({
      identity: mallory,
      sid: 'sid-1',
      peers: [...all, publicIdentity(mallory)],
      rng: seededRandom('m'),
    });
    const forged = m.announce({ to: bob.deviceId, context: 'sign1', msgId: 'sign1:hs:a' });
    forged.set(alice.deviceId, 4 + 'sid-1'.length);
    const e = caught(() => b.open(forged));
    expect(e.code).toBe('SIGNATURE_INVALID');
    expect(e.message).toContain('announcement');
    expect(e.message).toContain(toHex(alice.deviceId).slice(0, 16));
    expect(e.culprits).toEqual([]); // anyone can forge under another's name: not a blame
    // Unsigned: Alice's genuine announcement with its signature zeroed.
    const a = session(alice);
    const unsigned = a.announce({ to: bob.deviceId, context: 'sign1', msgId: 'sign1:hs:a' });
    unsigned.fill(0, unsigned.length - 64);
    expect(caught(() => b.open(unsigned)).code).toBe('SIGNATURE_INVALID');
    expect(b.hasPeerEphemeral(alice.deviceId, 'sign1')).toBe(false);
    expect(
      caught(() => b.seal({ to: alice.deviceId, tag: 'sign1/r1', msgId: 'x', mode: 'ephemeral' }, secret))
        .code,
    ).toBe('HANDSHAKE_REQUIRED');
    // A non-member announcing as itself: unknown sender, named.
    const own = m.announce({ to: bob.deviceId, context: 'sign1', msgId: 'sign1:hs:m' });
    const u = caught(() => b.open(own));
    expect(u.code).toBe('UNKNOWN_SENDER');
    expect(u.message).toContain(toHex(mallory.deviceId).slice(0, 16));
  });

  it('replays are refused: across sessions (announcement and ceremony message) and within one', () => {
    const { a } = handshake('sign1', 'sid-X');
    const ann = a.announce({ to: bob.deviceId, context: 'sign1', msgId: 'sign1:hs:a2' });
    const msg = a.seal({ to: bob.deviceId, tag: 'sign1/r1', msgId: 'm', mode: 'ephemeral' }, secret);
    const other = session(bob, 'sid-Y');
    other.contextEphemeral('sign1');
    expect(caught(() => other.open(ann)).code).toBe('SESSION_MISMATCH');
    expect(caught(() => other.open(msg)).code).toBe('SESSION_MISMATCH');
    expect(other.hasPeerEphemeral(alice.deviceId, 'sign1')).toBe(false);
    // Same session: the second copy of an announcement is a replay.
    const b = session(bob, 'sid-X');
    b.open(ann);
    expect(caught(() => b.open(ann)).code).toBe('REPLAYED_MESSAGE');
  });

  it('a message re-labelled into another context or mode fails the signature', () => {
    const { a, b } = handshake('sign1');
    b.contextEphemeral('sign2');
    const env = a.seal({ to: bob.deviceId, tag: 'sign1/r1', msgId: 'm', mode: 'ephemeral' }, secret);
    const moved = env.slice();
    const tagOff = decodeEnvelope(env).headerBytes.indexOf(0x31, 4 + 5 + 64 + 1 + 4); // '1' in sign1
    moved[tagOff] = 0x32;
    expect(caught(() => b.open(moved)).code).toBe('SIGNATURE_INVALID');
    const ctl = a.seal({ to: bob.deviceId, tag: 'q.start', msgId: 'q' }, secret);
    const remoded = ctl.slice();
    remoded[2] = 1; // static → announce: the header no longer parses as a canonical announcement
    expect(caught(() => b.open(remoded)).code).toBe('DECODE_FAILED');
  });

  it('two different ephemerals signed by one device for one context: EPHEMERAL_CONFLICT, blamed', () => {
    const b = session(bob);
    const a1 = session(alice);
    const a2 = session(alice); // e.g. a second copy of Alice's device running the same context
    b.open(a1.announce({ to: bob.deviceId, context: 'dkg', msgId: 'dkg:hs:1' }));
    const e = caught(() => b.open(a2.announce({ to: bob.deviceId, context: 'dkg', msgId: 'dkg:hs:2' })));
    expect(e.code).toBe('EPHEMERAL_CONFLICT');
    expect(e.culprits).toEqual([alice.idHex]);
    expect(e.message).toContain(alice.idHex.slice(0, 16));
  });

  it('a message sealed to a key this device no longer holds (a restart) is HANDSHAKE_REQUIRED', () => {
    const { a } = handshake('sign1');
    const env = a.seal({ to: bob.deviceId, tag: 'sign1/r1', msgId: 'm', mode: 'ephemeral' }, secret);
    const restarted = session(bob);
    restarted.contextEphemeral('sign1'); // a fresh key after the restart
    const e = caught(() => restarted.open(env));
    expect(e.code).toBe('HANDSHAKE_REQUIRED');
    expect(e.culprits).toEqual([]);
  });

  it('an announcement with a payload, or a low-order ephemeral, is refused and blamed on its signer', () => {
    const b = session(bob);
    const eSecret = seededRandom('e')(32);
    const ePublic = x25519.getPublicKey(eSecret);
    const base: EnvelopeHeader = {
      v: 2,
      mode: 'announce',
      sid: 'sid-1',
      from: alice.deviceId,
      to: bob.deviceId,
      tag: 'dkg/hs',
      msgId: 'dkg:hs:x',
      ttl: 1000,
      ephemeral: ePublic,
      peerEphemeral: null,
    };
    const key = deriveEnvelopeKey({
      mode: 'announce',
      sid: 'sid-1',
      from: alice.deviceId,
      to: bob.deviceId,
      ephemeral: ePublic,
      peerEphemeral: null,
      shared: [alice.agree(bob.agreementKey), x25519.getSharedSecret(eSecret, bob.agreementKey)],
    });
    const withPayload = caught(() => b.open(craft(base, key, secret, alice)));
    expect(withPayload.code).toBe('MALFORMED_MESSAGE');
    expect(withPayload.culprits).toEqual([alice.idHex]);
    expect(b.hasPeerEphemeral(alice.deviceId, 'dkg')).toBe(false);
    const lowOrder = caught(() =>
      b.open(craft({ ...base, ephemeral: new Uint8Array(32) }, key, new Uint8Array(0), alice)),
    );
    expect(lowOrder.code).toBe('INVALID_POINT');
    expect(lowOrder.culprits).toEqual([alice.idHex]);
  });

  it('version 1 envelopes are refused with a clear error, never opened under the old rules', () => {
    const a = session(alice);
    const env = a.seal({ to: bob.deviceId, tag: 'q.start', msgId: 'q' }, secret);
    const v1 = env.slice();
    v1[1] = 1;
    const e = caught(() => session(bob).open(v1));
    expect(e.code).toBe('UNSUPPORTED_VERSION');
    expect(e.message).toMatch(/version 1 is not accepted.*version 2/);
    expect(() => encodeHeader({ ...decodeEnvelope(env).header, v: 1 })).toThrow(/version 1/);
  });

  it('a header with a peer ephemeral outside ephemeral mode (or none in it) does not encode', () => {
    const h = decodeEnvelope(session(alice).seal({ to: bob.deviceId, tag: 't', msgId: 'm' }, secret)).header;
    expect(() => encodeHeader({ ...h, peerEphemeral: new Uint8Array(32) })).toThrow(/peerEphemeral/);
    expect(() => encodeHeader({ ...h, mode: 'ephemeral', tag: 'x/r1' })).toThrow(/peerEphemeral/);
    expect(() => encodeHeader({ ...h, mode: 'announce' })).toThrow(/context/);
  });
});
