/**
 * Decoded calls → plain sentences and warnings, per family. This is where the chain is consulted
 * (token symbol and decimals, ERC-165, code at an address) through the Reads port, so the decoded
 * tree itself (calldata.ts) stays synchronous and pure. Each interpreted call also names its
 * counterparties (recipients, spenders, operators) so the describer can check first interactions
 * and code presence once per address.
 */
import { type Address, getAddress } from 'viem';
import { ERC721_INTERFACE_ID, PERMIT2_ADDRESS } from './abis.ts';
import type { CallNode, DecodedCall } from './calldata.ts';
import { formatEther, formatTimestamp, formatTokenAmount, isUnlimited, shortAddress } from './format.ts';
import type { Reads } from './reads.ts';
import { type Warning, warning } from './warnings.ts';

export type Role = 'recipient' | 'spender' | 'operator';

export interface Counterparty {
  address: Address;
  role: Role;
}

export interface Interpretation {
  warnings: Warning[];
  counterparties: Counterparty[];
}

const MAX_UINT48 = 2n ** 48n - 1n;

/** Fills `summary` on every node of the tree (in place) and returns the warnings it raised. */
export async function interpretCall(node: CallNode, reads: Reads): Promise<Interpretation> {
  const out: Interpretation = { warnings: [], counterparties: [] };
  await walk(node, reads, out);
  return out;
}

async function walk(node: CallNode, reads: Reads, out: Interpretation): Promise<void> {
  switch (node.status) {
    case 'empty':
      node.summary = `Sends ${formatEther(BigInt(node.value))} to ${shortAddress(node.to)}`;
      out.counterparties.push({ address: node.to, role: 'recipient' });
      return;
    case 'unknown':
      node.summary = `Calls an unrecognised function (selector ${node.selector}) on ${shortAddress(node.to)}`;
      out.warnings.push(
        warning(
          'UNKNOWN_CALL',
          `The call to ${shortAddress(node.to)} uses selector ${node.selector}, which is not a known standard; only its raw data can be shown.`,
        ),
      );
      return;
    case 'malformed':
      node.summary = `Cannot be shown: ${node.error.message}`;
      out.warnings.push(
        warning(
          node.error.code === 'CALLDATA_TOO_DEEP' ? 'CALLDATA_TOO_DEEP' : 'CALLDATA_MALFORMED',
          `The call to ${shortAddress(node.to)} cannot be shown: ${node.error.message}.`,
        ),
      );
      return;
    case 'decoded':
      if (!node.canonical) {
        out.warnings.push(
          warning(
            'CALLDATA_NONCANONICAL',
            `The call ${node.signature} to ${shortAddress(node.to)} carries bytes beyond its decoded arguments; they are shown only in the raw data.`,
          ),
        );
      }
      await decoded(node, reads, out);
      for (const c of node.inner) await walk(c, reads, out);
      return;
  }
}

const addr = (x: unknown): Address => getAddress(x as string);
// viem decodes integers up to 48 bits as numbers and wider ones as bigints.
const big = (x: unknown): bigint => BigInt(x as bigint | number);
const rec = (x: unknown): Record<string, unknown> => x as Record<string, unknown>;

async function approval(
  out: Interpretation,
  reads: Reads,
  token: Address,
  spender: Address,
  amount: bigint,
  lead: string,
  tail = '',
): Promise<string> {
  const meta = await reads.token(token);
  out.counterparties.push({ address: spender, role: 'spender' });
  const text = `${lead} ${shortAddress(spender)} spend ${isUnlimited(amount) ? '' : 'up to '}${formatTokenAmount(amount, token, meta)}${tail}`;
  if (isUnlimited(amount)) {
    out.warnings.push(
      warning(
        'UNLIMITED_APPROVAL',
        `Unlimited approval: ${shortAddress(spender)} could take all of your ${meta ? meta.symbol : `tokens of ${shortAddress(token)}`}, now and later.`,
      ),
    );
  }
  return text;
}

function until(expiration: bigint, zeroMeans: string): string {
  if (expiration === 0n) return ` ${zeroMeans}`;
  if (expiration >= MAX_UINT48) return ' with no expiry';
  return ` until ${formatTimestamp(expiration)}`;
}

