/**
 * The background end of the dApp Ports: accepts a Port only from our own content script in a served
 * page (origin from the Port's `sender`, THREATS 46; other extensions cannot connect at all, 47),
 * answers `{id, method, params}` with a result or an EIP-1193 error, and pushes the provider state
 * (chain, accounts) when a Port opens and whenever it changes for that origin.
 */
import { JsonRpcError, rpcErrors } from '@metamask/rpc-errors';
import { DAPP_PORT, type PortMessage, type WireRpcError } from '../../provider/protocol.ts';
import type { DappService } from './methods.ts';
import { type DappSender, dappOrigin } from './origin.ts';
import { RpcNodeError } from './rpc-forward.ts';

/** The part of `runtime.Port` the host uses. */
export interface HostPort {
  name: string;
  sender?: DappSender | undefined;
  postMessage(message: PortMessage): void;
  disconnect(): void;
  onMessage: { addListener(fn: (message: unknown) => void): void };
  onDisconnect: { addListener(fn: () => void): void };
}

export interface PortHostDeps {
  runtimeId: string;
  /** The service, created lazily (the database opens on first use). */
  service(): Promise<DappService>;
  log?: (code: string, error: unknown) => void;
}

/** Our own JSON-RPC errors keep code and message; anything else is -32603 without its message. */
function toWire(e: unknown): WireRpcError {
  if (e instanceof RpcNodeError) return e.wire;
  if (e instanceof JsonRpcError) return { code: e.code, message: e.message };
  return { code: -32603, message: 'Concord could not answer that request.' };
}

export class DappPortHost {
  private readonly ports = new Map<HostPort, string>();

  constructor(private readonly d: PortHostDeps) {}

  /** Called synchronously from `runtime.onConnect` so no early message is lost. */
  attach(port: HostPort): void {
    if (port.name !== DAPP_PORT) return;
    const origin = port.sender === undefined ? null : dappOrigin(port.sender, this.d.runtimeId);
    if (origin === null) {
      port.disconnect();
      return;
    }
    this.ports.set(port, origin);
    port.onDisconnect.addListener(() => this.ports.delete(port));
    port.onMessage.addListener((m) => void this.onMessage(port, origin, m));
    void this.push(port, origin);
  }

  private async onMessage(port: HostPort, origin: string, m: unknown): Promise<void> {
    if (typeof m !== 'object' || m === null) return;
    const { id, method, params } = m as { id?: unknown; method?: unknown; params?: unknown };
    if (typeof id !== 'number' || !Number.isSafeInteger(id)) return;
    let reply: PortMessage;
    try {
      if (typeof method !== 'string' || method.length === 0 || method.length > 128) {
        throw rpcErrors.invalidRequest({ message: 'A request needs a method name.' });
      }
      const service = await this.d.service();
      reply = { kind: 'response', id, result: await service.handle(origin, method, params) };
    } catch (e) {
      const error = toWire(e);
      if (error.code === -32603) this.d.log?.('DAPP', e);
      reply = { kind: 'response', id, error };
    }
    if (this.ports.has(port)) port.postMessage(reply);
  }

  private async push(port: HostPort, origin: string): Promise<void> {
    try {
      const state = await (await this.d.service()).state(origin);
      if (this.ports.has(port)) port.postMessage({ kind: 'state', state });
    } catch (e) {
      this.d.log?.('DAPP_STATE', e);
    }
  }

  /** Pushes the current state to every open page of `origin`, or of every origin. */
  notify(origin?: string): void {
    for (const [port, o] of this.ports) if (origin === undefined || o === origin) void this.push(port, o);
  }
}
