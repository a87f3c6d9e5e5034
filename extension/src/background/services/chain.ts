/**
 * Chain access for the background: building unsigned EIP-1559 sends (native ETH or ERC-20
 * `transfer`), describing request bytes for review, broadcasting signed transactions, and reading
 * status, nonces and balances — all over this device's own JSON-RPC endpoint (viem public client).
 *
 * Every client is bound to one (chainId, rpcUrl) pair and its `eth_chainId` is checked against the
 * configured EIP-155 chain id before first use, so a mis-set RPC can never feed nonces, fees or
 * token metadata of another chain into something a signer approves. Errors that leave this module
 * are `ExtensionError`s with short human reasons: never a raw response body, never the full RPC URL
 * (it may embed an API key) — only its host.
 */
import { type ChainReader, publicClientReader } from '@concord/bridge-server/describe';
import {
  BaseError,
  createPublicClient,
  encodeFunctionData,
  erc20Abi,
  getAddress,
  HttpRequestError,
  http,
  isAddress,
  keccak256,
  type PublicClient,
  parseTransaction,
  TimeoutError,
  TransactionNotFoundError,
  TransactionReceiptNotFoundError,
  zeroAddress,
} from 'viem';
import { ExtensionError } from '../../shared/errors.ts';
import type { BalanceView, MaxSendView, SendInput, TxSummary } from '../../shared/messages.ts';
import type { ChainConfig, Settings } from '../../shared/settings.ts';
import {
  classify,
  decodeUnsignedTx,
  encodeUnsignedTx,
  formatUnitsDisplay,
  type UnsignedTx,
} from './tx-codec.ts';

export interface ChainServiceDeps {
  settings: () => Promise<Settings>;
  /** Injected fetch (tests, or the worker's own); defaults to the global one. */
  fetch?: typeof fetch;
}

/** Native currency symbol unless the chain's settings name another (Polygon: POL). */
const NATIVE_SYMBOL = 'ETH';
const nativeSymbol = (chain: ChainConfig | undefined): string => chain?.symbol ?? NATIVE_SYMBOL;
const NATIVE_DECIMALS = 18;
/** estimateGas is exact for the current state; 20 % headroom absorbs state changing before signing. */
const GAS_HEADROOM_NUM = 12n;
const GAS_HEADROOM_DEN = 10n;
const MAX_REASON_CHARS = 160;
const UINT256_MAX = 2n ** 256n - 1n;

interface ClientEntry {
  url: string;
  host: string;
  client: PublicClient;
  /** Resolves once `eth_chainId` matched; dropped on failure so the next call re-checks. */
  verified: Promise<void> | null;
}

interface Bound {
  chain: ChainConfig;
  client: PublicClient;
  host: string;
}

/**
 * Replaces control, zero-width and bidi-override characters: node messages and token symbols are
 * untrusted text that ends up in front of a signer, and must not be able to reorder or hide parts.
 */
function printable(s: string, replacement: string): string {
  let out = '';
  for (const ch of s) {
    const c = ch.codePointAt(0) ?? 0;
    const hidden =
      c < 0x20 ||
      (c >= 0x7f && c <= 0x9f) ||
      (c >= 0x200b && c <= 0x200f) ||
      (c >= 0x202a && c <= 0x202e) ||
      (c >= 0x2066 && c <= 0x2069) ||
      c === 0xfeff;
    out += hidden ? replacement : ch;
  }
  return out;
}

/** A one-line, bounded excerpt of what the node said (viem puts the node's message in `details`). */
function shortReason(e: unknown): string {
  let text = '';
  if (e instanceof BaseError) text = e.details || e.shortMessage;
  else if (e instanceof Error) text = e.message;
  text = printable(text, ' ').replace(/\s+/g, ' ').trim();
  if (text === '') return 'unknown error';
  return text.length > MAX_REASON_CHARS ? `${text.slice(0, MAX_REASON_CHARS)}…` : text;
}

/** The error came from not reaching the node at all (network, HTTP status, timeout). */
function isTransportError(e: unknown): boolean {
  return (
    e instanceof BaseError &&
    e.walk((x) => x instanceof HttpRequestError || x instanceof TimeoutError) !== null
  );
}

