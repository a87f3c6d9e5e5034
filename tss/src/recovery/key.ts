/**
 * A rebuilt private key, held in one 32-byte buffer that `destroy()` overwrites. Every export
 * (hex, WIF, keystore) is explicit and produces a fresh value the caller is responsible for; the
 * object itself never serialises its secret (`toJSON` and Node's inspect show only public facts).
 *
 * JS strings and bigints cannot be wiped: the hex and WIF strings, and the bigint used during
 * interpolation, live until the garbage collector reclaims them. Keep them short-lived.
 */
import { toHex } from '../bytes.ts';
import { TssError } from '../errors.ts';
import { type BitcoinNetwork, p2wpkhAddress, toWif } from './bitcoin.ts';
import { ethereumAddress } from './ethereum.ts';
import { encryptKeystoreV3, type KeystoreWriteOptions } from './keystore.ts';

const INSPECT = Symbol.for('nodejs.util.inspect.custom');

export class RecoveredKey {
  readonly #secret: Uint8Array;
  #destroyed = false;
  /** 33-byte compressed public key (equal to the vault's group key: checked before construction). */
  readonly publicKey: Uint8Array;
  readonly vaultId: string;
  readonly epoch: number;

  /** Takes ownership of `secret` (it is zeroed by `destroy`). */
  constructor(secret: Uint8Array, publicKey: Uint8Array, vaultId: string, epoch: number) {
    this.#secret = secret;
    this.publicKey = publicKey.slice();
    this.vaultId = vaultId;
    this.epoch = epoch;
  }

  #live(): Uint8Array {
    if (this.#destroyed) throw new TssError('SESSION_STATE', 'recovered key was destroyed');
    return this.#secret;
  }

  get destroyed(): boolean {
    return this.#destroyed;
  }

  /** A copy of the 32 key bytes; the caller zeroes it. */
  privateKeyBytes(): Uint8Array {
    return this.#live().slice();
  }

  /** 0x-prefixed hex (an unwipeable string: write it out and drop it). */
  privateKeyHex(): string {
    return `0x${toHex(this.#live())}`;
  }

  ethereumAddress(): string {
    return ethereumAddress(this.publicKey);
  }

  /** WIF (compressed) and its P2WPKH address. */
  bitcoin(network: BitcoinNetwork = 'mainnet'): { wif: string; address: string } {
    return { wif: toWif(this.#live(), network), address: p2wpkhAddress(this.publicKey, network) };
  }

  bitcoinAddress(network: BitcoinNetwork = 'mainnet'): string {
    return p2wpkhAddress(this.publicKey, network);
  }

  keystoreV3(password: string, opts?: KeystoreWriteOptions): Promise<string> {
    return encryptKeystoreV3(this.#live(), password, opts);
  }

  /** Overwrite the key bytes. Further exports throw. */
  destroy(): void {
    this.#secret.fill(0);
    this.#destroyed = true;
  }

  toJSON(): { vaultId: string; epoch: number; publicKey: string; address: string; privateKey: '[redacted]' } {
    return {
      vaultId: this.vaultId,
      epoch: this.epoch,
      publicKey: toHex(this.publicKey),
      address: this.ethereumAddress(),
      privateKey: '[redacted]',
    };
  }

  [INSPECT](): string {
    return `RecoveredKey ${JSON.stringify(this.toJSON())}`;
  }

  toString(): string {
    return this[INSPECT]();
  }
}
