/**
 * The ceremony of ceremony-over-bridge.test.ts on a bridge cluster: two bridge processes on one
 * real redis-server (append-only file on) behind a TCP balancer, devices spread over both nodes.
 * Redis is crashed (SIGKILL) and restarted between DKG rounds; a node is SIGKILLed in the middle of
 * the DKG and the other in the middle of the signing, and their devices reconnect through the
 * balancer to the node still alive. The DKG and the signature complete, every device holds the
 * same vault, and every protocol message reached each protocol session exactly once.
 */

import type { KeyShare } from '@concord/tss';
import { DkgSession, SignSession } from '@concord/tss';
import { toHex, utf8 } from '@concord/tss/bytes';
import { generateDeviceIdentity, toBase64url } from '@concord/tss/transport';
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { keccak_256 } from '@noble/hashes/sha3.js';
import { afterAll, describe, expect, it } from 'vitest';
import { BridgeNode, TcpBalancer } from '../helpers/bridge-cluster.ts';
import { freePort } from '../helpers/bridge-process.ts';
import { Device, until } from '../helpers/ceremony-device.ts';
import { RedisServer } from '../helpers/redis-server.ts';

const cleanup: (() => Promise<unknown>)[] = [];
afterAll(async () => {
  for (const f of cleanup.reverse()) await f();
});

describe('DKG and signing over a two-node bridge cluster on Redis', () => {
  it('survives a Redis crash between rounds and a node SIGKILLed mid-ceremony; nothing is lost or repeated', async () => {
    const redis = await RedisServer.start({ appendonly: true });
    cleanup.push(() => redis.stop());
    const [p1, p2, lbPort] = [await freePort(), await freePort(), await freePort()];
    const lb = await TcpBalancer.start(lbPort, [p1!, p2!]);
    cleanup.push(() => lb.close());
    const node = (port: number, nodeId: string) =>
      new BridgeNode({ port, redisUrl: redis.url, publicOrigin: lb.origin, nodeId });
    const n1 = node(p1!, 'n1');
    const n2 = node(p2!, 'n2');
    cleanup.push(
      () => n1.kill(),
      () => n2.kill(),
    );
    await Promise.all([n1.start(), n2.start()]);

    const [A, B, C] = ['A', 'B', 'C'].map((n) => new Device(n, generateDeviceIdentity(), lb.url)) as [
      Device,
      Device,
      Device,
    ];
    const all = [A, B, C];
    cleanup.push(async () => {
      for (const d of all) d.client.close();
    });
    const parties = [
      { id: A.identity.deviceId, power: 2 },
      { id: B.identity.deviceId, power: 1 },
      { id: C.identity.deviceId, power: 1 },
    ];
    // The balancer alternates: A on node 1, B on node 2.
    await A.client.connect();
    await B.client.connect();
    expect(lb.routed).toEqual([p1, p2]);
    const info = await A.client.createSession(
      'dkg',
      all.map((d) => toBase64url(d.identity.deviceId)),
      15 * 60_000,
    );
    const dkg = new Map<Device, DkgSession>(
      all.map((d) => [d, new DkgSession({ parties, threshold: 3, selfId: d.identity.deviceId })]),
    );
    for (const d of all) d.join(info.sid, all);

    // Phase 1: A and B start (across nodes); C is offline, its round-1 copies wait in Redis.
    A.run(info.sid, dkg.get(A)!, 'dkg');
    B.run(info.sid, dkg.get(B)!, 'dkg');
    await until(
      () => A.client.unacknowledgedSends === 0 && B.client.unacknowledgedSends === 0,
      60_000,
      'round-1 sends accepted',
    );
    expect(dkg.get(A)!.progress.round).toBe(1); // waiting for C

    // Redis crashes between rounds and comes back from its append-only file.
    await redis.kill();
    await Promise.all([n1.waitReady(false), n2.waitReady(false)]);
    await redis.start();
    await Promise.all([n1.waitReady(true), n2.waitReady(true)]);

    // Phase 2: C comes online (node 1), catches up on round 1 from Redis; node 1 dies mid-DKG.
    await C.client.connect();
    expect(lb.routed.at(-1)).toBe(p1);
    C.run(info.sid, dkg.get(C)!, 'dkg');
    await until(
      () => all.every((d) => dkg.get(d)!.progress.round >= 2) || all.some((d) => d.errors.length > 0),
      300_000,
      'every device in round 2',
    );
    const before = lb.routed.length;
    await n1.kill();
    await until(
      () => all.every((d) => dkg.get(d)!.finished || d.errors.length > 0),
      600_000,
      'DKG to finish',
    );
    for (const d of all) expect(d.errors).toEqual([]);
    // A and C reconnected, through the balancer, to the node still alive.
    expect(lb.routed.slice(before).filter((p) => p === p2).length).toBeGreaterThanOrEqual(2);
    const results = all.map((d) => dkg.get(d)!.output());
    const address = results[0]!.descriptor.address;
    for (const r of results) expect(r.descriptor.address).toBe(address);
    const shares = new Map<Device, KeyShare>(all.map((d, i) => [d, results[i]!.keyShare]));

    // Signing: node 1 is back; node 2 dies once flight 0 is out, and everyone moves to node 1.
    await n1.start();
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
    await until(() => A.client.unacknowledgedSends === 0, 60_000, 'flight 0 accepted');
    await n2.kill();
    B.run(signInfo.sid, sign.get(B)!, 'sign');
    await until(
      () => [A, B].every((d) => sign.get(d)!.finished || d.errors.length > 0),
      300_000,
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

    // Every acknowledged message reached each protocol session exactly once: DKG 4 rounds × 2
    // peers per device, signing 4 flights × 1 peer.
    for (const d of all) for (const [key, n] of d.deliveries) expect(n, `${d.name} ${key}`).toBe(1);
    for (const d of all) expect([...d.deliveries.keys()].filter((k) => k.startsWith('dkg')).length).toBe(8);
    for (const d of [A, B])
      expect([...d.deliveries.keys()].filter((k) => k.startsWith('sign')).length).toBe(4);
  }, 1_200_000);
});
