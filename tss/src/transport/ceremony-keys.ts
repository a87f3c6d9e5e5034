/**
 * Per-ceremony ephemeral X25519 keys of one envelope session (the handshake state of envelope v2,
 * see envelope.ts; pattern after Noise KK, Perrin, "The Noise Protocol Framework" rev. 34 §7.5).
 *
 * A *context* is one protocol run inside a bridge session (a DKG, one reshare attempt, one signing
 * attempt): the part of the envelope tag before the first `/` (`dkg`, `reshare2`, `sign3`). For each
 * context this device draws one fresh ephemeral, announces its public half to every peer in a
 * signed `announce` envelope that carries no secret, and learns each peer's. Secret-carrying
 * envelopes of that context are keyed by DH(e_sender, e_recipient) mixed with the static DHs, so
 * the static X25519 key alone — which a device backup carries — opens none of them.
 *
 * The ephemeral secrets live only here, in memory, and are zeroed when the context ends (`end`) or
 * the session is destroyed. They are never serialised: a device whose worker restarts mid-ceremony
 * starts a new attempt (a new context) rather than resuming, so nothing needs to survive.
 *
 * A peer has exactly one ephemeral per context: a second, different one signed by the same device
 * is equivocation and is refused (`EPHEMERAL_CONFLICT`), never silently adopted, so a relay that
 * replays an old announcement cannot move a peer onto a key it chose.
 */
import { x25519 } from '@noble/curves/ed25519.js';
import { equalBytes, toHex, zeroize } from '../bytes.ts';
import { TssError } from '../errors.ts';
import type { RandomBytes } from '../random.ts';

/** Round name of the announcement: its tag is `<context>/hs`. */
export const ANNOUNCE_ROUND = 'hs';
export const MAX_CONTEXT_LEN = 48;

/** The context of a protocol tag (`sign3/r2` → `sign3`); throws if the tag has none. */
export function contextOf(tag: string): string {
  const slash = tag.indexOf('/');
  if (slash <= 0 || slash === tag.length - 1 || slash > MAX_CONTEXT_LEN) {
    throw new TssError('INVALID_PARAMETERS', 'a ceremony envelope tag must be <context>/<round>');
  }
  return tag.slice(0, slash);
}

interface OwnKey {
  secret: Uint8Array;
  readonly publicKey: Uint8Array;
}

/** A short, public, loggable form of a device id for error messages. */
export function shortId(id: Uint8Array): string {
  return toHex(id).slice(0, 16);
}

export class CeremonyKeys {
  private readonly own = new Map<string, OwnKey>();
  private readonly ended = new Set<string>();
  /** `${senderHex}|${context}` → the sender's announced ephemeral public key. */
  private readonly peers = new Map<string, Uint8Array>();

  constructor(private readonly rng: RandomBytes) {}

  /** This device's ephemeral public key for `context`, drawn on first use. */
  ownPublic(context: string): Uint8Array {
    if (this.ended.has(context)) {
      throw new TssError('SESSION_STATE', `ceremony context ${context} has ended; its key is gone`);
    }
    let k = this.own.get(context);
    if (k === undefined) {
      const secret = this.rng(32);
      if (secret.length !== 32) throw new TssError('INVALID_PARAMETERS', 'rng returned a short key');
      k = { secret, publicKey: x25519.getPublicKey(secret) };
      this.own.set(context, k);
    }
    return k.publicKey;
  }

  /** Whether this device has announced (drawn) a key for `context`. */
  hasOwn(context: string): boolean {
    return this.own.has(context);
  }

  /**
   * X25519(own ephemeral of `context`, `peerKey`). `expectedOwn`, when given, is the recipient
   * ephemeral a received envelope names: it must be this device's live key for the context.
   */
  agree(context: string, peerKey: Uint8Array, expectedOwn?: Uint8Array): Uint8Array {
    const k = this.own.get(context);
    if (k === undefined) {
      throw new TssError(
        'HANDSHAKE_REQUIRED',
        this.ended.has(context)
          ? `ceremony context ${context} has ended; its ephemeral key was wiped`
          : `no ephemeral key was announced by this device for ${context}`,
      );
    }
    if (expectedOwn !== undefined && !equalBytes(expectedOwn, k.publicKey)) {
      throw new TssError(
        'HANDSHAKE_REQUIRED',
        `envelope is sealed to an ephemeral key this device does not hold for ${context}`,
      );
    }
    try {
      return x25519.getSharedSecret(k.secret, peerKey);
    } catch (cause) {
      throw new TssError('INVALID_POINT', 'peer ephemeral key is invalid or of low order', { cause });
    }
  }

  /** The ephemeral `sender` announced for `context`, if any. */
  peer(sender: Uint8Array, context: string): Uint8Array | undefined {
    return this.peers.get(`${toHex(sender)}|${context}`);
  }

  /** Refuses a key different from one `sender` already signed for `context` (equivocation). */
  checkPeer(sender: Uint8Array, context: string, key: Uint8Array): void {
    const known = this.peer(sender, context);
    if (known !== undefined && !equalBytes(known, key)) {
      throw new TssError(
        'EPHEMERAL_CONFLICT',
        `device ${shortId(sender)} signed two different ephemeral keys for ${context}`,
        { culprits: [toHex(sender)] },
      );
    }
  }

  /** Records `sender`'s ephemeral for `context` (call after its signature verified). */
  recordPeer(sender: Uint8Array, context: string, key: Uint8Array): void {
    this.checkPeer(sender, context, key);
    this.peers.set(`${toHex(sender)}|${context}`, Uint8Array.from(key));
  }

  /** Wipes this device's ephemeral secret of `context`; it can never be drawn again. */
  end(context: string): void {
    const k = this.own.get(context);
    if (k !== undefined) zeroize(k.secret);
    this.own.delete(context);
    this.ended.add(context);
  }

  destroy(): void {
    for (const k of this.own.values()) zeroize(k.secret);
    this.own.clear();
    this.peers.clear();
  }
}
