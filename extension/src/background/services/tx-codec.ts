/**
 * The extension's face of the EIP-1559 codec (`@concord/bridge-server/vault`, kinds/eip1559.ts):
 * the same functions, with the runtime's `VaultError` turned into the `ExtensionError` the router
 * and the UI switch on (same code, same message). No codec logic lives here.
 */
import * as codec from '@concord/bridge-server/vault';
import { ExtensionError } from '../../shared/errors.ts';

export type { TxClass, UnsignedTx } from '@concord/bridge-server/vault';
export const { MAX_UNSIGNED_TX_BYTES, classify, formatUnitsDisplay, signedTxHash } = codec;
export const toHex = codec.txHex;

/** Runs `fn`, rethrowing a runtime refusal as the extension's error with the same code and message. */
export function asExtensionError<T>(fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (codec.isVaultError(e)) throw new ExtensionError(e.code, e.message, { cause: e });
    throw e;
  }
}

export const encodeUnsignedTx = (tx: codec.UnsignedTx): Uint8Array =>
  asExtensionError(() => codec.encodeUnsignedTx(tx));
export const decodeUnsignedTx = (bytes: Uint8Array): codec.UnsignedTx =>
  asExtensionError(() => codec.decodeUnsignedTx(bytes));
export const txDigest = (bytes: Uint8Array): Uint8Array => asExtensionError(() => codec.txDigest(bytes));
export const serializeSigned = (
  tx: codec.UnsignedTx,
  sig: { r: bigint; s: bigint; recovery: number },
): `0x${string}` => asExtensionError(() => codec.serializeSigned(tx, sig));
