/**
 * A party's epoch bookkeeping around a reshare (THREATS A23/A24; the rules are argued in
 * certificate.ts): the active share signs, a pending share never does; a complete certificate
 * activates the pending share (or, for a leaving party, retires its share) and is handed back for
 * forwarding; an expired attempt is discarded. Bans are tied to the active epoch's OT state, so an
 * activation clears them (a refresh replaces every pairwise OT setup). Pure state, no I/O, no clock.
 * Also: a versioned encoding of a pending attempt so a crash after signing loses nothing.
 */
import { equalBytes } from '../bytes.ts';
import { Reader, Writer } from '../codec/binary.ts';
import { TssError } from '../errors.ts';
import { KeyShare } from '../keyshare.ts';
import { activate, type IdentityKeys, type ReshareCertificate, verifyCertificate } from './certificate.ts';
import type { ReshareOutcome } from './rounds.ts';

export interface PendingAttempt {
  readonly outcome: ReshareOutcome;
  /** Caller's clock (ms); the attempt is discarded at or after this time. */
  readonly expiresAt: number;
}

export interface CertificateResult {
  /** True when this call moved the party to the new epoch. */
  readonly activated: boolean;
  /** Send this to every other party (old and new) before relying on the new epoch. */
  readonly forward: ReshareCertificate | undefined;
}

export class EpochState {
  private activeShare: KeyShare | undefined;
  private attempt: PendingAttempt | undefined;
  private last: ReshareCertificate | undefined;
  private readonly bans = new Set<string>();

  /** `active` is undefined for a device that joins a vault through a reshare. */
  constructor(active: KeyShare | undefined) {
    this.activeShare = active;
  }

  get active(): KeyShare | undefined {
    return this.activeShare;
  }

  get pending(): PendingAttempt | undefined {
    return this.attempt;
  }

  /** The certificate of the last activation (to hand to a peer still on the old epoch). */
  get lastCertificate(): ReshareCertificate | undefined {
    return this.last;
  }

  /** Hex ids banned on the active epoch's OT state (pass to `SignSession` as `banned`). */
  get banned(): ReadonlySet<string> {
    return this.bans;
  }

  ban(hexId: string): void {
    this.bans.add(hexId);
  }

  /** The share to sign with: always the active one, never a pending one. */
  signingShare(): KeyShare {
    if (!this.activeShare) throw new TssError('SESSION_STATE', 'no active key share');
    return this.activeShare;
  }

  /** Record a finished reshare attempt. A previous attempt, if any, is discarded. */
  begin(outcome: ReshareOutcome, expiresAt: number): void {
    if (this.activeShare && !equalBytes(this.activeShare.vaultId, outcome.descriptor.vaultId)) {
      throw new TssError('VAULT_MISMATCH', 'reshare outcome is for another vault');
    }
    if (this.activeShare && this.activeShare.epoch + 1 !== outcome.descriptor.epoch) {
      throw new TssError('EPOCH_MISMATCH', 'reshare outcome is not for the next epoch');
    }
    this.discard();
    this.attempt = { outcome, expiresAt };
  }

  /**
   * Handle a certificate (own, or forwarded by anyone). Activates only if it is complete and valid
   * for the pending attempt; a repeat of the last activation's certificate is a no-op.
   */
  onCertificate(cert: ReshareCertificate, identityKeys: IdentityKeys): CertificateResult {
    if (this.last && equalBytes(this.last.sessionId, cert.sessionId) && this.last.epoch === cert.epoch) {
      return { activated: false, forward: undefined };
    }
    const attempt = this.attempt;
    if (!attempt) throw new TssError('SESSION_STATE', 'no pending reshare for this certificate');
    const { outcome } = attempt;
    if (
      !equalBytes(cert.sessionId, outcome.record.sessionId) ||
      !equalBytes(cert.transcript, outcome.transcript)
    ) {
      throw new TssError('CERTIFICATE_INVALID', 'certificate is for another reshare attempt', {
        round: 'reshare.certificate',
      });
    }
    if (outcome.pending) {
      const { active, retired } = activate(outcome.pending, cert, identityKeys, this.activeShare);
      retired?.destroy();
      this.activeShare = active;
    } else {
      // A leaving party: the certificate proves the new committee holds the key; delete ours.
      verifyCertificate(cert, outcome.descriptor, identityKeys);
      this.activeShare?.destroy();
      this.activeShare = undefined;
    }
    this.attempt = undefined;
    this.last = cert;
    this.bans.clear();
    return { activated: true, forward: cert };
  }

  /**
   * Discard the pending attempt once `now` reaches its expiry. Callers should choose an expiry well
   * beyond the time a forwarded certificate needs to arrive: after discarding, a late certificate
   * can no longer be honoured by this party.
   */
  expire(now: number): boolean {
    if (!this.attempt || now < this.attempt.expiresAt) return false;
    this.discard();
    return true;
  }

  private discard(): void {
    this.attempt?.outcome.pending?.destroy();
    this.attempt = undefined;
  }

  destroy(): void {
    this.discard();
    this.activeShare?.destroy();
    this.activeShare = undefined;
    this.bans.clear();
  }

  toJSON(): Record<string, unknown> {
    return {
      type: 'EpochState',
      epoch: this.activeShare?.epoch,
      pendingEpoch: this.attempt?.outcome.descriptor.epoch,
      banned: [...this.bans],
    };
  }
}

const PENDING_FORMAT = 0x50; // 'P'
const PENDING_VERSION = 1;

/** Persist a new party's pending attempt (secret: it holds the pending KeyShare). */
export function encodePendingAttempt(a: PendingAttempt): Uint8Array {
  const o = a.outcome;
  if (!o.pending || !o.ownSignature)
    throw new TssError('INVALID_PARAMETERS', 'only a new party has a pending share');
  if (!Number.isSafeInteger(a.expiresAt) || a.expiresAt < 0)
    throw new TssError('INVALID_PARAMETERS', 'expiresAt must be a non-negative integer (ms)');
  return new Writer()
    .u8(PENDING_FORMAT)
    .u8(PENDING_VERSION)
    .bytes(o.pending.encode())
    .raw(o.record.sessionId)
    .u32(o.record.oldEpoch)
    .raw(o.record.oldDescriptorHash)
    .raw(o.transcript)
    .bytes(o.ownSignature)
    .u32(Math.floor(a.expiresAt / 2 ** 32))
    .u32(a.expiresAt % 2 ** 32)
    .finish();
}

export function decodePendingAttempt(b: Uint8Array): PendingAttempt {
  const r = new Reader(b, 'pending reshare');
  r.expectU8(PENDING_FORMAT, 'format');
  r.expectU8(PENDING_VERSION, 'version');
  const pending = KeyShare.decode(r.bytes(1 << 22));
  const sessionId = r.raw(32);
  const oldEpoch = r.u32();
  const oldDescriptorHash = r.raw(32);
  const transcript = r.raw(32);
  const ownSignature = r.bytes(256);
  const expiresAt = r.u32() * 2 ** 32 + r.u32();
  r.end();
  if (pending.epoch !== oldEpoch + 1) throw new TssError('DECODE_FAILED', 'pending reshare: epoch');
  return {
    outcome: {
      descriptor: pending.descriptor,
      record: { sessionId, oldEpoch, oldDescriptorHash, transcript },
      transcript,
      pending,
      ownSignature,
    },
    expiresAt,
  };
}
