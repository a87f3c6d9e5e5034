/**
 * Authentication at rest of the records that decide what a vault is and which share is in use: the
 * `vaults` rows (members and their keys, powers, threshold, address, status) and the `shares` rows
 * (status, epoch, and which sealed blob). The share *secret* was already sealed; its `status` and
 * the vault's layout were plain, so anyone able to write the profile's IndexedDB could swap a
 * member's key, lower a threshold or flip a pending share to active unnoticed.
 *
 * Each row carries `auth`: an XChaCha20-Poly1305 seal (crypto/aead.ts) of an empty plaintext under
 * the data key, whose associated data binds the table, the primary key and SHA-256 of the row's
 * canonical encoding (every field but `auth`). Reading a row whose `auth` is missing or does not
 * match throws `RECORD_TAMPERED` and leaves the row where it is (nothing is deleted or repaired).
 *
 * Dexie hooks do it for every writer and reader of the two tables (so code that writes them
 * directly, not through a repository, is covered too): `creating`/`updating` attach a fresh `auth`,
 * `updating` first checks the row being updated (an update must not bless a tampered row), and
 * `reading` checks every row read. The hooks need the data key, so they are armed by the unlocked
 * session (`RecordAuthGuard.setKey`). While locked a row cannot be checked: reads pass through
 * (nothing that uses a share or a vault's layout runs while locked) and writes are refused.
 * A database never given a key (unit tests of other services) is not guarded at all.
 *
 * Rows written before this existed (schema ≤ 2) have no `auth`; they are authenticated once, at the
 * first unlock with the passphrase (`authenticateLegacyRecords`), in the same transaction that
 * re-wraps the keyring header with its `records` flag, which is bound into the header's own
 * associated data. After that, a row without `auth` is tampering, and the flag cannot be removed
 * without breaking the header (keyring-header.ts).
 */
import { sha256 } from '@noble/hashes/sha2.js';
import type { Dexie, Table } from 'dexie';
import { open, type RecordContext, type SealedBlob, type SealedRecordType, seal } from '../crypto/aead.ts';
import { toHex, utf8, zeroize } from '../shared/bytes.ts';
import { ExtensionError, isExtensionError } from '../shared/errors.ts';

/** Format version of the authenticated encoding; part of the associated data. */
export const RECORD_AUTH_VERSION = 1;

export type AuthenticatedTable = 'vaults' | 'shares';

const TYPES: Record<AuthenticatedTable, SealedRecordType> = {
  vaults: 'vault-record',
  shares: 'share-record',
};

const LABELS: Record<AuthenticatedTable, string> = {
  vaults: 'vault record',
  shares: 'share record',
};

/**
 * Deterministic encoding of a row without its `auth`: keys sorted, `undefined` fields dropped (as
 * JSON would), byte arrays as their tagged SHA-256 so they cannot collide with strings. Hashing the
 * bytes (a sealed share is tens of kB) rather than spelling them out keeps a check cheap on every
 * read; SHA-256's collision resistance binds them all the same.
 */
export function canonicalRecord(row: object): string {
  const enc = (x: unknown): unknown => {
    if (x instanceof Uint8Array) return { $sha256: toHex(sha256(x)) };
    if (Array.isArray(x)) return x.map(enc);
    if (x !== null && typeof x === 'object') {
      const out: Record<string, unknown> = {};
      for (const k of Object.keys(x).sort()) {
        const v = (x as Record<string, unknown>)[k];
        if (v !== undefined) out[k] = enc(v);
      }
      return out;
    }
    return x;
  };
  const { auth: _auth, ...rest } = row as { auth?: unknown };
  return JSON.stringify(enc(rest));
}

function context(table: AuthenticatedTable, key: string, row: object): RecordContext {
  return {
    type: TYPES[table],
    id: key,
    version: RECORD_AUTH_VERSION,
    extra: sha256(utf8(canonicalRecord(row))),
  };
}

/** The `auth` of `row` (stored under primary key `key`) under the data key. */
export function authenticate(
  table: AuthenticatedTable,
  key: string,
  row: object,
  dek: Uint8Array,
): SealedBlob {
  return seal(dek, new Uint8Array(0), context(table, key, row));
}

