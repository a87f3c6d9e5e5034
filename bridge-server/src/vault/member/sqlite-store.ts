/**
 * `VaultStore` on one SQLite file through better-sqlite3 (synchronous, transactional, WAL): the
 * store of a headless member (tests now, the co-signer later). Schema version 1 in
 * `PRAGMA user_version`; a file of a newer version, or one that is not a member store, is refused
 * with `STORE_VERSION` and left as it is.
 *
 * Secrets at rest (data-key.ts): the device identity and every key share are sealed with the data
 * key, their associated data naming table and row; the data key is wrapped by scrypt(passphrase).
 * Opening with a wrong passphrase fails before any write (`WRONG_PASSPHRASE`), so the file is left
 * byte for byte as it was. Public records (vaults, proposals, requests, decisions, attempts) are
 * stored in clear: every device can rebuild them from signed messages, and each is re-verified
 * from the signed bytes it keeps (payloads and signatures) where it matters.
 */
import { existsSync } from 'node:fs';
import Database from 'better-sqlite3';
import type { AttemptState, RequestStatus } from '../co-approval.ts';
import type { Decision } from '../request.ts';
import {
  checkParams,
  DEFAULT_SCRYPT,
  deriveKek,
  newDataKey,
  openRow,
  randomBytes,
  type ScryptParams,
  sealRow,
  unwrapDataKey,
} from './data-key.ts';
import { MemberError } from './errors.ts';
import type {
  DecisionRecord,
  DkgRecord,
  ProposalRecord,
  RequestChanges,
  RequestRecord,
  SignedRecord,
  VaultRecord,
  VaultStore,
} from './store.ts';

export const SCHEMA_VERSION = 1;

const SCHEMA_V1 = `
CREATE TABLE meta (key TEXT PRIMARY KEY, value BLOB NOT NULL);
CREATE TABLE identity (id TEXT PRIMARY KEY, sealed BLOB NOT NULL);
CREATE TABLE vaults (id TEXT PRIMARY KEY, json TEXT NOT NULL);
CREATE TABLE shares (vault_id TEXT NOT NULL, epoch INTEGER NOT NULL, sealed BLOB NOT NULL,
  PRIMARY KEY (vault_id, epoch));
CREATE TABLE proposals (id TEXT PRIMARY KEY, sid TEXT NOT NULL, payload BLOB NOT NULL,
  status TEXT NOT NULL, created_at INTEGER NOT NULL, expires_at INTEGER NOT NULL);
CREATE TABLE dkgs (id TEXT PRIMARY KEY, status TEXT NOT NULL, attempt INTEGER NOT NULL,
  abort_code TEXT, updated_at INTEGER NOT NULL);
CREATE TABLE requests (id TEXT PRIMARY KEY, vault_id TEXT NOT NULL, payload BLOB NOT NULL,
  status TEXT NOT NULL, created_at INTEGER NOT NULL, expires_at INTEGER NOT NULL);
CREATE TABLE decisions (subject TEXT NOT NULL, device_id TEXT NOT NULL, decision TEXT NOT NULL,
  sig BLOB NOT NULL, created_at INTEGER NOT NULL, PRIMARY KEY (subject, device_id));
CREATE TABLE attempts (request_id TEXT PRIMARY KEY, json TEXT NOT NULL);
CREATE TABLE signed (request_id TEXT PRIMARY KEY, raw TEXT NOT NULL, hash TEXT NOT NULL,
  created_at INTEGER NOT NULL);
`;

export interface SqliteStoreOptions {
  path: string;
  passphrase: string;
  /** Create the file if it does not exist (default: it must exist). */
  create?: boolean;
  /** scrypt cost for a new store (default OWASP's N = 2^17; tests use the floor, 2^10). */
  kdf?: ScryptParams;
}

interface Row {
  [k: string]: unknown;
}

const bytes = (v: unknown): Uint8Array => new Uint8Array(v as Buffer);

export class SqliteVaultStore implements VaultStore {
  private constructor(
    private readonly db: Database.Database,
    private readonly dek: Uint8Array,
  ) {}

