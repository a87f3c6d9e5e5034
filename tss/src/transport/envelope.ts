/**
 * End-to-end envelopes for bridge messages (BRIDGE.md §7, §8; THREATS B33–B36, B43).
 *
 * One envelope carries one protocol message from one device to one other device through the
 * untrusted bridge. Construction, per (session, sender, recipient):
 *
 * - Key agreement: `X25519(sender static, recipient static) ‖ X25519(sender ephemeral, recipient
 *   static)`. The sender draws one fresh X25519 ephemeral per session (its public half is in every
 *   header) and zeroes it on `destroy()`, so a later leak of the sender's static key alone does not
 *   open the session's traffic. (It is not full forward secrecy: a leak of the *recipient's* static
 *   key does; that needs an interactive handshake such as Noise KK, see the README.)
 * - Key derivation: HKDF-SHA256 (RFC 5869), salt = tagged hash of the sid, info = tagged hash of
 *   (sid, from, to, ephemeral). `from`/`to` order makes the two directions use different keys
 *   (TOB-SILA-6 regression, THREATS B43).
 * - Cipher: XChaCha20-Poly1305 with a fresh random 24-byte nonce per message (192-bit nonces make
 *   random collisions negligible without any counter state to persist across worker restarts).
 * - Associated data: the canonical header `{v, sid, from, to, tag, msgId, ttl, ephemeral}`, so the
 *   bridge cannot re-route, re-tag or re-label a message. Relay-assigned `seq`/`ts` stay outside.
 * - Sender signature: Ed25519 by the sender's device key over a tagged hash of header ‖ nonce ‖ ct,
 *   so a receiver can prove to others who sent exactly what (blame, broadcast comparison).
 *
 * Wire format v1 (all lengths checked on decode):
 *   'E' ‖ 0x01 ‖ u8 |sid| ‖ sid ‖ from(32) ‖ to(32) ‖ u8 |tag| ‖ tag ‖ u8 |msgId| ‖ msgId ‖ u32 ttl ‖
 *   ephemeral(32)                                   ← header = associated data
 *   ‖ nonce(24) ‖ u32 |ct| ‖ ct ‖ signature(64)
 *
 * `open` checks, in order: encoding, session id, recipient, known sender, signature, replay (per
 * session seen set), AEAD. Each failure is a `TssError` with a stable code.
 */

import { xchacha20poly1305 } from '@noble/ciphers/chacha.js';
import { ed25519, x25519 } from '@noble/curves/ed25519.js';
import { hkdf } from '@noble/hashes/hkdf.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { concatBytes, equalBytes, toHex, u32be, utf8, zeroize } from '../bytes.ts';
import { TssError } from '../errors.ts';
import { taggedHash } from '../hash.ts';
import { cryptoRandomBytes, type RandomBytes } from '../random.ts';
import { TAGS } from '../tags.ts';
import type { DeviceIdentity, PublicDeviceIdentity } from './identity.ts';

export const ENVELOPE_VERSION = 1;
const MAGIC = 0x45; // 'E'
const NONCE_LEN = 24;
const SIG_LEN = 64;
export const MAX_SID_LEN = 64;
export const MAX_TAG_LEN = 64;
export const MAX_MSGID_LEN = 128;
/** Upper bound on one plaintext; the bridge's frame limit (256 KiB) is the practical one. */
export const MAX_PLAINTEXT_LEN = 1 << 20;

/** The client-set header: every field is covered by the AEAD and by the sender signature. */
export interface EnvelopeHeader {
  readonly v: number;
  /** Bridge session id (text, ≤ 64 bytes). */
  readonly sid: string;
  /** Sender device id (Ed25519 public key). */
  readonly from: Uint8Array;
  /** Recipient device id. */
  readonly to: Uint8Array;
  /** Protocol message tag, e.g. `dkg/r1` or the reserved `abort` (≤ 64 bytes). */
  readonly tag: string;
  /** Sender-chosen id, unique per (session, sender); deterministic ids are recommended. */
  readonly msgId: string;
  /** Requested time to live in milliseconds (the bridge caps it). */
  readonly ttl: number;
  /** The sender's per-session X25519 ephemeral public key. */
  readonly ephemeral: Uint8Array;
}

