/**
 * Create, open and verify passphrase-encrypted backups of one party's key shares.
 *
 * Construction: scrypt (RFC 7914, OWASP parameters, `kdf.ts`) stretches the NFKC-normalised
 * passphrase with a random 32-byte salt; two tagged hashes of its output give the XChaCha20-Poly1305
 * key and a 16-byte key-check value; the AEAD seals this party's point shares with a random 24-byte
 * nonce and associated data binding format, version, vault id, party id, epoch and the whole header
 * (`format.ts`). Only this party's points are stored; never OT or pairwise state.
 *
 * Errors are `BackupError`s with distinct codes: `WRONG_PASSPHRASE` (key check fails, header intact),
 * `CORRUPT_BACKUP` with a `reason` (json, field, length, header-digest, authentication),
 * `UNSUPPORTED_BACKUP_VERSION`, `KDF_PARAMS_REJECTED`, `SHARE_MISMATCH`.
 *
 * Every reader accepts either a bare tss backup or the extension's device backup bundle wrapping one
 * (`bundle.ts`).
 *
 * A reshare does NOT revoke old backups (see README.md): after every reshare, make new backups and
 * destroy the old ones.
 */
import { xchacha20poly1305 } from '@noble/ciphers/chacha.js';
import { equalBytes, toHex, u32be, zeroize } from '../bytes.ts';
import { TssError } from '../errors.ts';
import { taggedHash } from '../hash.ts';
import { mulG, pointFromBytes, scalarFromBytes, scalarToBytes } from '../math/scalar.ts';
import { cryptoRandomBytes, type RandomBytes } from '../random.ts';
import { TAGS } from '../tags.ts';
import { shareBackupText } from './bundle.ts';
import { BackupError, corrupt } from './errors.ts';
import {
  associatedData,
  type EnvelopeV1,
  type HeaderV1,
  headerDigest,
  KEY_CHECK_BYTES,
  NONCE_BYTES,
  parseEnvelope,
  SALT_BYTES,
  serializeEnvelope,
  TAG_BYTES,
} from './format.ts';
import { checkScryptParams, DEFAULT_SCRYPT, deriveScrypt, kdfPolicy, type ScryptParams } from './kdf.ts';
import { type BackupSource, type ValidatedSource, validateSource, withRedaction } from './source.ts';

/**
 * Minimum passphrase length (Unicode code points), enforced even here in the core. The full
 * strength check (zxcvbn) lives in `strength.ts`, which callers must run before `createBackup`.
 */
export const MIN_PASSPHRASE_LENGTH = 12;
/** Longest passphrase accepted; bounds the work a hostile caller can ask of the KDF's input hashing. */
export const MAX_PASSPHRASE_LENGTH = 1024;

const PLAINTEXT_VERSION = 1;
const SHARE_ENTRY_BYTES = 4 + 32;

export interface CreateBackupOptions {
  /** Randomness for salt and nonce. Defaults to WebCrypto. */
  rng?: RandomBytes;
  /** scrypt parameters; defaults to `DEFAULT_SCRYPT` (N = 2^17, r = 8, p = 1). */
  kdf?: ScryptParams;
  /** TEST ONLY: lower the KDF floor so suites run fast. Never set in product code. */
  insecureTestKdf?: boolean;
}

export interface OpenBackupOptions {
  /** TEST ONLY: accept KDF parameters below the production floor. */
  insecureTestKdf?: boolean;
}

/** What a backup says about itself, public only. */
export interface BackupSummary {
  vaultId: string;
  epoch: number;
  groupPublicKey: string;
  threshold: number;
  totalPower: number;
  partyCount: number;
  partyId: string;
  power: number;
  points: number[];
  kdf: ScryptParams;
  /** True once the passphrase opened the file and every share matched its public share. */
  verified: boolean;
}

function checkPassphrase(passphrase: string): void {
  if (typeof passphrase !== 'string') throw new BackupError('WEAK_PASSPHRASE', 'passphrase must be a string');
  const len = [...passphrase.normalize('NFKC')].length;
  if (len < MIN_PASSPHRASE_LENGTH) {
    throw new BackupError(
      'WEAK_PASSPHRASE',
      `passphrase must be at least ${MIN_PASSPHRASE_LENGTH} characters (got ${len})`,
    );
  }
  if (len > MAX_PASSPHRASE_LENGTH) {
    throw new BackupError(
      'WEAK_PASSPHRASE',
      `passphrase must be at most ${MAX_PASSPHRASE_LENGTH} characters`,
    );
  }
}

function deriveKeys(kdfOut: Uint8Array): { key: Uint8Array; check: Uint8Array } {
  const key = taggedHash(TAGS.backupKey, kdfOut);
  const full = taggedHash(TAGS.backupKeyCheck, kdfOut);
  const check = full.slice(0, KEY_CHECK_BYTES);
  zeroize(full);
  return { key, check };
}

