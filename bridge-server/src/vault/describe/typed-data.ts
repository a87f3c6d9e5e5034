/**
 * EIP-712 typed data: strict parsing, the digest, and a readable tree. The JSON is parsed once,
 * rejecting duplicate keys (two parsers could otherwise read two different requests from one
 * body), checked against the EIP-712 shape with valibot, and every value is normalised against its
 * declared type (EIP-712 "Definition of encodeData"): integers from JSON numbers, decimal or hex
 * strings, range-checked for their width; addresses, bytesN, bools and fixed-size arrays checked
 * exactly; fields not declared by their struct refused (they would be shown but not signed). The
 * digest is viem's `hashTypedData` over the normalised value — the same bytes the signer signs.
 */
import * as v from 'valibot';
import { getAddress, type Hex, hashTypedData, isAddress, isHex, type TypedDataDefinition } from 'viem';
import type { ArgNode } from './calldata.ts';
import { DescribeError } from './errors.ts';

export interface TypedField {
  name: string;
  type: string;
}

export interface ParsedTypedData {
  types: Record<string, TypedField[]>;
  primaryType: string;
  /** Normalised: integers as bigint, addresses checksummed, hex lower-case. */
  domain: Record<string, unknown>;
  message: Record<string, unknown>;
  /** `domain.chainId` as a number, or null when the domain has none. */
  chainId: number | null;
  digest: Hex;
}

export interface TypedDataView {
  primaryType: string;
  digest: Hex;
  domain: ArgNode[];
  message: ArgNode[];
  /** The plain sentence for a known primary type, or null for generic typed data. */
  sentence: string | null;
}

const MAX_JSON_LENGTH = 256 * 1024;
const MAX_DEPTH = 16;

const FieldSchema = v.strictObject({
  name: v.pipe(v.string(), v.regex(/^[A-Za-z_$][A-Za-z0-9_$]*$/, 'a field name must be an identifier')),
  type: v.pipe(v.string(), v.regex(/^[A-Za-z_$][A-Za-z0-9_$]*(\[\d*\])*$/, 'not an EIP-712 type')),
});
const TypedDataSchema = v.object({
  types: v.record(v.pipe(v.string(), v.regex(/^[A-Za-z_$][A-Za-z0-9_$]*$/)), v.array(FieldSchema)),
  primaryType: v.string(),
  domain: v.record(v.string(), v.unknown()),
  message: v.record(v.string(), v.unknown()),
});

/** The EIP712Domain fields in the order EIP-712 lists them, with their types. */
const DOMAIN_FIELDS: readonly TypedField[] = [
  { name: 'name', type: 'string' },
  { name: 'version', type: 'string' },
  { name: 'chainId', type: 'uint256' },
  { name: 'verifyingContract', type: 'address' },
  { name: 'salt', type: 'bytes32' },
];

function invalid(message: string): DescribeError {
  return new DescribeError('TYPED_DATA_INVALID', message);
}

/** Throws TYPED_DATA_INVALID if any object in the JSON text repeats a key. */
export function assertNoDuplicateKeys(text: string): void {
  const stack: { keys: Set<string> | null; expectKey: boolean }[] = [];
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '{') stack.push({ keys: new Set(), expectKey: true });
    else if (c === '[') stack.push({ keys: null, expectKey: false });
    else if (c === '}' || c === ']') stack.pop();
    else if (c === ',') {
      const top = stack[stack.length - 1];
      if (top?.keys) top.expectKey = true;
    } else if (c === '"') {
      let j = i + 1;
      while (j < text.length && text[j] !== '"') j += text[j] === '\\' ? 2 : 1;
      const top = stack[stack.length - 1];
      if (top?.keys && top.expectKey) {
        const key = JSON.parse(text.slice(i, j + 1)) as string;
        if (top.keys.has(key)) throw invalid(`the JSON repeats the key "${key.slice(0, 64)}" in one object`);
        top.keys.add(key);
        top.expectKey = false;
      }
      i = j;
    }
  }
}

