/**
 * The backup file: a versioned JSON envelope (UTF-8 text), strict to parse.
 *
 * ```json
 * {
 *   "format": "concord-tss-backup",
 *   "version": 1,
 *   "header": {
 *     "vaultId": "<64 hex>", "epoch": 3, "groupPublicKey": "<66 hex>", "threshold": 3,
 *     "parties": [{ "id": "<64 hex>", "power": 2, "points": [1, 2] }, ...],
 *     "partyId": "<64 hex>",
 *     "publicShares": [{ "x": 1, "point": "<66 hex>" }, { "x": 2, "point": "<66 hex>" }],
 *     "kdf": { "name": "scrypt", "N": 131072, "r": 8, "p": 1, "dkLen": 32, "salt": "<64 hex>" },
 *     "aead": { "name": "xchacha20-poly1305", "nonce": "<48 hex>" },
 *     "keyCheck": "<32 hex>"
 *   },
 *   "headerDigest": "<64 hex>",
 *   "ciphertext": "<hex>"
 * }
 * ```
 *
 * Why each part:
 * - `format`/`version` first, so an unknown version is reported as such, not as a corrupt file.
 * - Everything public sits in `header`, readable without the passphrase (the recovery tool groups
 *   files by vault and epoch before asking for passphrases).
 * - The AEAD associated data binds format, version, vault id, party id and epoch explicitly, plus
 *   the canonical re-encoding of the whole header, so no public field can be swapped between files.
 * - `headerDigest` (a tagged SHA-256 of the canonical header) detects damage or naive edits without
 *   the passphrase, and keeps a modified salt or KDF field from masquerading as a wrong passphrase.
 * - `keyCheck` (16 bytes derived from the KDF output) tells "wrong passphrase" apart from "right
 *   passphrase, modified ciphertext". It gives an attacker nothing the AEAD tag does not already give
 *   (both cost one scrypt evaluation per guess).
 * - Parsing is strict: unknown keys are refused, because an unauthenticated extra field is a place
 *   to hide things, and hex must be lowercase with exact lengths, so the canonical form is unique.
 */
import { fromHex, toHex, u32be, utf8 } from '../bytes.ts';
import { taggedHash } from '../hash.ts';
import { TAGS } from '../tags.ts';
import { BackupError, corrupt } from './errors.ts';
import type { ScryptParams } from './kdf.ts';

export const BACKUP_FORMAT = 'concord-tss-backup';
export const BACKUP_VERSION = 1;
export const SALT_BYTES = 32;
export const NONCE_BYTES = 24; // XChaCha20: random nonces are safe at this size
export const KEY_CHECK_BYTES = 16;
export const TAG_BYTES = 16;
/** Upper bound on the file size we are willing to parse (a backup is a few kilobytes). */
export const MAX_FILE_CHARS = 1 << 20;

export interface HeaderV1 {
  vaultId: Uint8Array;
  epoch: number;
  groupPublicKey: Uint8Array;
  threshold: number;
  parties: { id: Uint8Array; power: number; points: number[] }[];
  partyId: Uint8Array;
  publicShares: { x: number; point: Uint8Array }[];
  kdf: ScryptParams & { salt: Uint8Array };
  nonce: Uint8Array;
  keyCheck: Uint8Array;
}

export interface EnvelopeV1 {
  header: HeaderV1;
  headerDigest: Uint8Array;
  ciphertext: Uint8Array;
}

/** The header as JSON-ready values, keys in the fixed canonical order. */
function headerJson(h: HeaderV1): Record<string, unknown> {
  return {
    vaultId: toHex(h.vaultId),
    epoch: h.epoch,
    groupPublicKey: toHex(h.groupPublicKey),
    threshold: h.threshold,
    parties: h.parties.map((p) => ({ id: toHex(p.id), power: p.power, points: [...p.points] })),
    partyId: toHex(h.partyId),
    publicShares: h.publicShares.map((s) => ({ x: s.x, point: toHex(s.point) })),
    kdf: { name: 'scrypt', N: h.kdf.N, r: h.kdf.r, p: h.kdf.p, dkLen: 32, salt: toHex(h.kdf.salt) },
    aead: { name: 'xchacha20-poly1305', nonce: toHex(h.nonce) },
    keyCheck: toHex(h.keyCheck),
  };
}

/** Canonical bytes of the header: the fixed-order JSON of the parsed values. */
export function canonicalHeader(h: HeaderV1): Uint8Array {
  return utf8(JSON.stringify(headerJson(h)));
}

export function headerDigest(h: HeaderV1): Uint8Array {
  return taggedHash(TAGS.backupHeader, canonicalHeader(h));
}

/** AEAD associated data: the binding fields named explicitly, then the whole canonical header. */
export function associatedData(h: HeaderV1): Uint8Array {
  return taggedHash(
    TAGS.backupAd,
    utf8(BACKUP_FORMAT),
    u32be(BACKUP_VERSION),
    h.vaultId,
    h.partyId,
    u32be(h.epoch),
    canonicalHeader(h),
  );
}

export function serializeEnvelope(env: EnvelopeV1): string {
  return `${JSON.stringify(
    {
      format: BACKUP_FORMAT,
      version: BACKUP_VERSION,
      header: headerJson(env.header),
      headerDigest: toHex(env.headerDigest),
      ciphertext: toHex(env.ciphertext),
    },
    null,
    2,
  )}\n`;
}

// ---- strict parsing -------------------------------------------------------------------------

type Obj = Record<string, unknown>;

