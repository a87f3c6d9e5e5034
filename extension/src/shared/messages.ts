/**
 * Messages between extension pages (popup, app, options) and the background service worker. One
 * discriminated union of requests, a map from request type to result type, and a response envelope.
 * The background validates every incoming request against `RequestSchema` before routing it; the
 * sender's identity comes from the browser (`sender.id`, `sender.url`), never from the payload
 * (ARCHITECTURE rule 9, THREATS 46–47).
 */
import type { Description } from '@concord/bridge-server/describe';
import * as v from 'valibot';
import {
  DAPP_ACTIVITY_REQUESTS,
  DAPP_REQUEST_SCHEMAS,
  type DappRequest,
  type DappResultMap,
} from './dapp-messages.ts';
import type { WireError } from './errors.ts';
import { type Settings, type SettingsPatch, SettingsPatchSchema } from './settings.ts';
import {
  TOKEN_ACTIVITY_REQUESTS,
  TOKEN_REQUEST_SCHEMAS,
  type TokenRequest,
  type TokenResultMap,
} from './token-messages.ts';

/** Marks our messages so the background can tell them apart from future content-script traffic. */
export const UI_CHANNEL = 'concord/ui/v1';

export type Request =
  | { type: 'status' }
  | { type: 'onboarding.create'; passphrase: string }
  | { type: 'unlock'; passphrase: string }
  | { type: 'lock' }
  | { type: 'device.get' }
  | { type: 'settings.get' }
  | { type: 'settings.update'; patch: SettingsPatch }
  | { type: 'activity' }
  | { type: 'device.inspect'; code: string }
  | ({ type: 'vault.propose' } & ProposeRequest)
  | { type: 'vault.list' }
  | { type: 'ceremony.list' }
  | { type: 'ceremony.respond'; id: string; accept: boolean }
  | { type: 'bridge.status' }
  | ({ type: 'send.preview' } & SendInput)
  | ({ type: 'send.create' } & SendInput & { unsigned?: string })
  | { type: 'request.list' }
  | { type: 'request.get'; id: string }
  | { type: 'request.decide'; id: string; approve: boolean }
  | { type: 'request.reopen'; id: string }
  | { type: 'vault.balance'; vaultId: string; chainId: number; token?: string }
  /** The most a vault can send of an asset: its balance, less the fee ceiling for the native coin. */
  | { type: 'send.max'; vaultId: string; chainId: number; to: string; token: string | null }
  /** Bridge and (with `chainId`) RPC status with a reason; `connection.retry` redials the bridge. */
  | { type: 'connection.status'; chainId?: number }
  | { type: 'connection.retry'; chainId?: number }
  /** `walletPassphrase` unlocks Concord (re-checked before export); `passphrase` seals the file. */
  | { type: 'backup.export'; vaultId: string; walletPassphrase: string; passphrase: string }
  | { type: 'backup.verify'; vaultId: string; file: string; passphrase: string }
  | ({ type: 'reshare.propose' } & ReshareInput)
  | { type: 'onboarding.restore'; file: string; backupPassphrase: string; passphrase: string }
  | { type: 'restore.list' }
  | DappRequest
  | TokenRequest;

/**
 * A share restored from a backup file, waiting for the vault's refresh: it cannot sign (its pairwise
 * state is not in a backup) until a member proposes a signer change with the same signers and this
 * device takes part.
 */
export interface RestoreView {
  /** The tss vault id (hex). */
  keyId: string;
  address: string;
  epoch: number;
  power: number;
  threshold: number;
  createdAt: number;
}

/** "Send": native ETH (`token` null) or an ERC-20 transfer, from a vault on a configured chain. */
export interface SendInput {
  vaultId: string;
  chainId: number;
  /** Recipient, 0x-prefixed 20-byte hex (checksummed or lowercase). */
  to: string;
  /** Decimal amount in whole units ("1", "0.25"), converted with the asset's decimals. */
  amount: string;
  /** ERC-20 contract address, or null for the chain's native currency. */
  token: string | null;
}

