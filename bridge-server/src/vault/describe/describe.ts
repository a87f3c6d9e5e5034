/**
 * The three entry points a UI and a policy engine call on the raw request body each co-signer
 * received: `describeTx`, `describeTypedData`, `describeMessage`. They never throw on bad input:
 * a body that cannot be shown yields a description whose `refused` is true and whose warnings say
 * why, with the raw body kept (rule "no blind signing", THREATS.md part C).
 */
import { type Address, getAddress, type Hex, isAddress } from 'viem';
import { decodeCall } from './calldata.ts';
import type { Description, Field } from './description.ts';
import { DescribeError } from './errors.ts';
import { formatEther, shortAddress } from './format.ts';
import { type Counterparty, interpretCall } from './interpret.ts';
import { messageBytes, messageView } from './message.ts';
import { describeOrigin } from './origin.ts';
import type { DescribeContext } from './ports.ts';
import { Reads } from './reads.ts';
import { parseTypedData, typedTree } from './typed-data.ts';
import { typedSentence } from './typed-sentences.ts';
import { sortWarnings, type Warning, warning } from './warnings.ts';

/** A transaction request as a dApp or the wallet sends it (JSON-RPC quantities or bigints). */
export interface TxRequest {
  chainId?: number | bigint | string;
  from?: string;
  to?: string | null;
  value?: bigint | string | number;
  data?: string;
  input?: string;
  gas?: bigint | string | number;
  maxFeePerGas?: bigint | string | number;
  maxPriorityFeePerGas?: bigint | string | number;
  nonce?: bigint | string | number;
}

function quantity(x: unknown, what: string): bigint | undefined {
  if (x === undefined || x === null) return undefined;
  if (typeof x === 'bigint') return x;
  if (typeof x === 'number' && Number.isSafeInteger(x)) return BigInt(x);
  if (typeof x === 'string' && (/^0x[0-9a-fA-F]+$/.test(x) || /^[0-9]+$/.test(x))) return BigInt(x);
  throw new DescribeError('TX_INVALID', `${what} is not a non-negative integer quantity`);
}

function finish(
  base: Omit<Description, 'warnings' | 'refused' | 'origin'>,
  warnings: Warning[],
  ctx: DescribeContext,
): Description {
  const origin = ctx.origin === undefined ? null : describeOrigin(ctx.origin);
  const all = sortWarnings([...(origin?.warnings ?? []), ...warnings]);
  return { ...base, origin, warnings: all, refused: all.some((w) => w.severity === 'refuse') };
}

function refusedBy(kind: Description['kind'], raw: unknown, e: unknown, ctx: DescribeContext): Description {
  const err = e instanceof DescribeError ? e : new DescribeError('TX_INVALID', String(e));
  const code =
    err.code === 'TYPED_DATA_INVALID' || err.code === 'MESSAGE_INVALID' || err.code === 'TX_INVALID'
      ? 'CALLDATA_MALFORMED'
      : err.code;
  return finish(
    {
      kind,
      title: 'This request cannot be shown',
      fields: [],
      calls: null,
      typedData: null,
      message: null,
      raw,
    },
    [
      warning(
        code === 'CALLDATA_TOO_DEEP' ? 'CALLDATA_TOO_DEEP' : 'CALLDATA_MALFORMED',
        `Cannot be shown: ${err.message}.`,
      ),
    ],
    ctx,
  );
}

async function checkCounterparties(
  list: readonly Counterparty[],
  reads: Reads,
  out: Warning[],
): Promise<void> {
  const done = new Set<string>();
  for (const c of list) {
    const key = `${c.role}:${c.address.toLowerCase()}`;
    if (done.has(key)) continue;
    done.add(key);
    if (c.role === 'spender' || c.role === 'operator') {
      if ((await reads.hasCode(c.address)) === false) {
        out.push(
          warning(
            'SPENDER_HAS_NO_CODE',
            `The ${c.role} ${shortAddress(c.address)} is not a contract: it is an ordinary account, which is how drainers usually collect approvals.`,
          ),
        );
      }
    }
    if ((await reads.interacted(c.address)) === false) {
      out.push(
        warning(
          'FIRST_INTERACTION',
          `This vault has never interacted with ${shortAddress(c.address)} (${c.role}).`,
        ),
      );
    }
  }
}

