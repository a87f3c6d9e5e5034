/**
 * `@concord/bridge-server/vault` — the vault-member runtime every device runs (the extension's
 * background, a headless member): request kinds, the co-approval wire format and its pure decisions.
 * Platform-free: no storage, no clock, no DOM; adapters supply those through small ports.
 *
 * Curated named exports (no `export *`). Other entry points: `./vault/proposal` (the vault-creation
 * proposal), `./vault/certificate-status` (reshare certificate delivery), `./vault/quorum`
 * (weighted-threshold arithmetic the setup screens load alone).
 */
export {
  type AttemptState,
  coordinatorOf,
  type Effect,
  type Event,
  type Quorum,
  type RequestState,
  type RequestStatus,
  reshareParticipants,
  type StepContext,
  type StepResult,
  step,
} from './co-approval.ts';
export { isVaultError, VaultError, type VaultErrorCode } from './errors.ts';
export {
  classify,
  decodeUnsignedTx,
  encodeUnsignedTx,
  formatUnitsDisplay,
  MAX_UNSIGNED_TX_BYTES,
  serializeSigned,
  signedTxHash,
  type TxClass,
  toHex as txHex,
  txDigest,
  type UnsignedTx,
} from './kinds/eip1559.ts';
export {
  type BodyDescription,
  bodyDigests,
  bodyOrigin,
  describeBody,
  isSigningBody,
  KINDS,
  type RequestBody,
  type RequestKind,
  type SigningBody,
  sessionKind,
} from './kinds/index.ts';
export {
  MAX_MESSAGE_BYTES,
  type MessageBody,
  type MessageDescription,
  messageDigest,
} from './kinds/message.ts';
export { originProblem } from './kinds/origin.ts';
export type { ReshareDescription } from './kinds/reshare.ts';
export type { SendDescription } from './kinds/send.ts';
export { checkDigestSignature } from './kinds/signed-digest.ts';
export { checkSignedTx } from './kinds/signed-tx.ts';
export {
  canonicalTypedData,
  MAX_TYPED_DATA_CHARS,
  type TypedDataBody,
  type TypedDataDescription,
  typedDataChainProblem,
} from './kinds/typed-data.ts';
export {
  COULD_NOT_SIGN,
  MAX_ATTEMPTS,
  REQUEST_ALARM_PREFIX,
  requestAlarm,
  requestOfAlarm,
  type StallAction,
  type StallInput,
  stallAction,
  stallDeadline,
} from './liveness.ts';
export {
  type Control,
  chooseSigners,
  type Decision,
  decisionMessage,
  decodeControl,
  decodeRequest,
  encodeControl,
  encodeRequest,
  isLive,
  MAX_CLOCK_SKEW_MS,
  MAX_TX_BYTES,
  memberIdentityBytes,
  REQUEST_TTL_MS,
  REQUEST_VERSION,
  RequestError,
  type RequestMember,
  type ReshareBody,
  requestHash,
  requestTimeProblem,
  reshareSafetyCode,
  reshareStartProblem,
  reviewedSendProblem,
  type SendBody,
  type SendFacts,
  startMessage,
  type Tally,
  type TallyMember,
  tally,
  type VaultRequest,
  verifyDecision,
  verifyStart,
} from './request.ts';
