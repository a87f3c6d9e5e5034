/**
 * Wire format between the three parts of the dApp provider (EIP-1193 transport):
 *   page (MAIN world, inpage.ts) ⇄ window.postMessage ⇄ content script (isolated world, content.ts)
 *   content script ⇄ runtime Port named DAPP_PORT ⇄ background (background/dapp/port-host.ts).
 * Page-side messages carry a per-page channel nonce chosen by the inpage script; the content script
 * pins the first one it sees and drops everything else (THREATS 45). The background never reads an
 * origin from these messages: it takes it from the Port's `sender` (THREATS 46).
 */

/** Name of the runtime Port the content script opens to the background. */
export const DAPP_PORT = 'concord/dapp/v1';

/** `target` of messages posted by the inpage provider (read by the content script). */
export const TO_CONTENT = 'concord-content';
/** `target` of messages posted by the content script (read by the inpage provider). */
export const TO_INPAGE = 'concord-inpage';

/** A JSON-RPC error as sent over the wire (EIP-1193 `ProviderRpcError` fields). */
export interface WireRpcError {
  code: number;
  message: string;
  data?: unknown;
}

/** Content script → background over the Port. */
export interface PortRequest {
  id: number;
  method: string;
  params?: unknown;
}

/** The provider state an origin sees; pushed on connect and whenever it changes. */
export interface ProviderState {
  chainId: `0x${string}`;
  accounts: `0x${string}`[];
}

/** Background → content script over the Port. */
export type PortMessage =
  | { kind: 'response'; id: number; result: unknown }
  | { kind: 'response'; id: number; error: WireRpcError }
  | { kind: 'state'; state: ProviderState };

/** Inpage → content script. */
export type InpageMessage =
  | { target: typeof TO_CONTENT; type: 'hello'; nonce: string }
  | {
      target: typeof TO_CONTENT;
      type: 'request';
      nonce: string;
      id: number;
      method: string;
      params?: unknown;
    };

/** Content script → inpage. */
export type ContentMessage =
  | { target: typeof TO_INPAGE; type: 'ready' }
  | { target: typeof TO_INPAGE; type: 'message'; nonce: string; message: PortMessage }
  | { target: typeof TO_INPAGE; type: 'disconnected'; nonce: string };

/** A 128-bit random nonce as hex (the only randomness source is `crypto.getRandomValues`). */
export function randomNonce(): string {
  const b = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
}
