/**
 * A vault's activity, newest first, built from what the background already keeps and reports: the
 * co-approval requests (sends with their chain status and transaction hash, signer changes with the
 * power and threshold they change, and every member's approval or rejection) and the vault's
 * creation ceremony. Pure, so the rules are unit-tested; the History view only renders it. Links to
 * a block explorer come from the network's configurable explorer URL (none for the local chain).
 */
import type { CeremonyView, RequestPhase, RequestView } from '../../shared/messages.ts';
import type { ChainConfig } from '../../shared/settings.ts';

export type HistoryStatus = 'pending' | 'done' | 'failed';

export interface HistoryDecision {
  label: string;
  decision: 'approve' | 'reject';
}

export interface HistoryEntry {
  /** Request or ceremony id. */
  id: string;
  kind: 'send' | 'contract-call' | 'signers' | 'created' | 'message' | 'typed-data';
  /** The site that asked (dApp requests), or null. */
  origin: string | null;
  at: number;
  phase: RequestPhase | 'created';
  status: HistoryStatus;
  /** Send: amount, symbol and recipient (the decoded recipient, not the token contract). */
  amount: { units: bigint; decimals: number; symbol: string } | null;
  to: string | null;
  chainId: number | null;
  txHash: string | null;
  blockNumber: number | null;
  /** Signer change: threshold before → after, members added and removed (labels). */
  signers: { oldThreshold: number; newThreshold: number; added: string[]; removed: string[] } | null;
  /** Who approved or rejected, in member order. */
  decisions: HistoryDecision[];
  error: string | null;
}

function statusOf(phase: RequestPhase): HistoryStatus {
  if (phase === 'mined' || phase === 'done') return 'done';
  if (phase === 'failed' || phase === 'rejected' || phase === 'expired') return 'failed';
  return 'pending';
}

function fromRequest(r: RequestView): HistoryEntry {
  const decisions = r.members
    .filter((m) => m.decision !== null)
    .map((m) => ({ label: m.isSelf ? `${m.label} (this device)` : m.label, decision: m.decision! }));
  const base = {
    id: r.id,
    at: r.createdAt,
    phase: r.phase,
    status: statusOf(r.phase),
    txHash: r.txHash,
    blockNumber: r.blockNumber,
    decisions,
    error: r.phase === 'failed' ? r.error : null,
    origin: r.origin ?? null,
  };
  if (r.kind === 'message' || r.kind === 'typed-data') {
    // A signature, not a transaction: nothing is sent and there is no amount or hash.
    return { ...base, kind: r.kind, amount: null, to: null, chainId: null, signers: null };
  }
  if (r.kind === 'reshare') {
    const m = r.reshare?.members ?? [];
    return {
      ...base,
      kind: 'signers',
      amount: null,
      to: null,
      chainId: null,
      signers: {
        oldThreshold: r.reshare?.oldThreshold ?? r.threshold,
        newThreshold: r.reshare?.newThreshold ?? r.threshold,
        added: m.filter((x) => x.oldPower === 0 && x.newPower > 0).map((x) => x.label),
        removed: m.filter((x) => x.oldPower > 0 && x.newPower === 0).map((x) => x.label),
      },
    };
  }
  const tx = r.tx;
  const units = tx !== null && /^\d+$/.test(tx.amount) ? BigInt(tx.amount) : null;
  return {
    ...base,
    kind: tx?.kind === 'contract-call' ? 'contract-call' : 'send',
    amount: tx === null || units === null ? null : { units, decimals: tx.decimals, symbol: tx.symbol },
    to: tx?.recipient ?? null,
    chainId: tx?.chainId ?? null,
    signers: null,
  };
}

/**
 * The history of one vault. `vaultAddress` ties the creation ceremony to the vault (a ceremony view
 * names the address it produced, not the vault id).
 */
export function vaultHistory(
  vaultId: string,
  vaultAddress: string | null,
  requests: readonly RequestView[],
  ceremonies: readonly CeremonyView[],
): HistoryEntry[] {
  const out = requests.filter((r) => r.vaultId === vaultId).map(fromRequest);
  const created = ceremonies.find(
    (c) =>
      c.phase === 'done' &&
      vaultAddress !== null &&
      c.address !== null &&
      c.address.toLowerCase() === vaultAddress.toLowerCase(),
  );
  if (created !== undefined) {
    out.push({
      id: created.id,
      kind: 'created',
      origin: null,
      at: created.createdAt,
      phase: 'created',
      status: 'done',
      amount: null,
      to: null,
      chainId: null,
      txHash: null,
      blockNumber: null,
      signers: null,
      decisions: created.members
        .filter((m) => m.decision !== null)
        .map((m) => ({ label: m.isSelf ? `${m.label} (this device)` : m.label, decision: m.decision! })),
      error: null,
    });
  }
  return out.sort((a, b) => b.at - a.at || a.id.localeCompare(b.id));
}

/**
 * The explorer page of a transaction on a network, or null: no explorer set (the local chain), an
 * explorer URL that is not https, or something that is not a transaction hash.
 */
export function explorerTxUrl(
  chain: Pick<ChainConfig, 'explorerUrl'> | undefined,
  hash: string,
): string | null {
  const base = chain?.explorerUrl.trim() ?? '';
  if (base === '' || !/^0x[0-9a-fA-F]{64}$/.test(hash)) return null;
  let u: URL;
  try {
    u = new URL(base);
  } catch {
    return null;
  }
  if (u.protocol !== 'https:' || u.username !== '' || u.password !== '') return null;
  return `${base.replace(/\/+$/, '')}/tx/${hash}`;
}
