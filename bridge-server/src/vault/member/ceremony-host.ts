/**
 * The ceremony-host port and its in-process implementation: where a member's threshold-protocol
 * sessions (tss `DkgSession`, DKLs23 keygen; `SignSession`, DKLs23 signing) run. The extension runs
 * them in an offscreen Worker; a headless member runs them in its own process, since signing is a
 * few hundred milliseconds of CPU and it has no UI thread to keep free. Randomness is tss's default
 * (`crypto.getRandomValues`).
 */
import {
  type DkgOptions,
  type DkgResult,
  DkgSession,
  type RoundEngine,
  type Signature,
  type SignOptions,
  SignSession,
} from '@concord/tss';

export interface CeremonyHost {
  dkg(options: DkgOptions): RoundEngine<DkgResult>;
  sign(options: SignOptions): RoundEngine<Signature>;
}

export const inProcessHost: CeremonyHost = {
  dkg: (options) => new DkgSession(options),
  sign: (options) => new SignSession(options),
};
