/**
 * The request kinds: a closed union, extended here and nowhere else. Each kind is one module with
 *  - `wire` / `encode` / `decode`: the body's canonical JSON form and its strict parse;
 *  - `digests`: what the ceremony signs, recomputed by every device from the raw body (a send: the
 *    EIP-1559 signing hash; a reshare: nothing, its certificate covers the request);
 *  - `describe`: the raw body turned into what a person approves (refusing what cannot be shown);
 *  - `session`: the bridge session kind its request runs in.
 * A new kind (a personal message, EIP-712 typed data, a call batch) adds a module with these five
 * members and one entry in `KINDS`; the request envelope, decisions, tally, attempts and expiry
 * (request.ts, co-approval.ts) do not change, and the compiler points at every `switch` on the kind.
 */
import * as v from 'valibot';
import { type MessageBody, type MessageDescription, message } from './message.ts';
import { type ReshareBody, type ReshareDescription, reshare } from './reshare.ts';
import { type SendBody, type SendDescription, send } from './send.ts';
import { type TypedDataBody, type TypedDataDescription, typedData } from './typed-data.ts';

export const KINDS = { send, reshare, message, 'typed-data': typedData } as const;

export type RequestKind = keyof typeof KINDS;
export type RequestBody = SendBody | ReshareBody | MessageBody | TypedDataBody;
export type BodyDescription =
  | SendDescription
  | ReshareDescription
  | MessageDescription
  | TypedDataDescription;
/** Kinds whose ceremony is a threshold signature with the group key (one digest each). */
export type SigningBody = SendBody | MessageBody | TypedDataBody;

/** The wire schema of any body (a valibot variant on `kind`). */
export const BodySchema = v.variant('kind', [
  KINDS.send.wire,
  KINDS.reshare.wire,
  KINDS.message.wire,
  KINDS['typed-data'].wire,
]);

export function encodeBody(b: RequestBody) {
  switch (b.kind) {
    case 'send':
      return KINDS.send.encode(b);
    case 'reshare':
      return KINDS.reshare.encode(b);
    case 'message':
      return KINDS.message.encode(b);
    case 'typed-data':
      return KINDS['typed-data'].encode(b);
  }
}

export function decodeBody(w: v.InferOutput<typeof BodySchema>): RequestBody {
  switch (w.kind) {
    case 'send':
      return KINDS.send.decode(w);
    case 'reshare':
      return KINDS.reshare.decode(w);
    case 'message':
      return KINDS.message.decode(w);
    case 'typed-data':
      return KINDS['typed-data'].decode(w);
  }
}

/** The digest(s) the ceremony of this body signs, recomputed from its raw bytes. */
export function bodyDigests(b: RequestBody): Uint8Array[] {
  switch (b.kind) {
    case 'send':
      return KINDS.send.digests(b);
    case 'reshare':
      return KINDS.reshare.digests(b);
    case 'message':
      return KINDS.message.digests(b);
    case 'typed-data':
      return KINDS['typed-data'].digests(b);
  }
}

/** The raw body as a person approves it; throws `RequestError`/`VaultError` if it cannot be shown. */
export function describeBody(b: RequestBody): BodyDescription {
  switch (b.kind) {
    case 'send':
      return KINDS.send.describe(b);
    case 'reshare':
      return KINDS.reshare.describe(b);
    case 'message':
      return KINDS.message.describe(b);
    case 'typed-data':
      return KINDS['typed-data'].describe(b);
  }
}

/** The bridge session kind a request of this body runs in. */
export function sessionKind(b: Pick<RequestBody, 'kind'>): 'sign' | 'reshare' {
  return KINDS[b.kind].session;
}

/** True for a body signed by the group key (a send, a message, typed data), not a reshare. */
export function isSigningBody(b: RequestBody): b is SigningBody {
  return KINDS[b.kind].session === 'sign';
}

/** The requesting site's origin a body carries, or null (a request made in the wallet). */
export function bodyOrigin(b: RequestBody): string | null {
  return b.kind === 'reshare' ? null : (b.origin ?? null);
}