  /** Opens (or creates) a member store; throws `WRONG_PASSPHRASE` / `STORE_VERSION` without writing. */
  static open(o: SqliteStoreOptions): SqliteVaultStore {
    const fresh = !existsSync(o.path);
    if (fresh && o.create !== true) throw new MemberError('NOT_FOUND', 'No member store at that path.');
    const db = new Database(o.path, { fileMustExist: !fresh });
    try {
      const version = db.pragma('user_version', { simple: true }) as number;
      if (version === 0) {
        const tables = db
          .prepare("SELECT count(*) AS n FROM sqlite_master WHERE type = 'table'")
          .get() as Row;
        if (Number(tables.n) !== 0 || o.create !== true) {
          throw new MemberError('STORE_VERSION', 'That file is not a Concord member store.');
        }
        return new SqliteVaultStore(db, SqliteVaultStore.initialise(db, o));
      }
      if (version !== SCHEMA_VERSION) {
        throw new MemberError(
          'STORE_VERSION',
          `The member store has schema version ${version}; this build reads version ${SCHEMA_VERSION}.`,
        );
      }
      const meta = (key: string) => {
        const r = db.prepare('SELECT value FROM meta WHERE key = ?').get(key) as Row | undefined;
        if (r === undefined) throw new MemberError('STORE_CORRUPT', `The member store has no ${key}.`);
        return bytes(r.value);
      };
      const params = JSON.parse(new TextDecoder().decode(meta('kdf'))) as ScryptParams;
      checkParams(params);
      const kek = deriveKek(o.passphrase, meta('salt'), params);
      let dek: Uint8Array;
      try {
        dek = unwrapDataKey(kek, meta('dek'));
      } finally {
        kek.fill(0);
      }
      // Only now, with the right passphrase, may the connection write (WAL is set at creation).
      db.pragma('synchronous = NORMAL');
      return new SqliteVaultStore(db, dek);
    } catch (e) {
      db.close();
      throw e;
    }
  }

  private static initialise(db: Database.Database, o: SqliteStoreOptions): Uint8Array {
    const params = o.kdf ?? DEFAULT_SCRYPT;
    checkParams(params);
    const salt = randomBytes(16);
    const kek = deriveKek(o.passphrase, salt, params);
    const { dek, wrapped } = newDataKey(kek);
    kek.fill(0);
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
    db.transaction(() => {
      db.exec(SCHEMA_V1);
      const put = db.prepare('INSERT INTO meta (key, value) VALUES (?, ?)');
      put.run('kdf', Buffer.from(JSON.stringify(params)));
      put.run('salt', Buffer.from(salt));
      put.run('dek', Buffer.from(wrapped));
      db.pragma(`user_version = ${SCHEMA_VERSION}`);
    })();
    return dek;
  }

  close(): void {
    this.dek.fill(0);
    if (this.db.open) this.db.close();
  }

  // ------------------------------------------------------------------ identity, vaults, shares

  async identity(): Promise<Uint8Array | undefined> {
    const r = this.db.prepare("SELECT sealed FROM identity WHERE id = 'self'").get() as Row | undefined;
    return r === undefined ? undefined : openRow(this.dek, 'identity', 'self', bytes(r.sealed));
  }

  async setIdentity(encoded: Uint8Array): Promise<void> {
    const sealed = sealRow(this.dek, 'identity', 'self', encoded);
    this.db.prepare("INSERT INTO identity (id, sealed) VALUES ('self', ?)").run(Buffer.from(sealed));
  }

  async vault(id: string): Promise<VaultRecord | undefined> {
    const r = this.db.prepare('SELECT json FROM vaults WHERE id = ?').get(id) as Row | undefined;
    return r === undefined ? undefined : (JSON.parse(String(r.json)) as VaultRecord);
  }

  async vaults(): Promise<VaultRecord[]> {
    const rows = this.db.prepare('SELECT json FROM vaults ORDER BY id').all() as Row[];
    return rows.map((r) => JSON.parse(String(r.json)) as VaultRecord);
  }

  async idTaken(id: string): Promise<boolean> {
    const v = this.db.prepare('SELECT 1 FROM vaults WHERE id = ?').get(id);
    const s = this.db.prepare('SELECT 1 FROM shares WHERE vault_id = ?').get(id);
    return v !== undefined || s !== undefined;
  }

