/**
 * The test dApp: a page that finds wallets the way real dApps do — EIP-6963 discovery through the
 * `mipd` store, then viem (`custom(provider)`) and ethers v6 (`BrowserProvider`) over the provider
 * it found. Bundled at test setup and served on 127.0.0.1; the test drives it through `window.dapp`.
 */
import { BrowserProvider } from 'ethers';
import { createStore } from 'mipd';
import { createPublicClient, createWalletClient, custom, type EIP1193Provider } from 'viem';

const store = createStore();
const events: [string, unknown][] = [];

function concord(): EIP1193Provider {
  const d = store.findProvider({ rdns: 'app.concord.wallet' });
  if (d === undefined) throw new Error('Concord was not discovered');
  return d.provider;
}

async function settle<T>(f: () => Promise<T>) {
  try {
    return { ok: true, result: await f() };
  } catch (e) {
    const err = e as { code?: number; message?: string; cause?: { code?: number } };
    return { ok: false, code: err.cause?.code ?? err.code, message: err.message };
  }
}

const dapp = {
  providers: () =>
    store.getProviders().map((d) => ({
      name: d.info.name,
      rdns: d.info.rdns,
      uuid: d.info.uuid,
      icon: d.info.icon.slice(0, 26),
      isWindowEthereum: d.provider === (window as { ethereum?: unknown }).ethereum,
    })),
  listen(): void {
    const p = concord();
    for (const ev of ['connect', 'accountsChanged', 'chainChanged', 'disconnect'] as const) {
      p.on(ev, (x: unknown) => events.push([ev, x]));
    }
  },
  events: () => events,
  viemRequestAddresses: () => createWalletClient({ transport: custom(concord()) }).requestAddresses(),
  viemAddresses: () => createWalletClient({ transport: custom(concord()) }).getAddresses(),
  viemChainId: () => createPublicClient({ transport: custom(concord()) }).getChainId(),
  viemBlockNumber: async () =>
    String(await createPublicClient({ transport: custom(concord()) }).getBlockNumber()),
  ethersBalance: async (address: string) => String(await new BrowserProvider(concord()).getBalance(address)),
  ethersAccounts: async () => (await new BrowserProvider(concord()).listAccounts()).map((s) => s.address),
  /** viem's signMessage (personal_sign) through the wallet; errors come back as { ok: false, code }. */
  viemSignMessage: (account: `0x${string}`, message: string) =>
    settle(() => createWalletClient({ transport: custom(concord()) }).signMessage({ account, message })),
  /** viem's signTypedData (eth_signTypedData_v4) through the wallet. */
  viemSignTypedData: (account: `0x${string}`, typedData: Record<string, unknown>) =>
    settle(() =>
      createWalletClient({ transport: custom(concord()) }).signTypedData({ account, ...typedData } as never),
    ),
  async raw(method: string, params?: unknown[]) {
    try {
      return { ok: true, result: await concord().request({ method, params } as never) };
    } catch (e) {
      const err = e as { code?: number; message?: string };
      return { ok: false, code: err.code, message: err.message };
    }
  },
};

(window as unknown as { dapp: typeof dapp }).dapp = dapp;
document.getElementById('status')!.textContent = 'ready';