function baseType(type: string): { base: string; dims: (number | null)[] } {
  const dims: (number | null)[] = [];
  let t = type;
  for (let m = /\[(\d*)\]$/.exec(t); m; m = /\[(\d*)\]$/.exec(t)) {
    dims.unshift(m[1] === '' ? null : Number(m[1]));
    t = t.slice(0, m.index);
  }
  return { base: t, dims };
}

function toInteger(value: unknown, path: string): bigint {
  if (typeof value === 'bigint') return value;
  if (typeof value === 'number') {
    if (!Number.isSafeInteger(value))
      throw invalid(`${path}: ${value} is not an exact integer (send large numbers as strings)`);
    return BigInt(value);
  }
  if (typeof value === 'string') {
    if (/^-?[0-9]+$/.test(value)) return BigInt(value);
    if (/^0x[0-9a-fA-F]+$/.test(value)) return BigInt(value);
  }
  throw invalid(`${path}: expected an integer, got ${JSON.stringify(value)?.slice(0, 80)}`);
}

function normaliseAtomic(type: string, value: unknown, path: string): unknown {
  const int = /^(u?)int(\d*)$/.exec(type);
  if (int) {
    const bits = int[2] === '' ? 256 : Number(int[2]);
    if (bits < 8 || bits > 256 || bits % 8 !== 0)
      throw invalid(`${path}: ${type} is not a valid integer type`);
    const n = toInteger(value, path);
    const [min, max] =
      int[1] === 'u'
        ? [0n, 2n ** BigInt(bits) - 1n]
        : [-(2n ** BigInt(bits - 1)), 2n ** BigInt(bits - 1) - 1n];
    if (n < min || n > max) throw invalid(`${path}: ${n} does not fit ${type}`);
    return n;
  }
  if (type === 'address') {
    if (typeof value !== 'string' || !isAddress(value, { strict: false }))
      throw invalid(`${path}: not an address`);
    return getAddress(value);
  }
  if (type === 'bool') {
    if (typeof value !== 'boolean') throw invalid(`${path}: expected true or false`);
    return value;
  }
  if (type === 'string') {
    if (typeof value !== 'string') throw invalid(`${path}: expected a string`);
    return value;
  }
  if (type === 'bytes') {
    if (typeof value !== 'string' || !isHex(value, { strict: true }) || value.length % 2 !== 0) {
      throw invalid(`${path}: expected 0x-hex bytes`);
    }
    return value.toLowerCase();
  }
  const fixed = /^bytes(\d+)$/.exec(type);
  if (fixed) {
    const size = Number(fixed[1]);
    if (size < 1 || size > 32) throw invalid(`${path}: ${type} is not a valid type`);
    if (typeof value !== 'string' || !isHex(value, { strict: true }) || value.length !== 2 + 2 * size) {
      throw invalid(`${path}: expected exactly ${size} bytes of 0x-hex`);
    }
    return value.toLowerCase();
  }
  throw invalid(`${path}: unknown type ${type}`);
}

function normalise(
  types: Record<string, TypedField[]>,
  type: string,
  value: unknown,
  path: string,
  depth: number,
): unknown {
  if (depth > MAX_DEPTH) throw invalid(`${path}: nested deeper than ${MAX_DEPTH} levels`);
  const { base, dims } = baseType(type);
  if (dims.length > 0) {
    if (!Array.isArray(value)) throw invalid(`${path}: expected an array`);
    const want = dims[dims.length - 1];
    if (want !== null && want !== undefined && value.length !== want) {
      throw invalid(`${path}: expected ${want} elements, got ${value.length}`);
    }
    const inner = type.slice(0, type.lastIndexOf('['));
    return value.map((x, i) => normalise(types, inner, x, `${path}[${i}]`, depth + 1));
  }
  const struct = types[base];
  if (!struct) return normaliseAtomic(base, value, path);
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw invalid(`${path}: expected a ${base} object`);
  const rec = value as Record<string, unknown>;
  const declared = new Set(struct.map((f) => f.name));
  for (const k of Object.keys(rec)) {
    if (!declared.has(k))
      throw invalid(`${path}.${k}: not a field of ${base}, so it would be shown but not signed`);
  }
  const out: Record<string, unknown> = {};
  for (const f of struct) {
    if (!(f.name in rec)) throw invalid(`${path}.${f.name}: missing`);
    out[f.name] = normalise(types, f.type, rec[f.name], `${path}.${f.name}`, depth + 1);
  }
  return out;
}

