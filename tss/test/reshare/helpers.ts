/** Shared helpers of the reshare tests: activation, signing checks, epoch mixing. */
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { keccak_256 } from '@noble/hashes/sha3.js';
import { recoverAddress, toHex as viemHex } from 'viem';
import { expect } from 'vitest';
import { toHex, utf8 } from '../../src/bytes.ts';
import { encodeDescriptor, type VaultDescriptor } from '../../src/descriptor.ts';
import type { TssError } from '../../src/errors.ts';
import type { KeyShare } from '../../src/keyshare.ts';
import { activate } from '../../src/reshare/certificate.ts';
import type { ReshareOutcome } from '../../src/reshare/rounds.ts';
import { expectAllOk, type ReshareRun, runSign, testPartyIds } from '../../src/testing/driver.ts';

export const hex = (b: Uint8Array): string => toHex(b);

/** A fresh device id that is in no fixture. */
export const newDevice = (label: string): Uint8Array => testPartyIds(1, `reshare/new/${label}`)[0]!;

/** Every member finished with byte-identical descriptors and transcripts; returns the outcomes. */
export function expectFinished(run: ReshareRun): ReshareOutcome[] {
  const outs = expectAllOk(run);
  const d0 = hex(encodeDescriptor(outs[0]!.descriptor));
  for (const o of outs) {
    expect(hex(encodeDescriptor(o.descriptor))).toBe(d0);
    expect(hex(o.transcript)).toBe(hex(outs[0]!.transcript));
    expect(hex(o.record.sessionId)).toBe(hex(outs[0]!.record.sessionId));
  }
  expect(run.certificate).toBeDefined();
  return outs;
}

/**
 * Activate every new party's pending share with the run's certificate (ordered as `ids`). Also
 * checks that every pair among them holds one zero-share seed (what the confirm round confirmed).
 */
export function activateAll(run: ReshareRun, ids: readonly Uint8Array[]): KeyShare[] {
  const outs = expectFinished(run);
  const active = ids.map((id) => {
    const i = run.ids.findIndex((m) => hex(m) === hex(id));
    const pending = outs[i]!.pending;
    if (!pending) throw new Error(`party ${hex(id).slice(0, 8)} has no pending share`);
    return activate(pending, run.certificate!, run.identityKeys).active;
  });
  for (const a of active) {
    for (const b of active) {
      if (a === b) continue;
      expect(hex(a.peer(b.selfId)!.zeroSeed)).toBe(hex(b.peer(a.selfId)!.zeroSeed));
    }
  }
  return active;
}

/** Sign with `shares`; every signer outputs one signature that verifies and recovers to `address`. */
export async function expectSigns(
  shares: readonly KeyShare[],
  address: string,
  label: string,
): Promise<void> {
  const d = shares[0]!.descriptor;
  const digest = keccak_256(utf8(`concord reshare test ${label}`));
  const sigs = expectAllOk(runSign({ keyShares: shares, digest }));
  for (const s of sigs) expect(hex(s.compact)).toBe(hex(sigs[0]!.compact));
  const sig = sigs[0]!;
  expect(secp256k1.verify(sig.compact, digest, d.groupPublicKey.toBytes(true), { prehash: false })).toBe(
    true,
  );
  const recovered = await recoverAddress({
    hash: viemHex(digest),
    signature: { r: viemHex(sig.r, { size: 32 }), s: viemHex(sig.s, { size: 32 }), yParity: sig.recovery },
  });
  expect(recovered).toBe(address);
}

/** Signing with an old-epoch share next to a new-epoch share fails with EPOCH_MISMATCH everywhere. */
export function expectEpochMismatch(oldShare: KeyShare, newShare: KeyShare): void {
  expect(oldShare.epoch).not.toBe(newShare.epoch);
  const run = runSign({ keyShares: [oldShare, newShare], digest: keccak_256(utf8('mixed epochs')) });
  expect(run.outcomes.some((o) => o.ok)).toBe(false);
  for (const o of run.outcomes) expect((o as { error: TssError }).error.code).toBe('EPOCH_MISMATCH');
}

/** The new descriptor keeps vault id, DKG sid, key and address; epoch + 1; the requested committee. */
export function expectSameVault(
  next: VaultDescriptor,
  old: VaultDescriptor,
  parties: readonly { id: Uint8Array; power: number }[],
  threshold: number,
): void {
  expect(hex(next.vaultId)).toBe(hex(old.vaultId));
  expect(hex(next.dkgSessionId)).toBe(hex(old.dkgSessionId));
  expect(next.groupPublicKey.equals(old.groupPublicKey)).toBe(true);
  expect(next.address).toBe(old.address);
  expect(next.epoch).toBe(old.epoch + 1);
  expect(next.threshold).toBe(threshold);
  const want = [...parties].map((p) => `${hex(p.id)}:${p.power}`).sort();
  expect(next.parties.map((p) => `${hex(p.id)}:${p.power}`).sort()).toEqual(want);
  expect(next.publicShares.length).toBe(parties.reduce((s, p) => s + p.power, 0));
}
