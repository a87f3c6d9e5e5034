/**
 * The bytes a device signs to authenticate to a bridge (BRIDGE.md §5):
 * `u32 |tag| ‖ tag ‖ u32 |origin| ‖ origin ‖ challenge(32) ‖ pubkey(32)`, tag `concord/bridge/auth/v1`.
 * Binding the server origin stops a malicious relay from forwarding our signature to another relay
 * (THREATS B31, "aud for another relay"); binding the public key stops a signature from being
 * claimed for a different device. Length prefixes make the encoding unambiguous.
 */
export const AUTH_TAG = 'concord/bridge/auth/v1';
export const CHALLENGE_BYTES = 32;

const enc = new TextEncoder();

function u32(n: number): Uint8Array {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, n, false);
  return b;
}

export function authMessage(serverOrigin: string, challenge: Uint8Array, deviceId: Uint8Array): Uint8Array {
  if (challenge.length !== CHALLENGE_BYTES) throw new RangeError('challenge must be 32 bytes');
  if (deviceId.length !== 32) throw new RangeError('device id must be 32 bytes');
  const tag = enc.encode(AUTH_TAG);
  const origin = enc.encode(serverOrigin);
  const out = new Uint8Array(8 + tag.length + origin.length + 64);
  let off = 0;
  for (const part of [u32(tag.length), tag, u32(origin.length), origin, challenge, deviceId]) {
    out.set(part, off);
    off += part.length;
  }
  return out;
}

/**
 * The origin string a client binds into its signature: `ws[s]://host[:port]` of the URL it dialed
 * (lowercase host, default ports dropped, no path). The server is configured with the same value.
 */
export function originOf(url: string): string {
  const u = new URL(url);
  const scheme = u.protocol === 'https:' ? 'wss:' : u.protocol === 'http:' ? 'ws:' : u.protocol;
  return `${scheme}//${u.host.toLowerCase()}`;
}