function unavailable(host: string, e: unknown): ExtensionError {
  if (e instanceof ExtensionError) return e;
  if (e instanceof BaseError) {
    if (e.walk((x) => x instanceof TimeoutError) !== null) {
      return new ExtensionError('CHAIN_UNAVAILABLE', `The RPC at ${host} did not answer in time.`, {
        cause: e,
      });
    }
    const http = e.walk((x) => x instanceof HttpRequestError);
    if (http instanceof HttpRequestError) {
      // Not `details`: for HTTP failures it can hold the response body.
      const status = http.status === undefined ? '' : ` (HTTP ${http.status})`;
      return new ExtensionError('CHAIN_UNAVAILABLE', `The RPC at ${host} could not be reached${status}.`, {
        cause: e,
      });
    }
  }
  return new ExtensionError('CHAIN_UNAVAILABLE', `The RPC at ${host} returned an error: ${shortReason(e)}`, {
    cause: e,
  });
}

function hostOf(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return 'the configured URL';
  }
}

/** Token strings come from an untrusted contract: keep them short and printable. */
function cleanSymbol(s: string): string {
  const t = printable(s, '').trim();
  if (t === '') return '?';
  return t.length > 16 ? `${t.slice(0, 16)}…` : t;
}

/**
 * Decimal text → base units, refusing what `parseUnits` would silently round: more fractional
 * digits than the asset has, signs, exponents, zero.
 */
function parseAmount(text: string, decimals: number, symbol: string): bigint {
  const m = /^(\d*)(?:\.(\d*))?$/.exec(text.trim());
  const whole = m?.[1] ?? '';
  const frac = m?.[2] ?? '';
  if (m === null || (whole === '' && frac === '')) {
    throw new ExtensionError(
      'INVALID_REQUEST',
      `"${text.slice(0, 40)}" is not an amount; use digits like 1 or 0.25.`,
    );
  }
  if (frac.length > decimals) {
    throw new ExtensionError(
      'INVALID_REQUEST',
      decimals === 0
        ? `${symbol} has no decimal places; enter a whole number.`
        : `${symbol} has at most ${decimals} decimal places; the amount has ${frac.length}.`,
    );
  }
  const units = BigInt(`${whole || '0'}${frac.padEnd(decimals, '0')}`);
  if (units === 0n) throw new ExtensionError('INVALID_REQUEST', 'The amount must be greater than zero.');
  if (units > UINT256_MAX) throw new ExtensionError('INVALID_REQUEST', 'The amount is too large.');
  return units;
}

function requireAddress(text: string, what: string): `0x${string}` {
  // Strict: mixed case must be a valid EIP-55 checksum, which catches most typos.
  if (!isAddress(text, { strict: true })) {
    throw new ExtensionError(
      'INVALID_REQUEST',
      `The ${what} is not a valid address (0x and 40 hex digits; mixed case must match its checksum).`,
    );
  }
  const a = getAddress(text);
  if (a === zeroAddress) {
    throw new ExtensionError(
      'INVALID_REQUEST',
      `The ${what} is the zero address; funds sent there are lost.`,
    );
  }
  return a;
}

export class ChainService {
  private readonly clients = new Map<number, ClientEntry>();

  constructor(private readonly d: ChainServiceDeps) {}

