/**
 * JSON-RPC 2.0 framing for the WalletConnect relay (JSON-RPC 2.0 spec; WalletConnect "Relay Server
 * RPC" spec for the `irn_*` params): every inbound text frame is parsed and validated with valibot
 * before any handler sees it, and every refusal is a `WcRelayError` naming the field at fault.
 *
 * Request ids: 2.x clients send their relay-request ids as decimal strings (they exceed 2^53), and
 * answer our `irn_subscription` pushes with our own (safe-integer) ids, so ids are accepted as
 * strings or safe integers and echoed unchanged.
 */
import * as v from 'valibot';
import type { WcRelayLimits } from './config.ts';
import { WcRelayError } from './errors.ts';

export type RpcId = string | number;

export interface RpcRequest {
  kind: 'request';
  id: RpcId;
  method: string;
  params: unknown;
}

export interface RpcResponse {
  kind: 'response';
  id: RpcId;
  ok: boolean;
}

const IdSchema = v.union([
  v.pipe(v.string(), v.minLength(1), v.maxLength(64)),
  v.pipe(v.number(), v.safeInteger()),
]);

const RequestSchema = v.object({
  jsonrpc: v.literal('2.0'),
  id: IdSchema,
  method: v.pipe(v.string(), v.minLength(1), v.maxLength(64)),
  params: v.optional(v.unknown()),
});

const ResponseSchema = v.object({
  jsonrpc: v.literal('2.0'),
  id: IdSchema,
  result: v.optional(v.unknown()),
  error: v.optional(v.object({ code: v.number(), message: v.optional(v.string()) })),
});

function firstIssue(issues: readonly v.BaseIssue<unknown>[]): string {
  const issue = issues[0];
  if (!issue) return 'invalid';
  const path = v.getDotPath(issue);
  return path ? `${path}: ${issue.message}` : issue.message;
}

/** The id of a frame that failed validation, if it had a usable one (so the error can answer it). */
export function salvageId(raw: unknown): RpcId | null {
  if (typeof raw !== 'object' || raw === null) return null;
  const r = v.safeParse(IdSchema, (raw as { id?: unknown }).id);
  return r.success ? r.output : null;
}

/**
 * Parse one inbound text frame. Throws `PARSE_ERROR` (not JSON) or `INVALID_REQUEST` (not a
 * JSON-RPC 2.0 request/response); the caller answers with `salvageId` of `raw` when it can.
 */
export function parseFrame(text: string): { frame: RpcRequest | RpcResponse; raw: unknown } {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    throw new WcRelayError('PARSE_ERROR', 'frame is not valid JSON');
  }
  if (Array.isArray(raw))
    throw new WcRelayError('INVALID_REQUEST', 'JSON-RPC batch arrays are not supported');
  if (typeof raw === 'object' && raw !== null && 'method' in raw) {
    const r = v.safeParse(RequestSchema, raw);
    if (!r.success)
      throw new WcRelayError('INVALID_REQUEST', `invalid JSON-RPC request: ${firstIssue(r.issues)}`);
    return {
      frame: { kind: 'request', id: r.output.id, method: r.output.method, params: r.output.params },
      raw,
    };
  }
  const r = v.safeParse(ResponseSchema, raw);
  if (!r.success)
    throw new WcRelayError('INVALID_REQUEST', `invalid JSON-RPC message: ${firstIssue(r.issues)}`);
  if ((r.output.result === undefined) === (r.output.error === undefined)) {
    throw new WcRelayError('INVALID_REQUEST', 'a JSON-RPC response has exactly one of result and error');
  }
  return { frame: { kind: 'response', id: r.output.id, ok: r.output.error === undefined }, raw };
}