/**
 * A transaction as *this* device decoded it from the raw unsigned bytes of a request, with token
 * metadata and fees read from this device's own RPC (never the initiator's summary; rule "no blind
 * signing"). Amounts are decimal strings of base units plus a display form.
 */
export interface TxSummary {
  chainId: number;
  chainName: string;
  kind: 'native' | 'erc20-transfer' | 'contract-call';
  /** The vault's address (the sender). */
  from: string;
  /** `to` of the transaction (the token contract for an ERC-20 transfer). */
  to: string;
  /** Who receives the value: `to` for native, the decoded recipient for an ERC-20 transfer. */
  recipient: string;
  amount: string;
  amountDisplay: string;
  symbol: string;
  decimals: number;
  token: string | null;
  nonce: number;
  gasLimit: string;
  maxFeePerGas: string;
  maxPriorityFeePerGas: string;
  /** gasLimit × maxFeePerGas in the native currency, for display ("at most 0.00042 ETH"). */
  maxFeeDisplay: string;
  /** Calldata, 0x-hex. */
  data: string;
  /** Things the signer should know (unknown contract call, chain not configured, …). */
  warnings: string[];
  /**
   * From a send preview only: the exact unsigned transaction reviewed (0x-hex). `send.create` with
   * it proposes these bytes, so the initiator approves the fee, gas and nonce it saw.
   */
  unsigned?: string;
}

/** What a reshare request changes: the new member list (old members kept or removed, new ones added). */
export interface ReshareInput {
  vaultId: string;
  threshold: number;
  /** Current members that stay, with their (possibly new) power. Members left out are removed. */
  keep: { deviceId: string; label: string; power: number }[];
  /** New devices, by device code. */
  add: InviteeInput[];
}

export interface ReshareSummary {
  oldThreshold: number;
  newThreshold: number;
  members: {
    deviceId: string;
    fingerprint: string;
    label: string;
    oldPower: number;
    newPower: number;
  }[];
  /** Safety code over the new layout and the request id; every device shows the same. */
  safetyCode: string;
  /** The new epoch once done. */
  epoch: number | null;
}

/**
 * Where a co-approval request stands on this device: `pending` (collecting decisions), `approved`
 * (quorum verified here, waiting for the online signers), `signing` (ceremony running), `broadcast`
 * (sent to the chain, not mined yet), `mined`, `failed` (reverted, or the ceremony/broadcast failed;
 * see `error`), `rejected` (the rejections make the threshold unreachable), `expired`, `done`
 * (a reshare finished).
 */
export type RequestPhase =
  | 'pending'
  | 'approved'
  | 'signing'
  | 'broadcast'
  | 'mined'
  | 'failed'
  | 'rejected'
  | 'expired'
  | 'done';

export interface RequestMemberView {
  deviceId: string;
  label: string;
  power: number;
  isSelf: boolean;
  isInitiator: boolean;
  decision: 'approve' | 'reject' | null;
  /** Seen on the bridge now (presence in the request's session). */
  online: boolean;
  /** Chosen for the current signing attempt. */
  signer: boolean;
  /** Joins with the reshare (not a member of the current epoch). */
  joining: boolean;
  /**
   * This device holds a ban against it: it sent a provably bad message in a signing of this epoch,
   * so this device leaves it out of signing attempts (until a completed reshare starts a new epoch).
   */
  banned: boolean;
}

export interface RequestView {
  id: string;
  vaultId: string;
  vaultName: string;
  kind: 'send' | 'reshare' | 'message' | 'typed-data';
  phase: RequestPhase;
  createdAt: number;
  expiresAt: number;
  threshold: number;
  totalPower: number;
  /** Power of verified approvals / rejections (current members only). */
  approvedPower: number;
  rejectedPower: number;
  members: RequestMemberView[];
  myDecision: 'approve' | 'reject' | null;
  /** This device can still approve or reject. */
  canDecide: boolean;
  tx: TxSummary | null;
  /** The requesting site's origin as the initiator's browser reported it, or null. */
  origin: string | null;
  /** What this device's describer reads in the raw body (sends, messages, typed data). */
  description: Description | null;
  /** A message's or typed data's 65-byte signature (0x-hex), once signed. */
  signature: string | null;
  reshare: ReshareSummary | null;
  txHash: string | null;
  blockNumber: number | null;
  /** Signing attempt number (a worker restart or a dead signer starts a new attempt). */
  attempt: number;
  error: string | null;
  /** The send could not be signed (attempts used up): this member may propose it again. */
  canReopen: boolean;
}

