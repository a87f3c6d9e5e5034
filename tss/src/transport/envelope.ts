/**
 * End-to-end envelopes for bridge messages (BRIDGE.md §7, §8; THREATS B33–B36, B43), format v2.
 *
 * One envelope carries one protocol message from one device to one other device through the
 * untrusted bridge. Three modes, fixed in the header (so neither the relay nor a bug can downgrade
 * one to another unnoticed):
 *
 * - `static`: key agreement `X25519(s_from, S_to) ‖ X25519(e_session, S_to)` with one sender
 *   ephemeral per bridge session. For application control messages and first messages (proposals,
 *   decisions, certificate signatures): they are signed and public in content, so they need
 *   integrity and relay-confidentiality only. The recipient's static key opens them.
 * - `announce`: a `static`-keyed envelope, tag `<context>/hs`, empty plaintext, whose header
 *   `ephemeral` is the sender's fresh X25519 ephemeral for one ceremony run (`context`, e.g.
 *   `reshare2`). The Ed25519 envelope signature binds that key to the sender, the bridge session
 *   and the context. It carries no secret.
 * - `ephemeral`: for the secret-carrying rounds (`<context>/r<n>`): header carries the sender's
 *   announced ephemeral `e_f` and the recipient's `e_t`; key agreement
 *   `X25519(s_f, S_t) ‖ X25519(e_f, S_t) ‖ X25519(s_f, E_t) ‖ X25519(e_f, E_t)` (Noise KK's
 *   ss, es, se, ee, Perrin, "The Noise Protocol Framework" rev. 34 §7.5). The `ee` term needs one
 *   of the two ephemeral secrets, which exist only in memory for the run and are zeroed when it
 *   ends (ceremony-keys.ts). So a static X25519 secret alone — e.g. from a stolen device backup —
 *   together with every byte the relay ever stored opens none of these envelopes, and neither do
 *   both parties' static secrets. The `ss`/`se` terms keep the key bound to both identities, like
 *   the KK pattern, even if an ephemeral were weak.
 *
 * Common to all modes:
 * - Key derivation: HKDF-SHA256 (RFC 5869), salt = tagged hash of the sid, info = tagged hash of
 *   (version, mode, sid, from, to, ephemeral, recipient ephemeral). `from`/`to` order makes the two
 *   directions use different keys (TOB-SILA-6 regression, THREATS B43).
 * - Cipher: XChaCha20-Poly1305 with a fresh random 24-byte nonce per message (192-bit nonces make
 *   random collisions negligible without any counter state to persist across worker restarts).
 * - Associated data: the canonical header, so the bridge cannot re-route, re-tag, re-label or
 *   re-mode a message. Relay-assigned `seq`/`ts` stay outside.
 * - Sender signature: Ed25519 by the sender's device key over a tagged hash of header ‖ nonce ‖ ct,
 *   so a receiver can prove to others who sent exactly what (blame, broadcast comparison).
 *
 * Wire format v2 (all lengths checked on decode; v1 is refused with `UNSUPPORTED_VERSION`, never
 * opened under the old rules):
 *   'E' ‖ 0x02 ‖ mode(1: 0 static, 1 announce, 2 ephemeral) ‖ u8 |sid| ‖ sid ‖ from(32) ‖ to(32) ‖
 *   u8 |tag| ‖ tag ‖ u8 |msgId| ‖ msgId ‖ u32 ttl ‖ ephemeral(32) ‖ [peerEphemeral(32), mode 2 only]
 *                                                   ← header = associated data
 *   ‖ nonce(24) ‖ u32 |ct| ‖ ct ‖ signature(64)
 *
 * `open` checks, in order: encoding, session id, recipient, known sender, signature, replay (per
 * session seen set), the ceremony keys (announce/ephemeral), AEAD. Each failure is a `TssError` with
 * a stable code; errors name the claimed sender by a short public id and never carry payload bytes.
 *
 * What this does not give: a device's *static* key still opens its `static` envelopes (control
 * messages, which carry no secret), and a thief holding a device's Ed25519 key can sign as it in
 * later ceremonies until the device is removed from the vault (tss/README.md, "Stolen backups").
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
import { ANNOUNCE_ROUND, CeremonyKeys, contextOf, shortId } from './ceremony-keys.ts';
import type { DeviceIdentity, PublicDeviceIdentity } from './identity.ts';

export const ENVELOPE_VERSION = 2;
const MAGIC = 0x45; // 'E'
const NONCE_LEN = 24;
const SIG_LEN = 64;
export const MAX_SID_LEN = 64;
export const MAX_TAG_LEN = 64;
export const MAX_MSGID_LEN = 128;
/** Upper bound on one plaintext; the bridge's frame limit (256 KiB) is the practical one. */
export const MAX_PLAINTEXT_LEN = 1 << 20;

