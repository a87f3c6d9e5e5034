/**
 * Calldata → a tree of decoded calls, synchronously and without any network: the selector picks a
 * function from the standard families (abis.ts), viem's ABI decoder reads the arguments (Solidity
 * ABI spec, "Formal Specification of the Encoding"), and multicalls are opened into their inner
 * calls, recursively but bounded. Nothing here throws on hostile input: bad bytes become a
 * `malformed` node carrying a typed error, and the raw calldata is kept on every node.
 *
 * A decoding is "canonical" when re-encoding the decoded arguments gives back exactly the input; a
 * non-canonical call has bytes the decoded view does not account for (appended data, unusual
 * offsets), which the describer reports rather than hides.
 */
import {
  type AbiParameter,
  type Address,
  decodeFunctionData,
  encodeFunctionData,
  getAddress,
  type Hex,
  isHex,
} from 'viem';
import { type Family, KNOWN_FUNCTIONS, type KnownFunction } from './abis.ts';
import { DescribeError } from './errors.ts';

/** Deepest nesting of multicalls inside multicalls a signer is asked to review. */
export const MAX_CALL_DEPTH = 4;
/** Most calls (all levels together) one request may contain. */
export const MAX_CALLS = 64;

/** A decoded argument: a leaf with its value as text, or a tuple/array with children. */
export type ArgNode =
  | { name: string; type: string; value: string }
  | { name: string; type: string; children: ArgNode[] };

interface CallBase {
  /** The contract the call goes to (checksummed). */
  to: Address;
  /** Wei sent with the call, as a decimal string. */
  value: string;
  /** The raw calldata, always kept so a signer can inspect it. */
  data: Hex;
  /** First four bytes, or null when there are fewer. */
  selector: Hex | null;
  depth: number;
  /** One plain sentence; filled in by the interpreter (interpret.ts). */
  summary: string;
}

export interface DecodedCall extends CallBase {
  status: 'decoded';
  family: Family;
  functionName: string;
  signature: string;
  args: ArgNode[];
  canonical: boolean;
  /** Inner calls of a multicall, in execution order; empty otherwise. */
  inner: CallNode[];
  /** Decoded argument values as viem returned them, for the interpreter. Not serialised. */
  readonly decoded?: readonly unknown[];
}

export interface EmptyCall extends CallBase {
  status: 'empty';
}

export interface UnknownCall extends CallBase {
  status: 'unknown';
}

export interface MalformedCall extends CallBase {
  status: 'malformed';
  error: { code: DescribeError['code']; message: string };
}

export type CallNode = DecodedCall | EmptyCall | UnknownCall | MalformedCall;

interface Budget {
  calls: number;
}

/** Decodes one call (and its inner calls). Never throws. */
export function decodeCall(to: Address, data: string, value: bigint = 0n): CallNode {
  return decodeAt(to, data, value, 0, { calls: 0 });
}