export interface BalanceView {
  chainId: number;
  address: string;
  /** Base units (wei, or the token's smallest unit), decimal string. */
  wei: string;
  display: string;
  decimals: number;
  symbol: string;
}

/** `send.max`: decimal strings of base units; `fee` is in the native coin (18 decimals). */
export interface MaxSendView {
  balance: string;
  fee: string;
  max: string;
  decimals: number;
  symbol: string;
  feeSymbol: string;
}

export interface ConnectionView {
  bridge: {
    /** BridgeClient state, or `off` while locked. */
    state: string;
    url: string | null;
    /** At least one attempt failed since the client was last ready (or it is off/closed). */
    down: boolean;
    reason: string | null;
    /** Since when the state holds (epoch ms), if known. */
    since: number | null;
    failures: number;
  };
  rpc: {
    chainId: number;
    name: string;
    ok: boolean;
    reason: string | null;
    block: number | null;
  } | null;
}

export interface BackupFileView {
  /** Suggested file name, e.g. `concord-backup-<vault>-epoch0-<party>.json`. */
  filename: string;
  /** The backup file's text (JSON, see tss/src/backup/format.ts). */
  text: string;
}

export interface BackupCheckView {
  vaultId: string;
  epoch: number;
  /** The backup is of this vault's current epoch and of this device's party. */
  current: boolean;
  /** Plain-language result. */
  message: string;
}

/** A signer the creator adds by device code. */
export interface InviteeInput {
  code: string;
  label: string;
  power: number;
}

/** "Create a vault": name, this device's power, the invitees and the threshold (in power). */
export interface ProposeRequest {
  name: string;
  selfLabel: string;
  selfPower: number;
  threshold: number;
  invitees: InviteeInput[];
}

/**
 * Where a vault-creation ceremony stands, from this device's point of view: `invited` (this device
 * must accept or decline), `waiting` (for the others' answers), `running` (DKG), `done`, `declined`
 * (someone declined), `failed` (the DKG aborted or was interrupted), `expired`.
 */
export type CeremonyPhase = 'invited' | 'waiting' | 'running' | 'done' | 'declined' | 'failed' | 'expired';

export interface CeremonyMemberView {
  deviceId: string;
  fingerprint: string;
  label: string;
  power: number;
  isSelf: boolean;
  isProposer: boolean;
  decision: 'approve' | 'reject' | null;
}

export interface CeremonyView {
  id: string;
  name: string;
  role: 'creator' | 'invitee';
  threshold: number;
  totalPower: number;
  members: CeremonyMemberView[];
  /** tss safety code over the ceremony id, threshold and sorted (identity, power) list. */
  safetyCode: string;
  phase: CeremonyPhase;
  /** DKG round being collected (1..rounds) while running. */
  round: number;
  rounds: number;
  address: string | null;
  /** Abort code when `failed`. */
  error: string | null;
  /** DKG attempt (0 = first run); above 0 the DKG restarted after an interruption. */
  attempt: number;
  /** This device's run was cut (worker restart, lock) and restarts once it is connected again. */
  interrupted: boolean;
  createdAt: number;
}

export interface VaultView {
  id: string;
  name: string;
  address: string | null;
  threshold: number;
  totalPower: number;
  members: { deviceId: string; label: string; power: number }[];
  status: string;
}

export interface BridgeStatusView {
  state: string;
  url: string | null;
}