/** Describes a transaction request. `ctx.chainId` is the chain it will be signed for. */
export async function describeTx(tx: TxRequest, ctx: DescribeContext): Promise<Description> {
  const warnings: Warning[] = [];
  const reads = new Reads(ctx);
  let value: bigint;
  let gas: bigint | undefined;
  let maxFee: bigint | undefined;
  let chainId: bigint | undefined;
  try {
    value = quantity(tx.value, 'value') ?? 0n;
    gas = quantity(tx.gas, 'gas');
    maxFee = quantity(tx.maxFeePerGas, 'maxFeePerGas');
    chainId = quantity(tx.chainId, 'chainId');
    if (tx.data !== undefined && tx.input !== undefined && tx.data.toLowerCase() !== tx.input.toLowerCase()) {
      throw new DescribeError('TX_INVALID', '"data" and "input" differ; the transaction is ambiguous');
    }
    if (tx.to !== undefined && tx.to !== null && !isAddress(tx.to, { strict: false })) {
      throw new DescribeError('TX_INVALID', '"to" is not an address');
    }
    if (tx.from !== undefined && !isAddress(tx.from, { strict: false }))
      throw new DescribeError('TX_INVALID', '"from" is not an address');
  } catch (e) {
    return refusedBy('tx', tx, e, ctx);
  }
  const data = tx.data ?? tx.input ?? '0x';
  const fields: Field[] = [{ label: 'Chain', value: String(ctx.chainId), kind: 'chain' }];
  if (chainId !== undefined && chainId !== BigInt(ctx.chainId)) {
    warnings.push(
      warning(
        'CHAIN_MISMATCH',
        `The transaction is for chain ${chainId}, but the active chain is ${ctx.chainId}.`,
      ),
    );
  }
  if (tx.from) fields.push({ label: 'From', value: getAddress(tx.from), kind: 'address' });
  if (tx.to === undefined || tx.to === null) {
    fields.push({ label: 'Value', value: formatEther(value), kind: 'amount' });
    warnings.push(
      warning(
        'CONTRACT_CREATION',
        'This transaction deploys new contract code, which cannot be reviewed here.',
      ),
    );
    return finish(
      {
        kind: 'tx',
        title: 'Deploys a contract',
        fields,
        calls: null,
        typedData: null,
        message: null,
        raw: tx,
      },
      warnings,
      ctx,
    );
  }
  const to = getAddress(tx.to);
  fields.push(
    { label: 'To', value: to, kind: 'address' },
    { label: 'Value', value: formatEther(value), kind: 'amount' },
  );
  if (gas !== undefined && maxFee !== undefined) {
    fields.push({ label: 'Maximum fee', value: formatEther(gas * maxFee), kind: 'amount' });
  }
  const calls = decodeCall(to, data, value);
  const { warnings: callWarnings, counterparties } = await interpretCall(calls, reads);
  warnings.push(...callWarnings);
  if (calls.status !== 'empty') {
    if ((await reads.hasCode(to)) === false) {
      warnings.push(
        warning(
          'TARGET_HAS_NO_CODE',
          `${shortAddress(to)} has no contract code, yet the transaction carries calldata; nothing will interpret it as shown.`,
        ),
      );
    }
    const first = (await reads.interacted(to)) === false;
    if (first)
      warnings.push(
        warning('FIRST_INTERACTION', `This vault has never interacted with ${shortAddress(to)} (contract).`),
      );
  }
  await checkCounterparties(counterparties, reads, warnings);
  warnings.push(...reads.warnings);
  return finish(
    { kind: 'tx', title: calls.summary, fields, calls, typedData: null, message: null, raw: tx },
    warnings,
    ctx,
  );
}

