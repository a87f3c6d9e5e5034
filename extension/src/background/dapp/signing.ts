/**
 * Signing requests from sites: `personal_sign` (EIP-191), `eth_signTypedData_v4` (EIP-712) and
 * `eth_sendTransaction` (EIP-1559). Each becomes a vault request body (bridge-server kinds/) carrying
 * the site's origin as the browser reported it; this device's user sees the describer's reading of
 * it first (the approval window) and only their approval proposes it to the co-signers (THREATS C
 * 50: nothing is queued to be signed without them). The site's promise then follows the request:
 * the 65-byte signature or the transaction hash once the threshold signed it, 4001 when the
 * co-signers reject it or it expires.
 */
import type { Description } from '@concord/bridge-server/describe';
import { parseTypedData } from '@concord/bridge-server/describe';
import {
  canonicalTypedData,
  isVaultError,
  MAX_MESSAGE_BYTES,
  type SigningBody,
  typedDataChainProblem,
} from '@concord/bridge-server/vault';
import { fromHex } from '@concord/tss/bytes';
import { providerErrors, rpcErrors } from '@metamask/rpc-errors';
import type { SigningOutcome } from '../services/requests.ts';
import type { DappApprovals } from './approvals.ts';
import { PersonalSignParams, parseParams, SendTransactionParams, SignTypedDataParams } from './params.ts';

export type SigningMethod = 'personal_sign' | 'eth_signTypedData_v4' | 'eth_sendTransaction';

export interface SigningDeps {
  /** The unsigned EIP-1559 bytes of a site's transaction (chain.ts `buildCall`). */
  buildCall(input: {
    chainId: number;
    from: `0x${string}`;
    to: string | null | undefined;
    value: bigint;
    data: `0x${string}`;
    gas?: bigint;
  }): Promise<Uint8Array>;
  /** This device's describer reading of a body (services/describe-request.ts). */
  describe(body: SigningBody, from: string): Promise<Description>;
  /** Proposes the body as this device's approved request; returns the request id. */
  propose(vaultId: string, body: SigningBody): Promise<string>;
  outcome(id: string): Promise<SigningOutcome>;
  /** Waits between looks at the request (tests pass a resolved promise). */
  sleep?(ms: number): Promise<void>;
}

export interface SigningContext {
  origin: string;
  chainId: number;
  /** The site's usable vaults on this device (unlocked). */
  vaults: { id: string; name: string; address: string }[];
  approvals: DappApprovals;
  deps: SigningDeps;
}

const POLL_MS = 500;
const invalid = (message: string) => rpcErrors.invalidParams({ message });

function vaultFor(ctx: SigningContext, address: string) {
  const v = ctx.vaults.find((x) => x.address.toLowerCase() === address.toLowerCase());
  if (v === undefined) {
    throw providerErrors.unauthorized({ message: 'That address is not connected to this site.' });
  }
  return v;
}

/** personal_sign bytes: 0x-hex as dApps send them, anything else taken as UTF-8 text. */
function messageBytes(m: string): Uint8Array {
  const bytes = /^0x([0-9a-fA-F]{2})*$/.test(m) ? fromHex(m.slice(2)) : new TextEncoder().encode(m);
  if (bytes.length === 0) throw invalid('personal_sign: the message is empty.');
  if (bytes.length > MAX_MESSAGE_BYTES)
    throw invalid(`personal_sign: the message is longer than ${MAX_MESSAGE_BYTES} bytes.`);
  return bytes;
}

function typedDataBody(ctx: SigningContext, input: unknown): SigningBody {
  let data: string;
  try {
    data = canonicalTypedData(input);
  } catch (e) {
    throw invalid(`eth_signTypedData_v4: ${isVaultError(e) ? e.message : 'the typed data cannot be read'}.`);
  }
  // THREATS C 53: typed data for another chain is refused, whatever form its chainId takes.
  const problem = typedDataChainProblem(parseTypedData(data), ctx.chainId);
  if (problem !== null) throw invalid(`eth_signTypedData_v4 refused: ${problem}.`);
  return { kind: 'typed-data', chainId: ctx.chainId, origin: ctx.origin, data };
}