async function decoded(node: DecodedCall, reads: Reads, out: Interpretation): Promise<void> {
  const a = node.decoded ?? [];
  const to = node.to;
  switch (node.family) {
    case 'erc20': {
      const meta = await reads.token(to);
      if (node.functionName === 'transfer') {
        out.counterparties.push({ address: addr(a[0]), role: 'recipient' });
        node.summary = `Sends ${formatTokenAmount(big(a[1]), to, meta)} to ${shortAddress(addr(a[0]))}`;
      } else if (node.functionName === 'increaseAllowance') {
        const text = await approval(out, reads, to, addr(a[0]), big(a[1]), 'Lets');
        node.summary = text.replace(' spend up to ', ' spend an extra ');
      } else {
        out.counterparties.push({ address: addr(a[0]), role: 'spender' });
        node.summary = `Lowers the allowance of ${shortAddress(addr(a[0]))} by ${formatTokenAmount(big(a[1]), to, meta)}`;
      }
      return;
    }
    case 'erc20-or-erc721':
      return ambiguous(node, a, reads, out);
    case 'erc721':
      out.counterparties.push({ address: addr(a[1]), role: 'recipient' });
      node.summary = `Sends NFT #${big(a[2])} of collection ${shortAddress(to)} from ${shortAddress(addr(a[0]))} to ${shortAddress(addr(a[1]))}`;
      return;
    case 'erc1155': {
      out.counterparties.push({ address: addr(a[1]), role: 'recipient' });
      const items =
        node.functionName === 'safeTransferFrom'
          ? `${big(a[3])} of token id ${big(a[2])}`
          : (a[2] as readonly bigint[])
              .map((id, i) => `${(a[3] as readonly bigint[])[i] ?? 0n} of token id ${id}`)
              .join(', ');
      node.summary = `Sends ${items} of collection ${shortAddress(to)} from ${shortAddress(addr(a[0]))} to ${shortAddress(addr(a[1]))}`;
      return;
    }
    case 'nft': {
      const operator = addr(a[0]);
      if (a[1] === true) {
        out.counterparties.push({ address: operator, role: 'operator' });
        node.summary = `Lets ${shortAddress(operator)} transfer every NFT you own in collection ${shortAddress(to)}`;
        out.warnings.push(
          warning(
            'APPROVAL_FOR_ALL',
            `${shortAddress(operator)} would control all your NFTs in collection ${shortAddress(to)}, including ones you receive later.`,
          ),
        );
      } else {
        node.summary = `Revokes ${shortAddress(operator)}'s control of your NFTs in collection ${shortAddress(to)}`;
      }
      return;
    }
    case 'weth':
      node.summary =
        node.functionName === 'deposit'
          ? `Wraps ${formatEther(BigInt(node.value))} into wrapped ether at ${shortAddress(to)}`
          : `Unwraps ${formatEther(big(a[0]), 'WETH')} at ${shortAddress(to)} back into ETH`;
      return;
    case 'eip2612':
      node.summary = await approval(
        out,
        reads,
        to,
        addr(a[1]),
        big(a[2]),
        `Submits ${shortAddress(addr(a[0]))}'s signed permit letting`,
        ` until ${formatTimestamp(big(a[3]))}`,
      );
      return;
    case 'dai-permit': {
      const spender = addr(a[1]);
      if (a[4] === true) {
        node.summary = await approval(
          out,
          reads,
          to,
          spender,
          2n ** 256n - 1n,
          `Submits ${shortAddress(addr(a[0]))}'s signed DAI-style permit letting`,
          big(a[3]) === 0n ? ' with no expiry' : ` until ${formatTimestamp(big(a[3]))}`,
        );
      } else {
        out.counterparties.push({ address: spender, role: 'spender' });
        node.summary = `Submits ${shortAddress(addr(a[0]))}'s signed DAI-style permit revoking ${shortAddress(spender)}'s allowance`;
      }
      return;
    }
    case 'permit2':
      return permit2(node, a, reads, out);
    case 'multicall':
      node.summary = `Runs ${node.inner.length} call${node.inner.length === 1 ? '' : 's'} in one transaction through ${shortAddress(to)}`;
      return;
  }
}

