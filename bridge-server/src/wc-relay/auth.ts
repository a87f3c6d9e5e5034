/**
 * Admission of a WalletConnect client at the WebSocket upgrade: the query the 2.x clients append to
 * the relay URL (`auth`, `projectId`, `ua`, `useOnCloseEvent`, ...; see `formatRelayRpcUrl` in
 * @walletconnect/utils) and the `auth` JWT of @walletconnect/relay-auth: a compact JWS with header
 * `{alg: "EdDSA", typ: "JWT"}` and payload `{iss, sub, aud, iat, exp}` (seconds), signed with the
 * client's Ed25519 key, whose public key is the `iss` as a did:key (W3C did:key, multicodec 0xed01
 * `ed25519-pub`, base58btc with the `z` multibase prefix). The `iss` is the client id; the relay
 * uses it to tell a publisher from the other subscribers of a topic.
 */
import { ed25519 } from '@noble/curves/ed25519.js';
import { base58, base64urlnopad } from '@scure/base';
import * as v from 'valibot';
import { WcRelayError } from './errors.ts';

export interface ClientIdentity {
  /** The did:key of the client's relay key (the JWT's `iss`). */
  clientId: string;
  projectId: string;
  /** User agent the client declared (`wc-2/js-2.25.0/...`), for logs. */
  ua: string;
}

const MULTICODEC_ED25519_PUB = [0xed, 0x01] as const;

/** Decode `did:key:z…` to a 32-byte Ed25519 public key, or throw. */
export function publicKeyFromDidKey(did: string): Uint8Array {
  const m = /^did:key:z([1-9A-HJ-NP-Za-km-z]{40,60})$/.exec(did);
  if (!m?.[1]) throw new WcRelayError('UNAUTHORIZED', 'JWT iss is not an Ed25519 did:key');
  let bytes: Uint8Array;
  try {
    bytes = base58.decode(m[1]);
  } catch {
    throw new WcRelayError('UNAUTHORIZED', 'JWT iss is not valid base58btc');
  }
  if (
    bytes.length !== 34 ||
    bytes[0] !== MULTICODEC_ED25519_PUB[0] ||
    bytes[1] !== MULTICODEC_ED25519_PUB[1]
  ) {
    throw new WcRelayError('UNAUTHORIZED', 'JWT iss is not an ed25519-pub multicodec key');
  }
  return bytes.slice(2);
}

const HeaderSchema = v.object({ alg: v.literal('EdDSA'), typ: v.literal('JWT') });
const PayloadSchema = v.object({
  iss: v.pipe(v.string(), v.maxLength(128)),
  sub: v.pipe(v.string(), v.maxLength(256)),
  aud: v.pipe(v.string(), v.maxLength(512)),
  iat: v.pipe(v.number(), v.integer()),
  exp: v.pipe(v.number(), v.integer()),
});

function decodeJsonPart(part: string, what: string): unknown {
  try {
    return JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(base64urlnopad.decode(part)));
  } catch {
    throw new WcRelayError('UNAUTHORIZED', `JWT ${what} is not base64url JSON`);
  }
}

/** Normalise a relay URL for comparison with the JWT's `aud` (no query, no trailing slash). */
export function normaliseAudience(url: string): string {
  return url.split('?')[0]!.replace(/\/+$/, '');
}

/**
 * Verify a relay-auth JWT. `audiences` are the relay URLs this relay answers to (normalised); the
 * JWT must name one of them, be unexpired, not issued in the future beyond `skewMs`, and carry a
 * valid Ed25519 signature by its `iss` over `header.payload` (RFC 7515 §5.2, RFC 8037).
 */
export function verifyRelayJwt(
  jwt: string,
  audiences: ReadonlySet<string>,
  nowMs: number,
  skewMs: number,
): string {
  const parts = jwt.split('.');
  if (parts.length !== 3) throw new WcRelayError('UNAUTHORIZED', 'auth is not a compact JWT');
  const [h, p, s] = parts as [string, string, string];
  if (!v.safeParse(HeaderSchema, decodeJsonPart(h, 'header')).success) {
    throw new WcRelayError('UNAUTHORIZED', 'JWT header must be {alg: EdDSA, typ: JWT}');
  }
  const payload = v.safeParse(PayloadSchema, decodeJsonPart(p, 'payload'));
  if (!payload.success) throw new WcRelayError('UNAUTHORIZED', 'JWT payload lacks iss, sub, aud, iat or exp');
  const { iss, aud, iat, exp } = payload.output;
  const publicKey = publicKeyFromDidKey(iss);
  let signature: Uint8Array;
  try {
    signature = base64urlnopad.decode(s);
  } catch {
    throw new WcRelayError('UNAUTHORIZED', 'JWT signature is not base64url');
  }
  // zip215: false is RFC 8032's strict decoding: no non-canonical or small-order keys or R values.
  const ok =
    signature.length === 64 &&
    ed25519.verify(signature, new TextEncoder().encode(`${h}.${p}`), publicKey, { zip215: false });
  if (!ok) throw new WcRelayError('UNAUTHORIZED', 'JWT signature does not verify for its iss');
  if (!audiences.has(normaliseAudience(aud))) {
    throw new WcRelayError('UNAUTHORIZED', `JWT aud ${JSON.stringify(aud.slice(0, 100))} is not this relay`);
  }
  if (exp * 1000 <= nowMs) throw new WcRelayError('UNAUTHORIZED', 'JWT has expired');
  if (iat * 1000 > nowMs + skewMs) throw new WcRelayError('UNAUTHORIZED', 'JWT is issued in the future');
  return iss;
}

const PROJECT_ID = /^[A-Za-z0-9_-]{1,64}$/;

/** Admit an upgrade request's URL (path and query), or throw `UNAUTHORIZED` saying why. */
export function admit(
  requestUrl: string,
  audiences: ReadonlySet<string>,
  nowMs: number,
  skewMs: number,
  allowedProjectIds?: ReadonlySet<string>,
): ClientIdentity {
  const query = new URL(requestUrl, 'ws://relay.invalid').searchParams;
  const auth = query.get('auth');
  if (!auth) throw new WcRelayError('UNAUTHORIZED', 'missing auth query parameter (relay-auth JWT)');
  const projectId = query.get('projectId') ?? '';
  if (!PROJECT_ID.test(projectId)) throw new WcRelayError('UNAUTHORIZED', 'missing or malformed projectId');
  if (allowedProjectIds && !allowedProjectIds.has(projectId)) {
    throw new WcRelayError('UNAUTHORIZED', 'projectId is not allowed on this relay');
  }
  const clientId = verifyRelayJwt(auth, audiences, nowMs, skewMs);
  return { clientId, projectId, ua: (query.get('ua') ?? '').slice(0, 200) };
}
