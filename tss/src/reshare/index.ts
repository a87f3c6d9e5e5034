/**
 * Reshare and refresh (PROTOCOL.md 6; THREATS A23/A24): move a vault to a new committee, or
 * re-randomise the same one, keeping its key, vault id and address, with epoch + 1 and fresh
 * pairwise OT state. See rounds.ts for the construction and its security argument and
 * certificate.ts for the two-phase finish.
 */
export {
  activate,
  CertificateCollector,
  type CertificateSignature,
  certificateMessage,
  decodeCertificate,
  encodeCertificate,
  type IdentityKeys,
  type IdentitySigner,
  identityKeysFromIds,
  type ReshareCertificate,
  rotatedIdentities,
  signedMessage,
  verifyCertificate,
} from './certificate.ts';
export { type Dealer, descriptorHash, type Member, type ReshareParams, reshareMembers } from './params.ts';
export { checkRotation, isSmallOrder, type RotationPolicy, rotationMessage } from './rotation.ts';
export type { ReshareOutcome, ReshareRecord } from './rounds.ts';
export { RESHARE_ROUNDS, type ReshareOptions, ReshareSession } from './session.ts';
export {
  type CertificateResult,
  decodePendingAttempt,
  EpochState,
  encodePendingAttempt,
  type PendingAttempt,
} from './state.ts';
