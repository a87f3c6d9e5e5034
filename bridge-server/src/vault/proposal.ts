/**
 * The "create a vault" proposal: what the creator's device sends to the invitees before any key
 * material exists, and the signed accept/decline each member answers with.
 *
 * - Encoding: canonical JSON (fixed key order, built here only), UTF-8. The hash every signature
 *   covers is SHA-256 over a domain tag and the exact received bytes, so no re-serialisation is
 *   ever trusted.
 * - Decision: Ed25519 by the member's device key over SHA-256(tag ‖ proposal hash ‖ decision). The
 *   creator's proposal signature *is* its `approve` decision, so one verifier covers both.
 * - First message on the wire: `'I' ‖ 0x01 ‖ creator public identity (130 B) ‖ envelope`. An invitee
 *   has never seen the creator's agreement key, so the creator's self-authenticating public identity
 *   (binding signature, tss identity.ts) travels in front; it must equal the relay-authenticated
 *   sender, and the envelope inside is an ordinary E2E envelope (the relay learns nothing).
 * - The safety code (tss safety-code.ts) commits to the proposal id, threshold and the members'
 *   (device id, agreement key, power): a relay that swapped a member's identity makes codes differ.
 */

import {
  type DeviceIdentity,
  decodePublicIdentity,
  EnvelopeSession,
  encodePublicIdentity,
  fromBase64url,
  PUBLIC_IDENTITY_LENGTH,
  type PublicDeviceIdentity,
  safetyCode,
  toBase64url,
} from '@concord/tss/transport';
import { ed25519 } from '@noble/curves/ed25519.js';
import { sha256 } from '@noble/hashes/sha2.js';
import * as v from 'valibot';
import type { DeliveredMessage } from '../client/client.ts';
import { concatBytes, toHex, utf8 } from './bytes.ts';
import { layoutProblem } from './quorum.ts';

export const PROPOSAL_VERSION = 1;
const PROPOSAL_TAG = utf8('concord/vault-proposal/v1');
const DECISION_TAG = utf8('concord/vault-proposal/decision/v1');
const WIRE_MAGIC = 0x49; // 'I'
const WIRE_VERSION = 1;
const SIG_LENGTH = 64;

export type Decision = 'approve' | 'reject';

export interface ProposalMember {
  identity: PublicDeviceIdentity;
  /** Lowercase hex device id. */
  deviceId: string;
  power: number;
  label: string;
}

export interface VaultProposal {
  /** Ceremony id: 16 random bytes, hex. Also the vault's local id. */
  id: string;
  /** Bridge session id of kind `dkg` with every member. */
  sid: string;
  name: string;
  threshold: number;
  /** Lowercase hex device id of the creator. */
  proposer: string;
  /** Sorted by device id. */
  members: ProposalMember[];
  createdAt: number;
  expiresAt: number;
}

const Hex32 = v.pipe(v.string(), v.regex(/^[0-9a-f]{32}$/));
const WireSchema = v.strictObject({
  v: v.literal(PROPOSAL_VERSION),
  kind: v.literal('create-vault'),
  id: Hex32,
  sid: v.pipe(v.string(), v.minLength(1), v.maxLength(64)),
  name: v.pipe(v.string(), v.minLength(1), v.maxLength(64)),
  threshold: v.pipe(v.number(), v.integer(), v.minValue(1)),
  proposer: v.pipe(v.string(), v.regex(/^[0-9a-f]{64}$/)),
  members: v.pipe(
    v.array(
      v.strictObject({
        identity: v.pipe(v.string(), v.maxLength(256)),
        power: v.pipe(v.number(), v.integer(), v.minValue(1)),
        label: v.pipe(v.string(), v.maxLength(64)),
      }),
    ),
    v.minLength(2),
    v.maxLength(16),
  ),
  createdAt: v.pipe(v.number(), v.integer()),
  expiresAt: v.pipe(v.number(), v.integer()),
});

export class ProposalError extends Error {
  override readonly name = 'ProposalError';
}

/** Canonical bytes of a proposal (members sorted by device id). */
export function encodeProposal(p: VaultProposal): Uint8Array {
  const members = [...p.members].sort((a, b) => a.deviceId.localeCompare(b.deviceId));
  return utf8(
    JSON.stringify({
      v: PROPOSAL_VERSION,
      kind: 'create-vault',
      id: p.id,
      sid: p.sid,
      name: p.name,
      threshold: p.threshold,
      proposer: p.proposer,
      members: members.map((m) => ({
        identity: toBase64url(encodePublicIdentity(m.identity)),
        power: m.power,
        label: m.label,
      })),
      createdAt: p.createdAt,
      expiresAt: p.expiresAt,
    }),
  );
}