  /** The verified client for a configured chain, or CHAIN_UNAVAILABLE. */
  private async bind(chainId: number): Promise<Bound> {
    const settings = await this.d.settings();
    const chain = settings.chains.find((c) => c.chainId === chainId);
    const url = chain?.rpcUrl.trim() ?? '';
    if (chain === undefined || url === '') {
      const name = chain?.name ?? `chain ${chainId}`;
      throw new ExtensionError('CHAIN_UNAVAILABLE', `Set an RPC URL for ${name} in Settings.`);
    }
    let entry = this.clients.get(chainId);
    if (entry === undefined || entry.url !== url) {
      const transport = http(url, {
        retryCount: 1,
        timeout: 10_000,
        ...(this.d.fetch === undefined ? {} : { fetchFn: this.d.fetch }),
      });
      entry = { url, host: hostOf(url), client: createPublicClient({ transport }), verified: null };
      this.clients.set(chainId, entry);
    }
    const e = entry;
    if (e.verified === null) {
      e.verified = (async () => {
        let actual: number;
        try {
          actual = await e.client.getChainId();
        } catch (err) {
          throw unavailable(e.host, err);
        }
        if (actual !== chainId) {
          throw new ExtensionError(
            'CHAIN_UNAVAILABLE',
            `The RPC at ${e.host} is chain ${actual}, not ${chainId} (${chain.name}). Fix its RPC URL in Settings.`,
          );
        }
      })();
      // A failed check is not cached: the user may fix the node or the URL.
      e.verified.catch(() => {
        if (this.clients.get(chainId) === e) e.verified = null;
      });
    }
    await e.verified;
    return { chain, client: e.client, host: e.host };
  }

  /** Runs one RPC read, mapping any failure to CHAIN_UNAVAILABLE with a short reason. */
  private async rpc<T>(b: Bound, f: (c: PublicClient) => Promise<T>): Promise<T> {
    try {
      return await f(b.client);
    } catch (e) {
      throw unavailable(b.host, e);
    }
  }

  /** ERC-20 reads: node unreachable ⇒ CHAIN_UNAVAILABLE, contract misbehaving ⇒ INVALID_REQUEST. */
  private async tokenRead<T>(
    b: Bound,
    token: `0x${string}`,
    f: (c: PublicClient) => Promise<T>,
    what: string,
  ) {
    try {
      return await f(b.client);
    } catch (e) {
      if (isTransportError(e)) throw unavailable(b.host, e);
      throw new ExtensionError(
        'INVALID_REQUEST',
        `The token at ${token} did not answer ${what}; is it an ERC-20 contract on ${b.chain.name}?`,
        { cause: e },
      );
    }
  }

  private async tokenDecimals(b: Bound, token: `0x${string}`): Promise<number> {
    return this.tokenRead(
      b,
      token,
      (c) => c.readContract({ address: token, abi: erc20Abi, functionName: 'decimals' }),
      'decimals()',
    );
  }

  private async tokenSymbol(b: Bound, token: `0x${string}`): Promise<string> {
    const s = await this.tokenRead(
      b,
      token,
      (c) => c.readContract({ address: token, abi: erc20Abi, functionName: 'symbol' }),
      'symbol()',
    );
    return cleanSymbol(s);
  }

  /**
   * EIP-20 metadata of a contract the user wants to add to the token list, read from this device's
   * RPC: refused with a specific reason when the address has no code on this chain, or when the
   * contract does not answer `decimals()`, `symbol()` and `totalSupply()` as an ERC-20 does (an
   * ERC-721 has no `decimals()`). `name()` is optional (some tokens return bytes32): the symbol
   * stands in for it.
   */
  async tokenMetadata(
    chainId: number,
    address: string,
  ): Promise<{ address: `0x${string}`; name: string; symbol: string; decimals: number }> {
    const token = requireAddress(address, 'token contract');
    const b = await this.bind(chainId);
    const code = await this.rpc(b, (c) => c.getCode({ address: token }));
    if (code === undefined || code === '0x') {
      throw new ExtensionError(
        'INVALID_REQUEST',
        `There is no contract at ${token} on ${b.chain.name}; check the address and the network.`,
      );
    }
    const [decimals, symbol] = await Promise.all([this.tokenDecimals(b, token), this.tokenSymbol(b, token)]);
    await this.tokenRead(
      b,
      token,
      (c) => c.readContract({ address: token, abi: erc20Abi, functionName: 'totalSupply' }),
      'totalSupply()',
    );
    const name = await this.tokenRead(
      b,
      token,
      (c) => c.readContract({ address: token, abi: erc20Abi, functionName: 'name' }),
      'name()',
    ).then(
      (n) => {
        const t = printable(n, '').trim();
        if (t === '') return symbol;
        return t.length > 40 ? `${t.slice(0, 40)}…` : t;
      },
      () => symbol,
    );
    return { address: token, name, symbol, decimals };
  }