function encodeShares(shares: readonly { x: bigint; share: bigint }[]): Uint8Array {
  const out = new Uint8Array(1 + 4 + shares.length * SHARE_ENTRY_BYTES);
  out[0] = PLAINTEXT_VERSION;
  out.set(u32be(shares.length), 1);
  shares.forEach((s, i) => {
    const off = 5 + i * SHARE_ENTRY_BYTES;
    out.set(u32be(Number(s.x)), off);
    const b = scalarToBytes(s.share);
    out.set(b, off + 4);
    zeroize(b);
  });
  return out;
}

function decodeShares(pt: Uint8Array, expectedXs: readonly bigint[]): { x: bigint; share: bigint }[] {
  // Authenticated data that does not decode means a writer bug, not an attacker: still refuse.
  const view = new DataView(pt.buffer, pt.byteOffset, pt.byteLength);
  if (pt.length < 5 || pt[0] !== PLAINTEXT_VERSION)
    throw corrupt('field', 'sealed shares have an unknown layout');
  const count = view.getUint32(1, false);
  if (count !== expectedXs.length || pt.length !== 5 + count * SHARE_ENTRY_BYTES) {
    throw corrupt('length', 'sealed share count does not match the header');
  }
  const out: { x: bigint; share: bigint }[] = [];
  for (let i = 0; i < count; i++) {
    const off = 5 + i * SHARE_ENTRY_BYTES;
    const x = BigInt(view.getUint32(off, false));
    if (x !== expectedXs[i]) throw corrupt('field', 'sealed share points do not match the header');
    try {
      out.push({
        x,
        share: scalarFromBytes(pt.subarray(off + 4, off + 36), `share ${x}`, { nonZero: true }),
      });
    } catch (e) {
      throw corrupt('field', `sealed share for x = ${x} is not a valid scalar`, e);
    }
  }
  return out;
}

/** share·G == recorded public share, for every point (constant-time multiplication: shares are secret). */
function checkShares(src: BackupSource, onFail: (x: bigint) => never): void {
  src.pointShares.forEach((s, i) => {
    const P = pointFromBytes(src.publicShares[i]!.point, `public share ${s.x}`);
    if (!mulG(s.share).equals(P)) onFail(s.x);
  });
}

function headerOf(
  src: BackupSource,
  kdf: ScryptParams & { salt: Uint8Array },
  nonce: Uint8Array,
  keyCheck: Uint8Array,
): HeaderV1 {
  return {
    vaultId: src.vaultId.slice(),
    epoch: src.epoch,
    groupPublicKey: src.groupPublicKey.slice(),
    threshold: src.threshold,
    parties: src.parties.map((p) => ({
      id: p.id.slice(),
      power: p.power,
      points: p.points.map((x) => Number(x)),
    })),
    partyId: src.partyId.slice(),
    publicShares: src.publicShares.map((s) => ({ x: Number(s.x), point: s.point.slice() })),
    kdf,
    nonce,
    keyCheck,
  };
}

/**
 * Seal `src` under `passphrase`. Returns the backup file's text (UTF-8 JSON).
 * Callers must first run `assertStrongPassphrase` from `backup/strength.ts` (kept out of the core).
 */
export async function createBackup(
  src: BackupSource,
  passphrase: string,
  opts: CreateBackupOptions = {},
): Promise<string> {
  try {
    validateSource(src, 'backup source');
  } catch (e) {
    throw new BackupError('INVALID_SOURCE', e instanceof Error ? e.message : 'invalid backup source', {
      cause: e,
    });
  }
  // Never write a backup that could not restore: every share must match its public share.
  checkShares(src, (x) => {
    throw new BackupError('INVALID_SOURCE', `share for x = ${x} does not match its public share`);
  });
  checkPassphrase(passphrase);
  const params: ScryptParams = { ...(opts.kdf ?? DEFAULT_SCRYPT) };
  checkScryptParams(params, kdfPolicy(opts.insecureTestKdf));
  const rng = opts.rng ?? cryptoRandomBytes;
  const salt = rng(SALT_BYTES);
  const nonce = rng(NONCE_BYTES);
  const kdfOut = await deriveScrypt(passphrase, salt, params);
  const { key, check } = deriveKeys(kdfOut);
  const header = headerOf(src, { ...params, salt }, nonce, check);
  const plaintext = encodeShares(src.pointShares);
  try {
    const ciphertext = xchacha20poly1305(key, nonce, associatedData(header)).encrypt(plaintext);
    return serializeEnvelope({ header, headerDigest: headerDigest(header), ciphertext });
  } finally {
    zeroize(kdfOut, key, plaintext);
  }
}

interface Parsed {
  env: EnvelopeV1;
  /** The header as a source with placeholder shares: lets `validateSource` check semantics before any KDF work. */
  validated: ValidatedSource;
}

