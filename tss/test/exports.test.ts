/**
 * Locks the public API of every entry point (viem `index.test.ts` style): adding or removing an
 * export is a deliberate change that updates this list.
 */
import { describe, expect, it } from 'vitest';
import * as eth from '../src/eth/index.ts';
import * as core from '../src/index.ts';

describe('public exports', () => {
  it('core entry point', () => {
    expect(Object.keys(core).sort()).toEqual([
      'DKG_ROUNDS',
      'DkgSession',
      'KeyShare',
      'SIGN_ROUNDS',
      'SignSession',
      'TssError',
      'cryptoRandomBytes',
      'decodeDescriptor',
      'descriptorToJSON',
      'encodeDescriptor',
      'ethereumAddress',
      'fromHex',
      'isTssError',
      'paramsFingerprint',
      'toChecksumAddress',
      'toHex',
      'vaultIdFromSession',
    ]);
  });

  it('eth entry point', () => {
    expect(Object.keys(eth).sort()).toEqual([
      'signPersonalMessage',
      'signTransaction',
      'signTypedData',
      'toRsv',
    ]);
  });
});
