/**
 * Messages between extension pages (popup, app, options) and the background service worker. One
 * discriminated union of requests, a map from request type to result type, and a response envelope.
 * The background validates every incoming request against `RequestSchema` before routing it; the
 * sender's identity comes from the browser (`sender.id`, `sender.url`), never from the payload
 * (ARCHITECTURE rule 9, THREATS 46–47).
 */
import * as v from 'valibot';
import type { WireError } from './errors.ts';
import { type Settings, type SettingsPatch, SettingsPatchSchema } from './settings.ts';

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
  | { type: 'bridge.status' };

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

export interface ResultMap {
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
]);
