/**
 * The off-service-worker DKG and reshare paths without a browser: `RemoteDkgEngine` and
 * `RemoteReshareEngine` (the service worker's proxies) talk to a real `CeremonyHost` (what the
 * offscreen document's Worker runs) through an in-process transport that serialises every call and
 * reply as JSON, like `chrome.runtime` messaging does. Only the transport is fake. A [2,1] t=2 DKG
 * runs with one party behind the proxy (`runAsync`) and the other in process (`run`) over a fake
 * relay, so both ends share the wire format; a refresh of a [1,1] t=2 vault does the same with the
 * remote party dealing from a restored share (no pairwise state) and signing the certificate outside
 * the Worker; then the failure modes: refusals, aborts, a lost worker, timeouts, malformed replies,
 * and the router ignoring the crypto channel.
 */

import type { BridgeClient, DeliveredMessage, SendParams } from '@concord/bridge-server/client';
import type { VaultRequest } from '@concord/bridge-server/vault';
import type { ProtocolMessage } from '@concord/tss';
import { DkgSession, encodeDescriptor, KeyShare } from '@concord/tss';
import { equalBytes, toHex } from '@concord/tss/bytes';
import { pointToBytes, scalarToBytes } from '@concord/tss/curve';
import {
  activate,
  CertificateCollector,
  certificateMessage,
  identityKeysFromIds,
  ReshareSession,
  rotationMessage,
} from '@concord/tss/reshare';
import { expectAllOk, runDkg, runSign } from '@concord/tss/testing';
import {
  type DeviceIdentity,
  decodePublicIdentity,
  fromBase64url,
  generateDeviceIdentity,
  publicIdentity,
  rotateAgreementKey,
  toBase64url,
} from '@concord/tss/transport';
import { describe, expect, it } from 'vitest';
import { createRouter, type Handlers, isUiMessage } from '../src/background/router.ts';
import { frame, SessionChannel } from '../src/background/services/ceremony-runner.ts';
import { type CryptoHost, cryptoHost } from '../src/background/services/crypto-host.ts';
import { EnvelopeKeyring } from '../src/background/services/envelope-keys.ts';
import {
  packRotatedSignature,
  unpackRotatedSignature,
} from '../src/background/services/envelope-rotation.ts';
import {
  type CryptoTransport,
  type DkgParams,
  RemoteDkgEngine,
  RemoteEngineError,
  RemoteReshareEngine,
} from '../src/background/services/remote-engine.ts';
import { type ReshareContext, ReshareRunner } from '../src/background/services/reshare.ts';
import { CeremonyHost } from '../src/offscreen/ceremony-host.ts';
import { CRYPTO_CHANNEL, type CryptoCall, isCryptoRequest } from '../src/offscreen/protocol.ts';
import { UI_CHANNEL } from '../src/shared/messages.ts';
import { repositories } from '../src/storage/repositories/index.ts';
import { SharesRepository } from '../src/storage/repositories/shares.ts';
import { fakePlatform } from './fakes/platform.ts';
import { ORIGIN, openFreshDb, PAGE_SENDER, RUNTIME_ID } from './helpers.ts';

/** The fake part: hands each call to a host on a later task, through JSON, and records traffic. */
class JsonTransport implements CryptoTransport {
  readonly calls: CryptoCall[] = [];
  readonly released: string[] = [];
  inFlight = 0;
  maxInFlight = 0;

  constructor(
    public host: CeremonyHost,
    private readonly tamper: (reply: unknown) => unknown = (r) => r,
    private readonly delayMs = 1,
    /** Changes a call on its way to the Worker (a Worker that runs other parameters). */
    private readonly tamperCall: (call: CryptoCall) => CryptoCall = (c) => c,
  ) {}

  async call(call: CryptoCall): Promise<unknown> {
    const wire = this.tamperCall(JSON.parse(JSON.stringify(call)) as CryptoCall);
    this.calls.push(wire);
    this.inFlight += 1;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    try {
      await new Promise((r) => setTimeout(r, this.delayMs));
      return this.tamper(JSON.parse(JSON.stringify(this.host.handle(wire))));
    } finally {
      this.inFlight -= 1;
    }
  }

  release(session: string): void {
    this.released.push(session);
  }
}

