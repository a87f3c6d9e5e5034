/**
 * Checks a signed transaction against the request it claims to fulfil (EIP-1559, EIP-2718 typed
 * envelope): its unsigned part must be byte-for-byte the request's raw transaction and its signature
 * must recover to the vault's address. Every device runs this on a signed transaction it did not
 * produce itself before storing or rebroadcasting it, so a member cannot pass off another
 * transaction as the approved one.
 */
import { keccak256, parseTransaction, recoverTransactionAddress, serializeTransaction, toHex } from 'viem';
import { VaultError } from '../errors.ts';

/** Returns the transaction hash when `raw` is `unsigned` signed by `address`; throws otherwise. */
export async function checkSignedTx(
  raw: `0x${string}`,
  unsigned: Uint8Array,
  address: string,
): Promise<`0x${string}`> {
  const bad = (why: string) => new VaultError('INVALID_REQUEST', `Signed transaction refused: ${why}.`);
  let parsed: ReturnType<typeof parseTransaction>;
  try {
    parsed = parseTransaction(raw);
  } catch (cause) {
    throw new VaultError('INVALID_REQUEST', 'Signed transaction refused: it does not parse.', { cause });
  }
  if (parsed.type !== 'eip1559' || parsed.r === undefined || parsed.s === undefined) {
    throw bad('not a signed EIP-1559 transaction');
  }
  const { r: _r, s: _s, v: _v, yParity: _y, ...fields } = parsed;
  if (serializeTransaction({ ...fields, type: 'eip1559' }) !== toHex(unsigned)) {
    throw bad('it is not the transaction that was approved');
  }
  const from = await recoverTransactionAddress({ serializedTransaction: raw as never });
  if (from.toLowerCase() !== address.toLowerCase()) throw bad('it is not signed by this vault');
  return keccak256(raw);
}