function decodeAt(to: Address, data: string, value: bigint, depth: number, budget: Budget): CallNode {
  budget.calls += 1;
  const base = { to, value: value.toString(), depth, summary: '' };
  if (typeof data !== 'string' || !isHex(data, { strict: true }) || data.length % 2 !== 0) {
    return malformed(
      base,
      '0x',
      null,
      new DescribeError('CALLDATA_NOT_HEX', 'calldata is not 0x-prefixed hex bytes'),
    );
  }
  const hex = data.toLowerCase() as Hex;
  if (hex === '0x') return { ...base, status: 'empty', data: hex, selector: null };
  if (hex.length < 10) {
    return malformed(
      base,
      hex,
      null,
      new DescribeError(
        'CALLDATA_NOT_HEX',
        `calldata has ${(hex.length - 2) / 2} bytes, fewer than a 4-byte selector`,
      ),
    );
  }
  const selector = hex.slice(0, 10) as Hex;
  const fn = KNOWN_FUNCTIONS.get(selector);
  if (!fn) return { ...base, status: 'unknown', data: hex, selector };

  let args: readonly unknown[];
  try {
    args = decodeFunctionData({ abi: [fn.abi], data: hex }).args ?? [];
  } catch (e) {
    return malformed(
      base,
      hex,
      selector,
      new DescribeError(
        'CALLDATA_MALFORMED',
        `calldata starts with the selector of ${fn.signature} but its arguments do not decode (${firstLine(e)})`,
      ),
    );
  }
  let canonical = false;
  try {
    canonical = encodeFunctionData({ abi: [fn.abi], functionName: fn.abi.name, args }).toLowerCase() === hex;
  } catch {
    canonical = false;
  }
  const node: DecodedCall = {
    ...base,
    status: 'decoded',
    data: hex,
    selector,
    family: fn.family,
    functionName: fn.abi.name,
    signature: fn.signature,
    args: fn.abi.inputs.map((p, i) => argNode(p, args[i])),
    canonical,
    inner: [],
  };
  Object.defineProperty(node, 'decoded', { value: args, enumerable: false });
  if (fn.family === 'multicall') {
    const inner = innerCalls(fn, args, to);
    if (depth + 1 > MAX_CALL_DEPTH || budget.calls + inner.length > MAX_CALLS) {
      return malformed(
        base,
        hex,
        selector,
        new DescribeError(
          'CALLDATA_TOO_DEEP',
          `the multicall nests deeper than ${MAX_CALL_DEPTH} levels or holds more than ${MAX_CALLS} calls`,
        ),
      );
    }
    for (const c of inner) {
      const child = decodeAt(c.to, c.data, c.value, depth + 1, budget);
      if (child.status === 'malformed' && child.error.code === 'CALLDATA_TOO_DEEP') {
        // A too-deep branch makes the whole call unreviewable, not just that branch.
        return malformed(base, hex, selector, new DescribeError('CALLDATA_TOO_DEEP', child.error.message));
      }
      node.inner.push(child);
    }
  }
  return node;
}

function malformed(
  base: Omit<CallBase, 'data' | 'selector'>,
  data: Hex,
  selector: Hex | null,
  error: DescribeError,
): MalformedCall {
  return { ...base, status: 'malformed', data, selector, error: error.toJSON() };
}

function firstLine(e: unknown): string {
  const msg = e instanceof Error ? e.message : String(e);
  return (msg.split('\n')[0] ?? '').slice(0, 200);
}

interface Inner {
  to: Address;
  data: string;
  value: bigint;
}

/** The inner calls of each multicall shape; `self` calls (bytes[]) go to the multicall's own target. */
function innerCalls(fn: KnownFunction, args: readonly unknown[], self: Address): Inner[] {
  const asRecord = (x: unknown) => x as Record<string, unknown>;
  switch (fn.abi.name) {
    case 'multicall': {
      const list = args[args.length - 1] as readonly Hex[];
      return list.map((data) => ({ to: self, data, value: 0n }));
    }
    case 'aggregate':
    case 'aggregate3':
    case 'aggregate3Value': {
      const list = args[0] as readonly unknown[];
      return list.map((c) => ({
        to: getAddress(asRecord(c).target as string),
        data: asRecord(c).callData as string,
        value: (asRecord(c).value as bigint | undefined) ?? 0n,
      }));
    }
    case 'tryAggregate': {
      const list = args[1] as readonly unknown[];
      return list.map((c) => ({
        to: getAddress(asRecord(c).target as string),
        data: asRecord(c).callData as string,
        value: 0n,
      }));
    }
    default:
      return [];
  }
}

/** A serialisable view of one decoded argument (bigints as decimal text, addresses checksummed). */
export function argNode(param: AbiParameter, value: unknown): ArgNode {
  const name = param.name ?? '';
  const type = param.type;
  if (type.endsWith(']')) {
    const elemType = type.slice(0, type.lastIndexOf('['));
    const elem = { ...param, type: elemType, name: '' } as AbiParameter;
    const list = value as readonly unknown[];
    return { name, type, children: list.map((v, i) => ({ ...argNode(elem, v), name: `${i}` })) };
  }
  if (type === 'tuple') {
    const comps = (param as { components?: readonly AbiParameter[] }).components ?? [];
    const rec = value as Record<string, unknown> & readonly unknown[];
    return {
      name,
      type,
      children: comps.map((c, i) => argNode(c, c.name !== undefined && c.name in rec ? rec[c.name] : rec[i])),
    };
  }
  if (typeof value === 'bigint') return { name, type, value: value.toString() };
  if (typeof value === 'boolean') return { name, type, value: value ? 'true' : 'false' };
  if (type === 'address' && typeof value === 'string') return { name, type, value: getAddress(value) };
  return { name, type, value: String(value) };
}
