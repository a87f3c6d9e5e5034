/**
 * The vault proposal codec and its signatures (background/services/vault-proposal.ts): canonical
 * round trip, the safety code is independent of member order, a decision verifies only for its own
 * signer, decision and proposal, and malformed or inconsistent proposals are refused.
 */

import {
  decisionMessage,
  decodeDecision,
  decodeProposal,
  encodeDecision,
  encodeProposal,
  proposalHash,
  proposalSafetyCode,
  unwrapInvitation,
  type VaultProposal,
  verifyDecision,
  wrapInvitation,
} from '@concord/bridge-server/vault/proposal';
import { generateDeviceIdentity, publicIdentity } from '@concord/tss/transport';
import { describe, expect, it } from 'vitest';
import { toHex, utf8 } from '../src/shared/bytes.ts';

const ids = [generateDeviceIdentity(), generateDeviceIdentity(), generateDeviceIdentity()];
const members = ids
  .map((id, i) => ({
    identity: publicIdentity(id),
    deviceId: toHex(id.deviceId),
    power: i === 0 ? 2 : 1,
    label: `D${i}`,
  }))
  .sort((a, b) => a.deviceId.localeCompare(b.deviceId));

const proposal: VaultProposal = {
  id: 'ab'.repeat(16),
  sid: 'sid-1',
  name: 'Family savings',
  threshold: 3,
  proposer: toHex(ids[0]!.deviceId),
  members,
  createdAt: 1,
  expiresAt: 2,
};

describe('vault proposal', () => {
  it('round-trips canonically; the safety code ignores member order', () => {
    const bytes = encodeProposal(proposal);
    const back = decodeProposal(bytes);
    expect(encodeProposal(back)).toEqual(bytes);
    expect(back.members.map((m) => m.power).sort()).toEqual([1, 1, 2]);
    const reordered = { ...proposal, members: [...members].reverse() };
    expect(encodeProposal(reordered)).toEqual(bytes);
    expect(proposalSafetyCode(reordered)).toBe(proposalSafetyCode(proposal));
    expect(proposalSafetyCode({ ...proposal, threshold: 2 })).not.toBe(proposalSafetyCode(proposal));
  });

  it('a decision verifies only for its signer, decision and proposal', () => {
    const hash = proposalHash(encodeProposal(proposal));
    const sig = ids[1]!.sign(decisionMessage(hash, 'approve'));
    const signer = publicIdentity(ids[1]!);
    expect(verifyDecision(signer, hash, 'approve', sig)).toBe(true);
    expect(verifyDecision(signer, hash, 'reject', sig)).toBe(false);
    expect(verifyDecision(publicIdentity(ids[2]!), hash, 'approve', sig)).toBe(false);
    const other = proposalHash(encodeProposal({ ...proposal, name: 'Other' }));
    expect(verifyDecision(signer, other, 'approve', sig)).toBe(false);
    const wire = decodeDecision(encodeDecision({ decision: 'approve', hash, sig }));
    expect(verifyDecision(signer, wire.hash, wire.decision, wire.sig)).toBe(true);
  });

  it('refuses inconsistent proposals and garbage invitations', () => {
    const bad = (p: Partial<VaultProposal>) => () => decodeProposal(encodeProposal({ ...proposal, ...p }));
    expect(bad({ proposer: 'cd'.repeat(32) })).toThrow(/proposer is not a member/);
    expect(bad({ threshold: 2 })).toThrow(/single device/);
    expect(bad({ threshold: 9 })).toThrow(/total power/);
    expect(() => decodeProposal(utf8('{"v":2}'))).toThrow(/schema/);
    expect(() => decodeProposal(utf8('not json'))).toThrow(/not JSON/);
    // A member list with a tampered identity binding is refused by tss' identity decoder.
    const json = JSON.parse(new TextDecoder().decode(encodeProposal(proposal))) as {
      members: { identity: string }[];
    };
    const m0 = json.members[0]!;
    m0.identity = `${m0.identity.slice(0, -4)}${m0.identity.slice(-4) === 'AAAA' ? 'BBBB' : 'AAAA'}`;
    expect(() => decodeProposal(utf8(JSON.stringify(json)))).toThrow();

    const env = Uint8Array.of(1, 2, 3);
    const wrapped = wrapInvitation(publicIdentity(ids[0]!), env);
    expect(unwrapInvitation(wrapped).envelope).toEqual(env);
    expect(() => unwrapInvitation(env)).toThrow(/not an invitation/);
  });
});