export type RequestType = Request['type'];
export type RequestOf<T extends RequestType> = Extract<Request, { type: T }>;

/** What the UI needs to choose a screen. */
export interface WalletStatus {
  /** A device identity exists in this profile. */
  onboarded: boolean;
  /** The session key is available (in memory or in `storage.session`). */
  unlocked: boolean;
  /** When the wallet will lock itself if idle (epoch ms), or null when locked. */
  autoLockAt: number | null;
  /** Milliseconds until another unlock attempt is accepted (0 = now). */
  retryAfterMs: number;
}

/** Public information about this device: safe to display and share. */
export interface DeviceInfo {
  /** Lowercase hex Ed25519 public key. */
  deviceId: string;
  /** `concord-device-v1.<base64url>.<fingerprint>`: what other devices paste to add this one. */
  deviceCode: string;
  /** `XXXX-XXXX-XXXX`, for comparing by eye or reading aloud. */
  fingerprint: string;
  createdAt: number;
}

export interface ResultMap extends DappResultMap, TokenResultMap {
  status: WalletStatus;
  'onboarding.create': DeviceInfo;
  unlock: WalletStatus;
  lock: WalletStatus;
  'device.get': DeviceInfo;
  'settings.get': Settings;
  'settings.update': Settings;
  activity: WalletStatus;
  'device.inspect': { deviceId: string; fingerprint: string };
  'vault.propose': CeremonyView;
  'vault.list': VaultView[];
  'ceremony.list': CeremonyView[];
  'ceremony.respond': CeremonyView;
  'bridge.status': BridgeStatusView;
  'send.preview': TxSummary;
  'send.create': RequestView;
  'request.list': RequestView[];
  'request.get': RequestView;
  'request.decide': RequestView;
  'request.reopen': RequestView;
  'vault.balance': BalanceView;
  'send.max': MaxSendView;
  'connection.status': ConnectionView;
  'connection.retry': ConnectionView;
  'backup.export': BackupFileView;
  'backup.verify': BackupCheckView;
  'reshare.propose': RequestView;
  'onboarding.restore': DeviceInfo;
  'restore.list': RestoreView[];
}

/** The message object actually sent with `runtime.sendMessage`. */
export interface UiMessage<R extends Request = Request> {
  channel: typeof UI_CHANNEL;
  request: R;
}

export type ResponseEnvelope<T = unknown> = { ok: true; result: T } | { ok: false; error: WireError };

const Passphrase = v.pipe(v.string(), v.maxLength(4096));
const DeviceCodeText = v.pipe(v.string(), v.maxLength(512));
const Label = v.pipe(v.string(), v.maxLength(64));
const Power = v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(16));
const Id32 = v.pipe(v.string(), v.regex(/^[0-9a-f]{32}$/));
const DeviceIdHex = v.pipe(v.string(), v.regex(/^[0-9a-f]{64}$/));
const ChainId = v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(2 ** 53 - 1));
const AddressText = v.pipe(v.string(), v.regex(/^0x[0-9a-fA-F]{40}$/));
const SendFields = {
  vaultId: Id32,
  chainId: ChainId,
  to: AddressText,
  amount: v.pipe(v.string(), v.regex(/^\d{1,40}(\.\d{1,36})?$/)),
  token: v.nullable(AddressText),
};