async function ambiguous(
  node: DecodedCall,
  a: readonly unknown[],
  reads: Reads,
  out: Interpretation,
): Promise<void> {
  const to = node.to;
  const meta = await reads.token(to);
  const isNft = meta ? false : await reads.supports(to, ERC721_INTERFACE_ID);
  if (node.functionName === 'approve') {
    const spender = addr(a[0]);
    if (isNft) {
      out.counterparties.push({ address: spender, role: 'spender' });
      node.summary = `Lets ${shortAddress(spender)} transfer NFT #${big(a[1])} of collection ${shortAddress(to)}`;
      return;
    }
    node.summary = await approval(out, reads, to, spender, big(a[1]), 'Lets');
  } else {
    const from = addr(a[0]);
    const recipient = addr(a[1]);
    out.counterparties.push({ address: recipient, role: 'recipient' });
    node.summary = isNft
      ? `Sends NFT #${big(a[2])} of collection ${shortAddress(to)} from ${shortAddress(from)} to ${shortAddress(recipient)}`
      : `Moves ${formatTokenAmount(big(a[2]), to, meta)} from ${shortAddress(from)} to ${shortAddress(recipient)}`;
  }
  if (!meta && !isNft) {
    out.warnings.push(
      warning(
        'AMBIGUOUS_TOKEN_STANDARD',
        `${shortAddress(to)} did not identify as an ERC-20 or ERC-721 contract; the number ${a[a.length - 1]} may be an amount or a token id.`,
      ),
    );
  }
}

async function permit2(
  node: DecodedCall,
  a: readonly unknown[],
  reads: Reads,
  out: Interpretation,
): Promise<void> {
  const via =
    getAddress(node.to) === PERMIT2_ADDRESS
      ? 'Permit2'
      : `a Permit2-style contract at ${shortAddress(node.to)}`;
  const sentences: string[] = [];
  switch (node.functionName) {
    case 'approve':
      sentences.push(
        await approval(
          out,
          reads,
          addr(a[0]),
          addr(a[1]),
          big(a[2]),
          'Lets',
          ` through ${via}${until(big(a[3]), 'for this block only')}`,
        ),
      );
      break;
    case 'permit': {
      const p = rec(a[1]);
      const details = Array.isArray(p.details) ? (p.details as readonly unknown[]) : [p.details];
      for (const d of details) {
        const r = rec(d);
        sentences.push(
          await approval(
            out,
            reads,
            addr(r.token),
            addr(p.spender),
            big(r.amount),
            `Submits ${shortAddress(addr(a[0]))}'s signed ${via} permit letting`,
            until(big(r.expiration), 'for this block only'),
          ),
        );
      }
      break;
    }
    case 'transferFrom': {
      const list =
        a.length === 1
          ? (a[0] as readonly unknown[]).map(rec)
          : [{ from: a[0], to: a[1], amount: a[2], token: a[3] }];
      for (const t of list) {
        const token = addr(t.token);
        out.counterparties.push({ address: addr(t.to), role: 'recipient' });
        sentences.push(
          `Moves ${formatTokenAmount(big(t.amount), token, await reads.token(token))} from ${shortAddress(addr(t.from))} to ${shortAddress(addr(t.to))} through ${via}`,
        );
      }
      break;
    }
    case 'permitTransferFrom':
    case 'permitWitnessTransferFrom': {
      const permit = rec(a[0]);
      const permitted = Array.isArray(permit.permitted)
        ? (permit.permitted as readonly unknown[])
        : [permit.permitted];
      const transfers = Array.isArray(a[1]) ? (a[1] as readonly unknown[]) : [a[1]];
      const owner = addr(a[2]);
      for (const [i, p] of permitted.entries()) {
        const token = addr(rec(p).token);
        const t = rec(transfers[i]);
        if (t.to === undefined) continue;
        out.counterparties.push({ address: addr(t.to), role: 'recipient' });
        sentences.push(
          `Moves ${formatTokenAmount(big(t.requestedAmount), token, await reads.token(token))} from ${shortAddress(owner)} to ${shortAddress(addr(t.to))} with a signed ${via} transfer (signed for up to ${formatTokenAmount(big(rec(p).amount), token, await reads.token(token))})`,
        );
      }
      if (node.functionName === 'permitWitnessTransferFrom') {
        out.warnings.push(
          warning(
            'PERMIT2_WITNESS',
            `The signed transfer is bound to extra data (witness ${a[3]} of type "${String(a[4]).slice(0, 200)}").`,
          ),
        );
      }
      break;
    }
  }
  node.summary = sentences.join('; ');
}
