/**
 * The dApp origin a signing request carries (THREATS C 46, 56): the origin the initiator's browser
 * reported for the requesting page (never what the page claimed), shown on every co-signer's
 * screen and checked there for lookalikes by the describer's origin module. On the wire it is the
 * serialised origin exactly as the URL standard produces it (`scheme://host[:port]`), so one origin
 * has one byte string; only https and http on this machine are accepted, as for the content script.
 */
import * as v from 'valibot';
import { RequestError } from '../errors.ts';

export const MAX_ORIGIN_LENGTH = 256;

export const OriginWire = v.pipe(v.string(), v.minLength(8), v.maxLength(MAX_ORIGIN_LENGTH));

const LOCAL_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]']);

/** Why `origin` cannot be a request's origin, or null. */
export function originProblem(origin: string): string | null {
  let url: URL;
  try {
    url = new URL(origin);
  } catch {
    return 'the origin is not a URL origin';
  }
  if (url.origin !== origin) return 'the origin is not in its serialised form';
  if (url.protocol === 'https:') return null;
  if (url.protocol === 'http:' && LOCAL_HOSTS.has(url.hostname)) return null;
  return 'the origin is neither https nor http on this machine';
}

/** Parses an optional wire origin; throws RequestError for a malformed one. */
export function decodeOrigin(o: string | undefined): string | null {
  if (o === undefined) return null;
  const problem = originProblem(o);
  if (problem !== null) throw new RequestError(problem);
  return o;
}

/** The wire fragment of an optional origin (absent when null, so old bodies keep their bytes). */
export function encodeOrigin(o: string | null): { origin?: string } {
  return o === null ? {} : { origin: o };
}
