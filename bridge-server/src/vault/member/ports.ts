/**
 * The ports a headless vault member is driven through besides its store (store.ts): who decides
 * (a test's callback now, the co-signer's policy later), the clock and timers, and where a signed
 * transaction goes. docs/ARCHITECTURE.md lists the extension's counterparts (the person's screen,
 * `chrome.alarms`, its chain service).
 */
import type { PublicDeviceIdentity } from '@concord/tss/transport';
import type { BodyDescription } from '../kinds/index.ts';
import type { VaultProposal } from '../proposal.ts';
import type { VaultRequest } from '../request.ts';

/** A decision, or none for now (asked again after the next restart). */
export type Verdict = 'approve' | 'reject' | 'abstain';

/** A vault proposal as the decider sees it (checked: signed by its proposer, names this member). */
export interface ProposalForDecision {
  proposal: VaultProposal;
  safetyCode: string;
}

/** A request as the decider sees it: the body decoded by this member itself from the raw bytes. */
export interface RequestForDecision {
  request: VaultRequest;
  description: BodyDescription;
  /** The vault's address. */
  address: string;
}

export interface Decider {
  proposal(p: ProposalForDecision): Promise<Verdict>;
  request(r: RequestForDecision): Promise<Verdict>;
}

export interface TimerHandle {
  cancel(): void;
}

/** The clock and one-shot timers (Node timers by default; a test may drive its own). */
export interface Clock {
  now(): number;
  after(ms: number, fn: () => void): TimerHandle;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  after(ms, fn) {
    // setTimeout holds at most ~24.8 days; requests live at most 24 h (+ skew).
    const t = setTimeout(fn, Math.max(0, Math.min(ms, 2 ** 31 - 1)));
    return { cancel: () => clearTimeout(t) };
  },
};

/** Where signed transactions go (an RPC); optional: the other signers broadcast too. */
export interface ChainPort {
  broadcast(chainId: number, raw: `0x${string}`): Promise<void>;
}

/** Log sink: a stable code and an error; never secrets (the runtime passes none). */
export type LogFn = (code: string, error: unknown) => void;

/** A member's public identity with its hex id, as the services pass it around. */
export interface Party {
  hex: string;
  identity: PublicDeviceIdentity;
}
