/**
 * The recovery Worker: the only place in the page where backups are decrypted and keys rebuilt. It
 * runs exactly the library code `concord-recover` runs (`openBackup`, `verifyBackup`,
 * `recoverVaults`, `RecoveredKey` exports, `vaultReport`, `assertStrongPassphrase`), so the page and
 * the CLI give the same results and the same messages for the same files. Started from a blob URL
 * (the page's CSP allows `worker-src blob:` and nothing else); it makes no request.
 */
import { inspectBackup, openBackup, verifyBackup } from '@concord/tss/backup';
import { assertStrongPassphrase } from '@concord/tss/backup/strength';
import {
  type RecoveryInput,
  recoverVaults,
  recoveryErrorText,
  type VaultRecovery,
  vaultReport,
} from '@concord/tss/recovery';
import type { ExportRequest, ExportResult, ReplyMessage, RequestMessage, VaultView } from './protocol.ts';

// `self` is a DedicatedWorkerGlobalScope at run time; the project's lib set types it as Window.
const scope = self as unknown as {
  onmessage: ((ev: MessageEvent<RequestMessage>) => void) | null;
  postMessage(message: ReplyMessage): void;
};

const opened = new Map<number, RecoveryInput>();
let results: VaultRecovery[] = [];

function destroyKeys(): void {
  for (const r of results) if (r.ok) r.key.destroy();
  results = [];
}

function view(r: VaultRecovery): VaultView {
  return {
    vaultId: r.vaultId,
    groupPublicKey: r.groupPublicKey,
    ok: r.ok,
    lines: vaultReport(r),
    epochs: r.epochs,
    ...(r.ok ? { address: r.address } : { code: r.error.code }),
  };
}

function recover(): VaultView[] {
  destroyKeys();
  // Labels are numbered in the order files were added, as the CLI numbers its arguments.
  const inputs = [...opened.entries()].sort((a, b) => a[0] - b[0]).map(([, input]) => input);
  results = inputs.length === 0 ? [] : recoverVaults(inputs);
  return results.map(view);
}

async function exportKey(vault: number, req: ExportRequest): Promise<ExportResult> {
  const r = results[vault];
  if (!r?.ok) throw new Error('no rebuilt key for this vault; rebuild it first');
  switch (req.kind) {
    case 'hex':
      return { kind: 'hex', text: `${r.key.privateKeyHex()}\n` };
    case 'keystore':
      // The keystore holds the whole key: the same strength policy as backups (as the CLI does).
      assertStrongPassphrase(req.password);
      return { kind: 'keystore', text: await r.key.keystoreV3(req.password), address: r.address };
    case 'wif': {
      const { wif, address } = r.key.bitcoin(req.network);
      return { kind: 'wif', wif: `${wif}\n`, address, network: req.network };
    }
  }
}

async function handle(msg: RequestMessage): Promise<unknown> {
  switch (msg.op) {
    case 'open': {
      const source = await openBackup(msg.text, msg.passphrase);
      opened.set(msg.fileId, { label: msg.label, source });
      return { ...inspectBackup(msg.text), verified: true };
    }
    case 'remove':
      opened.delete(msg.fileId);
      return null;
    case 'verify':
      return verifyBackup(msg.text, msg.passphrase);
    case 'recover':
      return recover();
    case 'export':
      return exportKey(msg.vault, msg);
    case 'clear':
      destroyKeys();
      for (const input of opened.values()) input.source.pointShares.length = 0;
      opened.clear();
      return null;
  }
}

scope.onmessage = (ev) => {
  const msg = ev.data;
  handle(msg).then(
    (value) => scope.postMessage({ id: msg.id, ok: true, value }),
    (e: unknown) => {
      const code = e instanceof Error && 'code' in e && typeof e.code === 'string' ? e.code : undefined;
      scope.postMessage({ id: msg.id, ok: false, message: recoveryErrorText(e), ...(code ? { code } : {}) });
    },
  );
};
