import { x25519 } from '@noble/curves/ed25519.js';
import { describe, expect, it } from 'vitest';
import { toHex } from '../../src/bytes.ts';
import { TssError } from '../../src/errors.ts';
import { taggedHash } from '../../src/hash.ts';
import { TAGS } from '../../src/tags.ts';
import { seededRandom } from '../../src/testing/rng.ts';
import {
  aeadSeal,
  decodeEnvelope,
  deriveEnvelopeKey,
  EnvelopeSession,
  encodeHeader,
} from '../../src/transport/envelope.ts';
import { generateDeviceIdentity, publicIdentity } from '../../src/transport/identity.ts';

const alice = generateDeviceIdentity(seededRandom('alice'));
const bob = generateDeviceIdentity(seededRandom('bob'));
const carol = generateDeviceIdentity(seededRandom('carol'));
const mallory = generateDeviceIdentity(seededRandom('mallory'));
const all = [alice, bob, carol].map(publicIdentity);

function session(me: typeof alice, sid = 'sid-1', seed = `${toHex(me.deviceId)}${sid}`) {
  return new EnvelopeSession({ identity: me, sid, peers: all, rng: seededRandom(seed) });
}

const errCode = (f: () => unknown): string => {
  try {
    f();
  } catch (e) {
    return e instanceof TssError ? e.code : `non-TssError: ${String(e)}`;
  }
  return 'no error';
};

const pt = new TextEncoder().encode('round 1 commitment');

