/**
 * Sentences for the typed-data primary types people are asked to sign most: EIP-2612 `Permit`,
 * DAI's `Permit` (holder/allowed), Uniswap Permit2 `PermitSingle` / `PermitBatch` (AllowanceTransfer)
 * and `PermitTransferFrom` / `PermitBatchTransferFrom` with or without a witness (SignatureTransfer).
 * A type is recognised by its exact field shape, not by its name alone: a `Permit` without a
 * spender is rendered as generic typed data (THREATS.md part C, item 54).
 */
import { type Address, getAddress } from 'viem';
import { formatTimestamp, formatTokenAmount, isUnlimited, shortAddress } from './format.ts';
import type { Counterparty } from './interpret.ts';
import type { Reads } from './reads.ts';
import type { ParsedTypedData, TypedField } from './typed-data.ts';
import { type Warning, warning } from './warnings.ts';

export interface TypedSentence {
  sentence: string;
  warnings: Warning[];
  counterparties: Counterparty[];
}

const MAX_UINT48 = 2n ** 48n - 1n;

function hasShape(fields: readonly TypedField[] | undefined, want: readonly [string, string][]): boolean {
  if (!fields) return false;
  return want.every(([n, t]) => fields.some((f) => f.name === n && f.type === t));
}

const sameShape = (fields: readonly TypedField[] | undefined, want: readonly [string, string][]) =>
  hasShape(fields, want) && fields?.length === want.length;

const PERMIT_DETAILS: [string, string][] = [
  ['token', 'address'],
  ['amount', 'uint160'],
  ['expiration', 'uint48'],
  ['nonce', 'uint48'],
];
const TOKEN_PERMISSIONS: [string, string][] = [
  ['token', 'address'],
  ['amount', 'uint256'],
];

export async function typedSentence(td: ParsedTypedData, reads: Reads): Promise<TypedSentence | null> {
  const { types, primaryType: p, message: m, domain } = td;
  const fields = types[p];
  const out: TypedSentence = { sentence: '', warnings: [], counterparties: [] };
  const grant = async (token: Address, spender: Address, amount: bigint, tail: string): Promise<string> => {
    const meta = await reads.token(token);
    out.counterparties.push({ address: spender, role: 'spender' });
    if (isUnlimited(amount)) {
      out.warnings.push(
        warning(
          'UNLIMITED_APPROVAL',
          `Unlimited permit: ${shortAddress(spender)} could take all of your ${meta ? meta.symbol : `tokens of ${shortAddress(token)}`}.`,
        ),
      );
    }
    return `lets ${shortAddress(spender)} spend ${isUnlimited(amount) ? '' : 'up to '}${formatTokenAmount(amount, token, meta)}${tail}`;
  };
  const verifying = domain.verifyingContract as Address | undefined;

  if (
    p === 'Permit' &&
    verifying &&
    sameShape(fields, [
      ['owner', 'address'],
      ['spender', 'address'],
      ['value', 'uint256'],
      ['nonce', 'uint256'],
      ['deadline', 'uint256'],
    ])
  ) {
    out.sentence = `Signing ${await grant(verifying, m.spender as Address, m.value as bigint, ` of ${shortAddress(m.owner as string)}'s tokens until ${formatTimestamp(m.deadline as bigint)}`)}`;
    return out;
  }
  if (
    p === 'Permit' &&
    verifying &&
    sameShape(fields, [
      ['holder', 'address'],
      ['spender', 'address'],
      ['nonce', 'uint256'],
      ['expiry', 'uint256'],
      ['allowed', 'bool'],
    ])
  ) {
    const expiry = m.expiry as bigint;
    const tail = expiry === 0n ? ' with no expiry' : ` until ${formatTimestamp(expiry)}`;
    if (m.allowed === true) {
      out.sentence = `Signing ${await grant(verifying, m.spender as Address, 2n ** 256n - 1n, `${tail} (DAI-style permit)`)}`;
    } else {
      out.counterparties.push({ address: m.spender as Address, role: 'spender' });
      out.sentence = `Signing revokes ${shortAddress(m.spender as string)}'s allowance of ${shortAddress(verifying)} (DAI-style permit)`;
    }
    return out;
  }
  const untilExp = (e: bigint) =>
    e === 0n ? ' for one block' : e >= MAX_UINT48 ? ' with no expiry' : ` until ${formatTimestamp(e)}`;
  if (
    (p === 'PermitSingle' || p === 'PermitBatch') &&
    sameShape(types.PermitDetails, PERMIT_DETAILS) &&
    sameShape(fields, [
      ['details', p === 'PermitSingle' ? 'PermitDetails' : 'PermitDetails[]'],
      ['spender', 'address'],
      ['sigDeadline', 'uint256'],
    ])
  ) {
    const list = (p === 'PermitSingle' ? [m.details] : (m.details as unknown[])) as Record<string, unknown>[];
    const parts: string[] = [];
    for (const d of list) {
      parts.push(
        await grant(
          d.token as Address,
          m.spender as Address,
          d.amount as bigint,
          untilExp(d.expiration as bigint),
        ),
      );
    }
    out.sentence = `Signing a Permit2 allowance ${parts.join('; ')} (signature valid until ${formatTimestamp(m.sigDeadline as bigint)})`;
    return out;
  }
  const witnessField = fields?.find((f) => f.name === 'witness');
  const transferShape = (permitted: string, withWitness: boolean): [string, string][] => [
    ['permitted', permitted],
    ['spender', 'address'],
    ['nonce', 'uint256'],
    ['deadline', 'uint256'],
    ...(withWitness && witnessField ? [['witness', witnessField.type] as [string, string]] : []),
  ];
  const single = p === 'PermitTransferFrom' || p === 'PermitWitnessTransferFrom';
  const batch = p === 'PermitBatchTransferFrom' || p === 'PermitBatchWitnessTransferFrom';
  const withWitness = p.includes('Witness');
  if (
    (single || batch) &&
    (!withWitness || witnessField) &&
    sameShape(types.TokenPermissions, TOKEN_PERMISSIONS) &&
    sameShape(fields, transferShape(single ? 'TokenPermissions' : 'TokenPermissions[]', withWitness))
  ) {
    const list = (single ? [m.permitted] : (m.permitted as unknown[])) as Record<string, unknown>[];
    const parts: string[] = [];
    const spender = getAddress(m.spender as string);
    out.counterparties.push({ address: spender, role: 'spender' });
    for (const t of list) {
      const token = t.token as Address;
      parts.push(formatTokenAmount(t.amount as bigint, token, await reads.token(token)));
      if (isUnlimited(t.amount as bigint)) {
        out.warnings.push(
          warning(
            'UNLIMITED_APPROVAL',
            `Unlimited signed transfer: ${shortAddress(spender)} could take all of that token.`,
          ),
        );
      }
    }
    out.sentence = `Signing lets ${shortAddress(spender)} take ${parts.join(', ')} from your wallet once, until ${formatTimestamp(m.deadline as bigint)} (Permit2 signed transfer)`;
    if (withWitness && witnessField) {
      out.warnings.push(
        warning(
          'PERMIT2_WITNESS',
          `The transfer is bound to extra data of type ${witnessField.type}; it is shown under "witness".`,
        ),
      );
      out.sentence += `, bound to the ${witnessField.type} shown under "witness"`;
    }
    return out;
  }
  return null;
}
