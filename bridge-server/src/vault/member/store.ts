/**
 * The `VaultStore` port of a vault member (docs/ARCHITECTURE.md, "The ports an adapter supplies"):
 * everything a member keeps across a restart — its device identity, its vaults and key shares, the
 * vault proposals and co-approval requests it takes part in, every verified decision, and the state
 * of each ceremony attempt. Round state of a running ceremony is never stored (it is secret and
 * short-lived): a member that restarts mid-ceremony asks for a new attempt instead.
 *
 * Secrets (the identity's private keys, key shares) cross this interface in clear only while the
 * store is open; an implementation keeps them sealed at rest (sqlite-store.ts: a data key from the
 * passphrase, AEAD bound to the row). Every method may be asynchronous so a browser implementation
 * (Dexie) fits too; the runtime calls them one at a time per member.
 */
import type { AttemptState, RequestStatus } from '../co-approval.ts';
import type { Decision } from '../request.ts';

/** One member of a vault as stored (public data). */
export interface StoredMember {
  /** Lowercase hex device id. */
  deviceId: string;
  label: string;
  power: number;
  /** `encodePublicIdentity` bytes, base64url. */
  publicIdentity: string;
}

export interface VaultRecord {
  /** The vault's local id (the creation ceremony's id, the same on every member). */
  id: string;
  name: string;
  epoch: number;
  threshold: number;
  members: StoredMember[];
  /** Compressed group key, hex. */
  publicKey: string;
  address: string;
  /** The tss vault id (hex). */
  keyId: string;
  createdAt: number;
}

/** Vault-creation proposal as received (the exact signed bytes). */
export interface ProposalRecord {
  id: string;
  sid: string;
  payload: Uint8Array;
  status: 'open' | 'approved' | 'rejected' | 'expired' | 'executed';
  createdAt: number;
  expiresAt: number;
}

/** The DKG of a proposal on this member. */
export interface DkgRecord {
  id: string;
  status: 'running' | 'done' | 'aborted';
  attempt: number;
  abortCode: string | null;
  updatedAt: number;
}

/** A co-approval request as received (the exact signed bytes). */
export interface RequestRecord {
  id: string;
  vaultId: string;
  payload: Uint8Array;
  status: RequestStatus;
  createdAt: number;
  expiresAt: number;
}

export interface DecisionRecord {
  /** The proposal's or request's id. */
  subject: string;
  deviceId: string;
  decision: Decision;
  sig: Uint8Array;
  createdAt: number;
}

/** A signed transaction of a send request, as it went to the chain. */
export interface SignedRecord {
  requestId: string;
  raw: `0x${string}`;
  hash: `0x${string}`;
  createdAt: number;
}

/** Everything one step of the co-approval machine changed, written in one transaction. */
export interface RequestChanges {
  status?: RequestStatus;
  decisions?: DecisionRecord[];
  attempt?: AttemptState;
}

export interface VaultStore {
  /** The encoded `DeviceIdentity` (secret), or undefined before `init`. */
  identity(): Promise<Uint8Array | undefined>;
  setIdentity(encoded: Uint8Array): Promise<void>;

  vault(id: string): Promise<VaultRecord | undefined>;
  vaults(): Promise<VaultRecord[]>;
  /** Whether a vault or share of this id exists (a proposal naming it is refused). */
  idTaken(id: string): Promise<boolean>;
  /** The active key share (encoded `KeyShare`, secret) of a vault. */
  share(vaultId: string): Promise<{ epoch: number; secret: Uint8Array } | undefined>;

  proposal(id: string): Promise<ProposalRecord | undefined>;
  proposals(): Promise<ProposalRecord[]>;
  /** Stores a new proposal with its proposer's decision; false if it was there already. */
  addProposal(p: ProposalRecord, proposerDecision: DecisionRecord): Promise<boolean>;
  setProposalStatus(id: string, status: ProposalRecord['status']): Promise<void>;
  dkg(id: string): Promise<DkgRecord | undefined>;
  putDkg(r: DkgRecord): Promise<void>;
  /** The DKG's result: vault, share and `done`, in one transaction; refuses an existing vault id. */
  completeDkg(vault: VaultRecord, share: { epoch: number; secret: Uint8Array }, now: number): Promise<void>;

  request(id: string): Promise<RequestRecord | undefined>;
  requests(): Promise<RequestRecord[]>;
  /** Stores a new request with its initiator's decision; false if it was there already. */
  addRequest(r: RequestRecord, initiatorDecision: DecisionRecord): Promise<boolean>;
  decisions(subject: string): Promise<DecisionRecord[]>;
  /** Adds one decision; the first decision of a device wins (false: one was there). */
  addDecision(d: DecisionRecord): Promise<boolean>;
  attempt(requestId: string): Promise<AttemptState | undefined>;
  applyRequestChanges(id: string, changes: RequestChanges): Promise<void>;
  signed(requestId: string): Promise<SignedRecord | undefined>;
  /** Stores the signed transaction, marks the request executed and its attempt done (one transaction). */
  putSigned(s: SignedRecord): Promise<boolean>;

  close(): void;
}
