/**
 * The pages' client for the background: one typed `call` per request, unwrapping the response
 * envelope into a result or an `ExtensionError`. Refuses to send anything from a framed page
 * (THREATS 49), whatever the caller does.
 */
import browser from 'webextension-polyfill';
import { ExtensionError, fromWireError } from '../../shared/errors.ts';
import type {
  RequestOf,
  RequestType,
  ResponseEnvelope,
  ResultMap,
  UiMessage,
} from '../../shared/messages.ts';
import { UI_CHANNEL } from '../../shared/messages.ts';
import { isFramed } from './frame.ts';

function isEnvelope(x: unknown): x is ResponseEnvelope {
  return typeof x === 'object' && x !== null && typeof (x as { ok?: unknown }).ok === 'boolean';
}

export async function call<T extends RequestType>(request: RequestOf<T>): Promise<ResultMap[T]> {
  if (isFramed()) throw new ExtensionError('FRAMED', 'Concord does not work inside a frame.');
  const message: UiMessage = { channel: UI_CHANNEL, request };
  let response: unknown;
  try {
    response = await browser.runtime.sendMessage(message);
  } catch (cause) {
    throw new ExtensionError('UNAVAILABLE', 'Concord’s background service is not responding. Try again.', {
      cause,
    });
  }
  if (!isEnvelope(response)) throw new ExtensionError('UNAVAILABLE', 'Concord’s background gave no answer.');
  if (!response.ok) throw fromWireError(response.error);
  return response.result as ResultMap[T];
}

/** Opens a page of the extension in a new tab (the popup uses this for onboarding and settings). */
export async function openPage(path: string): Promise<void> {
  await browser.tabs.create({ url: browser.runtime.getURL(path) });
}

export function errorMessage(e: unknown): string {
  return e instanceof ExtensionError ? e.message : 'Something went wrong. Please try again.';
}