  /** Builds the unsigned type-2 bytes for a send from `from` (the vault address). */
  async buildSend(input: SendInput & { from: `0x${string}` }): Promise<Uint8Array> {
    const from = requireAddress(input.from, 'sender');
    const to = requireAddress(input.to, 'recipient');
    const token = input.token === null ? null : requireAddress(input.token, 'token contract');
    if (token !== null && to === token) {
      // Most tokens accept this and the tokens are then stuck in the contract for good.
      throw new ExtensionError(
        'INVALID_REQUEST',
        'The recipient is the token contract itself; the tokens would be lost.',
      );
    }
    const b = await this.bind(input.chainId);

    let call: { to: `0x${string}`; value: bigint; data: `0x${string}` };
    if (token === null) {
      const value = parseAmount(input.amount, NATIVE_DECIMALS, nativeSymbol(b.chain));
      call = { to, value, data: '0x' };
    } else {
      const decimals = await this.tokenDecimals(b, token);
      const amount = parseAmount(input.amount, decimals, 'This token');
      const data = encodeFunctionData({ abi: erc20Abi, functionName: 'transfer', args: [to, amount] });
      call = { to: token, value: 0n, data };
    }

    const [nonce, gasEstimate, fees, funds] = await Promise.all([
      this.rpc(b, (c) => c.getTransactionCount({ address: from, blockTag: 'pending' })),
      this.estimateGas(b, from, call),
      this.rpc(b, (c) => c.estimateFeesPerGas()),
      this.rpc(b, (c) => c.getBalance({ address: from })),
    ]);
    const gas = (gasEstimate * GAS_HEADROOM_NUM + GAS_HEADROOM_DEN - 1n) / GAS_HEADROOM_DEN;
    // Nodes refuse a type-2 tx unless the balance covers value + gas × maxFeePerGas (the upfront
    // cost), and some (Hardhat) estimate gas without checking funds: say so now, not after signing.
    if (funds < call.value + gas * fees.maxFeePerGas) {
      throw new ExtensionError(
        'INVALID_REQUEST',
        `The vault does not have enough ${nativeSymbol(b.chain)} on ${b.chain.name} for this amount plus the network fee (at most ${formatUnitsDisplay(gas * fees.maxFeePerGas, NATIVE_DECIMALS, nativeSymbol(b.chain))}).`,
      );
    }
    const tx: UnsignedTx = {
      chainId: input.chainId,
      nonce,
      to: call.to,
      value: call.value,
      data: call.data,
      gas,
      maxFeePerGas: fees.maxFeePerGas,
      maxPriorityFeePerGas: fees.maxPriorityFeePerGas,
    };
    return encodeUnsignedTx(tx);
  }

  /**
   * Builds the unsigned type-2 bytes of a site's `eth_sendTransaction` from `from` (the vault): its
   * `to`, `value` and calldata exactly as given; gas from the site when it named a limit (else
   * estimated, with the wallet's headroom); nonce and fees from this device's RPC. Contract
   * creation is refused (it cannot be shown to co-signers).
   */
  async buildCall(input: {
    chainId: number;
    from: `0x${string}`;
    to: string | null | undefined;
    value: bigint;
    data: `0x${string}`;
    gas?: bigint;
  }): Promise<Uint8Array> {
    if (input.to === null || input.to === undefined) {
      throw new ExtensionError('INVALID_REQUEST', 'Deploying a contract from a site is not supported.');
    }
    const from = requireAddress(input.from, 'sender');
    const to = requireAddress(input.to, 'recipient');
    const b = await this.bind(input.chainId);
    const call = { to, value: input.value, data: input.data };
    const [nonce, gasEstimate, fees] = await Promise.all([
      this.rpc(b, (c) => c.getTransactionCount({ address: from, blockTag: 'pending' })),
      input.gas === undefined ? this.estimateGas(b, from, call) : Promise.resolve(input.gas),
      this.rpc(b, (c) => c.estimateFeesPerGas()),
    ]);
    const gas = input.gas ?? (gasEstimate * GAS_HEADROOM_NUM + GAS_HEADROOM_DEN - 1n) / GAS_HEADROOM_DEN;
    return encodeUnsignedTx({
      chainId: input.chainId,
      nonce,
      to,
      value: input.value,
      data: input.data,
      gas,
      maxFeePerGas: fees.maxFeePerGas,
      maxPriorityFeePerGas: fees.maxPriorityFeePerGas,
    });
  }

