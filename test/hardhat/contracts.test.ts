/**
 * The test contracts compile offline and behave as their standards say on a real Hardhat node:
 * ERC-20 transfer/approve/transferFrom, EIP-2612 permit signed with viem (checked against the
 * token's own DOMAIN_SEPARATOR), ERC-721 mint/transfer. Other tests build on these contracts.
 */
import { privateKeyToAccount } from 'viem/accounts';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import {
  type DeployedNft,
  type DeployedToken,
  deployNft,
  deployToken,
  NFT_ABI,
  TOKEN_ABI,
} from '../helpers/contracts.ts';
import { HARDHAT_ACCOUNT1_KEY, type HardhatNode, startHardhat } from '../helpers/hardhat.ts';

let chain: HardhatNode;
let token: DeployedToken;
let nft: DeployedNft;
const holder = privateKeyToAccount(HARDHAT_ACCOUNT1_KEY);

beforeAll(async () => {
  chain = await startHardhat();
  token = await deployToken(chain, { name: 'Test USD', symbol: 'TUSD', decimals: 6 });
  nft = await deployNft(chain);
}, 120_000);
afterAll(async () => {
  await chain?.stop();
});

describe('test contracts on a real chain', () => {
  test('ERC-20: metadata, mint, transfer; a transfer above the balance reverts', async () => {
    const me = chain.walletClient.account.address;
    const pc = chain.publicClient;
    expect(await pc.readContract({ address: token.address, abi: TOKEN_ABI, functionName: 'symbol' })).toBe(
      'TUSD',
    );
    expect(await pc.readContract({ address: token.address, abi: TOKEN_ABI, functionName: 'decimals' })).toBe(
      6,
    );
    await token.mint(me, 1_000_000n);
    const wc = chain.walletClient;
    await pc.waitForTransactionReceipt({
      hash: await wc.writeContract({
        address: token.address,
        abi: TOKEN_ABI,
        functionName: 'transfer',
        args: [holder.address, 250_000n],
      }),
    });
    expect(await token.balanceOf(holder.address)).toBe(250_000n);
    expect(await token.balanceOf(me)).toBe(750_000n);
    await expect(
      pc.simulateContract({
        account: me,
        address: token.address,
        abi: TOKEN_ABI,
        functionName: 'transfer',
        args: [holder.address, 10n ** 12n],
      }),
    ).rejects.toThrow(/balance/);
  });

  test('EIP-2612: a permit signed off-chain sets the allowance; replaying it fails', async () => {
    const me = chain.walletClient.account.address;
    const pc = chain.publicClient;
    const deadline = 2n ** 40n;
    const nonce = await pc.readContract({
      address: token.address,
      abi: TOKEN_ABI,
      functionName: 'nonces',
      args: [holder.address],
    });
    const signature = await holder.signTypedData({
      domain: { name: 'Test USD', version: '1', chainId: chain.chainId, verifyingContract: token.address },
      types: {
        Permit: [
          { name: 'owner', type: 'address' },
          { name: 'spender', type: 'address' },
          { name: 'value', type: 'uint256' },
          { name: 'nonce', type: 'uint256' },
          { name: 'deadline', type: 'uint256' },
        ],
      },
      primaryType: 'Permit',
      message: { owner: holder.address, spender: me, value: 123n, nonce, deadline },
    });
    const r = `0x${signature.slice(2, 66)}` as const;
    const s = `0x${signature.slice(66, 130)}` as const;
    const v = Number.parseInt(signature.slice(130, 132), 16);
    const args = [holder.address, me, 123n, deadline, v, r, s] as const;
    await pc.waitForTransactionReceipt({
      hash: await chain.walletClient.writeContract({
        address: token.address,
        abi: TOKEN_ABI,
        functionName: 'permit',
        args,
      }),
    });
    expect(await token.allowance(holder.address, me)).toBe(123n);
    await expect(
      pc.simulateContract({
        account: me,
        address: token.address,
        abi: TOKEN_ABI,
        functionName: 'permit',
        args,
      }),
    ).rejects.toThrow(/signature/);
  });

  test('ERC-721: mint and transfer; a transfer by a stranger reverts', async () => {
    const me = chain.walletClient.account.address;
    const pc = chain.publicClient;
    await nft.mint(me, 7n);
    expect(await nft.ownerOf(7n)).toBe(me);
    await pc.waitForTransactionReceipt({
      hash: await chain.walletClient.writeContract({
        address: nft.address,
        abi: NFT_ABI,
        functionName: 'transferFrom',
        args: [me, holder.address, 7n],
      }),
    });
    expect(await nft.ownerOf(7n)).toBe(holder.address);
    await expect(
      pc.simulateContract({
        account: me,
        address: nft.address,
        abi: NFT_ABI,
        functionName: 'transferFrom',
        args: [holder.address, me, 7n],
      }),
    ).rejects.toThrow(/auth/);
  });
});
