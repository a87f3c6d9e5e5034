/**
 * dApp requests waiting for the user: each one opens the extension's approval page in its own popup
 * window (like other wallets) and resolves when the user decides there, or rejects (EIP-1193 4001)
 * when the window is closed. Held in memory only: nothing waits across a service-worker restart, and
 * nothing is ever decided without the user (THREATS 50).
 */
import { providerErrors } from '@metamask/rpc-errors';
import { toHex } from '../../shared/bytes.ts';
import type { DappApprovalView } from '../../shared/dapp-messages.ts';
import { ExtensionError } from '../../shared/errors.ts';

/** The approval's payload without its id (the store assigns one). */
export type ApprovalInput = DappApprovalView extends infer V
  ? V extends { id: string }
    ? Omit<V, 'id'>
    : never
  : never;

export interface ApprovalDecision {
  approve: boolean;
  vaultIds: string[];
}

interface Pending {
  view: DappApprovalView;
  windowId: number | undefined;
  resolve(d: ApprovalDecision): void;
  reject(e: unknown): void;
}

export interface ApprovalDeps {
  rng: (n: number) => Uint8Array;
  /** Opens `app.html#/dapp/<id>` in a popup window; resolves with the window id when known. */
  openWindow(path: string): Promise<number | undefined>;
  /** Closes a window (best effort) once its request is decided. */
  closeWindow?(windowId: number): Promise<void>;
}

export class DappApprovals {
  private readonly pending = new Map<string, Pending>();

  constructor(private readonly d: ApprovalDeps) {}

  /** True while `origin` already has an approval of this kind open (a dApp asked twice). */
  has(origin: string, kind: DappApprovalView['kind']): boolean {
    for (const p of this.pending.values()) if (p.view.origin === origin && p.view.kind === kind) return true;
    return false;
  }

  /** Opens the approval window and waits for the user's decision (rejects with 4001 if closed). */
  async ask(input: ApprovalInput): Promise<ApprovalDecision> {
    const id = toHex(this.d.rng(16));
    const view = { ...input, id } as DappApprovalView;
    const decided = new Promise<ApprovalDecision>((resolve, reject) => {
      this.pending.set(id, { view, windowId: undefined, resolve, reject });
    });
    try {
      const windowId = await this.d.openWindow(`app.html#/dapp/${id}`);
      const p = this.pending.get(id);
      if (p !== undefined) p.windowId = windowId;
    } catch (cause) {
      this.pending.delete(id);
      throw providerErrors.disconnected({
        message: 'Concord could not open its approval window.',
        data: { cause: String(cause) },
      });
    }
    return decided;
  }

  view(id: string): DappApprovalView {
    const p = this.pending.get(id);
    if (p === undefined)
      throw new ExtensionError(
        'REQUEST_CLOSED',
        'This request is no longer waiting (the site may have been closed).',
      );
    return p.view;
  }

  async decide(id: string, decision: ApprovalDecision): Promise<void> {
    const p = this.pending.get(id);
    if (p === undefined)
      throw new ExtensionError(
        'REQUEST_CLOSED',
        'This request is no longer waiting (the site may have been closed).',
      );
    this.pending.delete(id);
    p.resolve(decision);
    if (p.windowId !== undefined) await this.d.closeWindow?.(p.windowId).catch(() => undefined);
  }

  /** The user closed a window: its request is rejected (4001). */
  windowClosed(windowId: number): void {
    for (const [id, p] of this.pending) {
      if (p.windowId !== windowId) continue;
      this.pending.delete(id);
      p.reject(providerErrors.userRejectedRequest({ message: 'The request was closed without a decision.' }));
    }
  }
}
