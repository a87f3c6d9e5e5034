/**
 * `deferSignature`: a new party whose session runs where its identity key is not (the wallet's
 * ceremony Worker) finishes without signing, and the caller signs the certificate message itself.
 * The refresh of the [1,1,1] t=2 fixture runs twice from the same seed, once with built-in signers
 * (the reference) and once with one party deferred: the transcripts are the same, the caller's
 * signature is byte-identical to the built-in one (Ed25519 is deterministic), and the collector and
 * `activate` accept it exactly like the built-in one. Without either a signer or the option, a new
 * party is still refused.
 */
import { ed25519 } from '@noble/curves/ed25519.js';
import { describe, expect, it } from 'vitest';
import { equalBytes } from '../../src/bytes.ts';
import type { TssError } from '../../src/errors.ts';
import {
  activate,
  CertificateCollector,
  certificateMessage,
  encodeCertificate,
} from '../../src/reshare/certificate.ts';
import { reshareMembers } from '../../src/reshare/params.ts';
import type { ReshareOutcome } from '../../src/reshare/rounds.ts';
import { ReshareSession } from '../../src/reshare/session.ts';
import { expectAllOk, runReshare, runSessions, testIdentitySecret } from '../../src/testing/driver.ts';
import { seededRandom } from '../../src/testing/rng.ts';
import { loadFixture } from '../fixtures/index.ts';
import { expectFinished, expectSigns, hex } from './helpers.ts';

const SEED = 'deferred-signature';
const fx = () => loadFixture('1-1-1_t2');

describe('reshare with a deferred certificate signature', () => {
  it('the caller signs what the session would have signed, and the certificate activates', async () => {
    const shares = fx().shares;
    const newParties = shares.map((s) => ({ id: s.selfId, power: 1 }));
    const oldDescriptor = shares[0]!.descriptor;
    const oldParties = shares.map((s) => s.selfId);
    const reference = runReshare({ oldShares: shares, newParties, newThreshold: 2, seed: SEED });
    const refOuts = expectFinished(reference);

    // Same members, same order and same per-member RNG as runReshare: member 0 defers its signature.
    const { members } = reshareMembers({ oldDescriptor, oldParties, newParties, newThreshold: 2 });
    const deferred = members[0]!.id;
    const run = runSessions(
      members.map((m, i) => ({
        id: m.id,
        session: new ReshareSession({
          oldDescriptor,
          oldShare: shares.find((k) => equalBytes(k.selfId, m.id)),
          oldParties,
          newParties,
          newThreshold: 2,
          selfId: m.id,
          ...(i === 0
            ? { deferSignature: true as const }
            : { signer: (msg: Uint8Array) => ed25519.sign(msg, testIdentitySecret(m.id)) }),
          rng: seededRandom(`${SEED}/${i}`),
        }),
      })),
    );
    const outs: ReshareOutcome[] = expectAllOk(run);
    const mine = outs[0]!;
    expect(mine.ownSignature).toBeUndefined();
    expect(mine.pending).toBeDefined();
    expect(hex(mine.record.transcript)).toBe(hex(refOuts[0]!.record.transcript));
    expect(hex(mine.record.sessionId)).toBe(hex(refOuts[0]!.record.sessionId));

    // The caller's step: sign the certificate message with the identity key it kept to itself.
    const msg = certificateMessage(mine.descriptor, mine.record.sessionId, mine.record.transcript);
    const own = ed25519.sign(msg, testIdentitySecret(deferred));
    expect(hex(own)).toBe(hex(refOuts[0]!.ownSignature!));

    const collector = new CertificateCollector(mine, reference.identityKeys);
    collector.add(deferred, own);
    outs.slice(1).forEach((o, i) => {
      collector.add(members[i + 1]!.id, o.ownSignature!);
    });
    expect(collector.complete).toBe(true);
    const cert = collector.certificate();
    expect(hex(encodeCertificate(cert))).toBe(hex(encodeCertificate(reference.certificate!)));

    const active = outs.map((o) => activate(o.pending!, cert, reference.identityKeys).active);
    await expectSigns(active.slice(0, 2), oldDescriptor.address, 'deferred signature');
    for (const k of active) k.destroy();
  }, 120_000);

  it('a new party without a signer and without deferSignature is refused, as before', () => {
    const shares = fx().shares;
    const base = {
      oldDescriptor: shares[0]!.descriptor,
      oldShare: shares[0]!,
      oldParties: shares.map((s) => s.selfId),
      newParties: shares.map((s) => ({ id: s.selfId, power: 1 })),
      newThreshold: 2,
      selfId: shares[0]!.selfId,
    };
    const refusal = (opts: ConstructorParameters<typeof ReshareSession>[0]): TssError | undefined => {
      try {
        new ReshareSession(opts);
      } catch (e) {
        return e as TssError;
      }
      return undefined;
    };
    const missing = refusal(base);
    expect(missing?.code).toBe('INVALID_PARAMETERS');
    expect(missing?.message).toContain('a new party needs a signer');
    // Both at once is a caller mistake: the key would be handed in for nothing.
    expect(refusal({ ...base, deferSignature: true, signer: () => new Uint8Array(64) })).toMatchObject({
      code: 'INVALID_PARAMETERS',
    });
    expect(() => new ReshareSession({ ...base, deferSignature: true })).not.toThrow();
  });
});