/** A decoded (not yet verified) envelope. */
export interface DecodedEnvelope {
  readonly header: EnvelopeHeader;
  /** The exact header bytes (associated data). */
  readonly headerBytes: Uint8Array;
  readonly nonce: Uint8Array;
  readonly ciphertext: Uint8Array;
  readonly signature: Uint8Array;
}

export interface OpenedEnvelope {
  readonly header: EnvelopeHeader;
  readonly plaintext: Uint8Array;
}

function shortStr(s: string, max: number, what: string): Uint8Array {
  if (typeof s !== 'string') throw new TssError('MALFORMED_MESSAGE', `${what} must be a string`);
  const b = utf8(s);
  if (b.length === 0 || b.length > max) throw new TssError('BAD_LENGTH', `${what} must be 1..${max} bytes`);
  return b;
}

function key32(b: Uint8Array, what: string): Uint8Array {
  if (!(b instanceof Uint8Array) || b.length !== 32)
    throw new TssError('BAD_LENGTH', `${what} must be 32 bytes`);
  return b;
}

/** Canonical header bytes (the AEAD associated data). */
export function encodeHeader(h: EnvelopeHeader): Uint8Array {
  if (h.v !== ENVELOPE_VERSION) throw new TssError('UNSUPPORTED_VERSION', `envelope version ${h.v}`);
  if (!Number.isInteger(h.ttl) || h.ttl < 0 || h.ttl > 0xffffffff) {
    throw new TssError('INVALID_PARAMETERS', 'ttl must be a u32 number of milliseconds');
  }
  const sid = shortStr(h.sid, MAX_SID_LEN, 'sid');
  const tag = shortStr(h.tag, MAX_TAG_LEN, 'tag');
  const msgId = shortStr(h.msgId, MAX_MSGID_LEN, 'msgId');
  return concatBytes(
    Uint8Array.of(MAGIC, h.v, sid.length),
    sid,
    key32(h.from, 'from'),
    key32(h.to, 'to'),
    Uint8Array.of(tag.length),
    tag,
    Uint8Array.of(msgId.length),
    msgId,
    u32be(h.ttl),
    key32(h.ephemeral, 'ephemeral'),
  );
}

const textDecoder = new TextDecoder('utf-8', { fatal: true });