function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function obj(v: unknown, path: string, keys: readonly string[]): Obj {
  if (!isObj(v)) throw corrupt('field', `${path} must be an object`);
  for (const k of Object.keys(v)) {
    if (!keys.includes(k)) throw corrupt('field', `${path} has an unknown field "${k}"`);
  }
  for (const k of keys) {
    if (!(k in v)) throw corrupt('field', `${path}.${k} is missing`);
  }
  return v;
}

function int(v: unknown, path: string, min: number, max: number): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min || v > max) {
    throw corrupt('field', `${path} must be an integer in ${min}..${max}`);
  }
  return v;
}

function hex(v: unknown, path: string, len?: number): Uint8Array {
  if (typeof v !== 'string' || !/^([0-9a-f]{2})*$/.test(v)) {
    throw corrupt('field', `${path} must be lowercase hex`);
  }
  if (len !== undefined && v.length !== 2 * len) {
    throw corrupt('length', `${path} must be ${len} bytes, got ${v.length / 2}`);
  }
  return fromHex(v, path);
}

function list(v: unknown, path: string, max: number): unknown[] {
  if (!Array.isArray(v)) throw corrupt('field', `${path} must be a list`);
  if (v.length > max) throw corrupt('field', `${path} has more than ${max} entries`);
  return v;
}

/** Parse the text of a backup file. Checks shape and lengths only; semantics are checked later. */
export function parseEnvelope(text: string): EnvelopeV1 {
  if (typeof text !== 'string') throw corrupt('json', 'backup must be text');
  if (text.length > MAX_FILE_CHARS)
    throw corrupt('json', `backup is larger than ${MAX_FILE_CHARS} characters`);
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw corrupt('json', 'backup is not valid JSON (the file is damaged or not a Concord backup)', e);
  }
  if (!isObj(raw)) throw corrupt('json', 'backup must be a JSON object');
  if (raw.format !== BACKUP_FORMAT)
    throw corrupt('field', `not a Concord backup (format must be "${BACKUP_FORMAT}")`);
  if (raw.version !== BACKUP_VERSION) {
    throw new BackupError(
      'UNSUPPORTED_BACKUP_VERSION',
      `backup format version ${JSON.stringify(raw.version)} is not supported (this tool reads version ${BACKUP_VERSION})`,
    );
  }
  const top = obj(raw, 'backup', ['format', 'version', 'header', 'headerDigest', 'ciphertext']);
  const h = obj(top.header, 'header', [
    'vaultId',
    'epoch',
    'groupPublicKey',
    'threshold',
    'parties',
    'partyId',
    'publicShares',
    'kdf',
    'aead',
    'keyCheck',
  ]);
  const parties = list(h.parties, 'header.parties', 256).map((pv, i) => {
    const p = obj(pv, `header.parties[${i}]`, ['id', 'power', 'points']);
    return {
      id: hex(p.id, `header.parties[${i}].id`, 32),
      power: int(p.power, `header.parties[${i}].power`, 1, 256),
      points: list(p.points, `header.parties[${i}].points`, 256).map((x, k) =>
        int(x, `header.parties[${i}].points[${k}]`, 0, 2 ** 32),
      ),
    };
  });
  const publicShares = list(h.publicShares, 'header.publicShares', 256).map((sv, i) => {
    const s = obj(sv, `header.publicShares[${i}]`, ['x', 'point']);
    return {
      x: int(s.x, `header.publicShares[${i}].x`, 0, 2 ** 32),
      point: hex(s.point, `header.publicShares[${i}].point`, 33),
    };
  });
  const kdf = obj(h.kdf, 'header.kdf', ['name', 'N', 'r', 'p', 'dkLen', 'salt']);
  if (kdf.name !== 'scrypt') throw corrupt('field', 'header.kdf.name must be "scrypt"');
  if (kdf.dkLen !== 32) throw corrupt('field', 'header.kdf.dkLen must be 32');
  const aead = obj(h.aead, 'header.aead', ['name', 'nonce']);
  if (aead.name !== 'xchacha20-poly1305')
    throw corrupt('field', 'header.aead.name must be "xchacha20-poly1305"');
  const header: HeaderV1 = {
    vaultId: hex(h.vaultId, 'header.vaultId', 32),
    epoch: int(h.epoch, 'header.epoch', 0, 0xffffffff),
    groupPublicKey: hex(h.groupPublicKey, 'header.groupPublicKey', 33),
    threshold: int(h.threshold, 'header.threshold', 1, 256),
    parties,
    partyId: hex(h.partyId, 'header.partyId', 32),
    publicShares,
    kdf: {
      // Range-checked loosely here (integers); the KDF policy gives the real, explained bounds.
      N: int(kdf.N, 'header.kdf.N', 1, 2 ** 40),
      r: int(kdf.r, 'header.kdf.r', 1, 2 ** 20),
      p: int(kdf.p, 'header.kdf.p', 1, 2 ** 20),
      salt: hex(kdf.salt, 'header.kdf.salt', SALT_BYTES),
    },
    nonce: hex(aead.nonce, 'header.aead.nonce', NONCE_BYTES),
    keyCheck: hex(h.keyCheck, 'header.keyCheck', KEY_CHECK_BYTES),
  };
  const ciphertext = hex(top.ciphertext, 'ciphertext');
  if (ciphertext.length < TAG_BYTES + 1) throw corrupt('length', 'ciphertext is too short');
  return { header, headerDigest: hex(top.headerDigest, 'headerDigest', 32), ciphertext };
}
