/**
 * Bridge frames (BRIDGE.md §3, §5–§12): TypeScript types and valibot schemas for both directions.
 * Frames are JSON text messages with a discriminant `t`; binary frames are not part of v1. Every
 * request carries a client `rid` echoed in its response. Byte fields are base64url (no padding):
 * device ids 43 chars (32 bytes), sids 22 chars (16 bytes), `ct` the sealed envelope.
 * Objects are strict: unknown keys are rejected, which also refuses deep-nesting payloads.
 * The protocol version is the WebSocket subprotocol `concord-bridge.v1`.
 */
import * as v from 'valibot';

export const PROTOCOL_VERSION = 1;
export const SUBPROTOCOL = 'concord-bridge.v1';
export const SESSION_KINDS = ['dkg', 'sign', 'refresh', 'reshare', 'pair'] as const;
export type SessionKind = (typeof SESSION_KINDS)[number];
/** Reserved tag that lets any party stop the others from waiting (BRIDGE.md §13). */
export const ABORT_TAG = 'abort';

const b64u = (len: number) => v.pipe(v.string(), v.length(len), v.regex(/^[A-Za-z0-9_-]+$/));
export const DeviceIdSchema = b64u(43);
export const SidSchema = b64u(22);
const Rid = v.pipe(v.string(), v.minLength(1), v.maxLength(64));
const MsgId = v.pipe(v.string(), v.minLength(1), v.maxLength(128), v.regex(/^[A-Za-z0-9._:/+=-]+$/));
const Tag = v.pipe(v.string(), v.minLength(1), v.maxLength(64), v.regex(/^[A-Za-z0-9._:/-]+$/));
const Seq = v.pipe(v.number(), v.safeInteger(), v.minValue(0));
const Ms = v.pipe(v.number(), v.safeInteger(), v.minValue(0));
/** Ciphertext text; its length is capped by the server's configured limit, not here. */
const Ct = v.pipe(v.string(), v.minLength(1), v.regex(/^[A-Za-z0-9_-]+$/));

// ---- client → server ----

export const HelloSchema = v.strictObject({ t: v.literal('hello'), rid: Rid });
export const AuthSchema = v.strictObject({
  t: v.literal('auth'),
  rid: Rid,
  deviceId: DeviceIdSchema,
  sig: b64u(86),
});
export const CreateSessionSchema = v.strictObject({
  t: v.literal('create_session'),
  rid: Rid,
  kind: v.picklist(SESSION_KINDS),
  members: v.pipe(v.array(DeviceIdSchema), v.minLength(2), v.maxLength(256)),
  ttlMs: v.optional(Ms),
});
export const JoinSchema = v.strictObject({ t: v.literal('join'), rid: Rid, sid: SidSchema });
/** Leave (or refuse) a session one was added to; answered with `closed {rid, sid}`. */
export const LeaveSchema = v.strictObject({ t: v.literal('leave'), rid: Rid, sid: SidSchema });
export const ListSessionsSchema = v.strictObject({ t: v.literal('list_sessions'), rid: Rid });
export const SendSchema = v.strictObject({
  t: v.literal('send'),
  rid: Rid,
  v: v.number(),
  sid: SidSchema,
  from: DeviceIdSchema,
  to: DeviceIdSchema,
  tag: Tag,
  msgId: MsgId,
  ttlMs: v.optional(Ms),
  ct: Ct,
});
export const AckSchema = v.strictObject({
  t: v.literal('ack'),
  rid: v.optional(Rid),
  seqs: v.pipe(v.array(Seq), v.minLength(1), v.maxLength(1000)),
});
export const FetchSchema = v.strictObject({
  t: v.literal('fetch'),
  rid: Rid,
  sid: v.optional(SidSchema),
  afterSeq: Seq,
  limit: v.optional(v.pipe(v.number(), v.safeInteger(), v.minValue(1), v.maxValue(100))),
});
export const PingSchema = v.strictObject({ t: v.literal('ping'), rid: Rid });
export const CloseSessionSchema = v.strictObject({ t: v.literal('close_session'), rid: Rid, sid: SidSchema });

export const ClientFrameSchema = v.variant('t', [
  HelloSchema,
  AuthSchema,
  CreateSessionSchema,
  JoinSchema,
  LeaveSchema,
  ListSessionsSchema,
  SendSchema,
  AckSchema,
  FetchSchema,
  PingSchema,
  CloseSessionSchema,
]);
export type ClientFrame = v.InferOutput<typeof ClientFrameSchema>;
export type SendFrame = v.InferOutput<typeof SendSchema>;