/** Parse an envelope without verifying anything. Throws `DECODE_FAILED` / `UNSUPPORTED_VERSION`. */
export function decodeEnvelope(bytes: Uint8Array): DecodedEnvelope {
  const fail = (why: string): never => {
    throw new TssError('DECODE_FAILED', `envelope: ${why}`);
  };
  if (!(bytes instanceof Uint8Array) || bytes.length < 3) fail('too short');
  if (bytes[0] !== MAGIC) fail('bad magic');
  if (bytes[1] !== ENVELOPE_VERSION)
    throw new TssError('UNSUPPORTED_VERSION', `envelope version ${bytes[1]}`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let off = 2;
  const take = (n: number): Uint8Array => {
    if (off + n > bytes.length) fail('truncated');
    const out = bytes.subarray(off, off + n);
    off += n;
    return out;
  };
  const text = (max: number, what: string): string => {
    const n = take(1)[0]!;
    if (n === 0 || n > max) fail(`${what} length`);
    try {
      return textDecoder.decode(take(n));
    } catch {
      return fail(`${what} is not UTF-8`);
    }
  };
  const sid = text(MAX_SID_LEN, 'sid');
  const from = take(32).slice();
  const to = take(32).slice();
  const tag = text(MAX_TAG_LEN, 'tag');
  const msgId = text(MAX_MSGID_LEN, 'msgId');
  take(4);
  const ttl = view.getUint32(off - 4, false);
  const ephemeral = take(32).slice();
  const headerBytes = bytes.slice(0, off);
  const nonce = take(NONCE_LEN).slice();
  take(4);
  const ctLen = view.getUint32(off - 4, false);
  if (ctLen < 16 || ctLen > MAX_PLAINTEXT_LEN + 16) fail('ciphertext length');
  const ciphertext = take(ctLen).slice();
  const signature = take(SIG_LEN).slice();
  if (off !== bytes.length) fail('trailing bytes');
  const header: EnvelopeHeader = { v: ENVELOPE_VERSION, sid, from, to, tag, msgId, ttl, ephemeral };
  // Re-encoding must give the same bytes (canonical form, e.g. no overlong UTF-8 tricks).
  if (!equalBytes(encodeHeader(header), headerBytes)) fail('non-canonical header');
  return { header, headerBytes, nonce, ciphertext, signature };
}

function encodeEnvelope(
  headerBytes: Uint8Array,
  nonce: Uint8Array,
  ct: Uint8Array,
  sig: Uint8Array,
): Uint8Array {
  return concatBytes(headerBytes, nonce, u32be(ct.length), ct, sig);
}

function signatureMessage(headerBytes: Uint8Array, nonce: Uint8Array, ct: Uint8Array): Uint8Array {
  return taggedHash(TAGS.envelopeSig, headerBytes, nonce, ct);
}

/** Inputs to the per-direction key derivation. */
export interface EnvelopeKeyInput {
  sid: string;
  from: Uint8Array;
  to: Uint8Array;
  ephemeral: Uint8Array;
  /** X25519(static, static). */
  staticShared: Uint8Array;
  /** X25519(sender ephemeral, recipient static). */
  ephemeralShared: Uint8Array;
}

/** HKDF-SHA256 of the two shared secrets, bound to session, direction and ephemeral. 32 bytes. */
export function deriveEnvelopeKey(k: EnvelopeKeyInput): Uint8Array {
  const sid = utf8(k.sid);
  const ikm = concatBytes(k.staticShared, k.ephemeralShared);
  try {
    return hkdf(
      sha256,
      ikm,
      taggedHash(TAGS.envelopeSalt, sid),
      taggedHash(TAGS.envelopeKey, sid, k.from, k.to, k.ephemeral),
      32,
    );
  } finally {
    zeroize(ikm);
  }
}

/**
 * @internal The AEAD step of `seal`, exported so the nonce-uniqueness property (THREATS B43) can
 * be exercised over 10^5 messages without paying 10^5 Ed25519 signatures.
 */
export function aeadSeal(
  key: Uint8Array,
  ad: Uint8Array,
  plaintext: Uint8Array,
  rng: RandomBytes,
): { nonce: Uint8Array; ciphertext: Uint8Array } {
  const nonce = rng(NONCE_LEN);
  if (nonce.length !== NONCE_LEN) throw new TssError('INVALID_PARAMETERS', 'rng returned a short nonce');
  return { nonce, ciphertext: xchacha20poly1305(key, nonce, ad).encrypt(plaintext) };
}

/**
 * Replay guard: the set of (sender, msgId) already opened in one session. Bounded, because a
 * session has a bounded number of messages (the bridge caps it too); past the cap it refuses new
 * entries rather than forgetting old ones, since forgetting would re-open a replay window.
 */
export class ReplayGuard {
  private readonly seen = new Set<string>();
  constructor(readonly maxEntries = 100_000) {}

  has(from: Uint8Array, msgId: string): boolean {
    return this.seen.has(`${toHex(from)}|${msgId}`);
  }

  /** Record; throws `REPLAYED_MESSAGE` if already present. */
  record(from: Uint8Array, msgId: string): void {
    const k = `${toHex(from)}|${msgId}`;
    if (this.seen.has(k)) throw new TssError('REPLAYED_MESSAGE', `message ${msgId} was already opened`);
    if (this.seen.size >= this.maxEntries) throw new TssError('SESSION_STATE', 'replay guard is full');
    this.seen.add(k);
  }

  get size(): number {
    return this.seen.size;
  }
}

export interface EnvelopeSessionOptions {
  /** This device. */
  identity: DeviceIdentity;
  /** The bridge session id both sides expect. */
  sid: string;
  /** Public identities of the other members (bindings are verified by the caller, e.g. parseDeviceCode). */
  peers: readonly PublicDeviceIdentity[];
  rng?: RandomBytes;
  /** Shared replay guard, if the caller keeps its own (e.g. persisted across restarts). */
  replay?: ReplayGuard;
}

export interface SealParams {
  to: Uint8Array;
  tag: string;
  msgId: string;
  /** Milliseconds; default 15 minutes. */
  ttl?: number;
}

/**
 * Seal and open envelopes for one bridge session. Holds the session's sender ephemeral and caches
 * derived keys (X25519 is the expensive part). Call `destroy()` at the end of the session.
 */
export class EnvelopeSession {
  readonly sid: string;
  readonly ephemeralPublic: Uint8Array;
  private readonly identity: DeviceIdentity;
  private readonly peers = new Map<string, PublicDeviceIdentity>();
  private readonly rng: RandomBytes;
  private readonly replay: ReplayGuard;
  private ephemeralSecret: Uint8Array;
  private readonly sendKeys = new Map<string, Uint8Array>();
  private readonly recvKeys = new Map<string, Uint8Array>();
  private destroyed = false;

  constructor(opts: EnvelopeSessionOptions) {
    shortStr(opts.sid, MAX_SID_LEN, 'sid');
    this.sid = opts.sid;
    this.identity = opts.identity;
    this.rng = opts.rng ?? cryptoRandomBytes;
    this.replay = opts.replay ?? new ReplayGuard();
    for (const p of opts.peers) this.peers.set(toHex(p.deviceId), p);
    this.ephemeralSecret = this.rng(32);
    this.ephemeralPublic = x25519.getPublicKey(this.ephemeralSecret);
  }

  private live(): void {
    if (this.destroyed) throw new TssError('SESSION_STATE', 'envelope session destroyed');
  }

  private peer(id: Uint8Array, role: 'sender' | 'recipient'): PublicDeviceIdentity {
    const p = this.peers.get(toHex(id));
    if (p === undefined) {
      throw new TssError(
        role === 'sender' ? 'UNKNOWN_SENDER' : 'INVALID_PARAMETERS',
        `unknown ${role} device`,
      );
    }
    return p;
  }

  private sendKey(to: PublicDeviceIdentity): Uint8Array {
    const k = toHex(to.deviceId);
    let key = this.sendKeys.get(k);
    if (key === undefined) {
      const staticShared = this.identity.agree(to.agreementKey);
      let ephemeralShared: Uint8Array;
      try {
        ephemeralShared = x25519.getSharedSecret(this.ephemeralSecret, to.agreementKey);
      } catch (cause) {
        throw new TssError('INVALID_POINT', 'recipient agreement key is invalid', { cause });
      }
      key = deriveEnvelopeKey({
        sid: this.sid,
        from: this.identity.deviceId,
        to: to.deviceId,
        ephemeral: this.ephemeralPublic,
        staticShared,
        ephemeralShared,
      });
      zeroize(staticShared, ephemeralShared);
      this.sendKeys.set(k, key);
    }
    return key;
  }

  private recvKey(from: PublicDeviceIdentity, ephemeral: Uint8Array): Uint8Array {
    const k = `${toHex(from.deviceId)}|${toHex(ephemeral)}`;
    let key = this.recvKeys.get(k);
    if (key === undefined) {
      const staticShared = this.identity.agree(from.agreementKey);
      const ephemeralShared = this.identity.agree(ephemeral);
      key = deriveEnvelopeKey({
        sid: this.sid,
        from: from.deviceId,
        to: this.identity.deviceId,
        ephemeral,
        staticShared,
        ephemeralShared,
      });
      zeroize(staticShared, ephemeralShared);
      this.recvKeys.set(k, key);
    }
    return key;
  }

  /** Seal `plaintext` for one recipient. Returns the full envelope bytes to hand to the bridge. */
  seal(params: SealParams, plaintext: Uint8Array): Uint8Array {
    this.live();
    if (!(plaintext instanceof Uint8Array) || plaintext.length > MAX_PLAINTEXT_LEN) {
      throw new TssError('BAD_LENGTH', 'plaintext must be bytes of at most 1 MiB');
    }
    const to = this.peer(params.to, 'recipient');
    if (equalBytes(to.deviceId, this.identity.deviceId)) {
      throw new TssError('INVALID_PARAMETERS', 'cannot seal to self');
    }
    const headerBytes = encodeHeader({
      v: ENVELOPE_VERSION,
      sid: this.sid,
      from: this.identity.deviceId,
      to: to.deviceId,
      tag: params.tag,
      msgId: params.msgId,
      ttl: params.ttl ?? 15 * 60_000,
      ephemeral: this.ephemeralPublic,
    });
    const { nonce, ciphertext } = aeadSeal(this.sendKey(to), headerBytes, plaintext, this.rng);
    const sig = this.identity.sign(signatureMessage(headerBytes, nonce, ciphertext));
    return encodeEnvelope(headerBytes, nonce, ciphertext, sig);
  }

  /**
   * Verify and decrypt an envelope addressed to this device in this session. Throws `TssError`:
   * `DECODE_FAILED`/`UNSUPPORTED_VERSION` (bytes), `SESSION_MISMATCH` (other session: cross-session
   * injection or replay), `WRONG_RECIPIENT`, `UNKNOWN_SENDER`, `SIGNATURE_INVALID` (tampered or not
   * from the claimed sender), `REPLAYED_MESSAGE`, `DECRYPT_FAILED` (signed by the sender but not
   * decryptable: the sender is blamed). Errors never contain payload bytes.
   */
  open(bytes: Uint8Array): OpenedEnvelope {
    this.live();
    const env = decodeEnvelope(bytes);
    const h = env.header;
    if (h.sid !== this.sid) throw new TssError('SESSION_MISMATCH', 'envelope belongs to another session');
    if (!equalBytes(h.to, this.identity.deviceId)) {
      throw new TssError('WRONG_RECIPIENT', 'envelope is addressed to another device');
    }
    const from = this.peer(h.from, 'sender');
    let sigOk = false;
    try {
      sigOk = ed25519.verify(
        env.signature,
        signatureMessage(env.headerBytes, env.nonce, env.ciphertext),
        from.deviceId,
        { zip215: false },
      );
    } catch {
      sigOk = false;
    }
    // Not a blame: the relay (or anyone) can produce a bad signature under someone else's name.
    if (!sigOk) throw new TssError('SIGNATURE_INVALID', 'envelope signature does not verify for its sender');
    if (this.replay.has(h.from, h.msgId)) {
      throw new TssError('REPLAYED_MESSAGE', `message ${h.msgId} was already opened in this session`);
    }
    let plaintext: Uint8Array;
    try {
      plaintext = xchacha20poly1305(this.recvKey(from, h.ephemeral), env.nonce, env.headerBytes).decrypt(
        env.ciphertext,
      );
    } catch (cause) {
      // The sender signed these exact bytes, so they are provably the sender's fault.
      throw new TssError('DECRYPT_FAILED', 'envelope does not decrypt', {
        culprits: [toHex(h.from)],
        cause: cause instanceof TssError ? cause : undefined,
      });
    }
    this.replay.record(h.from, h.msgId);
    return { header: h, plaintext };
  }

  /** Zero the ephemeral secret and derived keys. */
  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    zeroize(this.ephemeralSecret);
    for (const k of this.sendKeys.values()) zeroize(k);
    for (const k of this.recvKeys.values()) zeroize(k);
    this.sendKeys.clear();
    this.recvKeys.clear();
    this.ephemeralSecret = new Uint8Array(0);
  }

  toJSON(): { sid: string; ephemeral: string; secret: '[redacted]' } {
    return { sid: this.sid, ephemeral: toHex(this.ephemeralPublic), secret: '[redacted]' };
  }
}
