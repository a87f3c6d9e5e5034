/**
 * `@concord/bridge-server/protocol`: what clients share with the relay. Dependency-free apart from
 * valibot (no Node built-ins), so the MV3 service worker can import it.
 */
export { AUTH_TAG, authMessage, CHALLENGE_BYTES, originOf } from './auth.ts';
export { b64uByteLength, b64uDecode, b64uEncode } from './base64url.ts';
export {
  closeCodeFor,
  ERROR_CODE_LIST,
  ERROR_CODES,
  type ErrorCode,
  errorCodeForClose,
  type QuotaLimit,
} from './codes.ts';
export {
  ABORT_TAG,
  type BatchMessage,
  type ClientFrame,
  ClientFrameSchema,
  type DeliverFrame,
  type ParseResult,
  PROTOCOL_VERSION,
  parseClientFrame,
  parseServerFrame,
  SESSION_KINDS,
  type SendFrame,
  type ServerFrame,
  type ServerFrameOf,
  ServerFrameSchema,
  type SessionInfo,
  type SessionKind,
  SUBPROTOCOL,
} from './frames.ts';