/** Describes `eth_signTypedData_v4` input (the JSON string as received, or its parsed object). */
export async function describeTypedData(json: unknown, ctx: DescribeContext): Promise<Description> {
  let td: ReturnType<typeof parseTypedData>;
  try {
    td = parseTypedData(json);
  } catch (e) {
    return refusedBy('typed-data', json, e, ctx);
  }
  const reads = new Reads(ctx);
  const warnings: Warning[] = [];
  if (td.chainId === null) {
    warnings.push(
      warning(
        'TYPED_DATA_NO_CHAIN_ID',
        'The typed data names no chain, so the signature could be replayed on any chain.',
      ),
    );
  } else if (td.chainId !== ctx.chainId) {
    warnings.push(
      warning(
        'CHAIN_MISMATCH',
        `The typed data is for chain ${td.chainId}, but the active chain is ${ctx.chainId}.`,
      ),
    );
  }
  const fields: Field[] = [{ label: 'Chain', value: String(td.chainId ?? 'any'), kind: 'chain' }];
  if (typeof td.domain.name === 'string')
    fields.push({ label: 'Application', value: td.domain.name, kind: 'text' });
  const verifying = td.domain.verifyingContract as Address | undefined;
  if (verifying) {
    fields.push({ label: 'Verifying contract', value: verifying, kind: 'address' });
    if ((await reads.hasCode(verifying)) === false) {
      warnings.push(
        warning(
          'VERIFYING_CONTRACT_HAS_NO_CODE',
          `The verifying contract ${shortAddress(verifying)} has no code on this chain.`,
        ),
      );
    }
  }
  fields.push({ label: 'Digest', value: td.digest, kind: 'hex' });
  const known = await typedSentence(td, reads);
  if (known) {
    warnings.push(...known.warnings);
    await checkCounterparties(known.counterparties, reads, warnings);
  }
  warnings.push(...reads.warnings);
  const domainType = td.types.EIP712Domain ?? [];
  const view = {
    primaryType: td.primaryType,
    digest: td.digest,
    domain: domainType.map((f) => typedTree(td.types, f.type, td.domain[f.name], f.name)),
    message: (td.types[td.primaryType] ?? []).map((f) =>
      typedTree(td.types, f.type, td.message[f.name], f.name),
    ),
    sentence: known?.sentence ?? null,
  };
  const title =
    known?.sentence ??
    `Signs a ${td.primaryType} message for ${typeof td.domain.name === 'string' ? td.domain.name : 'an application'}`;
  return finish(
    { kind: 'typed-data', title, fields, calls: null, typedData: view, message: null, raw: json },
    warnings,
    ctx,
  );
}

/** Describes `personal_sign` bytes (0x-hex as dApps send them, or a plain string). */
export async function describeMessage(bytes: unknown, ctx: DescribeContext): Promise<Description> {
  let hex: Hex;
  try {
    hex = messageBytes(bytes);
  } catch (e) {
    return refusedBy('message', bytes, e, ctx);
  }
  const view = messageView(hex);
  const warnings: Warning[] = [];
  if (view.encoding === 'hex') {
    warnings.push(
      warning(
        'MESSAGE_NOT_TEXT',
        `The message is ${view.length} bytes that are not readable text; they are shown as hex.`,
      ),
    );
  }
  if (view.length === 32 && ctx.pending) {
    try {
      const pending = await ctx.pending.pendingHashes();
      if (pending.some((h) => h.toLowerCase() === hex)) {
        warnings.push(
          warning(
            'MESSAGE_IS_PENDING_TX_HASH',
            'The message is the hash of a transaction this vault is co-signing; signing it does not approve that transaction and may be a trick.',
          ),
        );
      }
    } catch {
      warnings.push(
        warning('CHAIN_READ_FAILED', 'Could not check the message against pending transactions.'),
      );
    }
  }
  const fields: Field[] = [
    { label: 'Message', value: view.text, kind: view.encoding === 'utf8' ? 'text' : 'hex' },
    { label: 'Digest', value: view.digest, kind: 'hex' },
  ];
  const title = view.encoding === 'utf8' ? 'Signs a text message' : `Signs ${view.length} bytes of data`;
  return finish(
    { kind: 'message', title, fields, calls: null, typedData: null, message: view, raw: bytes },
    warnings,
    ctx,
  );
}