  /** This device's own reads of `chainId` for the describers (describe/ports.ts), or null. */
  async reader(chainId: number): Promise<ChainReader | null> {
    try {
      return publicClientReader((await this.bind(chainId)).client);
    } catch {
      return null;
    }
  }

  private async estimateGas(
    b: Bound,
    from: `0x${string}`,
    call: { to: `0x${string}`; value: bigint; data: `0x${string}` },
  ): Promise<bigint> {
    try {
      return await b.client.estimateGas({ account: from, to: call.to, value: call.value, data: call.data });
    } catch (e) {
      if (isTransportError(e)) throw unavailable(b.host, e);
      const reason = shortReason(e);
      if (/insufficient funds|enough funds/i.test(reason)) {
        throw new ExtensionError(
          'INVALID_REQUEST',
          `The vault does not have enough ${nativeSymbol(b.chain)} on ${b.chain.name} for this amount plus the network fee.`,
          { cause: e },
        );
      }
      throw new ExtensionError(
        'INVALID_REQUEST',
        `${b.chain.name} says this transaction would fail: ${reason}`,
        {
          cause: e,
        },
      );
    }
  }

  /**
   * The review summary of request bytes, decoded here (never taken from the initiator) with token
   * metadata and the account nonce read from this device's RPC. Problems reaching the chain become
   * warnings rather than errors so a signer can still see what the bytes say.
   */
  async describe(
    unsigned: Uint8Array,
    from: `0x${string}`,
    /** False once the request's own transaction is out: its nonce is then used by itself. */
    opts: { checkNonce?: boolean } = {},
  ): Promise<TxSummary> {
    const tx = decodeUnsignedTx(unsigned);
    const c = classify(tx);
    const sender = requireAddress(from, 'sender');
    const warnings: string[] = [];

    const settings = await this.d.settings();
    const chain = settings.chains.find((x) => x.chainId === tx.chainId);
    if (chain === undefined) warnings.push(`Chain ${tx.chainId} is not configured on this device`);

    let bound: Bound | null = null;
    if (chain !== undefined) {
      try {
        bound = await this.bind(tx.chainId);
      } catch (e) {
        const why = e instanceof ExtensionError ? e.message : shortReason(e);
        warnings.push(`This device could not check the transaction against ${chain.name}: ${why}`);
      }
    }

    let symbol = nativeSymbol(chain);
    let decimals = NATIVE_DECIMALS;
    if (c.kind === 'erc20-transfer' && c.token !== null) {
      const token = c.token;
      try {
        if (bound === null) throw new Error('no RPC');
        const b = bound;
        [symbol, decimals] = await Promise.all([this.tokenSymbol(b, token), this.tokenDecimals(b, token)]);
      } catch {
        symbol = '?';
        decimals = 0;
        warnings.push(
          `Could not read the symbol and decimals of token ${token}; the amount is shown in its smallest units`,
        );
      }
    }
    if (c.kind === 'contract-call')
      warnings.push('Calls a contract: check the decoded call and its warnings above');

    if (bound !== null && opts.checkNonce !== false) {
      const b = bound;
      try {
        const current = await this.rpc(b, (cl) =>
          cl.getTransactionCount({ address: sender, blockTag: 'latest' }),
        );
        if (tx.nonce < current) {
          warnings.push(
            `Nonce ${tx.nonce} was already used by this account (next is ${current}); this transaction cannot go through`,
          );
        }
      } catch {
        warnings.push('Could not check the nonce against this device’s RPC');
      }
    }

    return {
      chainId: tx.chainId,
      chainName: chain?.name ?? `Chain ${tx.chainId}`,
      kind: c.kind,
      from: sender,
      to: tx.to,
      recipient: c.recipient,
      amount: c.amount.toString(),
      amountDisplay: formatUnitsDisplay(c.amount, decimals, symbol),
      symbol,
      decimals,
      token: c.token,
      nonce: tx.nonce,
      gasLimit: tx.gas.toString(),
      maxFeePerGas: tx.maxFeePerGas.toString(),
      maxPriorityFeePerGas: tx.maxPriorityFeePerGas.toString(),
      maxFeeDisplay: formatUnitsDisplay(tx.gas * tx.maxFeePerGas, NATIVE_DECIMALS, nativeSymbol(chain)),
      data: tx.data,
      warnings,
    };
  }

