/**
 * Row types of the Concord IndexedDB database (schema v1). Secret material only ever appears inside
 * a `SealedBlob` (see crypto/aead.ts); every other field is public or metadata. Ids are strings
 * (lowercase hex or UUIDs) so they sort and compare the same everywhere.
 */
import type { SealedBlob } from '../crypto/aead.ts';

/** Small key/value rows: the keyring header, the unlock throttle, the schema bookkeeping. */
export interface MetaRecord<T = unknown> {
  key: string;
  value: T;
}

/** This device's long-term identity. One row, `id = 'device'`. */
export interface IdentityRecord {
  id: 'device';
  /** Version of the sealed plaintext encoding; bound into the AEAD associated data. */
  version: number;
  /** Lowercase hex Ed25519 public key. */
  deviceId: string;
  /** Canonical public identity encoding (tss `encodePublicIdentity`). */
  publicIdentity: Uint8Array;
  deviceCode: string;
  fingerprint: string;
  /** tss `encodeDeviceIdentity`, sealed under the DEK. */
  sealed: SealedBlob;
  createdAt: number;
}

export interface VaultMember {
  /** Lowercase hex device id. */
  deviceId: string;
  label: string;
  weight: number;
  /** Public identity encoding, for envelope encryption to this member. */
  publicIdentity: Uint8Array;
}

/** A threshold key this device takes part in. */
export interface VaultRecord {
  id: string;
  name: string;
  /** Current key epoch; increments on every reshare. */
  epoch: number;
  threshold: number;
  members: VaultMember[];
  /** Compressed secp256k1 public key (hex) once the DKG has finished. */
  publicKey: string | null;
  /** EIP-55 address once the DKG has finished. */
  address: string | null;
  status: 'creating' | 'active' | 'resharing' | 'retired';
  createdAt: number;
  updatedAt: number;
  /** Seal under the DEK over every other field (schema v3, storage/record-auth.ts); set by the hooks. */
  auth?: SealedBlob;
}

export type ShareStatus = 'active' | 'pending';

/**
 * This device's share of a vault key at one epoch. `pending` shares come from a reshare that has not
 * been confirmed by every member yet; they become `active` (and the previous epoch is deleted) only
 * after confirmation.
 */
export interface ShareRecord {
  /** `${vaultId}:${epoch}`. */
  id: string;
  vaultId: string;
  epoch: number;
  status: ShareStatus;
  /** Canonical share encoding (tss codec), sealed under the DEK with (share, id, epoch) as AD. */
  sealed: SealedBlob;
  createdAt: number;
  /** Seal under the DEK over every other field, status included (schema v3, storage/record-auth.ts). */
  auth?: SealedBlob;
}

export type ProposalKind = 'create-vault' | 'sign' | 'reshare' | 'add-member' | 'remove-member';
export type ProposalStatus = 'open' | 'approved' | 'rejected' | 'expired' | 'executed';

/** Something a quorum of devices must co-approve before a ceremony starts. */
export interface ProposalRecord {
  id: string;
  vaultId: string | null;
  kind: ProposalKind;
  /** Lowercase hex device id of the proposer. */
  proposer: string;
  /** Canonical encoding of what is being approved; approvals sign its hash. */
  payload: Uint8Array;
  status: ProposalStatus;
  createdAt: number;
  expiresAt: number;
  /**
   * A message or typed-data request's result: the 65-byte r ‖ s ‖ v signature, checked against
   * the group key before it is stored (not indexed; absent for every other kind).
   */
  signature?: Uint8Array;
}

export interface ApprovalRecord {
  /** `${proposalId}:${deviceId}`: one approval per device per proposal. */
  id: string;
  proposalId: string;
  deviceId: string;
  decision: 'approve' | 'reject';
  /** Ed25519 signature by the device over the proposal hash and decision. */
  signature: Uint8Array;
  createdAt: number;
}

export type CeremonyKind = 'dkg' | 'sign' | 'reshare';
export type CeremonyStatus = 'running' | 'done' | 'aborted';

