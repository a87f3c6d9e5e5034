/**
 * Weighted-threshold arithmetic for the vault-setup screens, from the vault runtime's quorum module
 * (`@concord/bridge-server/vault/quorum`, dependency-free so pages can load it alone).
 */
export {
  layoutProblem,
  MAX_ENUMERATED_MEMBERS,
  MAX_MEMBER_POWER,
  minimalSigningGroups,
  type QuorumMember,
  totalPower,
} from '@concord/bridge-server/vault/quorum';
