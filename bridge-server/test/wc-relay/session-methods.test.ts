/**
 * The Sign 2.5 methods @walletconnect/sign-client 2.2x sends to the relay: `wc_proposeSession`
 * subscribes the proposer to the pairing topic and stores the proposal (tag 1100);
 * `wc_approveSession` subscribes the wallet to the session topic and publishes the proposal
 * response (1101, pairing topic) and the settle request (1102, session topic).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type RunningWcRelay,
  startWcRelay,
  TAG_SESSION_PROPOSE,
  TAG_SESSION_PROPOSE_RESPONSE,
  TAG_SESSION_SETTLE,
  WC_RELAY_ERRORS,
} from '../../src/wc-relay/index.ts';
import { RelayClient, topic } from './client.ts';

let relay: RunningWcRelay;
beforeAll(async () => {
  relay = await startWcRelay();
});
afterAll(() => relay.close());

describe('wc-relay session methods', () => {
  it('carries a proposal and its approval between a dApp and a wallet', async () => {
    const pairing = topic(0xa1);
    const session = topic(0xa2);
    const dapp = await RelayClient.connect(relay.url);
    expect(
      await dapp.call('wc_proposeSession', { pairingTopic: pairing, sessionProposal: 'proposal', ttl: 300 }),
    ).toBe(true);

    // The wallet pairs later (offline delivery) and finds the proposal.
    const wallet = await RelayClient.connect(relay.url);
    await wallet.call('irn_subscribe', { topic: pairing });
    const [proposal] = await wallet.waitForPushes(1);
    expect(proposal?.params.data).toMatchObject({
      topic: pairing,
      message: 'proposal',
      tag: TAG_SESSION_PROPOSE,
    });

    expect(
      await wallet.call('wc_approveSession', {
        pairingTopic: pairing,
        sessionTopic: session,
        sessionProposalResponse: 'response',
        sessionSettlementRequest: 'settle',
        ttl: 300,
      }),
    ).toBe(true);
    // The dApp was subscribed to the pairing topic by wc_proposeSession: the response is pushed live.
    const [response] = await dapp.waitForPushes(1);
    expect(response?.params.data).toMatchObject({
      topic: pairing,
      message: 'response',
      tag: TAG_SESSION_PROPOSE_RESPONSE,
    });
    // It subscribes to the session topic only now, and gets the settle request from the mailbox.
    await dapp.call('irn_subscribe', { topic: session });
    const pushes = await dapp.waitForPushes(2);
    expect(pushes[1]?.params.data).toMatchObject({
      topic: session,
      message: 'settle',
      tag: TAG_SESSION_SETTLE,
    });

    // The wallet was subscribed to the session topic by wc_approveSession: it hears the dApp.
    await dapp.call('irn_publish', { topic: session, message: 'settle ack', ttl: 300, tag: 1103 });
    const walletPushes = await wallet.waitForPushes(2);
    expect(walletPushes[1]?.params.data).toMatchObject({ topic: session, message: 'settle ack', tag: 1103 });
    await Promise.all([dapp.close(), wallet.close()]);
  });

  it('refuses an approval whose session topic is the pairing topic, or with missing fields', async () => {
    const c = await RelayClient.connect(relay.url);
    const same = await c.request('wc_approveSession', {
      pairingTopic: topic(0xb1),
      sessionTopic: topic(0xb1),
      sessionProposalResponse: 'r',
      sessionSettlementRequest: 's',
    });
    expect(same.error?.code).toBe(WC_RELAY_ERRORS.INVALID_PARAMS);
    expect(same.error?.message).toMatch(/sessionTopic equals pairingTopic/);
    const missing = await c.request('wc_proposeSession', { pairingTopic: topic(0xb2) });
    expect(missing.error?.code).toBe(WC_RELAY_ERRORS.INVALID_PARAMS);
    expect(missing.error?.message).toMatch(/sessionProposal/);
    expect(relay.core.mailboxes.size(topic(0xb1)) + relay.core.mailboxes.size(topic(0xb2))).toBe(0);
    await c.close();
  });
});
