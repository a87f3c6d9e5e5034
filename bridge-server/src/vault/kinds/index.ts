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
import { type ReshareBody, type ReshareDescription, reshare } from './reshare.ts';
import { type SendBody, type SendDescription, send } from './send.ts';

export const KINDS = { send, reshare } as const;

export type RequestKind = keyof typeof KINDS;
export type RequestBody = SendBody | ReshareBody;
export type BodyDescription = SendDescription | ReshareDescription;

/** The wire schema of any body (a valibot variant on `kind`). */
export const BodySchema = v.variant('kind', [KINDS.send.wire, KINDS.reshare.wire]);

export function encodeBody(b: RequestBody) {
  return b.kind === 'send' ? KINDS.send.encode(b) : KINDS.reshare.encode(b);
}

export function decodeBody(w: v.InferOutput<typeof BodySchema>): RequestBody {
  return w.kind === 'send' ? KINDS.send.decode(w) : KINDS.reshare.decode(w);
}

/** The digest(s) the ceremony of this body signs, recomputed from its raw bytes. */
export function bodyDigests(b: RequestBody): Uint8Array[] {
  return b.kind === 'send' ? KINDS.send.digests(b) : KINDS.reshare.digests(b);
}

/** The raw body as a person approves it; throws `RequestError`/`VaultError` if it cannot be shown. */
export function describeBody(b: RequestBody): BodyDescription {
  return b.kind === 'send' ? KINDS.send.describe(b) : KINDS.reshare.describe(b);
}

/** The bridge session kind a request of this body runs in. */
export function sessionKind(b: Pick<RequestBody, 'kind'>): 'sign' | 'reshare' {
  return KINDS[b.kind].session;
}
