/**
 * The dApp methods (EIP-1193 / EIP-1474 / EIP-2255 / EIP-3085 / EIP-3326 / EIP-5792), answered for
 * one origin that the caller took from the browser's sender. Every vault is an account; a site sees
 * only the vaults the user connected it to, and only while the wallet is unlocked. Signing methods
 * (signing.ts) are shown to this device's user first, then become a co-approval request; nothing is
 * ever queued to be signed later.
 */
import { providerErrors, rpcErrors } from '@metamask/rpc-errors';
import type { ProviderState } from '../../provider/protocol.ts';
import type { DappSiteView } from '../../shared/dapp-messages.ts';
import { type ChainConfig, isAcceptableRpcUrl, type Settings } from '../../shared/settings.ts';
import type { DappApprovals } from './approvals.ts';
import {
  AddChainParams,
  CapabilitiesParams,
  forwardedParams,
  PermissionRequest,
  parseParams,
  SwitchChainParams,
} from './params.ts';
import { READ_ONLY_METHODS, type RpcForwarder } from './rpc-forward.ts';
import { type SigningDeps, type SigningMethod, signRequest } from './signing.ts';
import type { DappSites } from './sites.ts';

/** Refused outright: signing a raw hash or an unsent transaction, and EIP-7702 authorizations. */
const REFUSED: Record<string, string> = {
  eth_sign: 'eth_sign (signing a raw hash) is refused by Concord: it cannot be shown to co-signers.',
  eth_signTransaction:
    'eth_signTransaction is refused by Concord: transactions are sent with eth_sendTransaction.',
  eth_sendRawTransaction: 'eth_sendRawTransaction is not relayed by Concord.',
  eth_signTypedData: 'Only eth_signTypedData_v4 will be supported.',
  eth_signTypedData_v1: 'Only eth_signTypedData_v4 will be supported.',
  eth_signTypedData_v3: 'Only eth_signTypedData_v4 will be supported.',
  wallet_signAuthorization: 'EIP-7702 authorizations are refused by Concord.',
  eth_signAuthorization: 'EIP-7702 authorizations are refused by Concord.',
  wallet_prepareAuthorization: 'EIP-7702 authorizations are refused by Concord.',
  eth_subscribe: 'Subscriptions are not supported; poll instead.',
  eth_unsubscribe: 'Subscriptions are not supported; poll instead.',
};

/** Methods not built yet: EIP-5792 batches and token watching. */
export const NOT_YET: ReadonlySet<string> = new Set([
  'wallet_sendCalls',
  'wallet_getCallsStatus',
  'wallet_showCallsStatus',
  'wallet_watchAsset',
]);

export interface VaultAccount {
  id: string;
  name: string;
  address: string | null;
  status: string;
}

export interface DappServiceDeps {
  sites: DappSites;
  approvals: DappApprovals;
  rpc: RpcForwarder;
  settings(): Promise<Settings>;
  /** Adds a chain to the wallet's settings (validated there). */
  addChain(chain: ChainConfig): Promise<void>;
  isUnlocked(): Promise<boolean>;
  /** This device's vaults (only called while unlocked). */
  vaults(): Promise<VaultAccount[]>;
  /** Pushes the new state to every page of `origin` (or of every origin). */
  notify(origin?: string): void;
  /** Signing requests from sites (signing.ts); absent, the signing methods answer 4200. */
  signing?: SigningDeps;
}

const hexChain = (n: number): `0x${string}` => `0x${n.toString(16)}`;
const usable = (v: VaultAccount): v is VaultAccount & { address: string } =>
  v.address !== null && (v.status === 'active' || v.status === 'resharing');

export class DappService {
  constructor(private readonly d: DappServiceDeps) {}

  /** The chain the origin works on: its own choice while still configured, else the wallet's. */
  async chainOf(origin: string): Promise<ChainConfig> {
    const [settings, site] = await Promise.all([this.d.settings(), this.d.sites.get(origin)]);
    const own = site?.chainId == null ? undefined : settings.chains.find((c) => c.chainId === site.chainId);
    return own ?? settings.chains.find((c) => c.chainId === settings.activeChainId) ?? settings.chains[0]!;
  }

  /** The addresses the origin may see: none while locked or unconnected. */
  async accountsOf(origin: string): Promise<`0x${string}`[]> {
    const site = await this.d.sites.get(origin);
    if (site === undefined || site.vaultIds.length === 0) return [];
    if (!(await this.d.isUnlocked())) return [];
    const vaults = new Map((await this.d.vaults()).map((v) => [v.id, v]));
    const out: `0x${string}`[] = [];
    for (const id of site.vaultIds) {
      const v = vaults.get(id);
      if (v !== undefined && usable(v)) out.push(v.address as `0x${string}`);
    }
    return out;
  }