/** Progress of a protocol run, so a service-worker restart can resume or abort it (rule 12). */
export interface CeremonyRecord {
  id: string;
  vaultId: string | null;
  proposalId: string | null;
  kind: CeremonyKind;
  status: CeremonyStatus;
  round: number;
  /** Kept protocol state between rounds (secret), sealed under the DEK. */
  state: SealedBlob | null;
  /** Abort reason code when `status = 'aborted'`. */
  abortCode: string | null;
  createdAt: number;
  updatedAt: number;
  /** Co-approval ceremonies (schema v2): the coordinator's current attempt and its signers (hex ids). */
  attempt?: number;
  signers?: string[];
  /** Reshare: the current members among `signers` who deal (each approved; named by the start). */
  dealers?: string[];
  /** Who signed the current attempt's start: the initiator, or a fallback approver (hex id). */
  coordinator?: string;
  /**
   * Highest attempt this device started a protocol session for. After a worker restart the session's
   * round state is gone; rejoining the same attempt would send different round messages under the
   * same message ids, so the device asks for a new attempt instead.
   */
  myAttempt?: number;
  /**
   * Co-approval: when the current attempt counts as stalled here (epoch ms; see request-liveness.ts).
   * Persisted with a `chrome.alarms` alarm so a worker that died wakes up and acts on it.
   */
  stallAt?: number;
  /** Reshare (schema v2): the finished session's public record, to verify certificate signatures. */
  reshare?: { attempt: number; sessionId: string; transcript: string; descriptor: string };
  /** Reshare: verified-on-use certificate signatures, keyed `${attempt}:${deviceId}` (hex). */
  certSigs?: Record<string, string>;
  /** Reshare: new members (hex) that confirmed activating the new epoch (certificate-delivery.ts). */
  certConfirmed?: string[];
  /** Signers a victim reported as banned: left out of this request's next attempts (ban-reports.ts). */
  excluded?: string[];
}

export type TxStatus = 'pending' | 'mined' | 'failed';

/** A signed transaction of a send request, and what the chain says about it (schema v2). */
export interface TxRecord {
  /** The request id. */
  id: string;
  vaultId: string;
  chainId: number;
  /**
   * Signed transactions for the request's single nonce (0x-hex). Usually one; two only if two
   * attempts both finished: they spend the same nonce, so at most one can ever be mined.
   */
  raws: string[];
  hashes: string[];
  status: TxStatus;
  /** The hash that was mined (or reverted), once known. */
  minedHash: string | null;
  blockNumber: number | null;
  /** Last broadcast refusal (shown while still pending), never secret. */
  lastError: string | null;
  checkedAt: number;
  updatedAt: number;
}

export interface SettingRecord<T = unknown> {
  key: string;
  value: T;
}

/** A device this device refuses to run ceremonies with (after a blamed abort). */
export interface BanRecord {
  /** `${vaultId}:${deviceId}`. */
  id: string;
  vaultId: string;
  deviceId: string;
  reason: string;
  createdAt: number;
}

/**
 * This device's envelope identity for one vault after a reshare rotated it (schema v4,
 * envelope-keys.ts): the same Ed25519 device key with a fresh X25519 key. Which one a vault uses is
 * what its (authenticated) vault record lists for this device; rows no one lists are deleted.
 */
export interface EnvelopeKeyRecord {
  /** Lowercase hex of the X25519 public key. */
  id: string;
  /** The vault's local id. */
  vaultId: string;
  /** The epoch whose certificate binds the key. */
  epoch: number;
  /** tss `encodeDeviceIdentity` of the rotated identity, sealed under the DEK (AD: id, vault, epoch). */
  sealed: SealedBlob;
  createdAt: number;
}

/**
 * A share restored from a backup file on a device restored from its backup (schema v2). It holds the
 * point shares only (no pairwise state), so it cannot sign; it waits until a refresh of the vault
 * arrives, deals in it from this record, and is deleted when the refreshed share becomes active.
 */
export interface RestoreRecord {
  /** The tss vault id (hex), which a refresh request names as its `keyId`. */
  id: string;
  epoch: number;
  /** Compressed group key (hex) and the vault address, for display before the vault record exists. */
  groupKey: string;
  address: string;
  threshold: number;
  power: number;
  /** The backup's content (tss `BackupSource`, encoded by restore.ts), sealed under the DEK. */
  sealed: SealedBlob;
  createdAt: number;
}