  async share(vaultId: string): Promise<{ epoch: number; secret: Uint8Array } | undefined> {
    const r = this.db
      .prepare('SELECT epoch, sealed FROM shares WHERE vault_id = ? ORDER BY epoch DESC LIMIT 1')
      .get(vaultId) as Row | undefined;
    if (r === undefined) return undefined;
    const epoch = Number(r.epoch);
    return { epoch, secret: openRow(this.dek, 'shares', `${vaultId}:${epoch}`, bytes(r.sealed)) };
  }

  // ------------------------------------------------------------------ proposals and the DKG

  async proposal(id: string): Promise<ProposalRecord | undefined> {
    const r = this.db.prepare('SELECT * FROM proposals WHERE id = ?').get(id) as Row | undefined;
    return r === undefined ? undefined : proposalOf(r);
  }

  async proposals(): Promise<ProposalRecord[]> {
    return (this.db.prepare('SELECT * FROM proposals ORDER BY created_at').all() as Row[]).map(proposalOf);
  }

  async addProposal(p: ProposalRecord, d: DecisionRecord): Promise<boolean> {
    return this.db.transaction(() => {
      const r = this.db
        .prepare(
          'INSERT OR IGNORE INTO proposals (id, sid, payload, status, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?)',
        )
        .run(p.id, p.sid, Buffer.from(p.payload), p.status, p.createdAt, p.expiresAt);
      if (r.changes === 0) return false;
      this.insertDecision(d);
      return true;
    })();
  }

  async setProposalStatus(id: string, status: ProposalRecord['status']): Promise<void> {
    this.db.prepare('UPDATE proposals SET status = ? WHERE id = ?').run(status, id);
  }

  async dkg(id: string): Promise<DkgRecord | undefined> {
    const r = this.db.prepare('SELECT * FROM dkgs WHERE id = ?').get(id) as Row | undefined;
    if (r === undefined) return undefined;
    return {
      id: String(r.id),
      status: r.status as DkgRecord['status'],
      attempt: Number(r.attempt),
      abortCode: r.abort_code === null ? null : String(r.abort_code),
      updatedAt: Number(r.updated_at),
    };
  }

  async putDkg(d: DkgRecord): Promise<void> {
    this.db
      .prepare(
        'INSERT OR REPLACE INTO dkgs (id, status, attempt, abort_code, updated_at) VALUES (?, ?, ?, ?, ?)',
      )
      .run(d.id, d.status, d.attempt, d.abortCode, d.updatedAt);
  }

  async completeDkg(
    vault: VaultRecord,
    share: { epoch: number; secret: Uint8Array },
    now: number,
  ): Promise<void> {
    const sealed = sealRow(this.dek, 'shares', `${vault.id}:${share.epoch}`, share.secret);
    this.db.transaction(() => {
      if (this.db.prepare('SELECT 1 FROM vaults WHERE id = ?').get(vault.id) !== undefined) {
        throw new MemberError('VAULT_EXISTS', 'A vault with that id is already on this member.');
      }
      this.db.prepare('INSERT INTO vaults (id, json) VALUES (?, ?)').run(vault.id, JSON.stringify(vault));
      this.db
        .prepare('INSERT INTO shares (vault_id, epoch, sealed) VALUES (?, ?, ?)')
        .run(vault.id, share.epoch, Buffer.from(sealed));
      this.db
        .prepare("UPDATE dkgs SET status = 'done', abort_code = NULL, updated_at = ? WHERE id = ?")
        .run(now, vault.id);
      this.db.prepare("UPDATE proposals SET status = 'executed' WHERE id = ?").run(vault.id);
    })();
  }

  // ------------------------------------------------------------------ requests

  async request(id: string): Promise<RequestRecord | undefined> {
    const r = this.db.prepare('SELECT * FROM requests WHERE id = ?').get(id) as Row | undefined;
    return r === undefined ? undefined : requestOf(r);
  }

  async requests(): Promise<RequestRecord[]> {
    return (this.db.prepare('SELECT * FROM requests ORDER BY created_at').all() as Row[]).map(requestOf);
  }

