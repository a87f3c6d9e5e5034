/**
 * The extension's backup file: a *device backup bundle* that carries this device's share backup (the
 * exact text of a tss `concord-tss-backup` file, which `concord-recover` reads on its own) and this
 * device's identity key, sealed under the same passphrase. With both, a lost or reinstalled browser
 * can come back as the *same* signer (same device id, so the vault's member list and every peer's
 * keys still hold) and rejoin through a refresh; with the share part alone, the offline recovery tool
 * still rebuilds the key from a threshold of backups.
 *
 * ```json
 * { "format": "concord-device-backup", "version": 1,
 *   "share": "<tss backup text>",
 *   "device": { "kdf": { "N": 131072, "r": 8, "p": 1, "salt": "<64 hex>" },
 *               "nonce": "<48 hex>", "ciphertext": "<hex>" } }
 * ```
 *
 * Device part: scrypt (RFC 7914, OWASP N=2^17 r=8 p=1 by default, floor enforced on read) →
 * XChaCha20-Poly1305, associated data = tag ‖ SHA-256(share text) ‖ KDF parameters, so the device
 * part cannot be moved into another bundle or have its parameters weakened unnoticed. The identity
 * key is as sensitive as the share (it authorises this device's approvals), which is why it travels
 * only inside the same passphrase-sealed file.
 */

import { DEVICE_BACKUP_FORMAT } from '@concord/tss/backup';
import { fromHex } from '@concord/tss/bytes';
import { xchacha20poly1305 } from '@noble/ciphers/chacha.js';
import { sha256 } from '@noble/hashes/sha2.js';
import * as v from 'valibot';
import type { RandomBytes } from '../../crypto/aead.ts';
import { deriveKek } from '../../crypto/kdf.ts';
import { concatBytes, toHex, u32be, utf8, zeroize } from '../../shared/bytes.ts';
import { ExtensionError } from '../../shared/errors.ts';

export const DEVICE_BACKUP_VERSION = 1;
const AD_TAG = utf8('concord/device-backup/identity/v1');
const SALT_BYTES = 32;
const NONCE_BYTES = 24;

export interface DeviceKdf {
  N: number;
  r: number;
  p: number;
}

/** Production parameters (OWASP scrypt minimum), also the floor accepted on read. */
export const DEVICE_KDF: DeviceKdf = { N: 2 ** 17, r: 8, p: 1 };

const HexN = (n: number) => v.pipe(v.string(), v.regex(new RegExp(`^[0-9a-f]{${n}}$`)));
const BundleSchema = v.strictObject({
  format: v.literal(DEVICE_BACKUP_FORMAT),
  version: v.literal(DEVICE_BACKUP_VERSION),
  share: v.pipe(v.string(), v.maxLength(1 << 20)),
  device: v.strictObject({
    kdf: v.strictObject({
      N: v.pipe(v.number(), v.integer(), v.minValue(2), v.maxValue(2 ** 20)),
      r: v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(16)),
      p: v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(4)),
      salt: HexN(SALT_BYTES * 2),
    }),
    nonce: HexN(NONCE_BYTES * 2),
    ciphertext: v.pipe(v.string(), v.maxLength(4096), v.regex(/^(?:[0-9a-f]{2})+$/)),
  }),
});

type Bundle = v.InferOutput<typeof BundleSchema>;

function associatedData(share: string, kdf: DeviceKdf & { salt: string }): Uint8Array {
  return concatBytes(AD_TAG, sha256(utf8(share)), u32be(kdf.N), u32be(kdf.r), u32be(kdf.p), utf8(kdf.salt));
}

/** The keyring's scrypt (NFKC passphrase, yielding to the event loop) with this file's parameters. */
function derive(passphrase: string, salt: Uint8Array, kdf: DeviceKdf): Promise<Uint8Array> {
  return deriveKek(passphrase, salt, { alg: 'scrypt', N: kdf.N, r: kdf.r, p: kdf.p, dkLen: 32 });
}

/** Wraps a tss backup text and this device's encoded identity into one bundle text. */
export async function sealDeviceBackup(
  shareText: string,
  identitySecret: Uint8Array,
  passphrase: string,
  rng: RandomBytes,
  kdf: DeviceKdf = DEVICE_KDF,
): Promise<string> {
  const salt = rng(SALT_BYTES);
  const nonce = rng(NONCE_BYTES);
  const params = { ...kdf, salt: toHex(salt) };
  const key = await derive(passphrase, salt, kdf);
  try {
    const ct = xchacha20poly1305(key, nonce, associatedData(shareText, params)).encrypt(identitySecret);
    const bundle: Bundle = {
      format: DEVICE_BACKUP_FORMAT,
      version: DEVICE_BACKUP_VERSION,
      share: shareText,
      device: { kdf: params, nonce: toHex(nonce), ciphertext: toHex(ct) },
    };
    return `${JSON.stringify(bundle, null, 2)}\n`;
  } finally {
    zeroize(key);
  }
}

export interface ParsedBundle {
  shareText: string;
  /** Absent for a bare tss backup file (share only, no device identity). */
  device: Bundle['device'] | undefined;
}

/** Reads a bundle or a bare tss backup text; anything else is `BACKUP_INVALID`. */
export function parseDeviceBackup(text: string): ParsedBundle {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new ExtensionError(
      'BACKUP_INVALID',
      'This file is not a Concord backup, or it is damaged (it is not JSON).',
    );
  }
  const format = (json as { format?: unknown } | null)?.format;
  if (format !== DEVICE_BACKUP_FORMAT) return { shareText: text, device: undefined };
  if ((json as { version?: unknown }).version !== DEVICE_BACKUP_VERSION) {
    throw new ExtensionError(
      'BACKUP_INVALID',
      'This backup was made by a newer Concord; update and try again.',
    );
  }
  const r = v.safeParse(BundleSchema, json);
  if (!r.success) throw new ExtensionError('BACKUP_INVALID', 'This backup file is damaged or was modified.');
  return { shareText: r.output.share, device: r.output.device };
}

/**
 * Opens the device part with the backup passphrase; returns the encoded identity (caller zeroes it).
 * `floor` is the weakest accepted KDF (tests pass a lower one).
 */
export async function openDeviceIdentity(
  parsed: ParsedBundle,
  passphrase: string,
  floor: DeviceKdf = DEVICE_KDF,
): Promise<Uint8Array> {
  const d = parsed.device;
  if (d === undefined) {
    throw new ExtensionError(
      'BACKUP_INVALID',
      'This file holds a share only (no device identity), so it cannot restore a device. It still works with concord-recover.',
    );
  }
  if (d.kdf.N * d.kdf.r < floor.N * floor.r || d.kdf.r < floor.r || d.kdf.p < floor.p) {
    throw new ExtensionError(
      'BACKUP_INVALID',
      'This backup uses key-derivation settings weaker than Concord accepts.',
    );
  }
  const key = await derive(passphrase, fromHex(d.kdf.salt), d.kdf);
  try {
    return xchacha20poly1305(key, fromHex(d.nonce), associatedData(parsed.shareText, d.kdf)).decrypt(
      fromHex(d.ciphertext),
    );
  } catch {
    throw new ExtensionError(
      'BACKUP_INVALID',
      'Wrong passphrase for this backup (or the file was modified).',
    );
  } finally {
    zeroize(key);
  }
}
