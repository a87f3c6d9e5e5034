import { sha256 } from '@noble/hashes/sha2.js';
import { base58, bech32 } from '@scure/base';
import { computeAddress, Wallet } from 'ethers';
import { describe, expect, it } from 'vitest';
import { BackupError } from '../../src/backup/errors.ts';
import { equalBytes, fromHex, toHex } from '../../src/bytes.ts';
import { mulG, pointToBytes } from '../../src/math/scalar.ts';
import { hash160, p2wpkhAddress, toWif } from '../../src/recovery/bitcoin.ts';
import { ethereumAddress, toChecksumAddress } from '../../src/recovery/ethereum.ts';
import { decryptKeystoreV3, encryptKeystoreV3 } from '../../src/recovery/keystore.ts';
import { recoverKey } from '../../src/recovery/recover.ts';
import { seededRandom } from '../../src/testing/rng.ts';
import { dealVault } from '../backup/helpers.ts';

const ONE = fromHex(`${'00'.repeat(31)}01`);
const PUB_ONE = pointToBytes(mulG(1n));
const FAST = { scrypt: { n: 2 ** 10, r: 8, p: 1 }, insecureTestKdf: true } as const;

/** Independent WIF decoder: base58, then the double-SHA-256 checksum by hand. */
function decodeWif(wif: string): { version: number; key: Uint8Array; compressed: boolean } {
  const raw = base58.decode(wif);
  const body = raw.subarray(0, raw.length - 4);
  const check = sha256(sha256(body)).subarray(0, 4);
  if (!equalBytes(check, raw.subarray(raw.length - 4))) throw new Error('bad checksum');
  return { version: body[0]!, key: body.subarray(1, 33), compressed: body.length === 34 && body[33] === 1 };
}

describe('EIP-55 addresses', () => {
  it('matches the EIP-55 spec vectors and ethers', () => {
    for (const a of [
      '0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed',
      '0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359',
      '0xdbF03B407c01E7cD3CBea99509d93f8DDDC8C6FB',
      '0xD1220A0cf47c7B9Be7A2E6BA89F429762e7b9aDb',
    ]) {
      expect(toChecksumAddress(a.toLowerCase())).toBe(a);
    }
    expect(ethereumAddress(PUB_ONE)).toBe('0x7E5F4552091A69125d5DfCb7b8C2659029395Bdf');
    const v = dealVault('eip55');
    expect(ethereumAddress(v.groupPublicKey)).toBe(computeAddress(`0x${toHex(v.groupPublicKey)}`));
  });
});

describe('Bitcoin WIF and P2WPKH', () => {
  it('private key 1 gives the known WIFs and the BIP-173 P2WPKH vector', () => {
    expect(toWif(ONE, 'mainnet')).toBe('KwDiBf89QgGbjEhKnhXJuH7LrciVrZi3qYjgd9M7rFU73sVHnoWn');
    expect(toWif(ONE, 'testnet')).toBe('cMahea7zqjxrtgAbB7LSGbcQUr1uX1ojuat9jZodMN87JcbXMTcA');
    expect(p2wpkhAddress(PUB_ONE, 'mainnet')).toBe('bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4');
    expect(p2wpkhAddress(PUB_ONE, 'testnet')).toBe('tb1qw508d6qejxtdg4y5r3zarvary0c5xw7kxpjzsx');
  });

  it('a recovered key round-trips through an independent WIF decoder; address decodes to HASH160', () => {
    const v = dealVault('wif');
    const r = recoverKey(v.sources.map((source, i) => ({ label: `#${i}`, source })));
    for (const [network, version, hrp] of [
      ['mainnet', 0x80, 'bc'],
      ['testnet', 0xef, 'tb'],
    ] as const) {
      const { wif, address } = r.key.bitcoin(network);
      const d = decodeWif(wif);
      expect(d.version).toBe(version);
      expect(d.compressed).toBe(true);
      expect(BigInt(`0x${toHex(d.key)}`)).toBe(v.secret);
      const dec = bech32.decode(address as `${string}1${string}`);
      expect(dec.prefix).toBe(hrp);
      expect(dec.words[0]).toBe(0);
      expect(toHex(bech32.fromWords(dec.words.slice(1)))).toBe(toHex(hash160(v.groupPublicKey)));
    }
  });
});

