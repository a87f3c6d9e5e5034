/**
 * The background's message router: validates who is asking and what, then dispatches to one handler
 * per request type. Security checks, in order (ARCHITECTURE rule 9, THREATS 46–47):
 *  1. `sender.id` must be this extension's id; anything else is ignored without a reply.
 *  2. The message must be on the UI channel; other traffic is left for other listeners.
 *  3. The sender must be one of our own pages (origin from the browser's `sender.url`/`sender.origin`,
 *     never from the payload), which excludes content scripts even though they share our id.
 *  4. The request must match the schema.
 * Handlers stay thin and delegate to services.
 */
import * as v from 'valibot';
import { ExtensionError, toWireError } from '../shared/errors.ts';
import {
  ACTIVITY_REQUESTS,
  type RequestOf,
  RequestSchema,
  type RequestType,
  type ResponseEnvelope,
  type ResultMap,
  UI_CHANNEL,
} from '../shared/messages.ts';

/** What the browser tells us about a sender (a subset of `runtime.MessageSender`). */
export interface SenderInfo {
  id?: string | undefined;
  url?: string | undefined;
  origin?: string | undefined;
}

export type Handlers = { [T in RequestType]: (req: RequestOf<T>) => Promise<ResultMap[T]> };

export interface RouterOptions {
  /** `runtime.id`. */
  runtimeId: string;
  /** `runtime.getURL('')` without the trailing slash, e.g. `chrome-extension://<id>`. */
  extensionOrigin: string;
  handlers: Handlers;
  /** Called before handling requests that count as user activity. */
  onActivity?: () => Promise<void>;
  /** Where unexpected errors are reported (never with request payloads). */
  logError?: (code: string, error: unknown) => void;
}

export type Route = (message: unknown, sender: SenderInfo) => Promise<ResponseEnvelope> | undefined;

function senderOrigin(sender: SenderInfo): string | null {
  if (typeof sender.origin === 'string') return sender.origin;
  if (typeof sender.url !== 'string') return null;
  try {
    // Not `URL.origin`: for non-special schemes such as chrome-extension: some runtimes say "null".
    const u = new URL(sender.url);
    return `${u.protocol}//${u.host}`;
  } catch {
    return null;
  }
}

export function isUiMessage(message: unknown): message is { channel: string; request: unknown } {
  return (
    typeof message === 'object' &&
    message !== null &&
    (message as { channel?: unknown }).channel === UI_CHANNEL
  );
}

export function createRouter(opts: RouterOptions): Route {
  const dispatch = async (request: unknown): Promise<ResponseEnvelope> => {
    try {
      const parsed = v.safeParse(RequestSchema, request);
      if (!parsed.success) throw new ExtensionError('INVALID_REQUEST', 'That request is not understood.');
      const req = parsed.output;
      if (ACTIVITY_REQUESTS.has(req.type) && opts.onActivity) await opts.onActivity();
      const handler = opts.handlers[req.type] as (r: typeof req) => Promise<unknown>;
      return { ok: true, result: await handler(req) };
    } catch (e) {
      const wire = toWireError(e);
      if (wire.code === 'INTERNAL') opts.logError?.(wire.code, e);
      return { ok: false, error: wire };
    }
  };

  return (message, sender) => {
    if (sender.id !== opts.runtimeId) return undefined;
    if (!isUiMessage(message)) return undefined;
    if (senderOrigin(sender) !== opts.extensionOrigin) return undefined;
    return dispatch(message.request);
  };
}
