/**
 * Read-only handlers for the pages' everyday views: the most a vault can send (Max on the Send
 * page) and the connection status with its retry. They read the vault row, the chain and the bridge
 * state and change nothing stored; `connection.retry` only redials the bridge.
 */
import { ExtensionError } from '../shared/errors.ts';
import type { ConnectionView, RequestOf, ResultMap } from '../shared/messages.ts';
import type { Repositories } from '../storage/repositories/index.ts';
import type { ChainService } from './services/chain.ts';
import type { ConnectionStatus } from './services/connection-status.ts';

export interface ViewDeps {
  repos: Repositories;
  chain: ChainService;
  connection: ConnectionStatus;
  /** Closes the bridge client and dials again (backoff reset). */
  redial: () => Promise<void>;
}

type ViewType = 'send.max' | 'connection.status' | 'connection.retry';
export type ViewHandlers = { [T in ViewType]: (req: RequestOf<T>) => Promise<ResultMap[T]> };

export function viewHandlers(d: ViewDeps): ViewHandlers {
  const status = async (chainId: number | undefined): Promise<ConnectionView> => ({
    bridge: d.connection.bridgeView(),
    rpc: chainId === undefined ? null : await d.connection.chainView(chainId),
  });
  return {
    'send.max': async (r) => {
      const v = await d.repos.vaults.get(r.vaultId);
      if (v?.address == null) throw new ExtensionError('NOT_FOUND', 'No such vault on this device.');
      return d.chain.maxSendable(
        r.chainId,
        v.address as `0x${string}`,
        r.to,
        r.token === null ? null : (r.token as `0x${string}`),
      );
    },
    'connection.status': (r) => status(r.chainId),
    'connection.retry': async (r) => {
      await d.redial();
      return status(r.chainId);
    },
  };
}
