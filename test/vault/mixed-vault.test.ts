/**
 * A mixed vault over a real bridge process and a real Hardhat node: two extension backgrounds (the
 * service-level harness, extension/test/devices.ts: whole backgrounds over fake-indexeddb) and one
 * headless member (`@concord/bridge-server/vault/member`) on a SQLite file in a temp directory,
 * deciding through a test `Decider`. The extension is the reference of the wire format; the
 * headless member speaks it through the shared co-approval machine.
 *  1. the DKG ([A:1, B:1, H:1], threshold 2) makes one address on all three;
 *  2. a send initiated by A and approved by H's decider is signed by A and H, mined, and the
 *     recipient gets +1 ETH exactly; a forged or flipped decision, a start from a non-approver or
 *     with a bad signature, and the transaction signed by another key, fed to H through the path its
 *     channel uses, are refused and nothing is stored;
 *  3. H is stopped in the middle of its signing ceremony and started again on the same SQLite file:
 *     the request still ends in exactly one mined transaction; then the same with H as its own
 *     process, killed with SIGKILL while frozen inside the ceremony (test/helpers/member-main.ts);
 *  4. H stopped in the middle of a second vault's DKG announces a new attempt when it starts again
 *     (the extension's dkg-restart wire), and all three finish that DKG with one address.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { WebSocketCtor } from '@concord/bridge-server/client';
import {
  decisionMessage,
  encodeControl,
  encodeRequest,
  requestHash,
  startMessage,
} from '@concord/bridge-server/vault';
import {
  type CeremonyHost,
  type Decider,
  inProcessHost,
  type RequestForDecision,
  SqliteVaultStore,
  VaultMember,
  type Verdict,
} from '@concord/bridge-server/vault/member';
import { DkgSession, SignSession } from '@concord/tss';
import { fromHex } from '@concord/tss/bytes';
import { privateKeyToAccount } from 'viem/accounts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { type Device, device, dkgDone, until } from '../../extension/test/devices.ts';
import { BridgeProcess, freePort } from '../helpers/bridge-process.ts';
import { HARDHAT_ACCOUNT1_KEY, type HardhatNode, startHardhat } from '../helpers/hardhat.ts';
import { MemberProcess } from '../helpers/member-process.ts';

const ETH = 10n ** 18n;
const RECIPIENT = '0x00000000000000000000000000000000c0ffee11';
const PASSPHRASE = 'quarry lantern osprey 5521 thimble';
const TEST_KDF = { N: 2 ** 10, r: 8, p: 1 };
const extra = { fallbackMs: 500 };

/** A decider the test answers: every question is recorded, and answered by `answer` (or held). */
class TestDecider implements Decider {
  readonly requests: RequestForDecision[] = [];
  answer: (r: RequestForDecision) => Promise<Verdict> = async () => 'approve';
  async proposal(): Promise<Verdict> {
    return 'approve';
  }
  async request(r: RequestForDecision): Promise<Verdict> {
    this.requests.push(r);
    return this.answer(r);
  }
}