/** Parses and validates `eth_signTypedData_v4` input (the JSON string, or the already-parsed object). */
export function parseTypedData(input: unknown): ParsedTypedData {
  let obj: unknown = input;
  if (typeof input === 'string') {
    if (input.length > MAX_JSON_LENGTH)
      throw invalid(`the typed data is longer than ${MAX_JSON_LENGTH} characters`);
    try {
      obj = JSON.parse(input);
    } catch (e) {
      throw invalid(`the typed data is not JSON (${e instanceof Error ? e.message : String(e)})`);
    }
    assertNoDuplicateKeys(input);
  }
  const parsed = v.safeParse(TypedDataSchema, obj);
  if (!parsed.success) {
    const issue = parsed.issues[0];
    const where = issue.path?.map((p) => String(p.key)).join('.') ?? '';
    throw invalid(
      `the typed data does not have the EIP-712 shape${where ? ` at ${where}` : ''}: ${issue.message}`,
    );
  }
  const { primaryType } = parsed.output;
  const types: Record<string, TypedField[]> = { ...parsed.output.types };
  if (primaryType === 'EIP712Domain')
    throw invalid('the primary type is EIP712Domain: that signs no message');
  if (!types[primaryType]) throw invalid(`the primary type ${primaryType} is not defined in types`);
  const domainFields = types.EIP712Domain ?? DOMAIN_FIELDS.filter((f) => f.name in parsed.output.domain);
  for (const f of domainFields) {
    const std = DOMAIN_FIELDS.find((d) => d.name === f.name);
    if (!std || std.type !== f.type)
      throw invalid(`EIP712Domain.${f.name}: not a standard domain field of type ${std?.type ?? '…'}`);
  }
  types.EIP712Domain = domainFields;
  for (const [name, fields] of Object.entries(types)) {
    const seen = new Set<string>();
    for (const f of fields) {
      if (seen.has(f.name)) throw invalid(`${name}.${f.name}: declared twice`);
      seen.add(f.name);
      const { base } = baseType(f.type);
      if (!types[base]) normaliseTypeCheck(base, `${name}.${f.name}`);
    }
  }
  const domain = normalise(types, 'EIP712Domain', parsed.output.domain, 'domain', 0) as Record<
    string,
    unknown
  >;
  const message = normalise(types, primaryType, parsed.output.message, 'message', 0) as Record<
    string,
    unknown
  >;
  let digest: Hex;
  try {
    digest = hashTypedData({ domain, types, primaryType, message } as unknown as TypedDataDefinition);
  } catch (e) {
    throw invalid(
      `the typed data cannot be hashed (${(e instanceof Error ? e.message : String(e)).split('\n')[0]})`,
    );
  }
  const chainId = domain.chainId === undefined ? null : Number(domain.chainId as bigint);
  return { types, primaryType, domain, message, chainId, digest };
}

const ATOMIC = /^(u?int(\d*)|address|bool|string|bytes(\d*))$/;
function normaliseTypeCheck(base: string, where: string): void {
  if (!ATOMIC.test(base)) throw invalid(`${where}: type ${base} is neither atomic nor defined in types`);
}

/** A readable tree of one struct value (field names, declared types, values as text). */
export function typedTree(
  types: Record<string, TypedField[]>,
  type: string,
  value: unknown,
  name = '',
): ArgNode {
  const { base, dims } = baseType(type);
  if (dims.length > 0) {
    const inner = type.slice(0, type.lastIndexOf('['));
    return { name, type, children: (value as unknown[]).map((x, i) => typedTree(types, inner, x, `${i}`)) };
  }
  const struct = types[base];
  if (struct) {
    const rec = value as Record<string, unknown>;
    return { name, type, children: struct.map((f) => typedTree(types, f.type, rec[f.name], f.name)) };
  }
  return { name, type, value: typeof value === 'bigint' ? value.toString() : String(value) };
}