/** Throws `RECORD_TAMPERED` unless `row.auth` authenticates `row` under the data key. */
export function verifyRecord(table: AuthenticatedTable, key: string, row: object, dek: Uint8Array): void {
  const auth = (row as { auth?: SealedBlob }).auth;
  const tampered = (detail: string, cause?: unknown) =>
    new ExtensionError(
      'RECORD_TAMPERED',
      `The stored ${LABELS[table]} ${key.slice(0, 40)} was changed outside Concord (${detail}). It was not used and is kept as it is.`,
      cause === undefined ? {} : { cause },
    );
  if (auth === undefined) throw tampered('it carries no authentication');
  try {
    open(dek, auth, context(table, key, row));
  } catch (e) {
    if (isExtensionError(e, 'DECRYPT_FAILED') || isExtensionError(e, 'CORRUPT_RECORD')) {
      throw tampered('its authentication does not match its content', e);
    }
    throw e;
  }
}

/** Holds the data key for the hooks of one database connection. */
export class RecordAuthGuard {
  private key: Uint8Array | null = null;
  /** Set once a key was given: from then on a locked connection refuses writes. */
  private armed = false;

  /** The unlocked session's data key (a copy is kept), or null when the session ends. */
  setKey(dek: Uint8Array | null): void {
    if (this.key !== null) zeroize(this.key);
    this.key = dek === null ? null : dek.slice();
    if (dek !== null) this.armed = true;
  }

  /** The key for a check, or null when rows pass unchecked (locked or never armed). */
  readKey(): Uint8Array | null {
    return this.key;
  }

  /** The key for a write; throws `LOCKED` on an armed connection without one. */
  writeKey(table: AuthenticatedTable): Uint8Array | null {
    if (this.key === null && this.armed) {
      throw new ExtensionError('LOCKED', `Concord is locked: the ${LABELS[table]} cannot be written.`);
    }
    return this.key;
  }
}

/** Applies Dexie modifications (key paths allowed) to a deep copy of `obj`. */
function applied(obj: object, mods: Record<string, unknown>, setByKeyPath: SetByKeyPath): object {
  const next = structuredClone(obj) as Record<string, unknown>;
  for (const [path, value] of Object.entries(mods)) setByKeyPath(next, path, value);
  return next;
}

type SetByKeyPath = (obj: object, keyPath: string, value: unknown) => void;

/** Installs the hooks on the `vaults` and `shares` tables of `db`. */
export function installRecordAuth(db: Dexie, guard: RecordAuthGuard, setByKeyPath: SetByKeyPath): void {
  for (const name of ['vaults', 'shares'] as const) {
    const table = db.table(name) as Table<{ id: string; auth?: SealedBlob }, string>;
    table.hook('creating', (key, obj) => {
      const dek = guard.writeKey(name);
      if (dek === null) return;
      obj.auth = authenticate(name, String(key ?? obj.id), obj, dek);
    });
    table.hook('updating', (mods, key, obj) => {
      const dek = guard.writeKey(name);
      if (dek === null) return undefined;
      verifyRecord(name, String(key), obj, dek);
      const next = applied(obj, mods as Record<string, unknown>, setByKeyPath);
      return { auth: authenticate(name, String(key), next, dek) };
    });
    table.hook('reading', (obj) => {
      const dek = guard.readKey();
      if (dek !== null && obj !== undefined && obj !== null) verifyRecord(name, obj.id, obj, dek);
      return obj;
    });
  }
}

/**
 * Authenticates every row written before record authentication (no `auth`) under `dek`; a row that
 * already has one must verify. For the one-time upgrade at unlock; call inside a transaction over
 * both tables with the guard not yet keyed (the rows are put as computed here).
 */
export async function authenticateLegacyRecords(db: Dexie, dek: Uint8Array): Promise<number> {
  let n = 0;
  for (const name of ['vaults', 'shares'] as const) {
    const table = db.table(name) as Table<{ id: string; auth?: SealedBlob }, string>;
    for (const row of await table.toArray()) {
      if (row.auth !== undefined) {
        verifyRecord(name, row.id, row, dek);
        continue;
      }
      await table.put({ ...row, auth: authenticate(name, row.id, row, dek) });
      n += 1;
    }
  }
  return n;
}