  async state(origin: string): Promise<ProviderState> {
    const [chain, accounts] = await Promise.all([this.chainOf(origin), this.accountsOf(origin)]);
    return { chainId: hexChain(chain.chainId), accounts };
  }

  async handle(origin: string, method: string, params: unknown): Promise<unknown> {
    if (method in REFUSED) throw providerErrors.unsupportedMethod({ message: REFUSED[method]! });
    if (NOT_YET.has(method)) {
      throw providerErrors.unsupportedMethod({
        message: `${method} is not available in Concord yet: signing requests from sites arrive with co-approval support.`,
      });
    }
    switch (method) {
      case 'eth_chainId':
        return hexChain((await this.chainOf(origin)).chainId);
      case 'net_version':
        return String((await this.chainOf(origin)).chainId);
      case 'eth_accounts':
        return this.accountsOf(origin);
      case 'eth_requestAccounts':
        return this.requestAccounts(origin);
      case 'wallet_requestPermissions':
        parseParams(method, PermissionRequest, params);
        await this.requestAccounts(origin);
        return this.permissions(origin);
      case 'wallet_getPermissions':
        return this.permissions(origin);
      case 'wallet_revokePermissions':
        parseParams(method, PermissionRequest, params);
        if (await this.d.sites.revoke(origin)) this.d.notify(origin);
        return null;
      case 'wallet_switchEthereumChain':
        return this.switchChain(origin, params);
      case 'wallet_addEthereumChain':
        return this.addChain(origin, params);
      case 'wallet_getCapabilities':
        return this.capabilities(origin, params);
      case 'personal_sign':
      case 'eth_signTypedData_v4':
      case 'eth_sendTransaction':
        return this.sign(origin, method, params);
    }
    if (READ_ONLY_METHODS.has(method)) {
      const p = forwardedParams(method, params);
      return this.d.rpc.forward(await this.chainOf(origin), method, p);
    }
    throw providerErrors.unsupportedMethod({
      message: `${method.slice(0, 64)} is not supported by Concord.`,
    });
  }

  private async sign(origin: string, method: SigningMethod, params: unknown): Promise<string> {
    const deps = this.d.signing;
    if (deps === undefined) {
      throw providerErrors.unsupportedMethod({ message: `${method} is not available on this device.` });
    }
    const site = await this.d.sites.get(origin);
    if (site === undefined || site.vaultIds.length === 0) {
      throw providerErrors.unauthorized({ message: 'Connect this site to Concord first.' });
    }
    // THREATS 50: a locked wallet asks to be unlocked; nothing is queued to be signed meanwhile.
    if (!(await this.d.isUnlocked())) {
      if (this.d.approvals.has(origin, 'unlock')) {
        throw rpcErrors.resourceUnavailable({ message: 'Concord is already asking to be unlocked.' });
      }
      const d = await this.d.approvals.ask({ kind: 'unlock', origin });
      if (!d.approve || !(await this.d.isUnlocked())) {
        throw providerErrors.userRejectedRequest({ message: 'Concord was not unlocked.' });
      }
    }
    const vaults = (await this.d.vaults()).filter(usable).filter((v) => site.vaultIds.includes(v.id));
    const chain = await this.chainOf(origin);
    return signRequest(
      { origin, chainId: chain.chainId, vaults, approvals: this.d.approvals, deps },
      method,
      params,
    );
  }

  private async requestAccounts(origin: string): Promise<`0x${string}`[]> {
    const now = await this.accountsOf(origin);
    if (now.length > 0) return now;
    if (this.d.approvals.has(origin, 'connect')) {
      throw rpcErrors.resourceUnavailable({
        message: 'A connection request from this site is already open in Concord.',
      });
    }
    // The approval page unlocks first when the wallet is locked; vaults are read there, not here.
    const decision = await this.d.approvals.ask({ kind: 'connect', origin, vaults: [] });
    if (!decision.approve || decision.vaultIds.length === 0) {
      throw providerErrors.userRejectedRequest({ message: 'The user rejected the connection.' });
    }
    const known = new Set((await this.d.vaults()).filter(usable).map((v) => v.id));
    const chosen = decision.vaultIds.filter((id) => known.has(id));
    if (chosen.length === 0) throw providerErrors.userRejectedRequest({ message: 'No vault was chosen.' });
    await this.d.sites.connect(origin, chosen);
    this.d.notify(origin);
    return this.accountsOf(origin);
  }