export const RequestSchema = v.variant('type', [
  v.strictObject({ type: v.literal('status') }),
  v.strictObject({ type: v.literal('onboarding.create'), passphrase: Passphrase }),
  v.strictObject({ type: v.literal('unlock'), passphrase: Passphrase }),
  v.strictObject({ type: v.literal('lock') }),
  v.strictObject({ type: v.literal('device.get') }),
  v.strictObject({ type: v.literal('settings.get') }),
  v.strictObject({ type: v.literal('settings.update'), patch: SettingsPatchSchema }),
  v.strictObject({ type: v.literal('activity') }),
  v.strictObject({ type: v.literal('device.inspect'), code: DeviceCodeText }),
  v.strictObject({
    type: v.literal('vault.propose'),
    name: v.pipe(v.string(), v.maxLength(64)),
    selfLabel: Label,
    selfPower: Power,
    threshold: v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(256)),
    invitees: v.pipe(
      v.array(v.strictObject({ code: DeviceCodeText, label: Label, power: Power })),
      v.minLength(1),
      v.maxLength(15),
    ),
  }),
  v.strictObject({ type: v.literal('vault.list') }),
  v.strictObject({ type: v.literal('ceremony.list') }),
  v.strictObject({
    type: v.literal('ceremony.respond'),
    id: v.pipe(v.string(), v.regex(/^[0-9a-f]{32}$/)),
    accept: v.boolean(),
  }),
  v.strictObject({ type: v.literal('bridge.status') }),
  v.strictObject({ type: v.literal('send.preview'), ...SendFields }),
  v.strictObject({
    type: v.literal('send.create'),
    ...SendFields,
    // The previewed unsigned transaction (0x-hex, at most 128 KiB).
    unsigned: v.optional(v.pipe(v.string(), v.regex(/^0x(?:[0-9a-f]{2}){1,131072}$/))),
  }),
  v.strictObject({ type: v.literal('request.list') }),
  v.strictObject({ type: v.literal('request.get'), id: Id32 }),
  v.strictObject({ type: v.literal('request.decide'), id: Id32, approve: v.boolean() }),
  v.strictObject({ type: v.literal('request.reopen'), id: Id32 }),
  v.strictObject({
    type: v.literal('vault.balance'),
    vaultId: Id32,
    chainId: ChainId,
    token: v.optional(AddressText),
  }),
  v.strictObject({
    type: v.literal('send.max'),
    vaultId: Id32,
    chainId: ChainId,
    to: AddressText,
    token: v.nullable(AddressText),
  }),
  v.strictObject({ type: v.literal('connection.status'), chainId: v.optional(ChainId) }),
  v.strictObject({ type: v.literal('connection.retry'), chainId: v.optional(ChainId) }),
  v.strictObject({
    type: v.literal('backup.export'),
    vaultId: Id32,
    walletPassphrase: Passphrase,
    passphrase: Passphrase,
  }),
  v.strictObject({
    type: v.literal('backup.verify'),
    vaultId: Id32,
    file: v.pipe(v.string(), v.maxLength(1 << 20)),
    passphrase: Passphrase,
  }),
  v.strictObject({
    type: v.literal('onboarding.restore'),
    file: v.pipe(v.string(), v.maxLength(1 << 20)),
    backupPassphrase: Passphrase,
    passphrase: Passphrase,
  }),
  v.strictObject({ type: v.literal('restore.list') }),
  ...DAPP_REQUEST_SCHEMAS,
  ...TOKEN_REQUEST_SCHEMAS,
  v.strictObject({
    type: v.literal('reshare.propose'),
    vaultId: Id32,
    threshold: v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(256)),
    keep: v.pipe(
      v.array(v.strictObject({ deviceId: DeviceIdHex, label: Label, power: Power })),
      v.maxLength(16),
    ),
    add: v.pipe(
      v.array(v.strictObject({ code: DeviceCodeText, label: Label, power: Power })),
      v.maxLength(15),
    ),
  }),
]);

export const UiMessageSchema = v.strictObject({ channel: v.literal(UI_CHANNEL), request: RequestSchema });

/** Requests that count as user activity and push the auto-lock deadline back. */
export const ACTIVITY_REQUESTS: ReadonlySet<RequestType> = new Set([
  'activity',
  'device.get',
  'settings.get',
  'settings.update',
  'device.inspect',
  'vault.propose',
  'ceremony.respond',
  'send.preview',
  'send.create',
  'send.max',
  'connection.retry',
  'request.decide',
  'request.reopen',
  'backup.export',
  'backup.verify',
  'reshare.propose',
  ...DAPP_ACTIVITY_REQUESTS,
  ...TOKEN_ACTIVITY_REQUESTS,
]);