describe('envelope seal/open', () => {
  it('delivers plaintext and header to the addressed recipient', () => {
    const a = session(alice);
    const b = session(bob);
    const env = a.seal({ to: bob.deviceId, tag: 'dkg/r1', msgId: 'm1', ttl: 60_000 }, pt);
    const opened = b.open(env);
    expect(new TextDecoder().decode(opened.plaintext)).toBe('round 1 commitment');
    expect(opened.header.tag).toBe('dkg/r1');
    expect(opened.header.ttl).toBe(60_000);
    expect(toHex(opened.header.from)).toBe(toHex(alice.deviceId));
    expect(toHex(opened.header.ephemeral)).toBe(toHex(a.ephemeralPublic));
  });

  it('THREATS B33: an envelope whose inner signature is not from the claimed sender is rejected', () => {
    // Mallory (not a member) seals with her own key but claims to be Alice: the signature check fails.
    const m = new EnvelopeSession({
      identity: mallory,
      sid: 'sid-1',
      peers: [...all, publicIdentity(mallory)],
      rng: seededRandom('m'),
    });
    const env = m.seal({ to: bob.deviceId, tag: 'dkg/r1', msgId: 'm1' }, pt);
    const spoofed = new Uint8Array(env);
    // header = 'E' ‖ v ‖ mode ‖ u8 |sid| ‖ sid ‖ from ‖ …: overwrite `from` with Alice's id
    const fromOff = 4 + 'sid-1'.length;
    spoofed.set(alice.deviceId, fromOff);
    expect(errCode(() => session(bob).open(spoofed))).toBe('SIGNATURE_INVALID');
    // and from a sender the receiver does not know at all
    expect(errCode(() => session(bob).open(env))).toBe('UNKNOWN_SENDER');
  });

  it('THREATS B34: replay into the same session is rejected by the receiver', () => {
    const a = session(alice);
    const b = session(bob);
    const env = a.seal({ to: bob.deviceId, tag: 'dkg/r1', msgId: 'm1' }, pt);
    b.open(env);
    expect(errCode(() => b.open(env))).toBe('REPLAYED_MESSAGE');
  });

  it('THREATS B34/B36: replay or injection into another session is rejected by the receiver', () => {
    const a = session(alice, 'sid-X');
    const env = a.seal({ to: bob.deviceId, tag: 'dkg/r1', msgId: 'm1' }, pt);
    expect(errCode(() => session(bob, 'sid-Y').open(env))).toBe('SESSION_MISMATCH');
  });

  it('THREATS B35: one flipped ciphertext bit fails open with SIGNATURE_INVALID; no payload in the error', () => {
    const a = session(alice);
    const env = a.seal({ to: bob.deviceId, tag: 'dkg/r1', msgId: 'm1' }, pt);
    const d = decodeEnvelope(env);
    const ctOff = d.headerBytes.length + 24 + 4;
    const flipped = env.slice();
    flipped[ctOff + 3] = flipped[ctOff + 3]! ^ 0x01;
    let err: unknown;
    try {
      session(bob).open(flipped);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(TssError);
    expect((err as TssError).code).toBe('SIGNATURE_INVALID');
    const logged = JSON.stringify(err);
    expect(logged).not.toContain(toHex(d.ciphertext).slice(0, 16));
    expect(logged).not.toContain('round 1');
  });

  it('THREATS B35: swapping headers between two frames fails', () => {
    const a = session(alice);
    const e1 = decodeEnvelope(a.seal({ to: bob.deviceId, tag: 'dkg/r1', msgId: 'm1' }, pt));
    const e2 = a.seal({ to: bob.deviceId, tag: 'dkg/r2', msgId: 'm2' }, pt);
    const d2 = decodeEnvelope(e2);
    const swapped = new Uint8Array([...e1.headerBytes, ...e2.subarray(d2.headerBytes.length)]);
    expect(errCode(() => session(bob).open(swapped))).toBe('SIGNATURE_INVALID');
  });

  it('a validly signed envelope that does not decrypt blames its sender (DECRYPT_FAILED)', () => {
    // Alice signs garbage ciphertext under a correct header: only Alice could have produced it.
    const a = session(alice);
    const good = decodeEnvelope(a.seal({ to: bob.deviceId, tag: 't', msgId: 'm' }, pt));
    const ct = good.ciphertext.slice();
    ct[0] = ct[0]! ^ 1;
    const sig = alice.sign(taggedHash(TAGS.envelopeSig, good.headerBytes, good.nonce, ct));
    const len = new Uint8Array(4);
    new DataView(len.buffer).setUint32(0, ct.length);
    const bad = new Uint8Array([...good.headerBytes, ...good.nonce, ...len, ...ct, ...sig]);
    let err: TssError | undefined;
    try {
      session(bob).open(bad);
    } catch (e) {
      err = e as TssError;
    }
    expect(err?.code).toBe('DECRYPT_FAILED');
    expect(err?.culprits).toEqual([toHex(alice.deviceId)]);
  });

  it('rejects envelopes for another recipient, truncated and trailing bytes', () => {
    const env = session(alice).seal({ to: carol.deviceId, tag: 't', msgId: 'm' }, pt);
    expect(errCode(() => session(bob).open(env))).toBe('WRONG_RECIPIENT');
    expect(errCode(() => session(carol).open(env.subarray(0, env.length - 1)))).toBe('DECODE_FAILED');
    expect(errCode(() => session(carol).open(new Uint8Array([...env, 0])))).toBe('DECODE_FAILED');
    expect(errCode(() => session(carol).open(new Uint8Array(0)))).toBe('DECODE_FAILED');
  });

  it('THREATS B43: directions use different keys; full seals never repeat a nonce', () => {
    const a = session(alice);
    const b = session(bob);
    const nonces = new Set<string>();
    for (let i = 0; i < 200; i++) {
      for (const [s, to] of [
        [a, bob],
        [b, alice],
      ] as const) {
        const d = decodeEnvelope(s.seal({ to: to.deviceId, tag: 't', msgId: `m${i}` }, pt));
        nonces.add(toHex(d.nonce));
      }
    }
    expect(nonces.size).toBe(400);
    // Direction separation: recompute both directional keys from the same two identities.
    const eA = seededRandom('eA')(32);
    const eB = seededRandom('eB')(32);
    const ab = deriveEnvelopeKey({
      mode: 'static',
      sid: 's',
      from: alice.deviceId,
      to: bob.deviceId,
      ephemeral: x25519.getPublicKey(eA),
      peerEphemeral: null,
      shared: [alice.agree(bob.agreementKey), x25519.getSharedSecret(eA, bob.agreementKey)],
    });
    const ba = deriveEnvelopeKey({
      mode: 'static',
      sid: 's',
      from: bob.deviceId,
      to: alice.deviceId,
      ephemeral: x25519.getPublicKey(eB),
      peerEphemeral: null,
      shared: [bob.agree(alice.agreementKey), x25519.getSharedSecret(eB, alice.agreementKey)],
    });
    expect(toHex(ab)).not.toBe(toHex(ba));
    // Even with the same ephemeral, swapping from/to changes the key.
    const ba2 = deriveEnvelopeKey({
      mode: 'static',
      sid: 's',
      from: bob.deviceId,
      to: alice.deviceId,
      ephemeral: x25519.getPublicKey(eA),
      peerEphemeral: null,
      shared: [alice.agree(bob.agreementKey), x25519.getSharedSecret(eA, bob.agreementKey)],
    });
    expect(toHex(ab)).not.toBe(toHex(ba2));
  });

  it('THREATS B43: 100,000 seals (both directions) never repeat a (key, nonce) pair', () => {
    // The AEAD step of seal, with the real derived keys of both directions and the production rng.
    const ad = encodeHeader({
      v: 2,
      mode: 'static',
      sid: 's',
      from: alice.deviceId,
      to: bob.deviceId,
      tag: 't',
      msgId: 'm',
      ttl: 1,
      ephemeral: new Uint8Array(32),
      peerEphemeral: null,
    });
    const keys = [new Uint8Array(32).fill(1), new Uint8Array(32).fill(2)];
    const seen = new Set<string>();
    const small = new Uint8Array(1);
    for (let i = 0; i < 100_000; i++) {
      const k = keys[i & 1]!;
      const { nonce } = aeadSeal(k, ad, small, (n) => crypto.getRandomValues(new Uint8Array(n)));
      seen.add(`${k[0]}:${toHex(nonce)}`);
    }
    expect(seen.size).toBe(100_000);
  });

  it('destroy zeroes state and refuses further use', () => {
    const a = session(alice);
    a.destroy();
    expect(errCode(() => a.seal({ to: bob.deviceId, tag: 't', msgId: 'm' }, pt))).toBe('SESSION_STATE');
    expect(JSON.stringify(a)).toContain('redacted');
  });
});
