/**
 * End to end over the real bridge (issue: bridge and transport): three simulated devices run the
 * weighted DKG ([2,1,1], t = 3) and then sign, every protocol message sealed per recipient and
 * relayed by a real bridge process with its SQLite store. Device C is offline for the first part of
 * the ceremony and catches up; the bridge process is killed and restarted between rounds. The
 * signature verifies, all devices hold the same vault, and no message reaches a protocol session
 * twice.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { KeyShare } from '@concord/tss';
import { DkgSession, SignSession } from '@concord/tss';
import { toHex, utf8 } from '@concord/tss/bytes';
import { generateDeviceIdentity, toBase64url } from '@concord/tss/transport';
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { keccak_256 } from '@noble/hashes/sha3.js';
import { afterAll, describe, expect, it } from 'vitest';
import { BridgeProcess, freePort } from '../helpers/bridge-process.ts';
import { Device, until } from '../helpers/ceremony-device.ts';

const dir = mkdtempSync(join(tmpdir(), 'concord-e2e-bridge-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('DKG and signing over the real bridge', () => {
  it('survives an offline device and a bridge crash between rounds; the signature verifies', async () => {
    const bridge = new BridgeProcess(await freePort(), dir);
    await bridge.start();
    const [A, B, C] = ['A', 'B', 'C'].map((n) => new Device(n, generateDeviceIdentity(), bridge.url)) as [
      Device,
      Device,
      Device,
    ];
    const all = [A, B, C];
    const parties = [
      { id: A.identity.deviceId, power: 2 },
      { id: B.identity.deviceId, power: 1 },
      { id: C.identity.deviceId, power: 1 },
    ];
    await Promise.all([A.client.connect(), B.client.connect()]);
    const info = await A.client.createSession(
      'dkg',
      all.map((d) => toBase64url(d.identity.deviceId)),
      15 * 60_000,
    );
    const dkg = new Map<Device, DkgSession>(
      all.map((d) => [d, new DkgSession({ parties, threshold: 3, selfId: d.identity.deviceId })]),
    );

    for (const d of all) d.join(info.sid, all);
    // Phase 1: A and B start; C is offline, so its round-1 copies wait in its mailbox.
    A.run(info.sid, dkg.get(A)!, 'dkg');
    B.run(info.sid, dkg.get(B)!, 'dkg');
    await until(
      () => A.client.unacknowledgedSends === 0 && B.client.unacknowledgedSends === 0,
      30_000,
      'round-1 sends accepted',
    );
    expect(dkg.get(A)!.progress.round).toBe(1); // waiting for C

    // The bridge crashes between rounds and comes back on the same store.
    await bridge.kill();
    await bridge.start();

    // Phase 2: C comes online, catches up on round 1 from its mailbox, and the ceremony completes.
    await C.client.connect();
    C.run(info.sid, dkg.get(C)!, 'dkg');
    await until(
      () => all.every((d) => dkg.get(d)!.finished || d.errors.length > 0),
      600_000,
      'DKG to finish',
    );
    for (const d of all) expect(d.errors).toEqual([]);
    const results = all.map((d) => dkg.get(d)!.output());
    const address = results[0]!.descriptor.address;
    for (const r of results) expect(r.descriptor.address).toBe(address);
    const shares = new Map<Device, KeyShare>(all.map((d, i) => [d, results[i]!.keyShare]));

    // Signing: A (power 2) and B (power 1) reach t = 3. Crash the bridge again once flight 0 is out.
    const digest = keccak_256(utf8('pay 1 ETH to the recipient'));
    const signInfo = await A.client.createSession(
      'sign',
      [A, B].map((d) => toBase64url(d.identity.deviceId)),
      10 * 60_000,
    );
    const signers = [A.identity.deviceId, B.identity.deviceId];
    for (const d of [A, B]) d.join(signInfo.sid, [A, B]);
    const sign = new Map<Device, SignSession>(
      [A, B].map((d) => [d, new SignSession({ keyShare: shares.get(d)!, signers, digest })]),
    );
    A.run(signInfo.sid, sign.get(A)!, 'sign');
    await until(() => A.client.unacknowledgedSends === 0, 30_000, 'flight 0 accepted');
    await bridge.kill();
    await bridge.start();
    B.run(signInfo.sid, sign.get(B)!, 'sign');
    await until(
      () => [A, B].every((d) => sign.get(d)!.finished || d.errors.length > 0),
      120_000,
      'signing to finish',
    );
    for (const d of all) expect(d.errors).toEqual([]);
    const sigA = sign.get(A)!.output();
    expect(toHex(sign.get(B)!.output().compact)).toBe(toHex(sigA.compact));
    expect(
      secp256k1.verify(sigA.compact, digest, results[0]!.descriptor.groupPublicKey.toBytes(true), {
        prehash: false,
      }),
    ).toBe(true);

    // No protocol message reached a session twice, despite the restarts and resends.
    for (const d of all) for (const [key, n] of d.deliveries) expect(n, `${d.name} ${key}`).toBe(1);
    // Every device received exactly the expected messages: DKG 4 rounds × 2 peers; signing 4 × 1.
    expect([...A.deliveries.keys()].filter((k) => k.startsWith('dkg')).length).toBe(8);
    expect([...A.deliveries.keys()].filter((k) => k.startsWith('sign')).length).toBe(4);

    for (const d of all) d.client.close();
    await bridge.kill();
  }, 900_000);
});