/** How an envelope's key is agreed (see the module header). */
export type EnvelopeMode = 'static' | 'announce' | 'ephemeral';
const MODE_BYTE: Record<EnvelopeMode, number> = { static: 0, announce: 1, ephemeral: 2 };
const MODES: readonly EnvelopeMode[] = ['static', 'announce', 'ephemeral'];

/** The client-set header: every field is covered by the AEAD and by the sender signature. */
export interface EnvelopeHeader {
  readonly v: number;
  readonly mode: EnvelopeMode;
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
  /** The sender's X25519 ephemeral public key: per session (`static`) or per context. */
  readonly ephemeral: Uint8Array;
  /** `ephemeral` mode only: the recipient's announced ephemeral for the context; else null. */
  readonly peerEphemeral: Uint8Array | null;
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

function unsupportedVersion(v: number | undefined): TssError {
  return new TssError(
    'UNSUPPORTED_VERSION',
    `envelope version ${v} is not accepted (this device speaks only version ${ENVELOPE_VERSION}; the sender must update)`,
  );
}

/** Canonical header bytes (the AEAD associated data). */
export function encodeHeader(h: EnvelopeHeader): Uint8Array {
  if (h.v !== ENVELOPE_VERSION) throw unsupportedVersion(h.v);
  if (!Number.isInteger(h.ttl) || h.ttl < 0 || h.ttl > 0xffffffff) {
    throw new TssError('INVALID_PARAMETERS', 'ttl must be a u32 number of milliseconds');
  }
  const mode = MODE_BYTE[h.mode];
  if (mode === undefined) throw new TssError('INVALID_PARAMETERS', 'unknown envelope mode');
  if ((h.mode === 'ephemeral') !== (h.peerEphemeral !== null)) {
    throw new TssError('INVALID_PARAMETERS', 'peerEphemeral is present exactly in ephemeral mode');
  }
  if (h.mode !== 'static') contextOf(h.tag);
  if (h.mode === 'announce' && h.tag !== `${contextOf(h.tag)}/${ANNOUNCE_ROUND}`) {
    throw new TssError('INVALID_PARAMETERS', `an announcement's tag is <context>/${ANNOUNCE_ROUND}`);
  }
  const sid = shortStr(h.sid, MAX_SID_LEN, 'sid');
  const tag = shortStr(h.tag, MAX_TAG_LEN, 'tag');
  const msgId = shortStr(h.msgId, MAX_MSGID_LEN, 'msgId');
  return concatBytes(
    Uint8Array.of(MAGIC, h.v, mode, sid.length),
    sid,
    key32(h.from, 'from'),
    key32(h.to, 'to'),
    Uint8Array.of(tag.length),
    tag,
    Uint8Array.of(msgId.length),
    msgId,
    u32be(h.ttl),
    key32(h.ephemeral, 'ephemeral'),
    h.peerEphemeral === null ? new Uint8Array(0) : key32(h.peerEphemeral, 'peerEphemeral'),
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
  if (bytes[1] !== ENVELOPE_VERSION) throw unsupportedVersion(bytes[1]);
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
  const mode = MODES[take(1)[0]!] ?? fail('unknown mode');
  const sid = text(MAX_SID_LEN, 'sid');
  const from = take(32).slice();
  const to = take(32).slice();
  const tag = text(MAX_TAG_LEN, 'tag');
  const msgId = text(MAX_MSGID_LEN, 'msgId');
  take(4);
  const ttl = view.getUint32(off - 4, false);
  const ephemeral = take(32).slice();
  const peerEphemeral = mode === 'ephemeral' ? take(32).slice() : null;
  const headerBytes = bytes.slice(0, off);
  const nonce = take(NONCE_LEN).slice();
  take(4);
  const ctLen = view.getUint32(off - 4, false);
  if (ctLen < 16 || ctLen > MAX_PLAINTEXT_LEN + 16) fail('ciphertext length');
  const ciphertext = take(ctLen).slice();
  const signature = take(SIG_LEN).slice();
  if (off !== bytes.length) fail('trailing bytes');
  const header: EnvelopeHeader = {
    v: ENVELOPE_VERSION,
    mode,
    sid,
    from,
    to,
    tag,
    msgId,
    ttl,
    ephemeral,
    peerEphemeral,
  };
  // Re-encoding must give the same bytes (canonical form, e.g. no overlong UTF-8 tricks).
  let canonical: Uint8Array;
  try {
    canonical = encodeHeader(header);
  } catch {
    return fail('invalid header fields');
  }
  if (!equalBytes(canonical, headerBytes)) fail('non-canonical header');
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
  mode: EnvelopeMode;
  sid: string;
  from: Uint8Array;
  to: Uint8Array;
  /** The sender's ephemeral public key (header `ephemeral`). */
  ephemeral: Uint8Array;
  /** The recipient's ephemeral public key (`ephemeral` mode), else null. */
  peerEphemeral: Uint8Array | null;
  /**
   * The DH outputs in order: `static`/`announce`: [ss, es]; `ephemeral`: [ss, es, se, ee]
   * (s = static, e = ephemeral, first letter = sender side).
   */
  shared: readonly Uint8Array[];
}

/** HKDF-SHA256 of the shared secrets, bound to version, mode, session, direction and ephemerals. */
export function deriveEnvelopeKey(k: EnvelopeKeyInput): Uint8Array {
  const want = k.mode === 'ephemeral' ? 4 : 2;
  if (k.shared.length !== want) throw new TssError('INVALID_PARAMETERS', `${k.mode} mode mixes ${want} DHs`);
  const sid = utf8(k.sid);
  const ikm = concatBytes(...k.shared);
  try {
    return hkdf(
      sha256,
      ikm,
      taggedHash(TAGS.envelopeSalt, sid),
      taggedHash(
        TAGS.envelopeKey,
        Uint8Array.of(ENVELOPE_VERSION, MODE_BYTE[k.mode]),
        sid,
        k.from,
        k.to,
        k.ephemeral,
        k.peerEphemeral ?? new Uint8Array(0),
      ),
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
  /**
   * `ephemeral` for secret-carrying ceremony messages (tag `<context>/<round>`; needs this device's
   * and the recipient's announcements for the context). Default `static`.
   */
  mode?: 'static' | 'ephemeral';
}

export interface AnnounceParams {
  to: Uint8Array;
  /** The ceremony run, e.g. `reshare2`: the part of its tags before `/`. */
  context: string;
  msgId: string;
  ttl?: number;
}

/**
 * Seal and open envelopes for one bridge session. Holds the session's `static`-mode ephemeral, the
 * per-context ceremony keys, and caches derived keys (X25519 is the expensive part). Call
 * `endContext` when a ceremony run ends and `destroy()` at the end of the session.
 */
export class EnvelopeSession {
  readonly sid: string;
  readonly ephemeralPublic: Uint8Array;
  private readonly identity: DeviceIdentity;
  private readonly peers = new Map<string, PublicDeviceIdentity>();
  private readonly rng: RandomBytes;
  private readonly replay: ReplayGuard;
  private readonly ceremony: CeremonyKeys;
  private ephemeralSecret: Uint8Array;
  /** Derived keys by `${mode}|${peer}|${ephemeral}|${peerEphemeral}`. */
  private readonly keys = new Map<string, Uint8Array>();
  private destroyed = false;

  constructor(opts: EnvelopeSessionOptions) {
    shortStr(opts.sid, MAX_SID_LEN, 'sid');
    this.sid = opts.sid;
    this.identity = opts.identity;
    this.rng = opts.rng ?? cryptoRandomBytes;
    this.replay = opts.replay ?? new ReplayGuard();
    this.ceremony = new CeremonyKeys(this.rng);
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
        `unknown ${role} device ${shortId(id)}`,
      );
    }
    return p;
  }

  /** X25519 with a peer-supplied public key; a low-order key is the INVALID_POINT of its owner. */
  private dh(secret: Uint8Array, pub: Uint8Array): Uint8Array {
    try {
      return x25519.getSharedSecret(secret, pub);
    } catch (cause) {
      throw new TssError('INVALID_POINT', 'agreement key is invalid or of low order', { cause });
    }
  }

  /**
   * The key of one envelope direction. `outbound`: this device is the sender. The DH terms are
   * computed from whichever side's secrets this device holds; both sides get the same four values.
   */
  private envelopeKey(
    mode: EnvelopeMode,
    other: PublicDeviceIdentity,
    outbound: boolean,
    senderEph: Uint8Array,
    recipientEph: Uint8Array | null,
    context: string | undefined,
  ): Uint8Array {
    const id = `${mode}|${outbound ? '>' : '<'}${toHex(other.deviceId)}|${toHex(senderEph)}|${
      recipientEph === null ? '' : toHex(recipientEph)
    }`;
    const cached = this.keys.get(id);
    if (cached !== undefined) return cached;
    const shared: Uint8Array[] = [];
    try {
      shared.push(this.identity.agree(other.agreementKey)); // ss
      if (outbound) {
        // es: own ephemeral (session or context) × recipient static
        shared.push(
          mode === 'static'
            ? this.dh(this.ephemeralSecret, other.agreementKey)
            : this.ceremony.agree(context!, other.agreementKey, senderEph),
        );
        if (mode === 'ephemeral') {
          shared.push(this.identity.agree(recipientEph!)); // se
          shared.push(this.ceremony.agree(context!, recipientEph!, senderEph)); // ee
        }
      } else {
        shared.push(this.identity.agree(senderEph)); // es, from the recipient side
        if (mode === 'ephemeral') {
          shared.push(this.ceremony.agree(context!, other.agreementKey, recipientEph!)); // se
          shared.push(this.ceremony.agree(context!, senderEph, recipientEph!)); // ee
        }
      }
      const key = deriveEnvelopeKey({
        mode,
        sid: this.sid,
        from: outbound ? this.identity.deviceId : other.deviceId,
        to: outbound ? other.deviceId : this.identity.deviceId,
        ephemeral: senderEph,
        peerEphemeral: recipientEph,
        shared,
      });
      this.keys.set(id, key);
      return key;
    } finally {
      zeroize(...shared);
    }
  }

  private sealWith(
    header: EnvelopeHeader,
    to: PublicDeviceIdentity,
    context: string | undefined,
    plaintext: Uint8Array,
  ): Uint8Array {
    const headerBytes = encodeHeader(header);
    const key = this.envelopeKey(header.mode, to, true, header.ephemeral, header.peerEphemeral, context);
    const { nonce, ciphertext } = aeadSeal(key, headerBytes, plaintext, this.rng);
    const sig = this.identity.sign(signatureMessage(headerBytes, nonce, ciphertext));
    return encodeEnvelope(headerBytes, nonce, ciphertext, sig);
  }

  private recipient(id: Uint8Array): PublicDeviceIdentity {
    const to = this.peer(id, 'recipient');
    if (equalBytes(to.deviceId, this.identity.deviceId)) {
      throw new TssError('INVALID_PARAMETERS', 'cannot seal to self');
    }
    return to;
  }

  /** This device's ephemeral public key for `context` (drawn on first use). */
  contextEphemeral(context: string): Uint8Array {
    this.live();
    return this.ceremony.ownPublic(context);
  }

  /** Whether `peer` has announced its ephemeral for `context` to this device. */
  hasPeerEphemeral(peer: Uint8Array, context: string): boolean {
    return this.ceremony.peer(peer, context) !== undefined;
  }

  /**
   * The announcement of this device's ephemeral for `context` to one peer: a signed envelope with
   * tag `<context>/hs` and no plaintext. Send it to every peer before any ceremony message.
   */
  announce(params: AnnounceParams): Uint8Array {
    this.live();
    const to = this.recipient(params.to);
    const tag = `${params.context}/${ANNOUNCE_ROUND}`;
    contextOf(tag);
    const header: EnvelopeHeader = {
      v: ENVELOPE_VERSION,
      mode: 'announce',
      sid: this.sid,
      from: this.identity.deviceId,
      to: to.deviceId,
      tag,
      msgId: params.msgId,
      ttl: params.ttl ?? 15 * 60_000,
      ephemeral: this.ceremony.ownPublic(params.context),
      peerEphemeral: null,
    };
    return this.sealWith(header, to, params.context, new Uint8Array(0));
  }

  /** Seal `plaintext` for one recipient. Returns the full envelope bytes to hand to the bridge. */
  seal(params: SealParams, plaintext: Uint8Array): Uint8Array {
    this.live();
    if (!(plaintext instanceof Uint8Array) || plaintext.length > MAX_PLAINTEXT_LEN) {
      throw new TssError('BAD_LENGTH', 'plaintext must be bytes of at most 1 MiB');
    }
    const to = this.recipient(params.to);
    const mode = params.mode ?? 'static';
    let context: string | undefined;
    let ephemeral = this.ephemeralPublic;
    let peerEphemeral: Uint8Array | null = null;
    if (mode === 'ephemeral') {
      context = contextOf(params.tag);
      if (!this.ceremony.hasOwn(context)) {
        throw new TssError('HANDSHAKE_REQUIRED', `announce this device's ephemeral for ${context} first`);
      }
      ephemeral = this.ceremony.ownPublic(context);
      peerEphemeral = this.ceremony.peer(to.deviceId, context) ?? null;
      if (peerEphemeral === null) {
        throw new TssError(
          'HANDSHAKE_REQUIRED',
          `device ${shortId(to.deviceId)} has not announced its ephemeral for ${context} yet`,
        );
      }
    } else if (mode !== 'static') {
      throw new TssError('INVALID_PARAMETERS', 'seal mode is static or ephemeral');
    }
    const header: EnvelopeHeader = {
      v: ENVELOPE_VERSION,
      mode,
      sid: this.sid,
      from: this.identity.deviceId,
      to: to.deviceId,
      tag: params.tag,
      msgId: params.msgId,
      ttl: params.ttl ?? 15 * 60_000,
      ephemeral,
      peerEphemeral,
    };
    return this.sealWith(header, to, context, plaintext);
  }

  /**
   * Verify and decrypt an envelope addressed to this device in this session. Throws `TssError`:
   * `DECODE_FAILED`/`UNSUPPORTED_VERSION` (bytes), `SESSION_MISMATCH` (other session: cross-session
   * injection or replay), `WRONG_RECIPIENT`, `UNKNOWN_SENDER`, `SIGNATURE_INVALID` (tampered or not
   * from the claimed sender), `REPLAYED_MESSAGE`, `EPHEMERAL_CONFLICT` (the sender signed another
   * ephemeral for the same context: blamed), `HANDSHAKE_REQUIRED` (sealed to an ephemeral this
   * device does not hold: an ended context or a worker restart), `DECRYPT_FAILED` (signed by the
   * sender but not decryptable: the sender is blamed). Errors never contain payload bytes.
   * An `announce` envelope records the sender's ephemeral and returns an empty plaintext.
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
    if (!sigOk) {
      throw new TssError(
        'SIGNATURE_INVALID',
        `${h.mode === 'announce' ? 'announcement' : 'envelope'} claiming to be from device ${shortId(h.from)} is not signed by it`,
      );
    }
    if (this.replay.has(h.from, h.msgId)) {
      throw new TssError('REPLAYED_MESSAGE', `message ${h.msgId} was already opened in this session`);
    }
    // The signature binds the sender's ephemeral to (sid, context); a second one is equivocation.
    const context = h.mode === 'static' ? undefined : contextOf(h.tag);
    if (context !== undefined) this.ceremony.checkPeer(h.from, context, h.ephemeral);
    let key: Uint8Array;
    try {
      key = this.envelopeKey(h.mode, from, false, h.ephemeral, h.peerEphemeral, context);
    } catch (e) {
      // A low-order ephemeral in a header the sender signed is provably the sender's.
      if (e instanceof TssError && e.code === 'INVALID_POINT') {
        throw new TssError('INVALID_POINT', `device ${shortId(h.from)} sent an invalid ephemeral key`, {
          culprits: [toHex(h.from)],
        });
      }
      throw e;
    }
    let plaintext: Uint8Array;
    try {
      plaintext = xchacha20poly1305(key, env.nonce, env.headerBytes).decrypt(env.ciphertext);
    } catch (cause) {
      // The sender signed these exact bytes, so they are provably the sender's fault.
      throw new TssError('DECRYPT_FAILED', 'envelope does not decrypt', {
        culprits: [toHex(h.from)],
        cause: cause instanceof TssError ? cause : undefined,
      });
    }
    if (h.mode === 'announce' && plaintext.length !== 0) {
      throw new TssError('MALFORMED_MESSAGE', `announcement from ${shortId(h.from)} carries a payload`, {
        culprits: [toHex(h.from)],
      });
    }
    this.replay.record(h.from, h.msgId);
    if (context !== undefined) this.ceremony.recordPeer(h.from, context, h.ephemeral);
    return { header: h, plaintext };
  }

  /**
   * Ends one ceremony run: zeroes this device's ephemeral secret for `context` and the keys derived
   * from it. Envelopes of that context can no longer be sealed or opened here, by anyone.
   */
  endContext(context: string): void {
    if (this.destroyed) return;
    const eph = this.ceremony.hasOwn(context) ? toHex(this.ceremony.ownPublic(context)) : undefined;
    this.ceremony.end(context);
    if (eph === undefined) return;
    for (const [id, k] of this.keys) {
      if (id.includes(eph)) {
        zeroize(k);
        this.keys.delete(id);
      }
    }
  }

  /** Zero every ephemeral secret and derived key. */
  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    zeroize(this.ephemeralSecret);
    this.ceremony.destroy();
    for (const k of this.keys.values()) zeroize(k);
    this.keys.clear();
    this.ephemeralSecret = new Uint8Array(0);
  }

  toJSON(): { sid: string; ephemeral: string; secret: '[redacted]' } {
    return { sid: this.sid, ephemeral: toHex(this.ephemeralPublic), secret: '[redacted]' };
  }
}