// ---- server → client ----

export const SessionInfoSchema = v.strictObject({
  sid: SidSchema,
  kind: v.picklist(SESSION_KINDS),
  creator: DeviceIdSchema,
  members: v.array(DeviceIdSchema),
  expiresAt: Ms,
  /** Members currently connected. */
  online: v.array(DeviceIdSchema),
});
export type SessionInfo = v.InferOutput<typeof SessionInfoSchema>;

export const DeliverSchema = v.strictObject({
  t: v.literal('deliver'),
  sid: SidSchema,
  from: DeviceIdSchema,
  to: DeviceIdSchema,
  tag: Tag,
  msgId: MsgId,
  /** Per-recipient, monotonic, assigned by the server (not covered by the AEAD). */
  seq: Seq,
  /** Server receive time, ms since epoch (not covered by the AEAD). */
  ts: Ms,
  ct: Ct,
});
export type DeliverFrame = v.InferOutput<typeof DeliverSchema>;

const ErrorCodeSchema = v.picklist([
  'UNAUTHORIZED',
  'AUTH_TIMEOUT',
  'INVALID_FRAME',
  'UNSUPPORTED_VERSION',
  'PAYLOAD_TOO_LARGE',
  'SESSION_NOT_FOUND',
  'NOT_A_MEMBER',
  'DUPLICATE_CONFLICT',
  'EXPIRED',
  'MAILBOX_FULL',
  'RATE_LIMITED',
  'DISPLACED',
  'SLOW_CONSUMER',
  'SHUTTING_DOWN',
  'INTERNAL',
  'STORE_UNAVAILABLE',
]);

export const ServerFrameSchema = v.variant('t', [
  v.strictObject({
    t: v.literal('challenge'),
    rid: v.optional(Rid),
    nonce: b64u(43),
    origin: v.string(),
    expiresInMs: Ms,
  }),
  v.strictObject({
    t: v.literal('welcome'),
    rid: Rid,
    deviceId: DeviceIdSchema,
    sessions: v.array(SessionInfoSchema),
  }),
  // without `rid`: pushed to online members when someone creates a session that includes them
  v.strictObject({ t: v.literal('session'), rid: v.optional(Rid), session: SessionInfoSchema }),
  v.strictObject({ t: v.literal('sessions'), rid: Rid, sessions: v.array(SessionInfoSchema) }),
  v.strictObject({
    t: v.literal('accepted'),
    rid: Rid,
    msgId: MsgId,
    seq: Seq,
    ts: Ms,
    duplicate: v.optional(v.boolean()),
  }),
  DeliverSchema,
  v.strictObject({
    t: v.literal('batch'),
    rid: Rid,
    messages: v.array(v.omit(DeliverSchema, ['t'])),
    hasMore: v.boolean(),
  }),
  v.strictObject({ t: v.literal('presence'), sid: SidSchema, deviceId: DeviceIdSchema, online: v.boolean() }),
  v.strictObject({ t: v.literal('pong'), rid: Rid, ts: Ms }),
  v.strictObject({ t: v.literal('closed'), rid: v.optional(Rid), sid: SidSchema }),
  v.strictObject({
    t: v.literal('error'),
    rid: v.optional(Rid),
    code: ErrorCodeSchema,
    message: v.string(),
    retryAfterMs: v.optional(Ms),
    limit: v.optional(v.string()),
  }),
]);
export type ServerFrame = v.InferOutput<typeof ServerFrameSchema>;
export type ServerFrameOf<T extends ServerFrame['t']> = Extract<ServerFrame, { t: T }>;
export type BatchMessage = Omit<DeliverFrame, 't'>;

/** On failure, `rid` is the request id if one could be read, so the error can be correlated. */
export type ParseResult<T> = { ok: true; frame: T } | { ok: false; reason: string; rid?: string };

// ---- fast path for the hot client frames ----
//
// `send` and `ack` are nearly every frame under load, and valibot's generic walk (issue objects,
// pipes, a fresh output object) cost ~5 µs per `send` in the relay profile. These hand-written
// checks accept exactly what the schemas above accept for those two frames, nothing more (a
// fast-check property in test/protocol.test.ts holds them to that); anything they do not accept
// falls through to the full valibot parse, which also produces the error reason. So every inbound
// frame is still fully validated before any logic, by one validator or the other.