/** Parses and validates proposal bytes: schema, identities (bindings), members, layout. */
export function decodeProposal(bytes: Uint8Array): VaultProposal {
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch {
    throw new ProposalError('proposal is not JSON');
  }
  const r = v.safeParse(WireSchema, json);
  if (!r.success) throw new ProposalError('proposal does not match the schema');
  const w = r.output;
  const members: ProposalMember[] = w.members.map((m) => {
    const bin = fromBase64url(m.identity, 'member identity');
    const identity = decodePublicIdentity(bin); // verifies the binding signature
    return { identity, deviceId: toHex(identity.deviceId), power: m.power, label: m.label };
  });
  const ids = members.map((m) => m.deviceId);
  if (new Set(ids).size !== ids.length) throw new ProposalError('duplicate member');
  if (ids.some((id, i) => i > 0 && ids[i - 1]! > id)) throw new ProposalError('members not sorted');
  if (!ids.includes(w.proposer)) throw new ProposalError('the proposer is not a member');
  const problem = layoutProblem(members, w.threshold);
  if (problem !== null) throw new ProposalError(problem);
  return {
    id: w.id,
    sid: w.sid,
    name: w.name,
    threshold: w.threshold,
    proposer: w.proposer,
    members,
    createdAt: w.createdAt,
    expiresAt: w.expiresAt,
  };
}

export function proposalHash(bytes: Uint8Array): Uint8Array {
  return sha256(concatBytes(PROPOSAL_TAG, bytes));
}

export function decisionMessage(hash: Uint8Array, decision: Decision): Uint8Array {
  return sha256(concatBytes(DECISION_TAG, hash, utf8(decision)));
}

export function verifyDecision(
  signer: PublicDeviceIdentity,
  hash: Uint8Array,
  decision: Decision,
  sig: Uint8Array,
): boolean {
  try {
    return ed25519.verify(sig, decisionMessage(hash, decision), signer.deviceId, { zip215: false });
  } catch {
    return false;
  }
}

/** The code every device shows before the DKG starts. */
export function proposalSafetyCode(p: VaultProposal): string {
  return safetyCode({
    ceremonyId: p.id,
    threshold: p.threshold,
    members: p.members.map((m) => ({ identity: m.identity, power: m.power })),
  });
}

/** Plaintext of the proposal envelope: proposal bytes ‖ creator's approve signature (64). */
export function encodeProposalPlaintext(bytes: Uint8Array, sig: Uint8Array): Uint8Array {
  return concatBytes(bytes, sig);
}

export function decodeProposalPlaintext(p: Uint8Array): { bytes: Uint8Array; sig: Uint8Array } {
  if (p.length <= SIG_LENGTH) throw new ProposalError('proposal message too short');
  return { bytes: p.slice(0, p.length - SIG_LENGTH), sig: p.slice(p.length - SIG_LENGTH) };
}

/** `'I' ‖ v1 ‖ sender public identity ‖ envelope`. */
export function wrapInvitation(sender: PublicDeviceIdentity, envelope: Uint8Array): Uint8Array {
  return concatBytes(Uint8Array.of(WIRE_MAGIC, WIRE_VERSION), encodePublicIdentity(sender), envelope);
}

/**
 * Opens the first message of a session from a sender this device may not know yet (a vault
 * invitation, a request to a joining device): unwraps the sender's self-authenticating identity,
 * checks it is the relay-authenticated sender, opens the envelope and checks that the signed tag and
 * message id are the relay's. `what` names the message in errors (logged, never shown with data).
 */
export function openInvitation(
  identity: DeviceIdentity,
  msg: Pick<DeliveredMessage, 'envelope' | 'from' | 'sid' | 'msgId'>,
  tag: string,
  what: string,
): { sender: PublicDeviceIdentity; plaintext: Uint8Array } {
  const { sender, envelope } = unwrapInvitation(msg.envelope);
  if (toBase64url(sender.deviceId) !== msg.from) throw new Error(`${what} sender does not match the relay`);
  const env = new EnvelopeSession({ identity, sid: msg.sid, peers: [sender] });
  try {
    const opened = env.open(envelope);
    if (opened.header.tag !== tag || opened.header.msgId !== msg.msgId) {
      throw new Error(`${what} routing mismatch`);
    }
    return { sender, plaintext: opened.plaintext };
  } finally {
    env.destroy();
  }
}

export function unwrapInvitation(bytes: Uint8Array): { sender: PublicDeviceIdentity; envelope: Uint8Array } {
  if (bytes.length < 2 + PUBLIC_IDENTITY_LENGTH || bytes[0] !== WIRE_MAGIC || bytes[1] !== WIRE_VERSION) {
    throw new ProposalError('not an invitation');
  }
  return {
    sender: decodePublicIdentity(bytes.subarray(2, 2 + PUBLIC_IDENTITY_LENGTH)),
    envelope: bytes.subarray(2 + PUBLIC_IDENTITY_LENGTH),
  };
}

const DecisionSchema = v.strictObject({
  v: v.literal(1),
  decision: v.picklist(['approve', 'reject']),
  hash: v.pipe(v.string(), v.maxLength(64)),
  sig: v.pipe(v.string(), v.maxLength(128)),
});

export interface DecisionWire {
  decision: Decision;
  hash: Uint8Array;
  sig: Uint8Array;
}

export function encodeDecision(d: DecisionWire): Uint8Array {
  return utf8(
    JSON.stringify({ v: 1, decision: d.decision, hash: toBase64url(d.hash), sig: toBase64url(d.sig) }),
  );
}

export function decodeDecision(bytes: Uint8Array): DecisionWire {
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch {
    throw new ProposalError('decision is not JSON');
  }
  const r = v.safeParse(DecisionSchema, json);
  if (!r.success) throw new ProposalError('decision does not match the schema');
  return {
    decision: r.output.decision,
    hash: fromBase64url(r.output.hash, 'hash'),
    sig: fromBase64url(r.output.sig, 'sig'),
  };
}
