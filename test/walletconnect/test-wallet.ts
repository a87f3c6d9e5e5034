/**
 * A test-only WalletConnect wallet: a real @walletconnect/sign-client 2.25 used through its wallet
 * side (pair, approve/reject proposals, respond to session requests), holding a viem local account.
 * It answers `personal_sign` by signing (EIP-191) or refuses with the spec's USER_REJECTED error
 * (Sign SDK error 5000), as its test tells it. Nothing here is part of the product.
 */
import { SignClient } from '@walletconnect/sign-client';
import type { SignClientTypes } from '@walletconnect/types';
import { getSdkError } from '@walletconnect/utils';
import { type Hex, isHex } from 'viem';
import { generatePrivateKey, type PrivateKeyAccount, privateKeyToAccount } from 'viem/accounts';

type SignClientInstance = Awaited<ReturnType<typeof SignClient.init>>;
type EventArgs<E extends SignClientTypes.Event> = SignClientTypes.EventArguments[E];

export const TEST_PROJECT_ID = 'concord-test';
export const CHAIN = 'eip155:31337';

/** A sign-client with telemetry off, its own storage prefix, memory storage and a silent logger. */
export async function signClient(name: string, relayUrl: string, url: string): Promise<SignClientInstance> {
  return SignClient.init({
    projectId: TEST_PROJECT_ID,
    relayUrl,
    customStoragePrefix: name,
    telemetryEnabled: false,
    logger: 'silent',
    metadata: { name, description: `${name} (test)`, url, icons: [] },
  });
}

/** The next `event` the client emits that satisfies `accept`. */
export function nextEvent<E extends SignClientTypes.Event>(
  client: SignClientInstance,
  event: E,
  accept: (args: EventArgs<E>) => boolean = () => true,
): Promise<EventArgs<E>> {
  return new Promise((resolve) => {
    const listener = (args: EventArgs<E>) => {
      if (!accept(args)) return;
      client.off(event, listener);
      resolve(args);
    };
    client.on(event, listener);
  });
}

/** Close a client's relay socket and stop its timers so the test process ends promptly. */
export async function closeClient(client: SignClientInstance): Promise<void> {
  await client.core.relayer.transportClose();
  client.core.heartbeat.stop();
}

export class TestWallet {
  readonly account: PrivateKeyAccount = privateKeyToAccount(generatePrivateKey());
  /** How the next `personal_sign` is answered. */
  decision: 'sign' | 'reject' = 'sign';
  readonly proposals: EventArgs<'session_proposal'>[] = [];

  private constructor(readonly client: SignClientInstance) {
    client.on('session_proposal', (p) => {
      this.proposals.push(p);
      void this.approve(p);
    });
    client.on('session_request', (r) => void this.answer(r));
  }

  static async create(relayUrl: string): Promise<TestWallet> {
    return new TestWallet(await signClient('test-wallet', relayUrl, 'https://wallet.test'));
  }

  get caip10(): string {
    return `${CHAIN}:${this.account.address}`;
  }

  async pair(uri: string): Promise<void> {
    await this.client.pair({ uri });
  }

  private async approve(p: EventArgs<'session_proposal'>): Promise<void> {
    await this.client.approve({
      id: p.id,
      namespaces: {
        eip155: {
          chains: [CHAIN],
          accounts: [this.caip10],
          methods: ['personal_sign'],
          events: ['chainChanged', 'accountsChanged'],
        },
      },
    });
  }

  private async answer(r: EventArgs<'session_request'>): Promise<void> {
    const { id, topic, params } = r;
    const { method, params: args } = params.request as { method: string; params: unknown[] };
    const message = args[0];
    if (method !== 'personal_sign' || !isHex(message)) {
      await this.client.respond({
        topic,
        response: { id, jsonrpc: '2.0', error: getSdkError('UNSUPPORTED_METHODS') },
      });
      return;
    }
    if (this.decision === 'reject') {
      await this.client.respond({
        topic,
        response: { id, jsonrpc: '2.0', error: getSdkError('USER_REJECTED') },
      });
      return;
    }
    const signature = await this.account.signMessage({ message: { raw: message as Hex } });
    await this.client.respond({ topic, response: { id, jsonrpc: '2.0', result: signature } });
  }

  async close(): Promise<void> {
    await closeClient(this.client);
  }
}
