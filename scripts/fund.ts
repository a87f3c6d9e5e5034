/**
 * `npm run fund -- ADDRESS [ETH] [--rpc URL]`: sends ETH (default 10) to ADDRESS on the local
 * development chain from Hardhat's first well-known account, waits for the receipt and prints the
 * new balance. Refuses any chain other than 31337, so the public test key is never used elsewhere.
 */
import { createPublicClient, createWalletClient, formatEther, http, isAddress, parseEther } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { hardhat } from 'viem/chains';

/** Hardhat's account #0: a public test key that holds value on local development chains only. */
const HARDHAT_ACCOUNT0_KEY = '0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80';
const LOCAL_CHAIN_ID = 31337;

function fail(message: string): never {
  process.stderr.write(`fund: ${message}\n`);
  process.exit(2);
}

async function main(argv: string[]): Promise<void> {
  let rpc = 'http://127.0.0.1:8545';
  const rest: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--rpc') rpc = argv[++i] ?? fail('--rpc needs a URL');
    else if (a === '--help' || a === '-h') {
      process.stdout.write('usage: npm run fund -- ADDRESS [ETH] [--rpc http://127.0.0.1:8545]\n');
      return;
    } else rest.push(a);
  }
  const [address, amount = '10', extra] = rest;
  if (address === undefined || extra !== undefined) fail('usage: npm run fund -- ADDRESS [ETH] [--rpc URL]');
  if (!isAddress(address, { strict: true }))
    fail(`"${address}" is not an address (0x and 40 hex digits, checksum if mixed case)`);
  if (!/^\d+(\.\d{1,18})?$/.test(amount) || parseEther(amount) === 0n)
    fail(`"${amount}" is not an amount of ETH above zero`);

  const transport = http(rpc, { retryCount: 0 });
  const publicClient = createPublicClient({ chain: hardhat, transport });
  let chainId: number;
  try {
    chainId = await publicClient.getChainId();
  } catch {
    fail(`no chain answers at ${rpc}; start one with \`npm run chain\``);
  }
  if (chainId !== LOCAL_CHAIN_ID)
    fail(`the chain at ${rpc} is ${chainId}, not the local chain ${LOCAL_CHAIN_ID}`);
  const wallet = createWalletClient({
    chain: hardhat,
    account: privateKeyToAccount(HARDHAT_ACCOUNT0_KEY),
    transport,
  });
  const hash = await wallet.sendTransaction({ to: address, value: parseEther(amount) });
  const receipt = await publicClient.waitForTransactionReceipt({ hash, pollingInterval: 100 });
  if (receipt.status !== 'success') fail(`the transfer ${hash} reverted`);
  const balance = await publicClient.getBalance({ address });
  process.stdout.write(
    `sent ${amount} ETH to ${address} in block ${receipt.blockNumber} (${hash}); balance ${formatEther(balance)} ETH\n`,
  );
}

main(process.argv.slice(2)).catch((e: unknown) =>
  fail(e instanceof Error ? e.message.split('\n')[0]! : String(e)),
);
