/**
 * `@concord/bridge-server/vault/member` — a headless vault member (Node): the runtime that answers a
 * vault's proposals and co-approval requests over the bridge, its ports (`VaultStore`, `Decider`,
 * `Clock`, `ChainPort`, `CeremonyHost`) and their Node implementations (SQLite store, in-process
 * ceremonies, Node timers). Curated named exports.
 */
export { type CeremonyHost, inProcessHost } from './ceremony-host.ts';
export { DEFAULT_SCRYPT, type ScryptParams } from './data-key.ts';
export { isMemberError, MemberError, type MemberErrorCode } from './errors.ts';
export { type MemberOptions, VaultMember } from './member.ts';
export {
  type ChainPort,
  type Clock,
  type Decider,
  type LogFn,
  type ProposalForDecision,
  type RequestForDecision,
  systemClock,
  type TimerHandle,
  type Verdict,
} from './ports.ts';
export { RequestRuntime } from './requests.ts';
export { SCHEMA_VERSION, type SqliteStoreOptions, SqliteVaultStore } from './sqlite-store.ts';
export type {
  DecisionRecord,
  DkgRecord,
  ProposalRecord,
  RequestChanges,
  RequestRecord,
  SignedRecord,
  StoredMember,
  VaultRecord,
  VaultStore,
} from './store.ts';
