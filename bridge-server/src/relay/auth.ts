/**
 * The pre-authentication state (BRIDGE.md §4–§5; THREATS B31): a single-use 32-byte challenge,
 * Ed25519 verification of the client's signature over origin‖challenge‖device key, and the move
 * to READY — newest connection of a device wins, cluster join, then `welcome` and presence.
 */
import { createPublicKey, type KeyObject, verify } from 'node:crypto';
import { authMessage, CHALLENGE_BYTES } from '../protocol/auth.ts';
import { b64uDecode, b64uEncode } from '../protocol/base64url.ts';
import type { ClientFrame } from '../protocol/frames.ts';
import type { Connection } from './connection.ts';
import { p8 } from './connection.ts';
import type { RelayCore } from './core.ts';
import { strictPoint } from './ed25519-check.ts';
import { broadcastPresence, infos } from './sessions.ts';
import { type Awaitable, after } from './store/types.ts';

const ED25519_SPKI_PREFIX = Uint8Array.from([
  0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00,
]);

export function sendChallenge(r: RelayCore, c: Connection, rid: string | undefined): void {
  const bytes = r.rand(CHALLENGE_BYTES);
  c.challenge = { bytes, expiresAt: r.now() + r.limits.challengeTtlMs };
  r.send(c, {
    t: 'challenge',
    ...(rid === undefined ? {} : { rid }),
    nonce: b64uEncode(bytes),
    origin: r.origin,
    expiresInMs: r.limits.challengeTtlMs,
  });
}

/** A frame on a connection in AWAIT_AUTH: only `hello` (a fresh challenge) and `auth`. */
export function onPreAuth(r: RelayCore, c: Connection, f: ClientFrame): Awaitable<void> {
  if (f.t === 'hello') {
    const wait = r.ipBuckets.take(c.ip, r.now());
    if (wait > 0) {
      r.metrics.rateLimited.inc({ scope: 'ip' });
      r.fail(c, 'RATE_LIMITED', 'too many challenges', f.rid);
      return;
    }
    sendChallenge(r, c, f.rid);
    return;
  }
  if (f.t !== 'auth') {
    r.fail(c, 'UNAUTHORIZED', 'authenticate first', 'rid' in f ? f.rid : undefined);
    return;
  }
  const ch = c.challenge;
  c.challenge = undefined; // single use, whatever the outcome
  if (ch === undefined) {
    r.fail(c, 'UNAUTHORIZED', 'no challenge outstanding', f.rid);
    return;
  }
  if (r.now() > ch.expiresAt) {
    r.fail(c, 'UNAUTHORIZED', 'challenge expired', f.rid);
    return;
  }
  let ok = false;
  try {
    const pub = b64uDecode(f.deviceId);
    const sig = b64uDecode(f.sig);
    // Small-order or non-canonical key or R: refused before OpenSSL, which accepts them.
    const key = publicKey(r, f.deviceId, pub);
    ok =
      key !== undefined &&
      strictPoint(sig.subarray(0, 32)) &&
      verify(null, authMessage(r.origin, ch.bytes, pub), key, sig);
  } catch {
    ok = false;
  }
  if (!ok) {
    r.fail(c, 'UNAUTHORIZED', 'bad auth signature', f.rid);
    return;
  }
  if (c.authTimer) clearTimeout(c.authTimer);
  c.state = 'ready';
  c.deviceId = f.deviceId;
  const old = r.devices.get(f.deviceId);
  r.devices.set(f.deviceId, c);
  if (old !== undefined) {
    // Newer connection wins (Signal ClientPresenceManager); the old one must not announce offline.
    r.fail(old, 'DISPLACED', 'a newer connection of this device took over');
  } else {
    r.metrics.authenticated.inc();
  }
  const dev = f.deviceId;
  // Cluster: subscribe to the device's wake-ups, mark it present, displace a connection of it on
  // another node, and take over its rate-limit bucket; all before `welcome`, so the client's
  // catch-up `fetch` comes after the node listens for new messages (nothing falls in between).
  const joined =
    r.cluster === undefined
      ? undefined
      : after(r.cluster.join(dev), (j) => {
          c.generation = j.generation;
          if (j.bucket !== undefined) r.deviceBuckets.import(dev, j.bucket);
        });
  return after(joined, () =>
    after(r.store.listSessions(dev, r.now()), (sessions) =>
      after(infos(r, sessions), (list) => {
        r.send(c, { t: 'welcome', rid: f.rid, deviceId: dev, sessions: list });
        broadcastPresence(r, dev, true, sessions);
        r.log.info({ conn: c.id, device: p8(dev), sessions: sessions.length }, 'authenticated');
      }),
    ),
  );
}

/** The device key as a KeyObject, or undefined for a weak key (cached either way). */
function publicKey(r: RelayCore, id: string, raw: Uint8Array): KeyObject | undefined {
  let k = r.keyCache.get(id);
  if (k === null) return undefined;
  if (k === undefined) {
    if (raw.length !== 32 || !strictPoint(raw)) {
      if (r.keyCache.size > 100_000) r.keyCache.clear();
      r.keyCache.set(id, null);
      return undefined;
    }
    const der = new Uint8Array(ED25519_SPKI_PREFIX.length + 32);
    der.set(ED25519_SPKI_PREFIX);
    der.set(raw, ED25519_SPKI_PREFIX.length);
    k = createPublicKey({ key: Buffer.from(der), format: 'der', type: 'spki' });
    if (r.keyCache.size > 100_000) r.keyCache.clear();
    r.keyCache.set(id, k);
  }
  return k;
}