/** A relay for two or more channels: delivers every send on a later task, optionally held back. */
class FakeRelay {
  private readonly handlers = new Map<string, (d: DeliveredMessage) => void>();
  private seq = 0;
  held: DeliveredMessage[] | null = null;

  client(identity: DeviceIdentity): BridgeClient {
    const self = toBase64url(identity.deviceId);
    const fake = {
      on: (_event: 'message', h: (d: DeliveredMessage) => void) => {
        this.handlers.set(self, h);
        return () => this.handlers.delete(self);
      },
      send: async (p: SendParams) => {
        this.seq += 1;
        const d: DeliveredMessage = { ...p, from: self, seq: this.seq, ts: Date.now() };
        if (this.held !== null) this.held.push(d);
        else setTimeout(() => this.handlers.get(p.to)?.(d), 0);
        return { seq: this.seq, duplicate: false };
      },
    };
    // Only `on('message')` and `send` are used by SessionChannel.
    return fake as unknown as BridgeClient;
  }

  release(): void {
    const held = this.held ?? [];
    this.held = null;
    for (const d of held) this.handlers.get(d.to)?.(d);
  }
}

async function until(f: () => boolean, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  while (!f()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

function layout(powers: number[], threshold: number) {
  const ids = powers.map(() => generateDeviceIdentity());
  const parties = ids.map((id, i) => ({ id: id.deviceId, power: powers[i]! }));
  const params = (i: number): DkgParams => ({ parties, threshold, selfId: ids[i]!.deviceId });
  return { ids, parties, params };
}

describe('RemoteDkgEngine over a JSON transport to a CeremonyHost', () => {
  it('runs a [2,1] t=2 DKG against an in-process party through SessionChannel.runAsync', async () => {
    const { ids, params } = layout([2, 1], 2);
    const relay = new FakeRelay();
    const members = ids.map(publicIdentity);
    const channel = (i: number) =>
      new SessionChannel({ client: relay.client(ids[i]!), identity: ids[i]!, sid: 'sid-1', members });
    const chA = channel(0);
    const chB = channel(1);

    // B (in process) starts first and A's channel buffers B's round-1 message until A is bound.
    relay.held = [];
    const b = new DkgSession(params(1));
    const bErrors: unknown[] = [];
    chB.run(b, 'dkg', { onError: (e) => bErrors.push(e) });
    relay.release();
    await new Promise((r) => setTimeout(r, 20));

    const transport = new JsonTransport(new CeremonyHost());
    const a = new RemoteDkgEngine(transport, params(0));
    expect(a.progress).toMatchObject({ round: 1, rounds: 4, state: 'idle' });
    expect(transport.calls).toEqual([]); // nothing opened in the Worker before `start`
    const delivered: ProtocolMessage[] = [];
    const rounds: number[] = [];
    const aErrors: unknown[] = [];
    chA.runAsync(a, 'dkg', {
      onDelivered: (m) => delivered.push(m),
      onError: (e) => aErrors.push(e),
      onStep: () => rounds.push(a.progress.round),
    });

    await until(() => a.finished && b.finished, 60_000, 'both parties to finish');
    expect(aErrors).toEqual([]);
    expect(bErrors).toEqual([]);
    expect(a.abortError).toBeUndefined();
    // One call at a time, and the engine saw the messages in the order they were delivered.
    expect(transport.maxInFlight).toBe(1);
    const received = transport.calls.flatMap((c) => (c.op === 'receive' ? [c.message] : []));
    expect(received.map((m) => m.round)).toEqual(delivered.map((m) => m.round));
    expect(received.map((m) => m.payload)).toEqual(delivered.map((m) => toBase64url(m.payload)));
    expect(delivered[0]!.round).toBe(1); // the buffered message went first
    expect(rounds).toEqual([...rounds].sort((x, y) => x - y));
    expect(rounds.at(-1)).toBe(5);

    const out = await a.output();
    const theirs = b.output();
    expect(out.descriptor.address).toBe(theirs.descriptor.address);
    const share = KeyShare.decode(out.keyShare);
    expect(equalBytes(share.selfId, ids[0]!.deviceId)).toBe(true);
    share.destroy();
    // The Worker keeps nothing once the output is taken.
    expect(transport.host.size).toBe(0);

    // Closing the channel disposes the engine, which releases its session with the transport.
    chA.close();
    chB.close();
    await until(() => transport.released.length === 1, 5_000, 'release');
    expect(transport.released).toEqual([a.session]);
  }, 120_000);

  it('a refusal leaves the session usable; a bad peer payload aborts with its code and culprit', async () => {
    const { ids, params } = layout([1, 1], 2);
    const transport = new JsonTransport(new CeremonyHost());
    const a = new RemoteDkgEngine(transport, params(0));
    const r1 = await a.start();
    expect(r1).toHaveLength(1);
    expect(a.progress).toMatchObject({ round: 1, state: 'running' });
    const peer = ids[1]!.deviceId;

    // Round 3 while collecting round 1: refused, nothing changes.
    const wrong = a.receive({ from: peer, to: ids[0]!.deviceId, round: 3, payload: new Uint8Array(4) });
    await expect(wrong).rejects.toBeInstanceOf(RemoteEngineError);
    await expect(wrong).rejects.toMatchObject({ code: 'WRONG_ROUND', culprits: [toHex(peer)] });
    expect(a.abortError).toBeUndefined();
    expect(a.progress).toMatchObject({ round: 1, state: 'running' });

    // A round-1 payload that does not decode: the session aborts, blaming the peer.
    const bad = a.receive({ from: peer, to: null, round: 1, payload: new Uint8Array([1, 2, 3]) });
    await expect(bad).rejects.toMatchObject({ culprits: [toHex(peer)] });
    expect(a.abortError).toBeDefined();
    expect(Object.keys(a.abortError!).sort()).toEqual(['code', 'culprits', 'message']);
    expect(a.abortError!.culprits).toEqual([toHex(peer)]);
    expect(a.progress.state).toBe('aborted');
  }, 60_000);

  it('runAsync stops feeding an aborted engine', async () => {
    const { ids, params } = layout([1, 1], 2);
    const relay = new FakeRelay();
    const members = ids.map(publicIdentity);
    const chA = new SessionChannel({ client: relay.client(ids[0]!), identity: ids[0]!, sid: 's', members });
    const chB = new SessionChannel({ client: relay.client(ids[1]!), identity: ids[1]!, sid: 's', members });
    const transport = new JsonTransport(new CeremonyHost());
    const a = new RemoteDkgEngine(transport, params(0));
    const errors: unknown[] = [];
    chA.runAsync(a, 'dkg', { onError: (e) => errors.push(e) });
    // B sends garbage for round 1, then a round-2 message: the second must not reach the engine.
    // (Protocol messages travel in ephemeral mode, so B first announces its key for the run.)
    const to = ids[0]!.deviceId;
    chB.announce('dkg', (e) => errors.push(e));
    await until(() => chB.hasAnnouncement(ids[0]!.deviceId, 'dkg'), 10_000, "A's announcement");
    const send = (round: number, payload: Uint8Array) =>
      chB.send(
        to,
        `dkg/r${round}`,
        `dkg:r${round}:x`,
        frame({ from: ids[1]!.deviceId, to: null, round, payload }),
        'ephemeral',
      );
    await send(1, new Uint8Array([9]));
    await until(() => a.abortError !== undefined, 30_000, 'the abort');
    const callsAtAbort = transport.calls.length;
    await send(2, new Uint8Array([9]));
    await new Promise((r) => setTimeout(r, 50));
    expect(transport.calls.length).toBe(callsAtAbort);
    expect(errors.length).toBeGreaterThan(0);
    chA.close();
    chB.close();
  }, 60_000);

  it('bad parameters are reported as the abort of the open', async () => {
    const { params } = layout([1, 1], 2);
    const a = new RemoteDkgEngine(new JsonTransport(new CeremonyHost()), { ...params(0), threshold: 9 });
    await expect(a.start()).rejects.toBeInstanceOf(RemoteEngineError);
    expect(a.abortError?.code).toBe('INVALID_PARAMETERS');
  });

  it('a lost worker, a timeout or a malformed reply end the session as INTERRUPTED', async () => {
    const { ids, params } = layout([1, 1], 2);
    const m: ProtocolMessage = { from: ids[1]!.deviceId, to: null, round: 1, payload: new Uint8Array(1) };

    // The Worker was replaced (crashed, or the document was recreated): the session is unknown.
    const t1 = new JsonTransport(new CeremonyHost());
    const lost = new RemoteDkgEngine(t1, params(0));
    await lost.start();
    t1.host = new CeremonyHost();
    await expect(lost.receive(m)).rejects.toMatchObject({ code: 'INTERRUPTED' });
    expect(lost.abortError?.code).toBe('INTERRUPTED');
    // Later calls fail at once, without a round trip.
    const before = t1.calls.length;
    await expect(lost.receive(m)).rejects.toMatchObject({ code: 'INTERRUPTED' });
    expect(t1.calls.length).toBe(before);

    // No answer within the timeout.
    const silent: CryptoTransport = { call: () => new Promise(() => {}), release: () => {} };
    const slow = new RemoteDkgEngine(silent, params(0), { timeoutMs: 20 });
    await expect(slow.start()).rejects.toMatchObject({ code: 'INTERRUPTED' });
    expect(slow.abortError?.code).toBe('INTERRUPTED');

    // A reply of the wrong shape or for another call id.
    for (const tamper of [() => undefined, (r: unknown) => ({ ...(r as object), id: 'other' })]) {
      const bad = new RemoteDkgEngine(new JsonTransport(new CeremonyHost(), tamper), params(0));
      await expect(bad.start()).rejects.toMatchObject({ code: 'INTERRUPTED' });
    }
  }, 60_000);

  it('dispose frees the host session after the in-flight call, once; an unopened engine needs none', async () => {
    const { ids, params } = layout([1, 1], 2);
    const t = new JsonTransport(new CeremonyHost(), (r) => r, 50);
    const a = new RemoteDkgEngine(t, params(0));
    await a.start();
    const m: ProtocolMessage = {
      from: ids[1]!.deviceId,
      to: ids[0]!.deviceId,
      round: 2,
      payload: new Uint8Array(1),
    };
    const inFlight = a.receive(m);
    await until(() => t.inFlight === 1, 5_000, 'the receive to be sent');
    a.dispose(); // queued behind the receive, which still gets its answer
    a.dispose();
    await expect(inFlight).resolves.toEqual([]); // stored for round 2, nothing to send yet
    await until(() => t.released.length === 1, 5_000, 'release');
    expect(t.host.size).toBe(0);
    expect(t.calls.map((c) => c.op)).toEqual(['dkg.open', 'start', 'receive', 'dispose']);
    await expect(a.receive(m)).rejects.toMatchObject({ code: 'SESSION_STATE' });

    // Disposed before its first call ran: nothing is opened in the host, nothing to release.
    const t2 = new JsonTransport(new CeremonyHost());
    const b = new RemoteDkgEngine(t2, params(0));
    const started = b.start();
    b.dispose();
    await expect(started).rejects.toMatchObject({ code: 'SESSION_STATE' });
    expect(t2.calls).toEqual([]);
    expect(t2.released).toEqual([]);
  }, 30_000);

  it('the host drops sessions nobody has called for the idle time', async () => {
    const { params } = layout([1, 1], 2);
    let now = 0;
    const host = new CeremonyHost({ now: () => now, idleMs: 1000 });
    const a = new RemoteDkgEngine(new JsonTransport(host), params(0));
    await a.start();
    expect(host.size).toBe(1);
    now = 5000;
    host.sweep();
    expect(host.size).toBe(0);
  }, 30_000);
});

describe('RemoteReshareEngine over a JSON transport to a CeremonyHost', () => {
  it('refreshes a [1,1] t=2 vault: one party behind the proxy deals from its point shares', async () => {
    const ids = [generateDeviceIdentity(), generateDeviceIdentity()];
    const dkg = expectAllOk(runDkg({ powers: [1, 1], threshold: 2, ids: ids.map((i) => i.deviceId) }));
    const oldDescriptor = dkg[0]!.descriptor;
    // Only A's point shares cross to the Worker, never its pairwise OT state.
    const oldPointShares = dkg[0]!.keyShare.shares.map((k) => scalarToBytes(k));
    const parties = ids.map((i) => ({ id: i.deviceId, power: 1 }));
    const common = {
      oldDescriptor,
      oldParties: parties.map((p) => p.id),
      newParties: parties,
      newThreshold: 2,
    };

    const relay = new FakeRelay();
    const members = ids.map(publicIdentity);
    const chA = new SessionChannel({ client: relay.client(ids[0]!), identity: ids[0]!, sid: 'r', members });
    const chB = new SessionChannel({ client: relay.client(ids[1]!), identity: ids[1]!, sid: 'r', members });
    const b = new ReshareSession({
      ...common,
      oldShare: dkg[1]!.keyShare,
      selfId: ids[1]!.deviceId,
      signer: (msg) => ids[1]!.sign(msg),
    });
    const bErrors: unknown[] = [];
    chB.run(b, 'reshare1', { onError: (e) => bErrors.push(e) });

    const transport = new JsonTransport(new CeremonyHost());
    const a = new RemoteReshareEngine(transport, {
      ...common,
      oldPointShares,
      selfId: ids[0]!.deviceId,
    });
    expect(a.progress).toMatchObject({ round: 1, rounds: 4, expected: 1, state: 'idle' });
    const aErrors: unknown[] = [];
    chA.runAsync(a, 'reshare1', { onError: (e) => aErrors.push(e) });

    await until(() => a.finished && b.finished, 60_000, 'both parties to finish');
    expect(aErrors).toEqual([]);
    expect(bErrors).toEqual([]);
    // The open asked for a deferred signature and the engine wiped its copy of the point shares.
    const open = transport.calls.find((c) => c.op === 'reshare.open');
    expect(open).toMatchObject({ deferSignature: true });
    expect(oldPointShares.every((b) => b.every((x) => x === 0))).toBe(true);

    const out = await a.output();
    expect(transport.host.size).toBe(0); // the Worker keeps nothing once the output is taken
    const theirs = b.output();
    expect(toHex(encodeDescriptor(out.descriptor))).toBe(toHex(encodeDescriptor(theirs.descriptor)));
    expect(out.descriptor.epoch).toBe(oldDescriptor.epoch + 1);
    expect(toHex(out.record.transcript)).toBe(toHex(theirs.record.transcript));
    expect(out.pending).toBeDefined();
    expect(out).not.toHaveProperty('ownSignature');

    // The service worker's step: sign the certificate message with the identity the Worker never saw.
    const own = ids[0]!.sign(certificateMessage(out.descriptor, out.record.sessionId, out.record.transcript));
    const keys = identityKeysFromIds(out.descriptor);
    const collector = new CertificateCollector(out, keys);
    collector.add(ids[0]!.deviceId, own);
    collector.add(ids[1]!.deviceId, theirs.ownSignature!);
    const cert = collector.certificate();
    const active = [activate(out.pending!, cert, keys).active, activate(theirs.pending!, cert, keys).active];
    // The refreshed shares sign again (the restored one could not: it had no OT state).
    const sigs = expectAllOk(runSign({ keyShares: active, digest: new Uint8Array(32).fill(7) }));
    expect(equalBytes(sigs[0]!.compact, sigs[1]!.compact)).toBe(true);
    for (const k of active) k.destroy();

    chA.close();
    chB.close();
    await until(() => transport.released.length === 1, 5_000, 'release');
  }, 120_000);

  it('bad reshare parameters are the abort of the open; a dispose before the open wipes the old share', async () => {
    const ids = [generateDeviceIdentity(), generateDeviceIdentity()];
    const dkg = expectAllOk(runDkg({ powers: [1, 1], threshold: 2, ids: ids.map((i) => i.deviceId) }));
    const parties = ids.map((i) => ({ id: i.deviceId, power: 1 }));
    const params = {
      oldDescriptor: dkg[0]!.descriptor,
      oldParties: parties.map((p) => p.id),
      newParties: parties,
      newThreshold: 2,
      selfId: ids[0]!.deviceId,
    };
    // A dealer without its old share.
    const t = new JsonTransport(new CeremonyHost());
    const noShare = new RemoteReshareEngine(t, params);
    await expect(noShare.start()).rejects.toBeInstanceOf(RemoteEngineError);
    expect(noShare.abortError?.code).toBe('INVALID_PARAMETERS');
    expect(t.host.size).toBe(0);

    // Point shares that are not this party's (they do not match its public shares): refused.
    const wrong = new RemoteReshareEngine(t, {
      ...params,
      oldPointShares: dkg[1]!.keyShare.shares.map(scalarToBytes),
    });
    await expect(wrong.start()).rejects.toBeInstanceOf(RemoteEngineError);
    expect(wrong.abortError?.code).toBe('PUBLIC_KEY_MISMATCH');
    expect(t.host.size).toBe(0);

    const bytes = dkg[0]!.keyShare.shares.map((k) => scalarToBytes(k));
    const unopened = new RemoteReshareEngine(t, { ...params, oldPointShares: bytes });
    unopened.dispose();
    expect(bytes.every((b) => b.every((x) => x === 0))).toBe(true);
    await expect(unopened.start()).rejects.toMatchObject({ code: 'SESSION_STATE' });
    expect(t.calls.filter((c) => c.session === unopened.session)).toEqual([]);
  }, 60_000);
});

/**
 * A whole `ReshareRunner` (storage over fake-indexeddb) whose session runs behind the proxy, and one
 * peer in process: a refresh of a [1,1] t=2 vault. `tamperOpen` changes the Worker's parameters (the
 * peer runs the same changed layout, so the session itself succeeds).
 */
async function runnerRefresh(tamperOpen?: (c: Extract<CryptoCall, { op: 'reshare.open' }>) => void) {
  const ids = [generateDeviceIdentity(), generateDeviceIdentity()];
  const dkg = expectAllOk(runDkg({ powers: [1, 1], threshold: 2, ids: ids.map((i) => i.deviceId) }));
  const oldDescriptor = dkg[0]!.descriptor;
  const db = await openFreshDb();
  const repos = repositories(db);
  const platform = fakePlatform();
  const dek = platform.rng(32);
  const vaultId = 'aa'.repeat(16);
  await db.shares.put(
    SharesRepository.build(
      {
        vaultId,
        epoch: oldDescriptor.epoch,
        status: 'active',
        secret: dkg[0]!.keyShare.encode(),
        createdAt: 1,
      },
      dek,
      platform.rng,
    ),
  );
  const members = ids
    .map((i, k) => ({ identity: publicIdentity(i), deviceId: toHex(i.deviceId), power: 1, label: `M${k}` }))
    .sort((a, b) => a.deviceId.localeCompare(b.deviceId));
  const request: VaultRequest = {
    id: 'bb'.repeat(16),
    vaultId,
    keyId: toHex(oldDescriptor.vaultId),
    groupKey: toHex(pointToBytes(oldDescriptor.groupPublicKey)),
    epoch: oldDescriptor.epoch,
    sid: 'r',
    initiator: members[0]!.deviceId,
    createdAt: 0,
    expiresAt: Date.now() + 3_600_000,
    body: {
      kind: 'reshare',
      name: 'Ops',
      threshold: 2,
      members,
      current: members,
      descriptor: encodeDescriptor(oldDescriptor),
    },
  };
  const participants = members.map((m) => m.deviceId);
  await db.ceremonies.put({
    id: request.id,
    vaultId,
    proposalId: request.id,
    kind: 'reshare',
    status: 'running',
    round: 0,
    state: null,
    abortCode: null,
    createdAt: 0,
    updatedAt: 0,
    attempt: 1,
    signers: participants,
  });

  const relay = new FakeRelay();
  const pub = ids.map(publicIdentity);
  const chA = new SessionChannel({
    client: relay.client(ids[0]!),
    identity: ids[0]!,
    sid: 'r',
    members: pub,
  });
  const chB = new SessionChannel({
    client: relay.client(ids[1]!),
    identity: ids[1]!,
    sid: 'r',
    members: pub,
  });
  const transport = new JsonTransport(new CeremonyHost(), undefined, 1, (c) => {
    if (c.op === 'reshare.open') tamperOpen?.(c);
    return c;
  });
  const host: CryptoHost = {
    dkg: () => {
      throw new Error('not used');
    },
    reshare: (params) => new RemoteReshareEngine(transport, params),
  };
  // The peer runs the parameters the Worker will run (changed or not).
  const wire = { newParties: parties(ids), newThreshold: 2 };
  if (tamperOpen !== undefined) {
    // The Worker's open names A (ids[0]) as self: so does the probe.
    const probe = {
      op: 'reshare.open',
      newParties: wire.newParties,
      newThreshold: 2,
      selfId: toBase64url(ids[0]!.deviceId),
    } as unknown as Extract<CryptoCall, { op: 'reshare.open' }>;
    tamperOpen(probe);
    wire.newParties = probe.newParties;
    wire.newThreshold = probe.newThreshold;
  }
  const b = new ReshareSession({
    oldDescriptor,
    oldShare: dkg[1]!.keyShare,
    oldParties: ids.map((i) => i.deviceId),
    newParties: wire.newParties.map((p) => ({ id: fromBase64url(p.id), power: p.power })),
    newThreshold: wire.newThreshold,
    selfId: ids[1]!.deviceId,
    signer: (msg) => ids[1]!.sign(msg),
  });
  chB.run(b, 'reshare1');

  const events = { aborted: [] as string[], certs: [] as Uint8Array[], finished: 0 };
  const ctx: ReshareContext = {
    id: request.id,
    request,
    hash: new Uint8Array(32),
    channel: chA,
    self: ids[0]!,
    serial: (fn) => fn(),
    sendCertificate: (_attempt, sig) => events.certs.push(sig),
    aborted: async (_attempt, code) => {
      events.aborted.push(code);
    },
    finished: async () => {
      events.finished += 1;
    },
  };
  const keys = new EnvelopeKeyring(db, platform.rng);
  await keys.load(ids[0]!, dek);
  const runner = new ReshareRunner({
    repos,
    platform,
    unlocked: async () => ({ identity: ids[0]!, dek }),
    host: () => host,
    keys,
  });
  await runner.run(ctx, 1, participants, participants); // a refresh: every old party deals
  return {
    ids,
    b,
    db,
    ctx,
    runner,
    events,
    transport,
    oldDescriptor,
    vaultId,
    fullShareBytes: dkg[0]!.keyShare.encode().length,
    close: () => [chA, chB].map((c) => c.close()),
  };
}

function parties(ids: DeviceIdentity[]) {
  return ids.map((i) => ({ id: toBase64url(i.deviceId), power: 1 }));
}

describe('ReshareRunner with its session behind the proxy', () => {
  it('signs over the approved layout and activates the certified descriptor', async () => {
    const t = await runnerRefresh();
    await until(() => t.events.certs.length === 1 && t.b.finished, 60_000, 'the signatures');
    expect(t.events.aborted).toEqual([]);
    // What crossed to the Worker: the public descriptor and parameters, and of the old share only
    // its one 32-byte point share (no OT or zero-share seeds: far smaller than the share's encoding).
    const open = t.transport.calls.find((c) => c.op === 'reshare.open')!;
    expect(Object.keys(open).sort()).toEqual(
      [
        'deferSignature',
        'id',
        'newParties',
        'newThreshold',
        'oldDescriptor',
        'oldParties',
        'oldPointShares',
        'op',
        'selfId',
        'session',
      ].sort(),
    );
    const sent = (open as Extract<CryptoCall, { op: 'reshare.open' }>).oldPointShares!;
    expect(sent.map((x) => fromBase64url(x).length)).toEqual([32]);
    const withoutDescriptor = JSON.stringify({ ...open, oldDescriptor: '' }).length;
    expect(withoutDescriptor).toBeLessThan(t.fullShareBytes / 10);
    const pendingRows = await t.db.shares.where('vaultId').equals(t.vaultId).toArray();
    expect(pendingRows.map((r) => [r.epoch, r.status]).sort()).toEqual([
      [t.oldDescriptor.epoch, 'active'],
      [t.oldDescriptor.epoch + 1, 'pending'],
    ]);
    const bHex = toHex(t.ids[1]!.deviceId);
    const slot = async () => (await t.db.ceremonies.get(t.ctx.id))?.certSigs?.[`1:${bHex}`];
    // B's own message with a bad signature takes B's slot (it is B's to fill) and completes nothing.
    const garbage = new Uint8Array(64).fill(9);
    await t.runner.onCertificate(t.ctx, bHex, 1, garbage);
    expect(await slot()).toBe(toHex(garbage));
    // A relayed signature is verified before it is stored: a bad one changes nothing...
    await t.runner.onRelayedCertificates(t.ctx, 1, [{ from: bHex, sig: new Uint8Array(64).fill(7) }]);
    expect(await slot()).toBe(toHex(garbage));
    expect(t.events.finished).toBe(0);
    // ...and B's real signature, relayed by anyone, replaces the bad one and completes the certificate.
    // B's signature binds its next envelope key (what B's own runner would send).
    const out = t.b.output();
    const bNext = publicIdentity(rotateAgreementKey(t.ids[1]!));
    const m = certificateMessage(out.descriptor, out.record.sessionId, out.record.transcript);
    const real = packRotatedSignature(t.ids[1]!.sign(rotationMessage(m, bNext)), bNext);
    // B's plain (non-rotating) signature is refused like garbage: it binds no new key.
    await t.runner.onRelayedCertificates(t.ctx, 1, [{ from: bHex, sig: out.ownSignature! }]);
    expect(await slot()).toBe(toHex(garbage));
    await t.runner.onRelayedCertificates(t.ctx, 1, [{ from: bHex, sig: real }]);
    expect(await slot()).toBe(toHex(real));
    expect(t.events.finished).toBe(1);
    // Both members' envelope keys are the rotated ones now; A's drawn key is stored and loaded.
    const aNext = unpackRotatedSignature(t.events.certs[0]!).rotation;
    expect(equalBytes(aNext.agreementKey, t.ids[0]!.agreementKey)).toBe(false);
    const vault = (await t.db.vaults.get(t.vaultId))!;
    const keyOf = (hex: string) =>
      toHex(decodePublicIdentity(vault.members.find((x) => x.deviceId === hex)!.publicIdentity).agreementKey);
    expect(keyOf(bHex)).toBe(toHex(bNext.agreementKey));
    expect(keyOf(toHex(t.ids[0]!.deviceId))).toBe(toHex(aNext.agreementKey));
    expect((await t.db.envelopeKeys.toArray()).map((r) => r.id)).toEqual([toHex(aNext.agreementKey)]);
    const rows = await t.db.shares.where('vaultId').equals(t.vaultId).toArray();
    expect(rows.map((r) => [r.epoch, r.status])).toEqual([[t.oldDescriptor.epoch + 1, 'active']]);
    const certified = t.b.output().descriptor;
    expect(await t.db.vaults.get(t.vaultId)).toMatchObject({
      epoch: certified.epoch,
      threshold: certified.threshold,
      address: certified.address,
      publicKey: toHex(pointToBytes(certified.groupPublicKey)),
      status: 'active',
    });
    t.close();
  }, 120_000);

  it('a Worker that returns another layout is refused: nothing signed, nothing stored', async () => {
    // The Worker (and the peer) run [2,1] instead of the approved [1,1]: a consistent session whose
    // descriptor is not what the members approved.
    const t = await runnerRefresh((c) => {
      // By id, not by position: the runner lists parties sorted by id, the peer in its own order.
      c.newParties = c.newParties.map((p) => (p.id === c.selfId ? { ...p, power: 2 } : p));
    });
    await until(() => t.events.aborted.length > 0, 60_000, 'the refusal');
    expect(t.events.aborted).toEqual(['DESCRIPTOR_MISMATCH']);
    expect(t.events.certs).toEqual([]);
    const rows = await t.db.shares.where('vaultId').equals(t.vaultId).toArray();
    expect(rows.map((r) => [r.epoch, r.status])).toEqual([[t.oldDescriptor.epoch, 'active']]);
    expect((await t.db.ceremonies.get(t.ctx.id))?.reshare).toBeUndefined();
    t.close();
  }, 120_000);
});

describe('crypto channel', () => {
  it('is not the UI channel: the background router ignores it and the offscreen page takes only it', () => {
    const msg = { channel: CRYPTO_CHANNEL, call: { id: '1', session: 's', op: 'start' } };
    expect(CRYPTO_CHANNEL).not.toBe(UI_CHANNEL);
    expect(isUiMessage(msg)).toBe(false);
    expect(isCryptoRequest(msg)).toBe(true);
    expect(isCryptoRequest({ channel: UI_CHANNEL, request: { type: 'status' } })).toBe(false);
    expect(isCryptoRequest({ channel: CRYPTO_CHANNEL, call: { id: 1, session: 's', op: 'start' } })).toBe(
      false,
    );
    // The whole router answers nothing for it (undefined = no reply, left to other listeners). No
    // handler is reachable for a message on another channel, hence the empty table.
    const route = createRouter({ runtimeId: RUNTIME_ID, extensionOrigin: ORIGIN, handlers: {} as Handlers });
    expect(route(msg, PAGE_SENDER)).toBeUndefined();
    expect(route(msg, { id: RUNTIME_ID, url: `${ORIGIN}/offscreen.html` })).toBeUndefined();
  });

  it('there is no crypto host without chrome.offscreen (Node, other browsers)', () => {
    expect((globalThis as { chrome?: unknown }).chrome).toBeUndefined();
    expect(cryptoHost()).toBeNull();
  });
});
