/**
 * Parameter schemas (valibot) of the dApp methods the wallet answers itself, and of the read-only
 * methods it forwards. A mismatch becomes EIP-1474 -32602 with a message naming the method and what
 * was wrong, never a generic failure.
 */
import { rpcErrors } from '@metamask/rpc-errors';
import * as v from 'valibot';

const HexQuantity = v.pipe(
  v.string(),
  v.regex(/^0x(0|[1-9a-fA-F][0-9a-fA-F]*)$/, 'expected a hex quantity like 0x1'),
);
const HexData = v.pipe(v.string(), v.regex(/^0x([0-9a-fA-F]{2})*$/, 'expected 0x-prefixed hex bytes'));
const Address = v.pipe(v.string(), v.regex(/^0x[0-9a-fA-F]{40}$/, 'expected a 20-byte 0x address'));
const Hash = v.pipe(v.string(), v.regex(/^0x[0-9a-fA-F]{64}$/, 'expected a 32-byte 0x hash'));
const BlockTag = v.union(
  [
    v.picklist(['latest', 'earliest', 'pending', 'safe', 'finalized']),
    HexQuantity,
    v.object({ blockHash: Hash }),
  ],
  'expected a block number or tag',
);
const CallRequest = v.looseObject({
  from: v.optional(Address),
  to: v.optional(v.nullable(Address)),
  data: v.optional(HexData),
  input: v.optional(HexData),
  value: v.optional(HexQuantity),
  gas: v.optional(HexQuantity),
});
const Url = v.pipe(v.string(), v.maxLength(2048));

export const ChainIdParam = v.pipe(
  HexQuantity,
  v.check((s) => {
    const n = Number.parseInt(s, 16);
    return n >= 1 && Number.isSafeInteger(n);
  }, 'chainId out of range'),
);

export const PermissionRequest = v.strictTuple(
  [
    v.pipe(
      v.record(v.string(), v.looseObject({})),
      v.check((r) => 'eth_accounts' in r, 'only eth_accounts can be requested'),
    ),
  ],
  'expected [{ eth_accounts: {} }]',
);

export const SwitchChainParams = v.strictTuple(
  [v.looseObject({ chainId: ChainIdParam })],
  'expected [{ chainId }]',
);

export const AddChainParams = v.strictTuple(
  [
    v.looseObject({
      chainId: ChainIdParam,
      chainName: v.pipe(v.string(), v.trim(), v.minLength(1, 'chainName is required'), v.maxLength(64)),
      rpcUrls: v.pipe(v.array(Url), v.minLength(1, 'rpcUrls needs at least one URL'), v.maxLength(8)),
      nativeCurrency: v.optional(
        v.looseObject({
          name: v.pipe(v.string(), v.maxLength(64)),
          symbol: v.pipe(v.string(), v.minLength(1), v.maxLength(12)),
          decimals: v.literal(18, 'nativeCurrency.decimals must be 18'),
        }),
      ),
      blockExplorerUrls: v.optional(v.nullable(v.pipe(v.array(Url), v.maxLength(8)))),
    }),
  ],
  'expected [{ chainId, chainName, rpcUrls, nativeCurrency }]',
);

export const CapabilitiesParams = v.union(
  [v.strictTuple([Address]), v.strictTuple([Address, v.pipe(v.array(ChainIdParam), v.maxLength(32))])],
  'expected [address] or [address, chainIds]',
);