describe('Ethereum keystore V3', () => {
  it('output decrypts with ethers v6 Wallet.fromEncryptedJson to the same address', async () => {
    const v = dealVault('keystore');
    const r = recoverKey(v.sources.map((source, i) => ({ label: `#${i}`, source })));
    const json = await r.key.keystoreV3('new keystore password 1', { ...FAST, rng: seededRandom('ks') });
    const parsed = JSON.parse(json);
    expect(parsed).toMatchObject({ version: 3, crypto: { cipher: 'aes-128-ctr', kdf: 'scrypt' } });
    const w = await Wallet.fromEncryptedJson(json, 'new keystore password 1');
    expect(w.address).toBe(r.address);
    expect(BigInt(w.privateKey)).toBe(v.secret);
    // And our own reader agrees.
    expect(toHex(await decryptKeystoreV3(json, 'new keystore password 1'))).toBe(w.privateKey.slice(2));
  });

  it('a non-ASCII password interoperates with ethers (NFKC)', async () => {
    const json = await encryptKeystoreV3(ONE, 'café ünïcode pässwörd', FAST);
    const w = await Wallet.fromEncryptedJson(json, 'café ünïcode pässwörd'.normalize('NFD'));
    expect(w.address).toBe('0x7E5F4552091A69125d5DfCb7b8C2659029395Bdf');
  });

  it('writing below the scrypt floor needs the explicit test switch', async () => {
    await expect(encryptKeystoreV3(ONE, 'pw', { scrypt: { n: 2 ** 10, r: 8, p: 1 } })).rejects.toMatchObject({
      code: 'KDF_PARAMS_REJECTED',
    });
  });

  describe('THREATS D73: keystore reading', () => {
    // ethereum/tests KeyStoreTests/basic_tests.json (test1: pbkdf2, test2: scrypt n=2^18 r=1 p=8).
    const priv = '7a28b5ba57c53603b0b07b56bba752f7784bf506fa95edc395f5cf6c7514fe9d';
    const test1 = {
      crypto: {
        cipher: 'aes-128-ctr',
        cipherparams: { iv: '6087dab2f9fdbbfaddc31a909735c1e6' },
        ciphertext: '5318b4d5bcd28de64ee5559e671353e16f075ecae9f99c7a79a38af5f869aa46',
        kdf: 'pbkdf2',
        kdfparams: {
          c: 262144,
          dklen: 32,
          prf: 'hmac-sha256',
          salt: 'ae3cd4e7013836a3df6bd7241b12db061dbe2c6785853cce422d148a624ce0bd',
        },
        mac: '517ead924a9d0dc3124507e3393d175ce3ff7c1e96529c6c555ce9e51205e9b2',
      },
      id: '3198bc9c-6672-5ab3-d995-4942343ae5b6',
      version: 3,
    };
    const test2 = {
      crypto: {
        cipher: 'aes-128-ctr',
        cipherparams: { iv: '83dbcc02d8ccb40e466191a123791e0e' },
        ciphertext: 'd172bf743a674da9cdad04534d56926ef8358534d458fffccd4e6ad2fbde479c',
        kdf: 'scrypt',
        kdfparams: {
          dklen: 32,
          n: 262144,
          r: 1,
          p: 8,
          salt: 'ab0c7876052600dd703518d6fc3fe8984592145b591fc8fb5c6d43190334ba19',
        },
        mac: '2103ac29920d71da29f15d75b4a16dbe95cfd7ff8faea1056c33131d846e3097',
      },
      id: '3198bc9c-6672-5ab3-d995-4942343ae5b6',
      version: 3,
    };

    it('the ethereum/tests KeyStoreTests vectors decrypt', async () => {
      for (const v of [test1, test2]) {
        expect(toHex(await decryptKeystoreV3(JSON.stringify(v), 'testpassword'))).toBe(priv);
      }
    });

    it('the MAC is checked before decrypting: wrong password or modified ciphertext → WRONG_PASSPHRASE', async () => {
      const json = await encryptKeystoreV3(ONE, 'right password', FAST);
      await expect(decryptKeystoreV3(json, 'wrong password')).rejects.toMatchObject({
        code: 'WRONG_PASSPHRASE',
      });
      const j = JSON.parse(json);
      j.crypto.ciphertext = `${j.crypto.ciphertext.slice(0, -1)}${j.crypto.ciphertext.endsWith('0') ? '1' : '0'}`;
      await expect(decryptKeystoreV3(JSON.stringify(j), 'right password')).rejects.toBeInstanceOf(
        BackupError,
      );
    });

    it('absurd KDF parameters and unsupported ciphers are refused', async () => {
      const j = structuredClone(test2);
      j.crypto.kdfparams.n = 2 ** 30;
      await expect(decryptKeystoreV3(JSON.stringify(j), 'x')).rejects.toMatchObject({
        code: 'KDF_PARAMS_REJECTED',
      });
      const k = structuredClone(test1);
      k.crypto.kdfparams.c = 1e9;
      await expect(decryptKeystoreV3(JSON.stringify(k), 'x')).rejects.toMatchObject({
        code: 'KDF_PARAMS_REJECTED',
      });
      const c = structuredClone(test1);
      c.crypto.cipher = 'aes-128-cbc';
      await expect(decryptKeystoreV3(JSON.stringify(c), 'x')).rejects.toMatchObject({
        code: 'CORRUPT_BACKUP',
      });
    });
  });
});
