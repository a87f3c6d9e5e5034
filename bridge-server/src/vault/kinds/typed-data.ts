/**
 * Request kind `typed-data`: EIP-712 structured data (`eth_signTypedData_v4`). The body carries the
 * typed data as *canonical JSON* — built only by `canonicalTypedData` — so one request has one byte
 * string and two devices can never read two different requests from one body:
 *  - parsed strictly by describe/typed-data.ts (duplicate keys, undeclared fields and
 *    out-of-range values refused, every value normalised against its declared type);
 *  - `types` with EIP712Domain first, then the other structs by name; each struct's fields, the
 *    domain and the message in their declared order; integers as decimal strings, addresses
 *    checksummed (EIP-55), bytes lower-case hex.
 * Every device re-parses the body, refuses it unless it is exactly the canonical form, and
 * recomputes the digest the ceremony signs with viem's `hashTypedData` (EIP-712 "Specification of
 * the eth_signTypedData JSON RPC"). A `domain.chainId` other than the request's chain is refused
 * (THREATS C 53): the signature would be valid on another chain than the one the signers approved.
 */

import * as v from 'valibot';
import { hexToBytes } from 'viem';
import { DescribeError } from '../describe/errors.ts';
import { type ParsedTypedData, parseTypedData } from '../describe/typed-data.ts';
import { RequestError } from '../errors.ts';
import { decodeOrigin, encodeOrigin, OriginWire } from './origin.ts';

/** Longest canonical typed-data JSON a request may carry. */
export const MAX_TYPED_DATA_CHARS = 64 * 1024;

export interface TypedDataBody {
  kind: 'typed-data';
  /** The chain the requesting site was on; `domain.chainId`, when present, must equal it. */
  chainId: number;
  origin: string | null;
  /** Canonical JSON of the typed data (`canonicalTypedData`). */
  data: string;
}

export interface TypedDataDescription {
  kind: 'typed-data';
  origin: string | null;
  primaryType: string;
  /** `domain.chainId`, or null when the domain names no chain (the describer warns). */
  domainChainId: number | null;
  digest: `0x${string}`;
}

export const typedDataWire = v.strictObject({
  kind: v.literal('typed-data'),
  chainId: v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(2 ** 53 - 1)),
  origin: v.optional(OriginWire),
  data: v.pipe(v.string(), v.minLength(2), v.maxLength(MAX_TYPED_DATA_CHARS)),
});

function canonicalOf(p: ParsedTypedData): string {
  const names = Object.keys(p.types)
    .filter((n) => n !== 'EIP712Domain')
    .sort();
  const types: Record<string, { name: string; type: string }[]> = {};
  for (const n of ['EIP712Domain', ...names]) {
    types[n] = (p.types[n] ?? []).map((f) => ({ name: f.name, type: f.type }));
  }
  // Values are already normalised in declared field order; integers become decimal strings.
  return JSON.stringify(
    { types, primaryType: p.primaryType, domain: p.domain, message: p.message },
    (_k, x: unknown) => (typeof x === 'bigint' ? x.toString(10) : x),
  );
}

function parse(input: unknown): ParsedTypedData {
  try {
    return parseTypedData(input);
  } catch (e) {
    if (e instanceof DescribeError) throw new RequestError(`typed data refused: ${e.message}`);
    throw e;
  }
}

/**
 * The canonical JSON of `eth_signTypedData_v4` input (the JSON string a dApp sent, or its object);
 * throws RequestError when the typed data is malformed.
 */
export function canonicalTypedData(input: unknown): string {
  const out = canonicalOf(parse(input));
  if (out.length > MAX_TYPED_DATA_CHARS) throw new RequestError('typed data is too large');
  return out;
}

/** Why typed data for `chainId` must be refused (its domain names another chain), or null. */
export function typedDataChainProblem(p: Pick<ParsedTypedData, 'chainId'>, chainId: number): string | null {
  if (p.chainId === null || p.chainId === chainId) return null;
  return `the typed data is for chain ${p.chainId}, but the request is for chain ${chainId}`;
}

export const typedData = {
  kind: 'typed-data',
  session: 'sign',
  wire: typedDataWire,
  encode(b: TypedDataBody) {
    return { kind: 'typed-data', chainId: b.chainId, ...encodeOrigin(b.origin), data: b.data };
  },
  decode(w: v.InferOutput<typeof typedDataWire>): TypedDataBody {
    const p = parse(w.data);
    if (canonicalOf(p) !== w.data) throw new RequestError('typed data is not in canonical form');
    const problem = typedDataChainProblem(p, w.chainId);
    if (problem !== null) throw new RequestError(problem);
    return { kind: 'typed-data', chainId: w.chainId, origin: decodeOrigin(w.origin), data: w.data };
  },
  digests(b: TypedDataBody): Uint8Array[] {
    return [hexToBytes(parse(b.data).digest)];
  },
  describe(b: TypedDataBody): TypedDataDescription {
    const p = parse(b.data);
    const problem = typedDataChainProblem(p, b.chainId);
    if (problem !== null) throw new RequestError(problem);
    return {
      kind: 'typed-data',
      origin: b.origin,
      primaryType: p.primaryType,
      domainChainId: p.chainId,
      digest: p.digest,
    };
  },
} as const;
