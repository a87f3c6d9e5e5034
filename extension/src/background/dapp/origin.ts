/**
 * The web origin behind a dApp Port, from what the browser says about the sender (THREATS 46):
 * `sender.origin` (Chrome), else `sender.url`, else the tab's URL. A message never names its own
 * origin. Only top-level https pages and http pages on this machine are answered, matching the
 * content scripts' match list (manifest-lint.ts).
 */

/** What the browser tells us about a Port's sender (a subset of `runtime.MessageSender`). */
export interface DappSender {
  id?: string | undefined;
  origin?: string | undefined;
  url?: string | undefined;
  frameId?: number | undefined;
  tab?: { id?: number | undefined; url?: string | undefined } | undefined;
}

const LOCAL_HOSTS = new Set(['localhost', '127.0.0.1']);

/** `scheme://host[:port]` of a URL when it is a page the provider serves, else null. */
export function servedOrigin(url: string): string | null {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return null;
  }
  if (u.protocol === 'https:' || (u.protocol === 'http:' && LOCAL_HOSTS.has(u.hostname))) return u.origin;
  return null;
}

/** The sender's origin, or null when the sender is not a top-level page of ours to answer. */
export function dappOrigin(sender: DappSender, runtimeId: string): string | null {
  if (sender.id !== runtimeId) return null;
  // Content scripts run in the top frame only; anything else is not our content script.
  if (sender.frameId !== undefined && sender.frameId !== 0) return null;
  const from = sender.origin ?? sender.url ?? sender.tab?.url;
  if (typeof from !== 'string') return null;
  return servedOrigin(from);
}