/** Validated params of every method the relay serves, built for the configured limits. */
export function paramSchemas(limits: WcRelayLimits) {
  // Topics are sha256 outputs (pairing topic, hashKey(symKey)) as lowercase hex.
  const Topic = v.pipe(v.string(), v.regex(/^[0-9a-f]{64}$/, 'must be 32 bytes of lowercase hex'));
  const Message = v.pipe(
    v.string(),
    v.minLength(1, 'must not be empty'),
    v.check((s) => s.length <= limits.maxMessageChars, `longer than ${limits.maxMessageChars} characters`),
  );
  const Ttl = v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(limits.maxTtlSeconds));
  const Tag = v.pipe(v.number(), v.integer(), v.minValue(0), v.maxValue(0xffff_ffff));
  const Attestation = v.pipe(v.string(), v.maxLength(8192));
  const SubId = v.pipe(v.string(), v.minLength(1), v.maxLength(128));
  const batch = <T extends v.GenericSchema>(item: T) =>
    v.pipe(
      v.array(item),
      v.minLength(1, 'must not be empty'),
      v.maxLength(limits.maxBatch, `more than ${limits.maxBatch} items`),
    );
  const Publish = v.object({
    topic: Topic,
    message: Message,
    ttl: Ttl,
    tag: v.optional(Tag),
    prompt: v.optional(v.boolean()),
    attestation: v.optional(Attestation),
  });
  const Unsubscribe = v.object({ topic: Topic, id: v.optional(SubId) });
  return {
    irn_publish: Publish,
    irn_batchPublish: v.object({ messages: batch(Publish) }),
    irn_subscribe: v.object({ topic: Topic }),
    irn_batchSubscribe: v.object({ topics: batch(Topic) }),
    irn_unsubscribe: Unsubscribe,
    irn_batchUnsubscribe: v.object({ subscriptions: batch(Unsubscribe) }),
    irn_fetchMessages: v.object({ topic: Topic }),
    irn_batchFetchMessages: v.object({ topics: batch(Topic) }),
    // Sign 2.5 "optimised" methods (sign-client ≥ 2.2x): the relay assigns tags and subscribes the sender.
    wc_proposeSession: v.object({
      pairingTopic: Topic,
      sessionProposal: Message,
      ttl: v.optional(Ttl),
      attestation: v.optional(Attestation),
    }),
    wc_approveSession: v.object({
      pairingTopic: Topic,
      sessionTopic: Topic,
      sessionProposalResponse: Message,
      sessionSettlementRequest: Message,
      ttl: v.optional(Ttl),
    }),
  } as const;
}

export type ParamSchemas = ReturnType<typeof paramSchemas>;
export type MethodName = keyof ParamSchemas;
export type ParamsOf<M extends MethodName> = v.InferOutput<ParamSchemas[M]>;

export function isMethod(schemas: ParamSchemas, method: string): method is MethodName {
  return Object.hasOwn(schemas, method);
}

export function parseParams<M extends MethodName>(
  schemas: ParamSchemas,
  method: M,
  params: unknown,
): ParamsOf<M> {
  const r = v.safeParse(schemas[method], params);
  if (!r.success) {
    const issue = r.issues[0];
    // A message over the size limit is its own error so clients can tell it from a bad field.
    if (issue?.message.startsWith('longer than')) {
      throw new WcRelayError(
        'PAYLOAD_TOO_LARGE',
        `${method} params.${v.getDotPath(issue) ?? ''}: ${issue.message}`,
      );
    }
    const path = issue ? v.getDotPath(issue) : null;
    const where = path ? `params.${path}` : 'params';
    throw new WcRelayError('INVALID_PARAMS', `${method} ${where}: ${issue?.message ?? 'invalid'}`);
  }
  return r.output as ParamsOf<M>;
}

export function resultFrame(id: RpcId, result: unknown): string {
  return JSON.stringify({ id, jsonrpc: '2.0', result });
}

export function errorFrame(id: RpcId | null, error: { code: number; message: string }): string {
  return JSON.stringify({ id, jsonrpc: '2.0', error });
}