/** Positional parameters of the forwarded read-only methods (unlisted ones take any short array). */
const FORWARDED: Record<string, v.GenericSchema> = {
  eth_blockNumber: v.strictTuple([]),
  eth_gasPrice: v.strictTuple([]),
  eth_chainId: v.strictTuple([]),
  eth_call: v.union([
    v.strictTuple([CallRequest]),
    v.strictTuple([CallRequest, BlockTag]),
    v.strictTuple([CallRequest, BlockTag, v.looseObject({})]),
  ]),
  eth_estimateGas: v.union([v.strictTuple([CallRequest]), v.strictTuple([CallRequest, BlockTag])]),
  eth_getBalance: v.union([v.strictTuple([Address]), v.strictTuple([Address, BlockTag])]),
  eth_getCode: v.union([v.strictTuple([Address]), v.strictTuple([Address, BlockTag])]),
  eth_getTransactionCount: v.union([v.strictTuple([Address]), v.strictTuple([Address, BlockTag])]),
  eth_getStorageAt: v.union([
    v.strictTuple([Address, HexQuantity]),
    v.strictTuple([Address, HexQuantity, BlockTag]),
  ]),
  eth_getTransactionReceipt: v.strictTuple([Hash]),
  eth_getTransactionByHash: v.strictTuple([Hash]),
  eth_getBlockByNumber: v.union([v.strictTuple([BlockTag]), v.strictTuple([BlockTag, v.boolean()])]),
  eth_getBlockByHash: v.union([v.strictTuple([Hash]), v.strictTuple([Hash, v.boolean()])]),
  eth_getLogs: v.strictTuple([
    v.looseObject({
      address: v.optional(v.union([Address, v.pipe(v.array(Address), v.maxLength(64))])),
      fromBlock: v.optional(BlockTag),
      toBlock: v.optional(BlockTag),
      blockHash: v.optional(Hash),
      topics: v.optional(
        v.pipe(v.array(v.nullable(v.union([Hash, v.array(v.nullable(Hash))]))), v.maxLength(4)),
      ),
    }),
  ]),
  eth_feeHistory: v.strictTuple([
    v.union([HexQuantity, v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(1024))]),
    BlockTag,
    v.optional(v.array(v.number())),
  ]),
};
const AnyParams = v.pipe(v.array(v.unknown()), v.maxLength(8));

/** Largest params a page may send (a big eth_call with init code fits; a flood does not). */
export const MAX_PARAMS_JSON = 512 * 1024;

/** The most specific first problem (a union's own issue only says that no option matched). */
function issueText(issues: readonly v.BaseIssue<unknown>[]): string {
  let i = issues[0];
  if (i === undefined) return 'invalid';
  while (i.issues?.[0] !== undefined && i.type === 'union') i = i.issues[0];
  const path = i.path?.map((p) => String(p.key)).join('.');
  return path ? `param ${path}: ${i.message}` : i.message;
}

/** Validates `params` against `schema`; throws -32602 naming the method and the first problem. */
export function parseParams<S extends v.GenericSchema>(
  method: string,
  schema: S,
  params: unknown,
): v.InferOutput<S> {
  const r = v.safeParse(schema, params ?? []);
  if (!r.success)
    throw rpcErrors.invalidParams({ message: `Invalid params for ${method}: ${issueText(r.issues)}.` });
  return r.output;
}

/** Validates a forwarded method's params (positional array, size-limited). */
export function forwardedParams(method: string, params: unknown): unknown[] {
  const p = params ?? [];
  if (JSON.stringify(p).length > MAX_PARAMS_JSON)
    throw rpcErrors.invalidParams({ message: `Params for ${method} are too large.` });
  parseParams(method, AnyParams, p);
  const schema = FORWARDED[method];
  if (schema !== undefined) parseParams(method, schema, p);
  return p as unknown[];
}

/** `personal_sign`: [message (0x-hex bytes, or text), address] (EIP-191 version 0x45). */
export const PersonalSignParams = v.tuple(
  [v.pipe(v.string(), v.maxLength(2 * 64 * 1024 + 2)), Address],
  'expected [message, address]',
);

/** `eth_signTypedData_v4`: [address, typed data as a JSON string or an object]. */
export const SignTypedDataParams = v.tuple(
  [Address, v.union([v.pipe(v.string(), v.maxLength(256 * 1024)), v.looseObject({})])],
  'expected [address, typedData]',
);

/** `eth_sendTransaction`: one transaction request (EIP-1474). Legacy and access-list fields are refused. */
export const SendTransactionParams = v.tuple(
  [
    v.looseObject({
      from: Address,
      to: v.optional(v.nullable(Address)),
      data: v.optional(HexData),
      input: v.optional(HexData),
      value: v.optional(HexQuantity),
      gas: v.optional(HexQuantity),
      chainId: v.optional(HexQuantity),
      type: v.optional(v.picklist(['0x2'], 'only EIP-1559 (type 0x2) transactions are sent')),
      authorizationList: v.optional(v.never('EIP-7702 authorizations are refused by Concord')),
    }),
  ],
  'expected [transaction]',
);
