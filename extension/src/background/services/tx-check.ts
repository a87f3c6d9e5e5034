/**
 * The extension's face of the signed-transaction check (`@concord/bridge-server/vault`,
 * kinds/signed-tx.ts): a refusal becomes the `ExtensionError` the router reports, same code and message.
 */
import { checkSignedTx as check, isVaultError } from '@concord/bridge-server/vault';
import { ExtensionError } from '../../shared/errors.ts';

/** Returns the transaction hash when `raw` is `unsigned` signed by `address`; throws otherwise. */
export async function checkSignedTx(
  raw: `0x${string}`,
  unsigned: Uint8Array,
  address: string,
): Promise<`0x${string}`> {
  try {
    return await check(raw, unsigned, address);
  } catch (e) {
    if (isVaultError(e)) throw new ExtensionError(e.code, e.message, { cause: e });
    throw e;
  }
}