  /**
   * Sends a signed transaction; returns its hash. Idempotent: a transaction the node already has
   * (pending or mined) is success. A *different* transaction having consumed the nonce is reported
   * as BROADCAST_FAILED mentioning the nonce, so the caller can look for the sibling's receipt.
   */
  async broadcast(chainId: number, raw: `0x${string}`): Promise<`0x${string}`> {
    let nonce: number | undefined;
    try {
      const parsed = parseTransaction(raw);
      if (parsed.chainId !== chainId) throw new Error('chain id mismatch');
      if (parsed.r === undefined || parsed.s === undefined) throw new Error('unsigned');
      nonce = parsed.nonce;
    } catch (e) {
      throw new ExtensionError(
        'INVALID_REQUEST',
        `The signed transaction is malformed or not for chain ${chainId}.`,
        {
          cause: e,
        },
      );
    }
    const hash = keccak256(raw);
    const b = await this.bind(chainId);
    try {
      await b.client.sendRawTransaction({ serializedTransaction: raw });
      return hash;
    } catch (e) {
      // A lost response or a resend: if the node knows the hash, it went through.
      if (await this.knownTx(b, hash)) return hash;
      if (isTransportError(e)) throw unavailable(b.host, e);
      const reason = shortReason(e);
      if (/already known|known transaction|already imported|already in (the )?(tx)?pool/i.test(reason))
        return hash;
      if (/nonce too low|nonce.*(too small|lower than)|already used/i.test(reason)) {
        throw new ExtensionError(
          'BROADCAST_FAILED',
          `Nonce ${nonce ?? '?'} was already used by another transaction from this account (nonce too low).`,
          { cause: e },
        );
      }
      if (
        /replacement (transaction )?underpriced|already (exists|pending) with (the same )?nonce/i.test(reason)
      ) {
        throw new ExtensionError(
          'BROADCAST_FAILED',
          `Another transaction with nonce ${nonce ?? '?'} from this account is already pending (replacement underpriced).`,
          { cause: e },
        );
      }
      if (/insufficient funds|enough funds/i.test(reason)) {
        throw new ExtensionError(
          'BROADCAST_FAILED',
          `The account does not have enough ${nativeSymbol(b.chain)} for this transaction and its fee (insufficient funds).`,
          { cause: e },
        );
      }
      throw new ExtensionError('BROADCAST_FAILED', `${b.chain.name} refused the transaction: ${reason}`, {
        cause: e,
      });
    }
  }

  private async knownTx(b: Bound, hash: `0x${string}`): Promise<boolean> {
    try {
      await b.client.getTransaction({ hash });
      return true;
    } catch {
      // Not found, or the node is unreachable: either way we cannot claim success.
      return false;
    }
  }

  async status(
    chainId: number,
    hash: `0x${string}`,
  ): Promise<{ state: 'pending' | 'mined' | 'failed'; blockNumber: number | null }> {
    if (!/^0x[0-9a-fA-F]{64}$/.test(hash))
      throw new ExtensionError('INVALID_REQUEST', 'Not a transaction hash.');
    const b = await this.bind(chainId);
    try {
      const r = await b.client.getTransactionReceipt({ hash });
      return { state: r.status === 'success' ? 'mined' : 'failed', blockNumber: Number(r.blockNumber) };
    } catch (e) {
      if (e instanceof BaseError && e.walk((x) => x instanceof TransactionReceiptNotFoundError) !== null) {
        return { state: 'pending', blockNumber: null };
      }
      if (e instanceof TransactionNotFoundError) return { state: 'pending', blockNumber: null };
      throw unavailable(b.host, e);
    }
  }

