/**
 * Two real @walletconnect/sign-client 2.25 instances (a dApp and a test-only wallet) over the local
 * WalletConnect relay started as a child process, fully offline: pairing by the dApp's `wc:` URI,
 * a session on eip155:31337, personal_sign signed by the wallet and verified with viem, a rejected
 * request with the Sign spec's USER_REJECTED error, and disconnects seen by the other side.
 * WalletConnect's HTTP services (verify, pulse) are sent to a closed 127.0.0.1 port and must fail
 * softly: the verify context is then UNKNOWN.
 */
import { getSdkError } from '@walletconnect/utils';
import { type Address, type Hex, stringToHex, verifyMessage } from 'viem';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type OfflineServices, offlineWalletConnectServices, WcRelayProcess } from '../helpers/wc-relay.ts';
import { CHAIN, closeClient, nextEvent, signClient, TestWallet } from './test-wallet.ts';

type DappClient = Awaited<ReturnType<typeof signClient>>;

let relay: WcRelayProcess;
let services: OfflineServices;
let dapp: DappClient;
let wallet: TestWallet;

beforeAll(async () => {
  // The library's own test switch would turn Verify off; this test runs it as a wallet would.
  expect(process.env.IS_VITEST).toBeUndefined();
  services = await offlineWalletConnectServices();
  relay = await WcRelayProcess.start();
  dapp = await signClient('test-dapp', relay.url, 'https://dapp.test');
  wallet = await TestWallet.create(relay.url);
});

afterAll(async () => {
  await Promise.allSettled([dapp && closeClient(dapp), wallet?.close()]);
  await relay?.stop();
  services?.restore();
});

async function connect(): Promise<{ topic: string; address: Address }> {
  const { uri, approval } = await dapp.connect({
    optionalNamespaces: {
      eip155: { chains: [CHAIN], methods: ['personal_sign'], events: ['chainChanged', 'accountsChanged'] },
    },
  });
  if (!uri) throw new Error('connect() returned no wc: URI');
  expect(uri).toMatch(/^wc:[0-9a-f]{64}@2\?/);
  await wallet.pair(uri);
  const session = await approval();
  const account = session.namespaces.eip155?.accounts[0];
  if (!account) throw new Error('the session has no eip155 account');
  const [namespace, reference, address] = account.split(':');
  expect(`${namespace}:${reference}`).toBe(CHAIN);
  return { topic: session.topic, address: address as Address };
}

describe('sign-client 2.25 dApp ↔ wallet over the local relay', () => {
  let topic: string;
  let address: Address;

  it('pairs by URI and settles a session on eip155:31337 (verify unreachable → UNKNOWN)', async () => {
    ({ topic, address } = await connect());
    expect(address).toBe(wallet.account.address);
    // Both sides hold the session.
    expect(dapp.session.get(topic).namespaces.eip155?.chains).toEqual([CHAIN]);
    expect(wallet.client.session.get(topic).peer.metadata.url).toBe('https://dapp.test');
    // The wallet tried the Verify API, which was unreachable, and carried on without a verdict.
    const proposal = wallet.proposals.at(-1);
    expect(proposal?.verifyContext.verified.validation).toBe('UNKNOWN');
    expect(services.attempts).toContain('verify.walletconnect.org');
    // telemetryEnabled: false keeps the analytics client quiet.
    expect(services.attempts).not.toContain('pulse.walletconnect.org');
  });

  it('personal_sign is signed by the wallet and verifies on the dApp side', async () => {
    wallet.decision = 'sign';
    const message = stringToHex('Concord over WalletConnect');
    const signature = await dapp.request<Hex>({
      topic,
      chainId: CHAIN,
      request: { method: 'personal_sign', params: [message, address] },
    });
    expect(await verifyMessage({ address, message: { raw: message }, signature })).toBe(true);
    // And not for another message: the check can fail.
    expect(await verifyMessage({ address, message: 'something else', signature })).toBe(false);
  });

  it('a rejected request gives the spec USER_REJECTED error (5000)', async () => {
    wallet.decision = 'reject';
    const refused = dapp.request({
      topic,
      chainId: CHAIN,
      request: { method: 'personal_sign', params: [stringToHex('no'), address] },
    });
    await expect(refused).rejects.toMatchObject({
      code: 5000,
      message: getSdkError('USER_REJECTED').message,
    });
  });

  it('a request sent while the wallet is offline is delivered when it reconnects (irn_batchSubscribe)', async () => {
    wallet.decision = 'sign';
    await wallet.client.core.relayer.transportClose();
    expect(wallet.client.core.relayer.connected).toBe(false);
    const message = stringToHex('queued while offline');
    const signed = dapp.request<Hex>({
      topic,
      chainId: CHAIN,
      request: { method: 'personal_sign', params: [message, address] },
    });
    // The dApp's publish is answered by the relay's mailbox; the wallet re-subscribes on reconnect.
    await wallet.client.core.relayer.transportOpen();
    const signature = await signed;
    expect(await verifyMessage({ address, message: { raw: message }, signature })).toBe(true);
  });

  it('a disconnect by the dApp is seen by the wallet', async () => {
    const seen = nextEvent(wallet.client, 'session_delete', (e) => e.topic === topic);
    await dapp.disconnect({ topic, reason: getSdkError('USER_DISCONNECTED') });
    expect((await seen).topic).toBe(topic);
    expect(wallet.client.session.keys).not.toContain(topic);
  });

  it('a disconnect by the wallet is seen by the dApp', async () => {
    const second = await connect();
    expect(second.topic).not.toBe(topic);
    const seen = nextEvent(dapp, 'session_delete', (e) => e.topic === second.topic);
    await wallet.client.disconnect({ topic: second.topic, reason: getSdkError('USER_DISCONNECTED') });
    expect((await seen).topic).toBe(second.topic);
    expect(dapp.session.keys).not.toContain(second.topic);
  });
});