/** Parse and check everything that needs no passphrase. */
function parseAndCheck(text: string): Parsed {
  const env = parseEnvelope(text);
  const h = env.header;
  if (!equalBytes(headerDigest(h), env.headerDigest)) {
    throw corrupt('header-digest', 'the header does not match its digest (the file was damaged or edited)');
  }
  const publicSource: BackupSource = {
    vaultId: h.vaultId,
    epoch: h.epoch,
    groupPublicKey: h.groupPublicKey,
    threshold: h.threshold,
    parties: h.parties.map((p) => ({ id: p.id, power: p.power, points: p.points.map(BigInt) })),
    partyId: h.partyId,
    // Placeholder shares (1) only so the structural check can run; replaced after decryption.
    pointShares: h.publicShares.map((s) => ({ x: BigInt(s.x), share: 1n })),
    publicShares: h.publicShares.map((s) => ({ x: BigInt(s.x), point: s.point })),
  };
  let validated: ValidatedSource;
  try {
    validated = validateSource(publicSource, 'header');
  } catch (e) {
    if (e instanceof TssError) throw corrupt('field', e.message.replace(/^[A-Z_]+: /, ''), e);
    throw e;
  }
  const expectedCt = 5 + h.publicShares.length * SHARE_ENTRY_BYTES + TAG_BYTES;
  if (env.ciphertext.length !== expectedCt) {
    throw corrupt(
      'length',
      `ciphertext must be ${expectedCt} bytes for ${h.publicShares.length} points, got ${env.ciphertext.length}`,
    );
  }
  return { env, validated };
}

function summarize(v: ValidatedSource, kdf: ScryptParams, verified: boolean): BackupSummary {
  const s = v.source;
  return {
    vaultId: toHex(s.vaultId),
    epoch: s.epoch,
    groupPublicKey: toHex(s.groupPublicKey),
    threshold: s.threshold,
    totalPower: v.params.totalPower,
    partyCount: v.params.parties.length,
    partyId: toHex(s.partyId),
    power: v.points.length,
    points: v.points.map((x) => Number(x)),
    kdf: { N: kdf.N, r: kdf.r, p: kdf.p },
    verified,
  };
}

/**
 * Read the public header without the passphrase (checks format, digest and semantics).
 * `text` is a tss backup or a device backup bundle wrapping one (`bundle.ts`), as for all readers here.
 */
export function inspectBackup(text: string): BackupSummary {
  const { env, validated } = parseAndCheck(shareBackupText(text));
  return summarize(validated, env.header.kdf, false);
}

/**
 * Decrypt a backup and return the `BackupSource` it was made from (for restoring a device or for
 * recovery). Every share is checked against its recorded public share before returning.
 */
export async function openBackup(
  text: string,
  passphrase: string,
  opts: OpenBackupOptions = {},
): Promise<BackupSource> {
  const { env, validated } = parseAndCheck(shareBackupText(text));
  const h = env.header;
  checkScryptParams(h.kdf, kdfPolicy(opts.insecureTestKdf));
  if (typeof passphrase !== 'string' || passphrase.length > 4 * MAX_PASSPHRASE_LENGTH) {
    throw new BackupError('WRONG_PASSPHRASE', 'the passphrase does not open this backup');
  }
  const kdfOut = await deriveScrypt(passphrase, h.kdf.salt, h.kdf);
  const { key, check } = deriveKeys(kdfOut);
  let plaintext: Uint8Array | undefined;
  try {
    if (!equalBytes(check, h.keyCheck)) {
      throw new BackupError('WRONG_PASSPHRASE', 'the passphrase does not open this backup');
    }
    try {
      plaintext = xchacha20poly1305(key, h.nonce, associatedData(h)).decrypt(env.ciphertext);
    } catch (e) {
      throw corrupt(
        'authentication',
        'the passphrase is right but the encrypted shares or the header they are bound to were modified',
        e,
      );
    }
    const src: BackupSource = {
      ...validated.source,
      pointShares: decodeShares(plaintext, validated.points),
    };
    checkShares(src, (x) => {
      throw new BackupError(
        'SHARE_MISMATCH',
        `decrypted share for x = ${x} does not match its recorded public share`,
      );
    });
    return withRedaction(src);
  } finally {
    zeroize(kdfOut, key, check, plaintext);
  }
}

/**
 * Verify without reveal (THREATS D75): the passphrase opens the file and each share matches its
 * recorded public share (share·G == P). Does not rebuild the key; returns only public facts.
 */
export async function verifyBackup(
  text: string,
  passphrase: string,
  opts: OpenBackupOptions = {},
): Promise<BackupSummary> {
  const share = shareBackupText(text);
  const src = await openBackup(share, passphrase, opts);
  const summary = summarize(validateSource(src, 'backup'), parseEnvelope(share).header.kdf, true);
  // Drop the shares from memory as far as JS allows (bigints cannot be overwritten).
  src.pointShares.length = 0;
  return summary;
}
