/**
 * Every domain-separation tag of the core, in one place, versioned. A tag names protocol, step and
 * version; changing what a hash covers means a new version. Tests assert the tags are distinct.
 */
export const TAGS = {
  // parameters and session ids
  dkgParams: 'concord/dkg/params/v1',
  dkgFingerprint: 'concord/dkg/fingerprint/v1',
  dkgSession: 'concord/dkg/session/v1',
  vaultId: 'concord/vault/id/v1',
  // DKG rounds (PROTOCOL.md 3.1)
  dkgCommit: 'concord/dkg/commit/v1',
  dkgEcho: 'concord/dkg/echo/v1',
  dkgPokCoefficient: 'concord/dkg/pok/coefficient/v1',
  dkgPokShare: 'concord/dkg/pok/public-share/v1',
  dkgTranscript: 'concord/dkg/transcript/v1',
  dkgShareMask: 'concord/dkg/share-mask/v1',
  dkgZeroSeedConfirm: 'concord/dkg/zero-seed-confirm/v1',
  // Schnorr proof of knowledge (the challenge tag; the statement kind is a field)
  schnorrChallenge: 'concord/schnorr/challenge/v1',
  // pairwise setup
  pairSession: 'concord/pair/session/v1',
  zeroSeed: 'concord/zero/seed/v1',
  zeroShare: 'concord/zero/share/v1',
  // base OT (MR19 endemic OT over ristretto255) and all-but-one (SoftSpoken k=4)
  baseOtSession: 'concord/ot/base/session/v1',
  baseOtHashToGroup: 'concord/ot/base/h2g/v1',
  baseOtKey: 'concord/ot/base/key/v2',
  baseOtTranscript: 'concord/ot/base/transcript/v2',
  baseOtRandomPoint: 'concord/ot/base/random-point/v1',
  aboSession: 'concord/ot/abo/session/v1',
  aboPrg: 'concord/ot/abo/prg/v1',
  aboProof: 'concord/ot/abo/proof/v1',
  // OT extension and RVOLE (SoftSpoken + DKLs23 Protocol 5.2)
  otExtPrg: 'concord/ot/ext/prg/v1',
  otExtCheck: 'concord/ot/ext/check/v1',
  otExtHash: 'concord/ot/ext/hash/v1',
  rvoleSession: 'concord/mul/rvole/session/v1',
  rvoleChi: 'concord/mul/rvole/chi/v1',
  rvoleMu: 'concord/mul/rvole/mu/v1',
  // signing (PROTOCOL.md 4)
  signSession: 'concord/sign/session/v1',
  signCommitR: 'concord/sign/commit-r/v1',
  signView: 'concord/sign/view/v1',
  // transport (bridge envelopes) and backups use their own tags in their modules' sections below
  // transport: device identity, E2E envelopes, safety codes (BRIDGE.md 4, 8; THREATS B42, B43)
  deviceBinding: 'concord/transport/device-binding/v1',
  deviceFingerprint: 'concord/transport/device-fingerprint/v1',
  envelopeSalt: 'concord/transport/envelope/salt/v1',
  envelopeKey: 'concord/transport/envelope/key/v2',
  envelopeSig: 'concord/transport/envelope/sig/v1',
  safetyCode: 'concord/transport/safety-code/v1',
  // backups: header digest, AEAD associated data, key and key-check from the scrypt output (backup/format.ts)
  backupHeader: 'concord/backup/header/v1',
  backupAd: 'concord/backup/ad/v1',
  backupKey: 'concord/backup/key/v1',
  backupKeyCheck: 'concord/backup/key-check/v1',
  // reshare / refresh (reshare/*): parameters, session id, rounds, transcript, certificate
  reshareParams: 'concord/reshare/params/v1',
  reshareSession: 'concord/reshare/session/v1',
  reshareCommit: 'concord/reshare/commit/v1',
  reshareEcho: 'concord/reshare/echo/v1',
  resharePokCoefficient: 'concord/reshare/pok/coefficient/v1',
  resharePokShare: 'concord/reshare/pok/public-share/v1',
  reshareZeroSeed: 'concord/reshare/zero-seed/v1',
  reshareZeroSeedConfirm: 'concord/reshare/zero-seed-confirm/v1',
  reshareTranscript: 'concord/reshare/transcript/v1',
  reshareDescriptor: 'concord/reshare/descriptor/v1',
  reshareCertificate: 'concord/reshare/certificate/v1',
  reshareKeyRotation: 'concord/reshare/key-rotation/v1',
} as const;

export type TagName = keyof typeof TAGS;
