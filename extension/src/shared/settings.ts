/**
 * Wallet settings: the bridge relay URL, the chains and their RPC endpoints, and the auto-lock time.
 * Defaults, the schema (valibot, validated at the storage and message boundaries) and the rules for
 * which URLs are acceptable live here so the UI and the background agree on them.
 */
import * as v from 'valibot';

export interface ChainConfig {
  /** EIP-155 chain id. */
  chainId: number;
  name: string;
  /** JSON-RPC endpoint; empty until the user fills it in. */
  rpcUrl: string;
  /** Block explorer base URL, optional. */
  explorerUrl: string;
  /** Which built-in entry this came from; `custom` for user-added chains. */
  preset: ChainPreset;
  /** Symbol of the native coin (fees and plain transfers); ETH when absent. */
  symbol?: string;
}

export type ChainPreset =
  | 'local'
  | 'mainnet'
  | 'sepolia'
  | 'base'
  | 'arbitrum'
  | 'optimism'
  | 'polygon'
  | 'custom';

/**
 * Built-in networks with public RPC defaults (keyless endpoints run by the chains or well-known
 * providers) that the user can change in Settings; the chain id is still checked against the RPC
 * before any use. Public endpoints see the vault's address and rate-limit: a personal one is better.
 */
export const PRESET_CHAINS: readonly ChainConfig[] = [
  {
    chainId: 1,
    name: 'Ethereum',
    rpcUrl: 'https://ethereum-rpc.publicnode.com',
    explorerUrl: 'https://etherscan.io',
    preset: 'mainnet',
  },
  {
    chainId: 11155111,
    name: 'Sepolia',
    rpcUrl: 'https://ethereum-sepolia-rpc.publicnode.com',
    explorerUrl: 'https://sepolia.etherscan.io',
    preset: 'sepolia',
  },
  {
    chainId: 8453,
    name: 'Base',
    rpcUrl: 'https://mainnet.base.org',
    explorerUrl: 'https://basescan.org',
    preset: 'base',
  },
  {
    chainId: 42161,
    name: 'Arbitrum One',
    rpcUrl: 'https://arb1.arbitrum.io/rpc',
    explorerUrl: 'https://arbiscan.io',
    preset: 'arbitrum',
  },
  {
    chainId: 10,
    name: 'OP Mainnet',
    rpcUrl: 'https://mainnet.optimism.io',
    explorerUrl: 'https://optimistic.etherscan.io',
    preset: 'optimism',
  },
  {
    chainId: 137,
    name: 'Polygon',
    rpcUrl: 'https://polygon-rpc.com',
    explorerUrl: 'https://polygonscan.com',
    preset: 'polygon',
    symbol: 'POL',
  },
];

export interface Settings {
  /** WebSocket URL of the bridge relay (untrusted; see BRIDGE.md). */
  bridgeUrl: string;
  /** Minutes of inactivity before the wallet locks itself (THREATS 61). */
  autoLockMinutes: number;
  chains: ChainConfig[];
  activeChainId: number;
}

export const AUTO_LOCK_MIN_MINUTES = 1;
export const AUTO_LOCK_MAX_MINUTES = 60;
export const AUTO_LOCK_DEFAULT_MINUTES = 15;

export const DEFAULT_SETTINGS: Settings = {
  bridgeUrl: 'ws://127.0.0.1:8787',
  autoLockMinutes: AUTO_LOCK_DEFAULT_MINUTES,
  chains: [
    {
      chainId: 31337,
      name: 'Local development chain',
      rpcUrl: 'http://127.0.0.1:8545',
      explorerUrl: '',
      preset: 'local',
    },
    ...PRESET_CHAINS,
  ],
  activeChainId: 31337,
};

/** Fresh deep copy of the defaults (callers may mutate what they get). */
export function defaultSettings(): Settings {
  return structuredClone(DEFAULT_SETTINGS);
}

const LOOPBACK_HOSTS = new Set(['127.0.0.1', 'localhost', '[::1]']);

function parseUrl(s: string): URL | null {
  try {
    return new URL(s);
  } catch {
    return null;
  }
}

/** Bridge URL rule: `wss://` anywhere, plain `ws://` only to this machine. */
export function isAcceptableBridgeUrl(s: string): boolean {
  const u = parseUrl(s);
  if (u === null || u.username !== '' || u.password !== '') return false;
  if (u.protocol === 'wss:') return true;
  return u.protocol === 'ws:' && LOOPBACK_HOSTS.has(u.hostname);
}

/** RPC URL rule: empty (not configured), `https://`, or plain `http://` only to this machine. */
export function isAcceptableRpcUrl(s: string): boolean {
  if (s === '') return true;
  const u = parseUrl(s);
  if (u === null || u.username !== '' || u.password !== '') return false;
  if (u.protocol === 'https:') return true;
  return u.protocol === 'http:' && LOOPBACK_HOSTS.has(u.hostname);
}

/** Explorer URL rule: empty or `https://`. */
export function isAcceptableExplorerUrl(s: string): boolean {
  if (s === '') return true;
  return parseUrl(s)?.protocol === 'https:';
}

const ChainSchema = v.object({
  chainId: v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(Number.MAX_SAFE_INTEGER)),
  name: v.pipe(v.string(), v.trim(), v.minLength(1, 'Chain name is required'), v.maxLength(64)),
  rpcUrl: v.pipe(
    v.string(),
    v.trim(),
    v.check(isAcceptableRpcUrl, 'RPC URL must be https:// (or http:// to 127.0.0.1 / localhost)'),
  ),
  explorerUrl: v.pipe(
    v.string(),
    v.trim(),
    v.check(isAcceptableExplorerUrl, 'Explorer URL must be https://'),
  ),
  preset: v.picklist(['local', 'mainnet', 'sepolia', 'base', 'arbitrum', 'optimism', 'polygon', 'custom']),
  symbol: v.optional(
    v.pipe(v.string(), v.regex(/^[A-Z0-9]{1,8}$/, 'A coin symbol is 1 to 8 capital letters or digits')),
  ),
});

export const SettingsSchema = v.pipe(
  v.object({
    bridgeUrl: v.pipe(
      v.string(),
      v.trim(),
      v.check(isAcceptableBridgeUrl, 'Bridge URL must be wss:// (or ws:// to 127.0.0.1 / localhost)'),
    ),
    autoLockMinutes: v.pipe(
      v.number(),
      v.integer(),
      v.minValue(AUTO_LOCK_MIN_MINUTES, `Auto-lock must be at least ${AUTO_LOCK_MIN_MINUTES} minute`),
      v.maxValue(AUTO_LOCK_MAX_MINUTES, `Auto-lock must be at most ${AUTO_LOCK_MAX_MINUTES} minutes`),
    ),
    chains: v.pipe(v.array(ChainSchema), v.minLength(1), v.maxLength(32)),
    activeChainId: v.number(),
  }),
  v.check(
    (s) => new Set(s.chains.map((c) => c.chainId)).size === s.chains.length,
    'Each chain id may appear only once',
  ),
  v.check((s) => s.chains.some((c) => c.chainId === s.activeChainId), 'The active chain must be in the list'),
);

/** A partial update; the background merges it over the stored settings and validates the result. */
export const SettingsPatchSchema = v.partial(
  v.object({
    bridgeUrl: v.string(),
    autoLockMinutes: v.number(),
    chains: v.array(ChainSchema),
    activeChainId: v.number(),
  }),
);
export type SettingsPatch = v.InferOutput<typeof SettingsPatchSchema>;
