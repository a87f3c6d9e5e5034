/**
 * The token list over a real Hardhat node and real contracts (test/helpers/contracts.ts): adding an
 * ERC-20 reads its EIP-20 metadata from the chain; an address with no code, an ERC-721, a bad
 * checksum, a duplicate and a full list are refused with a specific message and nothing written;
 * balances of a vault are read per token, and one unreadable token does not hide the others.
 */
import 'fake-indexeddb/auto';
import { getAddress } from 'viem';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DeployedToken, deployNft, deployToken } from '../../test/helpers/contracts.ts';
import { type HardhatNode, startHardhat } from '../../test/helpers/hardhat.ts';
import { ChainService } from '../src/background/services/chain.ts';
import { MAX_TOKENS_PER_CHAIN, TokenService } from '../src/background/services/tokens.ts';
import { ExtensionError } from '../src/shared/errors.ts';
import { defaultSettings } from '../src/shared/settings.ts';
import type { ConcordDb } from '../src/storage/db.ts';
import { tokenId } from '../src/storage/tokens-migration.ts';
import { openFreshDb } from './helpers.ts';

const VAULT = '0123456789abcdef0123456789abcdef';
let node: HardhatNode;
let usd: DeployedToken;
let gold: DeployedToken;
let nftAddress: `0x${string}`;
let chain: ChainService;
const owner = privateKeyToAccount(generatePrivateKey()).address;
let clock = 1_000;

function service(db: ConcordDb): TokenService {
  return new TokenService({
    db,
    chain,
    vaultAddress: async (id) => {
      if (id !== VAULT) throw new ExtensionError('NOT_FOUND', 'No such vault on this device.');
      return owner;
    },
    now: () => clock++,
  });
}

async function refused(p: Promise<unknown>, code: string, message: RegExp): Promise<void> {
  const e = await p.then(
    () => null,
    (x: unknown) => x,
  );
  expect(e).toBeInstanceOf(ExtensionError);
  expect((e as ExtensionError).code, (e as ExtensionError).message).toBe(code);
  expect((e as ExtensionError).message).toMatch(message);
}

beforeAll(async () => {
  node = await startHardhat();
  const settings = defaultSettings();
  for (const c of settings.chains) c.rpcUrl = c.chainId === 31337 ? node.url : '';
  chain = new ChainService({ settings: async () => settings });
  usd = await deployToken(node, { name: 'Test USD', symbol: 'TUSD', decimals: 6 });
  gold = await deployToken(node, { name: 'Gold Gram', symbol: 'GLDG', decimals: 18 });
  nftAddress = (await deployNft(node)).address;
  await usd.mint(owner, 1_234_567_890n);
}, 180_000);

afterAll(async () => {
  await node?.stop();
});

describe('token list', () => {
  it('adds a token with the metadata the contract returns and lists it for its chain only', async () => {
    const db = await openFreshDb();
    const s = service(db);
    const t = await s.add(31337, `  ${usd.address.toLowerCase()} `);
    expect(t).toMatchObject({
      chainId: 31337,
      address: getAddress(usd.address),
      name: 'Test USD',
      symbol: 'TUSD',
      decimals: 6,
    });
    await s.add(31337, gold.address);
    expect((await s.list(31337)).map((x) => x.symbol)).toEqual(['TUSD', 'GLDG']);
    expect(await s.list(1)).toEqual([]);
    expect((await db.tokens.get(tokenId(31337, usd.address)))?.address).toBe(getAddress(usd.address));
    db.close();
  });

  it('reads the vault’s balance of each listed token; an unreadable one reports why and the rest still show', async () => {
    const db = await openFreshDb();
    const s = service(db);
    await s.add(31337, usd.address);
    // A row whose contract is gone (as after a chain reset): its balance cannot be read.
    const ghost = '0x000000000000000000000000000000000000dEaD';
    await db.tokens.add({
      id: tokenId(31337, ghost),
      chainId: 31337,
      address: ghost,
      name: 'Gone',
      symbol: 'GONE',
      decimals: 18,
      addedAt: 0,
    });
    const b = await s.balances(VAULT, 31337);
    expect(b.map((x) => x.symbol)).toEqual(['GONE', 'TUSD']);
    const [gone, tusd] = b;
    expect(tusd).toMatchObject({ ok: true, units: '1234567890' });
    expect(gone?.ok).toBe(false);
    expect(gone?.ok === false ? gone.reason : '').toMatch(/did not answer balanceOf\(\)/);
    await refused(s.balances('ffffffffffffffffffffffffffffffff', 31337), 'NOT_FOUND', /No such vault/);
    db.close();
  });

  it('refuses an address with no code, an ERC-721, a bad checksum and the zero address, writing nothing', async () => {
    const db = await openFreshDb();
    const s = service(db);
    const empty = privateKeyToAccount(generatePrivateKey()).address;
    await refused(
      s.add(31337, empty),
      'INVALID_REQUEST',
      /There is no contract at 0x[0-9a-fA-F]{40} on Local development chain/,
    );
    await refused(
      s.add(31337, nftAddress),
      'INVALID_REQUEST',
      /did not answer decimals\(\); is it an ERC-20 contract/,
    );
    const badCase = usd.address.toLowerCase().replace(/[a-f]/, (c) => c.toUpperCase());
    await refused(s.add(31337, badCase), 'INVALID_REQUEST', /checksum/);
    await refused(s.add(31337, 'hello'), 'INVALID_REQUEST', /not a valid address/);
    await refused(s.add(31337, `0x${'0'.repeat(40)}`), 'INVALID_REQUEST', /zero address/);
    await refused(s.add(1, usd.address), 'CHAIN_UNAVAILABLE', /Set an RPC URL for Ethereum/);
    expect(await db.tokens.count()).toBe(0);
    db.close();
  });

  it('refuses a duplicate (any case) and a full list, keeping the stored rows as they were', async () => {
    const db = await openFreshDb();
    const s = service(db);
    const first = await s.add(31337, usd.address);
    await refused(
      s.add(31337, usd.address.toLowerCase()),
      'INVALID_REQUEST',
      /TUSD .* is already in the list/,
    );
    expect(await s.list(31337)).toEqual([first]);

    for (let i = 1; i < MAX_TOKENS_PER_CHAIN; i++) {
      const a = `0x${i.toString(16).padStart(40, '0')}`;
      await db.tokens.add({
        id: tokenId(31337, a),
        chainId: 31337,
        address: a,
        name: 'x',
        symbol: 'X',
        decimals: 0,
        addedAt: i,
      });
    }
    await refused(
      s.add(31337, gold.address),
      'INVALID_REQUEST',
      new RegExp(`already has ${MAX_TOKENS_PER_CHAIN} tokens`),
    );
    expect(await db.tokens.count()).toBe(MAX_TOKENS_PER_CHAIN);
    db.close();
  });

  it('removes a token; removing one that is not listed is NOT_FOUND', async () => {
    const db = await openFreshDb();
    const s = service(db);
    await s.add(31337, usd.address);
    await s.add(31337, gold.address);
    expect((await s.remove(31337, usd.address.toLowerCase())).map((x) => x.symbol)).toEqual(['GLDG']);
    await refused(s.remove(31337, usd.address), 'NOT_FOUND', /not in the list/);
    await refused(s.remove(1, gold.address), 'NOT_FOUND', /not in the list/);
    expect(await db.tokens.count()).toBe(1);
    db.close();
  });
});
