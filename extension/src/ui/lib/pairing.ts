/**
 * Checks a pasted device code before anything is sent, so the invite field can say at once what is
 * wrong: not a Concord code, cut off, this device's own code, or a device already in the list. The
 * shape is `concord-device-v1.<base64url public identity>.<XXXX-XXXX-XXXX fingerprint>`
 * (tss/src/transport/identity.ts); the background still verifies the key and binding signature
 * (`device.inspect`) before a code is added.
 */

const PREFIX = 'concord-device-v1';
/** Crockford base32 without I, L, O, U, in three groups of four. */
const FINGERPRINT = /^[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}$/;
/** Public identity: 1 + 1 + 32 + 32 + 64 bytes = 130 bytes → 174 base64url characters. */
const IDENTITY_B64_LENGTH = 174;

export type PairingCheck =
  | { ok: true; fingerprint: string; code: string }
  | { ok: false; reason: 'empty' | 'malformed' | 'own' | 'duplicate'; message: string };

export interface PairingContext {
  /** This device's own code. */
  ownCode?: string | null;
  /** Fingerprints already in the list (or already members of the vault). */
  taken?: readonly string[];
}

export function checkDeviceCode(text: string, c: PairingContext = {}): PairingCheck {
  const code = text.trim();
  if (code === '') return { ok: false, reason: 'empty', message: 'Paste the other device’s code.' };
  const parts = code.split('.');
  if (parts[0] !== PREFIX) {
    return {
      ok: false,
      reason: 'malformed',
      message: 'This is not a Concord device code: it starts with “concord-device-v1.”',
    };
  }
  if (parts.length !== 3) {
    return {
      ok: false,
      reason: 'malformed',
      message: 'This code is incomplete: copy the whole code from the other device again.',
    };
  }
  const body = parts[1] ?? '';
  const fingerprint = (parts[2] ?? '').toUpperCase();
  if (
    !/^[A-Za-z0-9_-]+$/.test(body) ||
    body.length !== IDENTITY_B64_LENGTH ||
    !FINGERPRINT.test(fingerprint)
  ) {
    return {
      ok: false,
      reason: 'malformed',
      message: 'This code is damaged or cut off: copy the whole code from the other device again.',
    };
  }
  const own = c.ownCode?.trim().split('.');
  if (own !== undefined && (own[1] === body || (own[2] ?? '').toUpperCase() === fingerprint)) {
    return {
      ok: false,
      reason: 'own',
      message: 'This is this device’s own code. Paste the code shown on the other device.',
    };
  }
  if (c.taken?.some((f) => f.toUpperCase() === fingerprint)) {
    return {
      ok: false,
      reason: 'duplicate',
      message: `Device ${fingerprint} is already in the list.`,
    };
  }
  return { ok: true, fingerprint, code };
}
