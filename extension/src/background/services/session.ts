/**
 * The unlocked session: the data-encryption key (DEK) while the wallet is unlocked, and its auto-lock
 * deadline. The DEK is kept in memory and mirrored to `chrome.storage.session` (memory-backed, never
 * written to disk, readable by trusted extension contexts only; we never widen its access level),
 * so a service-worker restart while unlocked keeps working (THREATS 61). Locking zeroes the memory
 * copy, removes the mirror and clears the alarm. The deadline is enforced twice: a `chrome.alarms`
 * alarm, and a check on every read in case the alarm fires late or the worker was asleep.
 */
import { fromBase64, toBase64, zeroize } from '../../shared/bytes.ts';
import type { Platform } from '../platform.ts';

export const SESSION_STORAGE_KEY = 'concord.session.v1';
export const AUTO_LOCK_ALARM = 'concord.autolock';

interface StoredSession {
  v: 1;
  /** Base64 DEK: `storage.session` only holds JSON-like values. */
  dek: string;
  keyId: string;
  idleMs: number;
  expiresAt: number;
}

function isStoredSession(x: unknown): x is StoredSession {
  const s = x as Partial<StoredSession> | null;
  return (
    s !== null &&
    typeof s === 'object' &&
    s.v === 1 &&
    typeof s.dek === 'string' &&
    typeof s.keyId === 'string' &&
    typeof s.idleMs === 'number' &&
    typeof s.expiresAt === 'number'
  );
}

export interface ActiveSession {
  dek: Uint8Array;
  keyId: string;
  expiresAt: number;
}

export class KeySession {
  private active: (ActiveSession & { idleMs: number }) | null = null;
  private readonly lockListeners: Array<() => void> = [];
  private readonly keyListeners: Array<(dek: Uint8Array) => void> = [];

  constructor(private readonly platform: Platform) {}

  /** Called (synchronously) whenever the session ends, so holders of decrypted secrets drop them. */
  onEnd(listener: () => void): void {
    this.lockListeners.push(listener);
  }

  /**
   * Called (synchronously) whenever a key becomes live: a new session, or one restored from
   * `storage.session` after a worker restart. Listeners must copy `dek` if they keep it.
   */
  onKey(listener: (dek: Uint8Array) => void): void {
    this.keyListeners.push(listener);
  }

  /** Starts a session owning `dek` (the caller must not zero it; `end()` will). */
  async start(dek: Uint8Array, keyId: string, idleMs: number): Promise<ActiveSession> {
    this.dropMemory();
    const expiresAt = this.platform.now() + idleMs;
    this.active = { dek, keyId, idleMs, expiresAt };
    for (const l of this.keyListeners) l(dek);
    await this.persist();
    return { dek, keyId, expiresAt };
  }

  /**
   * The live session, restoring it from `storage.session` after a worker restart. Returns null when
   * locked; an expired session is ended here even if the alarm has not fired.
   */
  async current(): Promise<ActiveSession | null> {
    if (this.active === null) {
      const stored = await this.platform.session.get(SESSION_STORAGE_KEY);
      if (!isStoredSession(stored)) return null;
      this.active = {
        dek: fromBase64(stored.dek),
        keyId: stored.keyId,
        idleMs: stored.idleMs,
        expiresAt: stored.expiresAt,
      };
      if (this.platform.now() < this.active.expiresAt) {
        for (const l of this.keyListeners) l(this.active.dek);
      }
    }
    if (this.platform.now() >= this.active.expiresAt) {
      await this.end();
      return null;
    }
    return { dek: this.active.dek, keyId: this.active.keyId, expiresAt: this.active.expiresAt };
  }

  /** Pushes the deadline back after user activity; `idleMs` replaces the idle time if given. */
  async touch(idleMs?: number): Promise<number | null> {
    const s = await this.current();
    if (s === null || this.active === null) return null;
    if (idleMs !== undefined) this.active.idleMs = idleMs;
    this.active.expiresAt = this.platform.now() + this.active.idleMs;
    await this.persist();
    return this.active.expiresAt;
  }

  /** Locks: zero the key, remove the mirror, clear the alarm, notify listeners. Idempotent. */
  async end(): Promise<void> {
    this.dropMemory();
    await this.platform.session.remove(SESSION_STORAGE_KEY);
    await this.platform.alarms.clear(AUTO_LOCK_ALARM);
    for (const l of this.lockListeners) l();
  }

  private dropMemory(): void {
    if (this.active !== null) zeroize(this.active.dek);
    this.active = null;
  }

  private async persist(): Promise<void> {
    const a = this.active;
    if (a === null) return;
    const stored: StoredSession = {
      v: 1,
      dek: toBase64(a.dek),
      keyId: a.keyId,
      idleMs: a.idleMs,
      expiresAt: a.expiresAt,
    };
    await this.platform.session.set(SESSION_STORAGE_KEY, stored);
    await this.platform.alarms.create(AUTO_LOCK_ALARM, a.expiresAt);
  }
}
