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
  | { type: 'activity' };

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
}

/** The message object actually sent with `runtime.sendMessage`. */
export interface UiMessage<R extends Request = Request> {
  channel: typeof UI_CHANNEL;
  request: R;
}

export type ResponseEnvelope<T = unknown> = { ok: true; result: T } | { ok: false; error: WireError };

const Passphrase = v.pipe(v.string(), v.maxLength(4096));

export const RequestSchema = v.variant('type', [
  v.strictObject({ type: v.literal('status') }),
  v.strictObject({ type: v.literal('onboarding.create'), passphrase: Passphrase }),
  v.strictObject({ type: v.literal('unlock'), passphrase: Passphrase }),
  v.strictObject({ type: v.literal('lock') }),
  v.strictObject({ type: v.literal('device.get') }),
  v.strictObject({ type: v.literal('settings.get') }),
  v.strictObject({ type: v.literal('settings.update'), patch: SettingsPatchSchema }),
  v.strictObject({ type: v.literal('activity') }),
]);

export const UiMessageSchema = v.strictObject({ channel: v.literal(UI_CHANNEL), request: RequestSchema });

/** Requests that count as user activity and push the auto-lock deadline back. */
export const ACTIVITY_REQUESTS: ReadonlySet<RequestType> = new Set([
  'activity',
  'device.get',
  'settings.get',
  'settings.update',
]);