describe('a vault of two extension profiles and one headless member', () => {
  const dir = mkdtempSync(join(tmpdir(), 'concord-mixed-'));
  const storePath = join(dir, 'member.sqlite');
  let bridge: BridgeProcess;
  let chain: HardhatNode;
  let A: Device;
  let B: Device;
  let H: VaultMember;
  const decider = new TestDecider();
  let vaultId: string;
  let address: `0x${string}`;
  const logs: string[] = [];

  const startMember = (host: CeremonyHost = inProcessHost) =>
    VaultMember.start({
      store: SqliteVaultStore.open({ path: storePath, passphrase: PASSPHRASE, create: true, kdf: TEST_KDF }),
      bridgeUrl: bridge.url,
      WebSocket: WebSocket as unknown as WebSocketCtor,
      decider,
      host,
      fallbackMs: 500,
      chain: {
        broadcast: async (_chainId, raw) => {
          await chain.publicClient.request({ method: 'eth_sendRawTransaction', params: [raw] });
        },
      },
      log: (code, e) => {
        logs.push(code);
        if (process.env.CONCORD_DEBUG) console.error('member', code, e);
      },
    });

  const phase = (d: Device, id: string, want: string, ms = 90_000) =>
    until(
      async () => {
        const r = (await d.call({ type: 'request.list' })).find((x) => x.id === id);
        return r?.phase === want ? r : undefined;
      },
      ms,
      `phase ${want}`,
    );

  beforeAll(async () => {
    bridge = new BridgeProcess(await freePort(), dir);
    [, chain] = await Promise.all([bridge.start(), startHardhat()]);
    const base = bridge.url.replace(/\/v1$/, '');
    [A, B] = await Promise.all([device(base, extra), device(base, extra)]);
    const chains = (await A.call({ type: 'settings.get' })).chains.map((c) =>
      c.chainId === 31337 ? { ...c, rpcUrl: chain.url } : c,
    );
    for (const d of [A, B]) await d.call({ type: 'settings.update', patch: { chains } });
    H = await startMember();
  }, 240_000);

  afterAll(async () => {
    for (const d of [A, B]) d?.bg.bridge.stop();
    H?.stop();
    await bridge?.kill();
    await chain?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('the DKG makes one address on the two profiles and the headless member', async () => {
    const p = await A.call({
      type: 'vault.propose',
      name: 'Mixed',
      selfLabel: 'A',
      selfPower: 1,
      threshold: 2,
      invitees: [
        { code: B.info.deviceCode, label: 'B', power: 1 },
        { code: H.deviceCode, label: 'H', power: 1 },
      ],
    });
    await until(
      async () => (await B.call({ type: 'ceremony.list' })).find((c) => c.id === p.id),
      15_000,
      'the invitation at B',
    );
    await B.call({ type: 'ceremony.respond', id: p.id, accept: true });
    const done = await dkgDone([A, B], p.id);
    vaultId = p.id;
    address = done[0]!.address as `0x${string}`;
    expect(done[1]!.address).toBe(address);
    const atH = await until(
      async () => (await H.vaults()).find((v) => v.id === vaultId),
      30_000,
      'the vault at H',
    );
    expect(atH.address).toBe(address);
    expect(atH.threshold).toBe(2);
    expect(atH.members.map((m) => m.deviceId).sort()).toEqual(
      [A.info.deviceId, B.info.deviceId, H.deviceId].sort(),
    );
    // The share is sealed at rest and opens for this vault's epoch.
    expect((await H.store.share(vaultId))?.epoch).toBe(atH.epoch);
    await chain.fund(address, 10n * ETH);
  }, 240_000);

  it('A proposes 1 ETH, the headless member approves: signed by A and H, mined, +1 ETH exactly', async () => {
    let release: (v: Verdict) => void = () => {};
    decider.answer = () => new Promise<Verdict>((res) => (release = res));
    const before = await chain.publicClient.getBalance({ address: RECIPIENT });
    const r = await A.call({
      type: 'send.create',
      vaultId,
      chainId: 31337,
      to: RECIPIENT,
      amount: '1',
      token: null,
    });
    const asked = await until(
      async () => decider.requests.find((q) => q.request.id === r.id),
      15_000,
      'H to be asked',
    );
    // H decoded the raw transaction itself.
    expect(asked.description.kind).toBe('send');
    if (asked.description.kind !== 'send') throw new Error('not a send');
    expect(asked.description.tx.to.toLowerCase()).toBe(RECIPIENT);
    expect(asked.description.tx.value).toBe(ETH);
    expect(asked.address).toBe(address);

    // A forged decision (signed by H's key, claimed as B's) and a flipped one are refused, not stored.
    const hash = requestHash(encodeRequest(asked.request));
    const forged = encodeControl({
      t: 'decision',
      hash,
      decision: 'approve',
      sig: H.identity.sign(decisionMessage(hash, 'approve')),
    });
    const refusal = await H.requests.receive(r.id, B.info.deviceId, forged);
    expect(refusal?.code).toBe('INVALID_REQUEST');
    expect(refusal?.message).toBe('decision signature invalid');
    const aSig = (await H.store.decisions(r.id)).find((d) => d.deviceId === A.info.deviceId)!.sig;
    const flipped = encodeControl({ t: 'decision', hash, decision: 'reject', sig: aSig });
    expect((await H.requests.receive(r.id, A.info.deviceId, flipped))?.message).toBe(
      'decision signature invalid',
    );
    const stored = await H.store.decisions(r.id);
    expect(stored.map((d) => [d.deviceId, d.decision])).toEqual([[A.info.deviceId, 'approve']]);
    // A start from a device that neither initiated nor approved, and one with a bad signature: refused.
    const chosen = [A.info.deviceId, H.deviceId].sort();
    const fakeStart = (sig: Uint8Array) =>
      encodeControl({ t: 'start', hash, attempt: 1, signers: chosen, sig });
    const bSays = await H.requests.receive(
      r.id,
      B.info.deviceId,
      fakeStart(H.identity.sign(startMessage(hash, 1, chosen))),
    );
    expect(bSays?.message).toBe('start from a device that is neither the initiator nor an approver');
    const aSays = await H.requests.receive(
      r.id,
      A.info.deviceId,
      fakeStart(H.identity.sign(startMessage(hash, 1, chosen))),
    );
    expect(aSays?.message).toBe('start signature invalid');
    expect(await H.store.attempt(r.id)).toBeUndefined();
    // The approved transaction signed by another key is not taken as this request's.
    const other = await privateKeyToAccount(HARDHAT_ACCOUNT1_KEY).signTransaction({
      type: 'eip1559',
      ...asked.description.tx,
    });
    const forgedTx = encodeControl({ t: 'broadcast', hash, raw: fromHex(other.slice(2)) });
    expect((await H.requests.receive(r.id, A.info.deviceId, forgedTx))?.message).toBe(
      'Signed transaction refused: it is not signed by this vault.',
    );
    expect(await H.store.signed(r.id)).toBeUndefined();

    release('approve');
    const mined = await Promise.all([A, B].map((d) => phase(d, r.id, 'mined')));
    expect(new Set(mined.map((m) => m.txHash)).size).toBe(1);
    const signers = mined[0]!.members.filter((m) => m.signer).map((m) => m.deviceId);
    expect(signers.sort()).toEqual([A.info.deviceId, H.deviceId].sort());
    expect((await chain.publicClient.getBalance({ address: RECIPIENT })) - before).toBe(ETH);
    const signed = await until(async () => H.store.signed(r.id), 15_000, 'H to store the signed tx');
    expect(signed.hash).toBe(mined[0]!.txHash);
  }, 180_000);

  it('the headless member is stopped mid-ceremony and restarted on its file: exactly one mined transaction', async () => {
    decider.answer = async () => 'approve';
    // Stops H right after its signing session took its first message from A: mid-ceremony.
    let cut = false;
    let cutDone: Promise<void> | undefined;
    const cutting: CeremonyHost = {
      dkg: inProcessHost.dkg,
      sign: (o) => {
        const s = new SignSession(o);
        const receive = s.receive.bind(s);
        s.receive = (m) => {
          const out = receive(m);
          if (!cut) {
            cut = true;
            const victim = H;
            cutDone = Promise.resolve().then(() => victim.stop());
          }
          return out;
        };
        return s;
      },
    };
    H.stop();
    H = await startMember(cutting);
    const before = await chain.publicClient.getBalance({ address: RECIPIENT });
    const nonceBefore = await chain.publicClient.getTransactionCount({ address });
    const r = await A.call({
      type: 'send.create',
      vaultId,
      chainId: 31337,
      to: RECIPIENT,
      amount: '0.25',
      token: null,
    });
    await until(async () => (cut ? true : undefined), 30_000, 'H to start signing');
    await cutDone;
    // Nothing was signed by H before it stopped; the file holds the running attempt.
    const reopened = SqliteVaultStore.open({ path: storePath, passphrase: PASSPHRASE });
    expect(await reopened.signed(r.id)).toBeUndefined();
    expect((await reopened.attempt(r.id))?.myAttempt).toBe(1);
    reopened.close();

    H = await startMember();
    const mined = await Promise.all([A, B].map((d) => phase(d, r.id, 'mined')));
    expect(new Set(mined.map((m) => m.txHash)).size).toBe(1);
    expect((await chain.publicClient.getBalance({ address: RECIPIENT })) - before).toBe(ETH / 4n);
    expect(await chain.publicClient.getTransactionCount({ address })).toBe(nonceBefore + 1);
    // H asked for a new attempt after its restart, and signed in it.
    const attempt = await until(
      async () => {
        const a = await H.store.attempt(r.id);
        return a?.status === 'done' ? a : undefined;
      },
      30_000,
      'H to see the request signed',
    );
    expect(attempt.attempt).toBeGreaterThanOrEqual(2);
    expect((await H.store.signed(r.id))?.hash).toBe(mined[0]!.txHash);
  }, 180_000);

  it('the headless member process is killed (SIGKILL) mid-signing and started again: exactly one mined transaction', async () => {
    H.stop();
    const proc = new MemberProcess({
      store: storePath,
      passphrase: PASSPHRASE,
      bridgeUrl: bridge.url,
      rpcUrl: chain.url,
      freezeInSigning: true,
    });
    proc.start();
    try {
      expect((await proc.waitFor('ready', 60_000)).deviceCode).toBe(H.deviceCode);
      const before = await chain.publicClient.getBalance({ address: RECIPIENT });
      const nonceBefore = await chain.publicClient.getTransactionCount({ address });
      const r = await A.call({
        type: 'send.create',
        vaultId,
        chainId: 31337,
        to: RECIPIENT,
        amount: '0.125',
        token: null,
      });
      // The process approved, was chosen, took its first signing message and froze: kill it there.
      await proc.waitFor('frozen', 60_000);
      await proc.kill();
      const reopened = SqliteVaultStore.open({ path: storePath, passphrase: PASSPHRASE });
      expect(await reopened.signed(r.id)).toBeUndefined();
      expect((await reopened.attempt(r.id))?.myAttempt).toBe(1);
      expect((await reopened.decisions(r.id)).find((d) => d.deviceId === H.deviceId)?.decision).toBe(
        'approve',
      );
      reopened.close();

      H = await startMember();
      const mined = await Promise.all([A, B].map((d) => phase(d, r.id, 'mined')));
      expect(new Set(mined.map((m) => m.txHash)).size).toBe(1);
      expect((await chain.publicClient.getBalance({ address: RECIPIENT })) - before).toBe(ETH / 8n);
      expect(await chain.publicClient.getTransactionCount({ address })).toBe(nonceBefore + 1);
      const attempt = await until(
        async () => {
          const a = await H.store.attempt(r.id);
          return a?.status === 'done' ? a : undefined;
        },
        30_000,
        'H to see the request signed',
      );
      expect(attempt.attempt).toBeGreaterThanOrEqual(2);
    } finally {
      await proc.kill();
    }
  }, 180_000);

  it('the headless member stopped mid-DKG restarts it as a new attempt: one address on all three', async () => {
    let cut = false;
    let cutDone: Promise<void> | undefined;
    const cutting: CeremonyHost = {
      sign: inProcessHost.sign,
      dkg: (o) => {
        const s = new DkgSession(o);
        const receive = s.receive.bind(s);
        s.receive = (m) => {
          const out = receive(m);
          if (!cut) {
            cut = true;
            const victim = H;
            cutDone = Promise.resolve().then(() => victim.stop());
          }
          return out;
        };
        return s;
      },
    };
    H.stop();
    H = await startMember(cutting);
    const p = await A.call({
      type: 'vault.propose',
      name: 'Second',
      selfLabel: 'A',
      selfPower: 1,
      threshold: 2,
      invitees: [
        { code: B.info.deviceCode, label: 'B', power: 1 },
        { code: H.deviceCode, label: 'H', power: 1 },
      ],
    });
    await until(
      async () => (await B.call({ type: 'ceremony.list' })).find((c) => c.id === p.id),
      15_000,
      'the invitation at B',
    );
    await B.call({ type: 'ceremony.respond', id: p.id, accept: true });
    await until(async () => (cut ? true : undefined), 60_000, 'H to start the DKG');
    await cutDone;
    const reopened = SqliteVaultStore.open({ path: storePath, passphrase: PASSPHRASE });
    expect(await reopened.dkg(p.id)).toMatchObject({ status: 'running', attempt: 0 });
    expect(await reopened.vault(p.id)).toBeUndefined();
    reopened.close();

    H = await startMember();
    const done = await dkgDone([A, B], p.id);
    expect(done.map((d) => d.attempt)).toEqual([1, 1]);
    const second = done[0]!.address;
    expect(done[1]!.address).toBe(second);
    expect(second).not.toBe(address);
    const atH = await until(
      async () => (await H.vaults()).find((v) => v.id === p.id),
      30_000,
      'the second vault at H',
    );
    expect(atH.address).toBe(second);
    expect(await H.store.dkg(p.id)).toMatchObject({ status: 'done', attempt: 1 });
  }, 240_000);
});