  /** Whether `nonce` has been consumed by a mined transaction of `address`. */
  async nonceUsed(chainId: number, address: `0x${string}`, nonce: number): Promise<boolean> {
    const a = requireAddress(address, 'account');
    const b = await this.bind(chainId);
    const latest = await this.rpc(b, (c) => c.getTransactionCount({ address: a, blockTag: 'latest' }));
    return latest > nonce;
  }

  /** Native balance (`token` null) or an ERC-20 balance in the token's own units. */
  async balance(chainId: number, address: `0x${string}`, token: `0x${string}` | null): Promise<BalanceView> {
    const a = requireAddress(address, 'account');
    const b = await this.bind(chainId);
    if (token === null) {
      const wei = await this.rpc(b, (c) => c.getBalance({ address: a }));
      return {
        chainId,
        address: a,
        wei: wei.toString(),
        display: formatUnitsDisplay(wei, NATIVE_DECIMALS, nativeSymbol(b.chain)),
        decimals: NATIVE_DECIMALS,
        symbol: nativeSymbol(b.chain),
      };
    }
    const t = requireAddress(token, 'token contract');
    const [units, decimals, symbol] = await Promise.all([
      this.tokenRead(
        b,
        t,
        (c) => c.readContract({ address: t, abi: erc20Abi, functionName: 'balanceOf', args: [a] }),
        'balanceOf()',
      ),
      this.tokenDecimals(b, t),
      this.tokenSymbol(b, t).catch(() => '?'),
    ]);
    return {
      chainId,
      address: a,
      wei: units.toString(),
      display: formatUnitsDisplay(units, decimals, symbol),
      decimals,
      symbol,
    };
  }

  /**
   * The most `from` can send to `to`: for the native coin its balance less the fee ceiling of that
   * transfer (estimated gas with the same headroom as `buildSend` × max fee per gas, so a preview
   * of exactly this amount passes the funds check); for a token its whole token balance.
   */
  async maxSendable(
    chainId: number,
    from: `0x${string}`,
    toText: string,
    token: `0x${string}` | null,
  ): Promise<MaxSendView> {
    const sender = requireAddress(from, 'sender');
    const to = requireAddress(toText, 'recipient');
    const b = await this.bind(chainId);
    const call =
      token === null
        ? { to, value: 0n, data: '0x' as `0x${string}` }
        : {
            to: requireAddress(token, 'token contract'),
            value: 0n,
            data: encodeFunctionData({ abi: erc20Abi, functionName: 'transfer', args: [to, 0n] }),
          };
    const [gasEstimate, fees, funds] = await Promise.all([
      this.estimateGas(b, sender, call),
      this.rpc(b, (c) => c.estimateFeesPerGas()),
      this.rpc(b, (c) => c.getBalance({ address: sender })),
    ]);
    const gas = (gasEstimate * GAS_HEADROOM_NUM + GAS_HEADROOM_DEN - 1n) / GAS_HEADROOM_DEN;
    const fee = gas * fees.maxFeePerGas;
    if (token === null) {
      const max = funds > fee ? funds - fee : 0n;
      return {
        balance: funds.toString(),
        fee: fee.toString(),
        max: max.toString(),
        decimals: NATIVE_DECIMALS,
        symbol: nativeSymbol(b.chain),
        feeSymbol: nativeSymbol(b.chain),
      };
    }
    const t = await this.balance(chainId, sender, token);
    return {
      balance: t.wei,
      fee: fee.toString(),
      max: t.wei,
      decimals: t.decimals,
      symbol: t.symbol,
      feeSymbol: nativeSymbol(b.chain),
    };
  }

  /** Checks the RPC (right chain id) and returns the latest block number. */
  async check(chainId: number): Promise<number> {
    const b = await this.bind(chainId);
    return Number(await this.rpc(b, (c) => c.getBlockNumber({ cacheTime: 0 })));
  }
}
