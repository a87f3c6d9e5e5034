/**
 * Display helpers shared by the request, send and home screens: short addresses, amounts with their
 * unit, one-line request titles and the human label of each request phase.
 */
import type { RequestPhase, RequestView, TxSummary } from '../../shared/messages.ts';
import { formatUnitsText } from './amount.ts';

/** Every preset chain pays fees in a currency with 18 decimals (ETH, or POL on Polygon). */
export const NATIVE_DECIMALS = 18;

/** `0x1234…abcd` for lists; full addresses are shown wherever a decision depends on them. */
export function shortAddress(address: string): string {
  return /^0x[0-9a-fA-F]{40}$/.test(address) ? `${address.slice(0, 6)}…${address.slice(-4)}` : address;
}

/** The amount, short form ("8.99996… ETH"); `<Amount>` shows the exact value on hover. */
export function txAmount(tx: TxSummary): string {
  return formatUnitsText(tx.amount, tx.decimals, tx.symbol).short;
}

/** The fee ceiling in base units of the native currency: gas limit × max fee per gas. */
export function txFeeUnits(tx: TxSummary): bigint {
  return /^\d+$/.test(tx.gasLimit) && /^\d+$/.test(tx.maxFeePerGas)
    ? BigInt(tx.gasLimit) * BigInt(tx.maxFeePerGas)
    : 0n;
}

/** Native symbol of a summary: for a token transfer the background names the token, not the coin. */
export function feeSymbol(tx: TxSummary): string {
  return tx.kind === 'native' ? tx.symbol : (/[A-Za-z]+$/.exec(tx.maxFeeDisplay)?.[0] ?? '');
}

/**
 * The fee is paid in the chain's native currency. TxSummary names the native symbol only for native
 * transfers; for a token transfer the background's display text is expected to carry its unit.
 */
export function txFee(tx: TxSummary): string {
  return formatUnitsText(txFeeUnits(tx).toString(), NATIVE_DECIMALS, feeSymbol(tx)).short;
}

/** "Send 1 ETH to 0x1234…abcd" / "Change signers". */
export function requestTitle(r: RequestView): string {
  if (r.kind === 'reshare') return 'Change signers';
  if (r.kind === 'message' || r.kind === 'typed-data' || (r.origin !== null && r.description !== null)) {
    return r.description?.title ?? (r.kind === 'message' ? 'Sign a message' : 'Sign typed data');
  }
  if (r.tx === null) return 'Send';
  if (r.tx.kind === 'contract-call')
    return r.description?.title ?? `Contract call to ${shortAddress(r.tx.to)}`;
  return `Send ${txAmount(r.tx)} to ${shortAddress(r.tx.recipient)}`;
}

const PHASE_TEXT: Record<RequestPhase, string> = {
  pending: 'Waiting for approvals',
  approved: 'Approved — signing',
  signing: 'Approved — signing',
  broadcast: 'Broadcast — waiting to be mined',
  mined: 'Mined',
  failed: 'Failed',
  rejected: 'Rejected',
  expired: 'Expired',
  done: 'Done',
};

/** Human label of where a request stands ("Mined in block 12", "Failed: nonce too low"). */
export function phaseText(r: Pick<RequestView, 'phase' | 'kind' | 'blockNumber' | 'error'>): string {
  switch (r.phase) {
    case 'approved':
    case 'signing':
      return r.kind === 'reshare' ? 'Approved — changing signers' : PHASE_TEXT[r.phase];
    case 'mined':
      return r.blockNumber === null ? 'Mined' : `Mined in block ${r.blockNumber}`;
    case 'failed':
      return `Failed: ${r.error ?? 'unknown error'}`;
    default:
      return PHASE_TEXT[r.phase];
  }
}

/** Phases after which nothing changes any more. */
export function isFinal(phase: RequestPhase): boolean {
  return (
    phase === 'mined' || phase === 'failed' || phase === 'rejected' || phase === 'expired' || phase === 'done'
  );
}

/** "in 23 min" / "in 2 h 5 min" / "a moment ago". */
export function relativeTime(at: number, now: number = Date.now()): string {
  const diff = at - now;
  const mins = Math.round(Math.abs(diff) / 60_000);
  let span: string;
  if (mins < 1) span = 'less than a minute';
  else if (mins < 60) span = `${mins} min`;
  else {
    const h = Math.floor(mins / 60);
    const m = mins % 60;
    span = m === 0 ? `${h} h` : `${h} h ${m} min`;
  }
  return diff >= 0 ? `in ${span}` : `${span} ago`;
}

/** Local date and time, short. */
export function clockTime(at: number): string {
  return new Date(at).toLocaleString(undefined, {
    month: 'short',
    day: 'numeric',
    hour: '2-digit',
    minute: '2-digit',
  });
}

/**
 * Where the approvals stand, as one sentence without two fractions side by side:
 * "2 of 3 power approved — 1 more needed" / "3 of 3 power approved".
 */
export function approvalText(r: Pick<RequestView, 'approvedPower' | 'threshold'>): string {
  const missing = r.threshold - r.approvedPower;
  const head = `${r.approvedPower} of ${r.threshold} power approved`;
  return missing > 0 ? `${head} — ${missing} more needed` : head;
}