  async addRequest(q: RequestRecord, d: DecisionRecord): Promise<boolean> {
    return this.db.transaction(() => {
      const r = this.db
        .prepare(
          'INSERT OR IGNORE INTO requests (id, vault_id, payload, status, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?)',
        )
        .run(q.id, q.vaultId, Buffer.from(q.payload), q.status, q.createdAt, q.expiresAt);
      if (r.changes === 0) return false;
      this.insertDecision(d);
      return true;
    })();
  }

  async decisions(subject: string): Promise<DecisionRecord[]> {
    const rows = this.db
      .prepare('SELECT * FROM decisions WHERE subject = ? ORDER BY created_at, device_id')
      .all(subject) as Row[];
    return rows.map((r) => ({
      subject: String(r.subject),
      deviceId: String(r.device_id),
      decision: r.decision as Decision,
      sig: bytes(r.sig),
      createdAt: Number(r.created_at),
    }));
  }

  async addDecision(d: DecisionRecord): Promise<boolean> {
    return this.insertDecision(d);
  }

  private insertDecision(d: DecisionRecord): boolean {
    const r = this.db
      .prepare(
        'INSERT OR IGNORE INTO decisions (subject, device_id, decision, sig, created_at) VALUES (?, ?, ?, ?, ?)',
      )
      .run(d.subject, d.deviceId, d.decision, Buffer.from(d.sig), d.createdAt);
    return r.changes > 0;
  }

  async attempt(requestId: string): Promise<AttemptState | undefined> {
    const r = this.db.prepare('SELECT json FROM attempts WHERE request_id = ?').get(requestId) as
      | Row
      | undefined;
    return r === undefined ? undefined : (JSON.parse(String(r.json)) as AttemptState);
  }

  async applyRequestChanges(id: string, c: RequestChanges): Promise<void> {
    this.db.transaction(() => {
      if (c.status !== undefined)
        this.db.prepare('UPDATE requests SET status = ? WHERE id = ?').run(c.status, id);
      for (const d of c.decisions ?? []) this.insertDecision(d);
      if (c.attempt !== undefined) {
        this.db
          .prepare('INSERT OR REPLACE INTO attempts (request_id, json) VALUES (?, ?)')
          .run(id, JSON.stringify(c.attempt));
      }
    })();
  }

  async signed(requestId: string): Promise<SignedRecord | undefined> {
    const r = this.db.prepare('SELECT * FROM signed WHERE request_id = ?').get(requestId) as Row | undefined;
    if (r === undefined) return undefined;
    return {
      requestId: String(r.request_id),
      raw: String(r.raw) as `0x${string}`,
      hash: String(r.hash) as `0x${string}`,
      createdAt: Number(r.created_at),
    };
  }

  async putSigned(s: SignedRecord): Promise<boolean> {
    return this.db.transaction(() => {
      const r = this.db
        .prepare('INSERT OR IGNORE INTO signed (request_id, raw, hash, created_at) VALUES (?, ?, ?, ?)')
        .run(s.requestId, s.raw, s.hash, s.createdAt);
      if (r.changes === 0) return false;
      this.db.prepare("UPDATE requests SET status = 'executed' WHERE id = ?").run(s.requestId);
      const a = this.db.prepare('SELECT json FROM attempts WHERE request_id = ?').get(s.requestId) as
        | Row
        | undefined;
      if (a !== undefined) {
        const attempt = { ...(JSON.parse(String(a.json)) as AttemptState), status: 'done' as const };
        this.db
          .prepare('UPDATE attempts SET json = ? WHERE request_id = ?')
          .run(JSON.stringify(attempt), s.requestId);
      }
      return true;
    })();
  }
}

function proposalOf(r: Row): ProposalRecord {
  return {
    id: String(r.id),
    sid: String(r.sid),
    payload: bytes(r.payload),
    status: r.status as ProposalRecord['status'],
    createdAt: Number(r.created_at),
    expiresAt: Number(r.expires_at),
  };
}

function requestOf(r: Row): RequestRecord {
  return {
    id: String(r.id),
    vaultId: String(r.vault_id),
    payload: bytes(r.payload),
    status: r.status as RequestStatus,
    createdAt: Number(r.created_at),
    expiresAt: Number(r.expires_at),
  };
}
