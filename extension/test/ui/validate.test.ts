/**
 * The Send form's inline checks (extension/src/ui/lib/validate.ts) and the invite field's device
 * code check (extension/src/ui/lib/pairing.ts): each refusal with its message, the self-send
 * warning, the first-time-recipient note, and own / duplicate / malformed device codes.
 */
import { getAddress } from 'viem';
import { describe, expect, it } from 'vitest';
import {
  deviceCode,
  generateDeviceIdentity,
  publicIdentity,
} from '../../src/background/services/identity-api.ts';
import { checkDeviceCode } from '../../src/ui/lib/pairing.ts';
import { checkAmount, checkRecipient, checkTokenAddress } from '../../src/ui/lib/validate.ts';

const ETH = 10n ** 18n;
const VAULT = getAddress('0x1111111111111111111111111111111111111111');
const BOB = getAddress('0x52908400098527886e0f7030069857d2e4169ee7');

describe('checkRecipient', () => {
  it('says nothing for an empty field', () => {
    expect(checkRecipient('  ')).toEqual({});
  });

  it('refuses malformed addresses with the reason', () => {
    expect(checkRecipient('52908400098527886E0F7030069857D2E4169EE7').error).toBe(
      'An address starts with 0x.',
    );
    expect(checkRecipient('0x5290840009852788zz0F7030069857D2E4169EE7').error).toBe(
      'An address has only 0–9 and a–f after 0x.',
    );
    expect(checkRecipient('0x1234').error).toBe('An address has 40 characters after 0x; this has 4.');
  });

  it('refuses a mixed-case address whose checksum does not match (a typo)', () => {
    // Flip the case of the first letter after 0x.
    const i = BOB.slice(2).search(/[a-fA-F]/) + 2;
    const c = BOB[i]!;
    const flipped =
      BOB.slice(0, i) + (c === c.toUpperCase() ? c.toLowerCase() : c.toUpperCase()) + BOB.slice(i + 1);
    expect(checkRecipient(flipped).error).toMatch(/checksum/);
    expect(checkRecipient(BOB)).toEqual({ address: BOB });
    // All lowercase carries no checksum and is accepted, checksummed on the way out.
    expect(checkRecipient(BOB.toLowerCase()).address).toBe(BOB);
  });

  it('refuses the zero address and the token contract itself', () => {
    expect(checkRecipient(`0x${'0'.repeat(40)}`).error).toMatch(/zero address/);
    expect(checkRecipient(BOB, { token: BOB.toLowerCase() }).error).toMatch(/token contract itself/);
  });

  it("warns about the vault's own address", () => {
    const r = checkRecipient(VAULT.toLowerCase(), { self: VAULT });
    expect(r.error).toBeUndefined();
    expect(r.address).toBe(VAULT);
    expect(r.warning).toMatch(/vault’s own address/);
  });

  it('notes a first-time recipient, and not a known one', () => {
    expect(checkRecipient(BOB, { known: [] }).note).toMatch(/First send/);
    expect(checkRecipient(BOB, { known: [BOB.toLowerCase()] }).note).toBeUndefined();
  });

  it('checks a token contract address the same way', () => {
    expect(checkTokenAddress('')).toBeUndefined();
    expect(checkTokenAddress(BOB)).toBeUndefined();
    expect(checkTokenAddress('0x12')).toBe(
      'A token contract address has 40 characters after 0x; this has 2.',
    );
  });
});

describe('checkAmount', () => {
  const ctx = { decimals: 18, symbol: 'ETH' };
  it('says nothing for an empty field and passes a good amount', () => {
    expect(checkAmount('', ctx)).toEqual({});
    expect(checkAmount('1.5', { ...ctx, balance: 2n * ETH })).toEqual({ units: (3n * ETH) / 2n });
  });

  it('refuses zero, too many decimals and bad text on the field', () => {
    expect(checkAmount('0', ctx).error).toBe('The amount must be more than zero.');
    expect(checkAmount('0.1234567', { decimals: 6, symbol: 'USDC' }).error).toBe(
      'USDC has at most 6 decimal places; this has 7.',
    );
    expect(checkAmount('abc', ctx).error).toBe('Use digits and a dot, as in 1 or 0.25.');
  });

  it('refuses more than the balance, naming the balance', () => {
    expect(checkAmount('10.5', { ...ctx, balance: 10n * ETH }).error).toBe(
      'More than the vault holds (10 ETH).',
    );
  });

  it('refuses what leaves too little for the fee, naming the most that can be sent', () => {
    const fee = 21_000n * 10n ** 9n;
    const r = checkAmount('10', { ...ctx, balance: 10n * ETH, max: 10n * ETH - fee, fee, feeSymbol: 'ETH' });
    expect(r.error).toBe(
      'Leaves too little for the network fee (up to 0.000021 ETH). The most you can send is 9.999979 ETH.',
    );
    expect(checkAmount('9.999979', { ...ctx, balance: 10n * ETH, max: 10n * ETH - fee, fee }).units).toBe(
      10n * ETH - fee,
    );
  });
});

describe('checkDeviceCode', () => {
  const mine = deviceCode(publicIdentity(generateDeviceIdentity()));
  const theirs = deviceCode(publicIdentity(generateDeviceIdentity()));
  const theirFingerprint = theirs.split('.')[2]!;

  it('accepts another device’s code and returns its fingerprint', () => {
    expect(checkDeviceCode(`  ${theirs}\n`, { ownCode: mine, taken: [] })).toEqual({
      ok: true,
      fingerprint: theirFingerprint,
      code: theirs,
    });
  });

  it('refuses this device’s own code at once', () => {
    const r = checkDeviceCode(mine, { ownCode: mine });
    expect(r).toMatchObject({ ok: false, reason: 'own' });
    if (!r.ok) expect(r.message).toMatch(/this device’s own code/);
    // Also with the fingerprint typed in lowercase.
    const [p, b, f] = mine.split('.');
    expect(checkDeviceCode(`${p}.${b}.${f!.toLowerCase()}`, { ownCode: mine })).toMatchObject({
      reason: 'own',
    });
  });

  it('refuses a device already in the list', () => {
    const r = checkDeviceCode(theirs, { ownCode: mine, taken: [theirFingerprint.toLowerCase()] });
    expect(r).toMatchObject({
      ok: false,
      reason: 'duplicate',
      message: `Device ${theirFingerprint} is already in the list.`,
    });
  });

  it('refuses malformed codes with the reason', () => {
    expect(checkDeviceCode('')).toMatchObject({ ok: false, reason: 'empty' });
    expect(checkDeviceCode('hello')).toMatchObject({
      ok: false,
      reason: 'malformed',
      message: expect.stringMatching(/not a Concord device code/),
    });
    expect(checkDeviceCode(theirs.slice(0, 120))).toMatchObject({
      ok: false,
      reason: 'malformed',
      message: expect.stringMatching(/incomplete/),
    });
    const [p, b, f] = theirs.split('.');
    expect(checkDeviceCode(`${p}.${b!.slice(1)}.${f}`)).toMatchObject({
      reason: 'malformed',
      message: expect.stringMatching(/damaged or cut off/),
    });
    expect(checkDeviceCode(`${p}.${b}.${f!.replace(/-/g, '')}`)).toMatchObject({ reason: 'malformed' });
    expect(checkDeviceCode(`${p}.${b!.replace(/^./, '+')}.${f}`)).toMatchObject({ reason: 'malformed' });
    expect(checkDeviceCode(`${p}.${b}.${f}.extra`)).toMatchObject({ reason: 'malformed' });
  });
});