const B64U_RE = /^[A-Za-z0-9_-]+$/;
const MSGID_RE = /^[A-Za-z0-9._:/+=-]+$/;
const TAG_RE = /^[A-Za-z0-9._:/-]+$/;

const isStr = (x: unknown, min: number, max: number): x is string =>
  typeof x === 'string' && x.length >= min && x.length <= max;
const isB64u = (x: unknown, len: number): x is string =>
  typeof x === 'string' && x.length === len && B64U_RE.test(x);
const isNat = (x: unknown): x is number => typeof x === 'number' && Number.isSafeInteger(x) && x >= 0;

const SEND_KEYS: ReadonlySet<string> = new Set(Object.keys(SendSchema.entries));
const ACK_KEYS: ReadonlySet<string> = new Set(Object.keys(AckSchema.entries));

/** Number of keys if every key is in `allowed` (strict object), else -1. */
function onlyKeys(o: object, allowed: ReadonlySet<string>): number {
  let n = 0;
  for (const k in o) {
    if (!allowed.has(k)) return -1;
    n++;
  }
  return n;
}

function fastSend(o: Record<string, unknown>): SendFrame | undefined {
  const n = onlyKeys(o, SEND_KEYS);
  const ttl = o.ttlMs;
  if (n !== (ttl === undefined ? 9 : 10)) return undefined;
  if (ttl !== undefined && !isNat(ttl)) return undefined;
  if (!isStr(o.rid, 1, 64)) return undefined;
  if (typeof o.v !== 'number' || Number.isNaN(o.v)) return undefined;
  if (!isB64u(o.sid, 22) || !isB64u(o.from, 43) || !isB64u(o.to, 43)) return undefined;
  if (!isStr(o.tag, 1, 64) || !TAG_RE.test(o.tag)) return undefined;
  if (!isStr(o.msgId, 1, 128) || !MSGID_RE.test(o.msgId)) return undefined;
  if (typeof o.ct !== 'string' || o.ct.length < 1 || !B64U_RE.test(o.ct)) return undefined;
  return o as SendFrame;
}

function fastAck(o: Record<string, unknown>): ClientFrame | undefined {
  const n = onlyKeys(o, ACK_KEYS);
  const rid = o.rid;
  if (n !== (rid === undefined ? 2 : 3)) return undefined;
  if (rid !== undefined && !isStr(rid, 1, 64)) return undefined;
  const seqs = o.seqs;
  if (!Array.isArray(seqs) || seqs.length < 1 || seqs.length > 1000) return undefined;
  for (let i = 0; i < seqs.length; i++) if (!isNat(seqs[i])) return undefined;
  return o as ClientFrame;
}

/**
 * The fast path alone: the frame if `raw` is a valid `send` or `ack`, else undefined (which says
 * nothing about validity; the caller runs the full schema). Exported for the equivalence test.
 */
export function fastClientFrame(raw: unknown): ClientFrame | undefined {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return undefined;
  const o = raw as Record<string, unknown>;
  if (o.t === 'send') return fastSend(o);
  if (o.t === 'ack') return fastAck(o);
  return undefined;
}

function parseWith<T>(
  schema: v.GenericSchema<unknown, T>,
  text: string,
  fast?: (raw: unknown) => T | undefined,
): ParseResult<T> {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    return { ok: false, reason: 'malformed JSON' };
  }
  if (fast !== undefined) {
    const frame = fast(raw);
    if (frame !== undefined) return { ok: true, frame };
  }
  const r = v.safeParse(schema, raw);
  if (!r.success) {
    const issue = r.issues[0];
    const path = issue?.path?.map((p) => String(p.key)).join('.') ?? '';
    // Only the path and the failed check's kind: valibot messages quote the received value, which
    // could be ciphertext, and this reason is logged.
    const reason = `invalid frame${path ? ` at ${path}` : ''}: ${issue?.type ?? 'schema'}`;
    const rid = typeof raw === 'object' && raw !== null ? (raw as { rid?: unknown }).rid : undefined;
    return typeof rid === 'string' && rid.length > 0 && rid.length <= 64
      ? { ok: false, reason, rid }
      : { ok: false, reason };
  }
  return { ok: true, frame: r.output };
}

/** Parse and validate a client frame (server side). Never throws. */
export function parseClientFrame(text: string): ParseResult<ClientFrame> {
  return parseWith(ClientFrameSchema, text, fastClientFrame);
}

/** Parse and validate a server frame (client side). Never throws. */
export function parseServerFrame(text: string): ParseResult<ServerFrame> {
  return parseWith(ServerFrameSchema, text);
}