  private async permissions(origin: string): Promise<unknown[]> {
    const site = await this.d.sites.get(origin);
    const accounts = await this.accountsOf(origin);
    if (site === undefined || site.vaultIds.length === 0) return [];
    return [
      {
        parentCapability: 'eth_accounts',
        invoker: origin,
        date: site.connectedAt ?? site.updatedAt,
        caveats: [{ type: 'restrictReturnedAccounts', value: accounts }],
      },
    ];
  }

  private async switchChain(origin: string, params: unknown): Promise<null> {
    const [{ chainId: hex }] = parseParams('wallet_switchEthereumChain', SwitchChainParams, params);
    const chainId = Number.parseInt(hex, 16);
    const chain = (await this.d.settings()).chains.find((c) => c.chainId === chainId);
    if (chain === undefined) {
      throw providerErrors.custom({
        code: 4902,
        message: `Chain ${hex} is not configured in Concord; add it first.`,
      });
    }
    const before = await this.chainOf(origin);
    await this.d.sites.setChain(origin, chainId);
    if (before.chainId !== chainId) this.d.notify(origin);
    return null;
  }

  private async addChain(origin: string, params: unknown): Promise<null> {
    const [p] = parseParams('wallet_addEthereumChain', AddChainParams, params);
    const chainId = Number.parseInt(p.chainId, 16);
    const settings = await this.d.settings();
    if (settings.chains.some((c) => c.chainId === chainId)) {
      return this.switchChain(origin, [{ chainId: p.chainId }]);
    }
    const rpcUrl = p.rpcUrls.find((u) => u !== '' && isAcceptableRpcUrl(u));
    if (rpcUrl === undefined) {
      throw rpcErrors.invalidParams({
        message: 'rpcUrls must include an https:// URL (or http:// to this machine).',
      });
    }
    const explorerUrl = (p.blockExplorerUrls ?? []).find((u) => u.startsWith('https://')) ?? '';
    // Checked before the user is asked: a proposal whose RPC is another chain is never shown.
    await this.d.rpc.checkChain(chainId, rpcUrl);
    if (this.d.approvals.has(origin, 'add-chain')) {
      throw rpcErrors.resourceUnavailable({
        message: 'A chain request from this site is already open in Concord.',
      });
    }
    const decision = await this.d.approvals.ask({
      kind: 'add-chain',
      origin,
      chain: { chainId, name: p.chainName, rpcUrl, explorerUrl, symbol: p.nativeCurrency?.symbol ?? 'ETH' },
    });
    if (!decision.approve)
      throw providerErrors.userRejectedRequest({ message: 'The user rejected the new chain.' });
    await this.d.addChain({ chainId, name: p.chainName, rpcUrl, explorerUrl, preset: 'custom' });
    await this.d.sites.setChain(origin, chainId);
    this.d.notify(origin);
    return null;
  }

  /** EIP-5792: honest about what works today — plain transactions only, no atomic batches. */
  private async capabilities(origin: string, params: unknown): Promise<Record<string, unknown>> {
    const parsed = parseParams('wallet_getCapabilities', CapabilitiesParams, params);
    const accounts = (await this.accountsOf(origin)).map((a) => a.toLowerCase());
    if (!accounts.includes(parsed[0].toLowerCase())) {
      throw providerErrors.unauthorized({ message: 'That address is not connected to this site.' });
    }
    const configured = (await this.d.settings()).chains.map((c) => hexChain(c.chainId));
    const wanted = parsed.length === 2 ? parsed[1].map((h) => hexChain(Number.parseInt(h, 16))) : configured;
    const out: Record<string, unknown> = {};
    for (const c of wanted) if (configured.includes(c)) out[c] = { atomic: { status: 'unsupported' } };
    return out;
  }

  /** The "Connected sites" list. */
  async sitesView(): Promise<DappSiteView[]> {
    const [rows, settings] = await Promise.all([this.d.sites.connected(), this.d.settings()]);
    const vaults = new Map((await this.d.vaults()).map((v) => [v.id, v]));
    return rows.map((r) => {
      const chain =
        settings.chains.find((c) => c.chainId === r.chainId) ??
        settings.chains.find((c) => c.chainId === settings.activeChainId)!;
      return {
        origin: r.origin,
        accounts: r.vaultIds.map((id) => ({
          vaultId: id,
          name: vaults.get(id)?.name ?? 'Removed vault',
          address: vaults.get(id)?.address ?? null,
        })),
        chainId: chain.chainId,
        chainName: chain.name,
        connectedAt: r.connectedAt,
      };
    });
  }

  /** The connect screen's choices: this device's usable vaults. */
  async vaultChoices(): Promise<{ id: string; name: string; address: string }[]> {
    return (await this.d.vaults())
      .filter(usable)
      .map((v) => ({ id: v.id, name: v.name, address: v.address }));
  }
}