async function txBody(
  ctx: SigningContext,
  params: unknown,
): Promise<{ vaultId: string; body: SigningBody; from: string }> {
  const [tx] = parseParams('eth_sendTransaction', SendTransactionParams, params);
  const vault = vaultFor(ctx, tx.from);
  if (tx.chainId !== undefined && Number.parseInt(tx.chainId, 16) !== ctx.chainId) {
    throw invalid(
      `eth_sendTransaction refused: the transaction is for chain ${Number.parseInt(tx.chainId, 16)}, but this site is on chain ${ctx.chainId}.`,
    );
  }
  if (tx.data !== undefined && tx.input !== undefined && tx.data.toLowerCase() !== tx.input.toLowerCase()) {
    throw invalid('eth_sendTransaction: "data" and "input" differ.');
  }
  let bytes: Uint8Array;
  try {
    bytes = await ctx.deps.buildCall({
      chainId: ctx.chainId,
      from: vault.address as `0x${string}`,
      to: tx.to,
      value: BigInt(tx.value ?? '0x0'),
      data: (tx.data ?? tx.input ?? '0x') as `0x${string}`,
      ...(tx.gas === undefined ? {} : { gas: BigInt(tx.gas) }),
    });
  } catch (e) {
    throw rpcErrors.invalidInput({
      message: e instanceof Error ? e.message : 'The transaction cannot be built.',
    });
  }
  return {
    vaultId: vault.id,
    body: { kind: 'send', chainId: ctx.chainId, origin: ctx.origin, tx: bytes },
    from: vault.address,
  };
}

/** Handles one signing method for a connected, unlocked site; resolves with what the site expects. */
export async function signRequest(
  ctx: SigningContext,
  method: SigningMethod,
  params: unknown,
): Promise<string> {
  let vaultId: string;
  let body: SigningBody;
  let from: string;
  if (method === 'personal_sign') {
    const [message, address] = parseParams(method, PersonalSignParams, params);
    const vault = vaultFor(ctx, address);
    ({ vaultId, from } = { vaultId: vault.id, from: vault.address });
    body = { kind: 'message', chainId: ctx.chainId, origin: ctx.origin, message: messageBytes(message) };
  } else if (method === 'eth_signTypedData_v4') {
    const [address, td] = parseParams(method, SignTypedDataParams, params);
    const vault = vaultFor(ctx, address);
    ({ vaultId, from } = { vaultId: vault.id, from: vault.address });
    body = typedDataBody(ctx, td);
  } else {
    ({ vaultId, body, from } = await txBody(ctx, params));
  }
  const description = await ctx.deps.describe(body, from);
  if (description.refused) {
    const why = description.warnings.filter((w) => w.severity === 'refuse').map((w) => w.message);
    throw invalid(`${method} refused: ${why.join(' ')}`);
  }
  if (ctx.approvals.has(ctx.origin, 'sign')) {
    throw rpcErrors.resourceUnavailable({
      message: 'A signing request from this site is already open in Concord.',
    });
  }
  const vault = ctx.vaults.find((x) => x.id === vaultId)!;
  const decision = await ctx.approvals.ask({
    kind: 'sign',
    origin: ctx.origin,
    vault: { id: vault.id, name: vault.name, address: vault.address },
    description,
  });
  if (!decision.approve)
    throw providerErrors.userRejectedRequest({ message: 'The user rejected the request.' });
  const id = await ctx.deps.propose(vaultId, body);
  return follow(ctx.deps, id);
}

/** Follows the request until it is signed (or sent), rejected, expired or failed. */
async function follow(deps: SigningDeps, id: string): Promise<string> {
  const sleep = deps.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  for (;;) {
    const o = await deps.outcome(id);
    switch (o.state) {
      case 'signed':
        return o.signature;
      case 'sent':
        return o.txHash;
      case 'rejected':
        throw providerErrors.userRejectedRequest({ message: o.reason });
      case 'failed':
        throw rpcErrors.internal({ message: o.reason });
      case 'pending':
        await sleep(POLL_MS);
    }
  }
}
