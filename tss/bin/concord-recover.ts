#!/usr/bin/env -S node --import tsx
/**
 * concord-recover: the offline disaster-recovery tool (THREATS D66–D76).
 *
 * Reads Concord backup files (bare tss backups or the extension's device backup bundles, see
 * `src/backup/bundle.ts`), asks each one's passphrase without echo (or reads them from
 * --passphrase-file), rebuilds each vault's key from the newest epoch that reaches its threshold,
 * checks it against the recorded group public key, and prints the EIP-55 address. The private key is
 * written only when asked (--out-hex, --out-keystore, --out-wif), to new files created with mode
 * 0600; it is never printed. The tool opens no network connection: it imports no network module and
 * the test suite runs it with every network API stubbed to throw.
 */
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { inspectBackup, openBackup } from '../src/backup/backup.ts';
import { shareBackupText } from '../src/backup/bundle.ts';
import { BackupError } from '../src/backup/errors.ts';
import type { BackupSource } from '../src/backup/source.ts';
import { assertStrongPassphrase } from '../src/backup/strength.ts';
import type { RecoveredKey } from '../src/recovery/key.ts';
import { type RecoveryInput, recoverVaults, type VaultRecovered } from '../src/recovery/recover.ts';
import { describeBackup, openedText, recoveryErrorText, vaultReport } from '../src/recovery/report.ts';

const HELP = `concord-recover: rebuild a Concord vault key from backup files, offline.

Usage:
  npm run recover -- [options] BACKUP.json [BACKUP.json ...]

Each BACKUP.json is a Concord backup file: either a bare tss backup ("concord-tss-backup") or a
backup file exported by the browser extension (a device backup bundle, "concord-device-backup",
which wraps one; only its key share is read). Both kinds may be mixed.

Each backup's passphrase is asked on the terminal without echo, unless --passphrase-file is given.
Backups of several vaults may be given together; each vault is handled on its own. For each vault
the newest epoch whose backups reach the threshold is used; older backups are listed as ignored.

Options:
  --passphrase-file FILE   Read passphrases from FILE instead of the terminal. Either
                             - give it once per backup, in the same order as the backups; each FILE
                               holds one passphrase (a single trailing newline is ignored), or
                             - give it once for all backups; FILE holds one passphrase per line, in
                               the order of the backups.
  --verify-only            Check each backup (passphrase opens it, each share matches its recorded
                           public share) without rebuilding any key.
  --vault ID               Act only on the vault whose id starts with ID (hex). Needed with --out-*
                           when the backups rebuild more than one vault.
  --out-hex FILE           Write the private key as 0x-prefixed hex to FILE.
  --out-keystore FILE      Write an Ethereum keystore V3 (Web3 Secret Storage; scrypt n=2^18) to FILE.
                           Asks for a new password (twice) unless --keystore-password-file is given.
  --keystore-password-file FILE
                           Read the keystore password from the first line of FILE.
  --out-wif FILE           Write the Bitcoin private key as WIF (compressed) to FILE and print its
                           native SegWit (P2WPKH, bech32) address.
  --testnet                With --out-wif: testnet WIF and tb1 address instead of mainnet.
  -h, --help               Show this help.

Output files are created with mode 0600 and never overwritten. Nothing is written unless asked.
No network connection is made. Exit status: 0 success, 1 some backup or vault failed, 2 usage error.
`;

class UsageError extends Error {}

function out(line = ''): void {
  process.stdout.write(`${line}\n`);
}

function errorText(e: unknown): string {
  if (e instanceof UsageError) return e.message;
  return recoveryErrorText(e);
}

/** Read a line from the terminal with echo off (raw mode), so passphrases never show or enter scrollback. */
function readHidden(prompt: string): Promise<string> {
  const stdin = process.stdin;
  if (!stdin.isTTY) throw new UsageError('no terminal to ask for a passphrase; use --passphrase-file');
  process.stderr.write(prompt);
  return new Promise((resolve, reject) => {
    let buf = '';
    stdin.setRawMode(true);
    stdin.resume();
    stdin.setEncoding('utf8');
    const done = (err?: Error): void => {
      stdin.setRawMode(false);
      stdin.pause();
      stdin.removeListener('data', onData);
      process.stderr.write('\n');
      if (err) reject(err);
      else resolve(buf);
    };
    const onData = (chunk: string): void => {
      for (const ch of chunk) {
        if (ch === '\r' || ch === '\n') {
          done();
          return;
        }
        if (ch === '\u0003') {
          done(new UsageError('interrupted'));
          return;
        }
        if (ch === '\u0004') {
          done(buf.length === 0 ? new UsageError('no passphrase given') : undefined);
          return;
        }
        if (ch === '\u007f' || ch === '\b') buf = [...buf].slice(0, -1).join('');
        else if (ch >= ' ') buf += ch;
      }
    };
    stdin.on('data', onData);
  });
}

function readSmallFile(path: string, what: string, maxBytes = 1 << 20): string {
  let size: number;
  try {
    size = statSync(path).size;
  } catch {
    throw new UsageError(`${what} ${path} cannot be read`);
  }
  if (size > maxBytes) throw new UsageError(`${what} ${path} is larger than ${maxBytes} bytes`);
  return readFileSync(path, 'utf8');
}

function stripOneNewline(s: string): string {
  return s.replace(/\r?\n$/, '');
}

/** Resolve passphrase files into one passphrase per backup, or undefined to ask on the terminal. */
function passphrasesFromFiles(files: readonly string[], count: number): string[] | undefined {
  if (files.length === 0) return undefined;
  if (files.length === count) {
    return files.map((f) => {
      const p = stripOneNewline(readSmallFile(f, 'passphrase file', 64 * 1024));
      if (/[\r\n]/.test(p)) {
        throw new UsageError(
          `passphrase file ${f} has several lines; with one --passphrase-file per backup each file holds exactly one passphrase`,
        );
      }
      return p;
    });
  }
  if (files.length === 1) {
    const lines = stripOneNewline(readSmallFile(files[0]!, 'passphrase file', 64 * 1024)).split(/\r?\n/);
    if (lines.length !== count) {
      throw new UsageError(
        `passphrase file ${files[0]} has ${lines.length} lines but ${count} backups were given`,
      );
    }
    return lines;
  }
  throw new UsageError(
    `${files.length} --passphrase-file options for ${count} backups: give one per backup, or one file with one line per backup`,
  );
}

function writeSecretFile(path: string, data: string): void {
  try {
    // 'wx': never overwrite (an existing file may be another key); 0600: owner only.
    writeFileSync(path, data, { mode: 0o600, flag: 'wx' });
  } catch (e) {
    const code = e instanceof Error && 'code' in e ? String(e.code) : '';
    throw new UsageError(
      code === 'EEXIST' ? `${path} already exists; refusing to overwrite it` : `cannot write ${path}`,
    );
  }
}

interface Options {
  backups: string[];
  passphraseFiles: string[];
  verifyOnly: boolean;
  vault: string | undefined;
  outHex: string | undefined;
  outKeystore: string | undefined;
  keystorePasswordFile: string | undefined;
  outWif: string | undefined;
  testnet: boolean;
}

function parseOptions(argv: string[]): Options | 'help' {
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      strict: true,
      options: {
        'passphrase-file': { type: 'string', multiple: true },
        'verify-only': { type: 'boolean' },
        vault: { type: 'string' },
        'out-hex': { type: 'string' },
        'out-keystore': { type: 'string' },
        'keystore-password-file': { type: 'string' },
        'out-wif': { type: 'string' },
        testnet: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (e) {
    throw new UsageError(e instanceof Error ? e.message : 'bad arguments');
  }
  const v = parsed.values as Record<string, string | boolean | string[] | undefined>;
  if (v.help) return 'help';
  const str = (k: string): string | undefined => (typeof v[k] === 'string' ? (v[k] as string) : undefined);
  const o: Options = {
    backups: parsed.positionals,
    passphraseFiles: (v['passphrase-file'] as string[] | undefined) ?? [],
    verifyOnly: v['verify-only'] === true,
    vault: str('vault')?.toLowerCase().replace(/^0x/, ''),
    outHex: str('out-hex'),
    outKeystore: str('out-keystore'),
    keystorePasswordFile: str('keystore-password-file'),
    outWif: str('out-wif'),
    testnet: v.testnet === true,
  };
  if (o.backups.length === 0) throw new UsageError('no backup files given (see --help)');
  if (o.verifyOnly && (o.outHex || o.outKeystore || o.outWif)) {
    throw new UsageError('--verify-only rebuilds no key, so it cannot be combined with --out-*');
  }
  if (o.testnet && !o.outWif) throw new UsageError('--testnet only applies to --out-wif');
  if (o.keystorePasswordFile && !o.outKeystore)
    throw new UsageError('--keystore-password-file needs --out-keystore');
  if (o.vault !== undefined && !/^[0-9a-f]{1,64}$/.test(o.vault)) throw new UsageError('--vault must be hex');
  const outs = [o.outHex, o.outKeystore, o.outWif].filter((p): p is string => p !== undefined);
  if (new Set(outs).size !== outs.length) throw new UsageError('each --out-* option needs its own file');
  return o;
}

async function openAll(o: Options): Promise<{ inputs: RecoveryInput[]; failures: number }> {
  const fromFiles = passphrasesFromFiles(o.passphraseFiles, o.backups.length);
  const inputs: RecoveryInput[] = [];
  let failures = 0;
  for (let i = 0; i < o.backups.length; i++) {
    const path = o.backups[i]!;
    const label = `#${i + 1} (${path})`;
    let text: string;
    let header: ReturnType<typeof inspectBackup>;
    try {
      // An extension backup file (device backup bundle) is unwrapped here, once, to its tss backup.
      text = shareBackupText(readSmallFile(path, 'backup'));
      header = inspectBackup(text);
    } catch (e) {
      out(`backup ${label}: ${errorText(e)}`);
      failures++;
      continue;
    }
    const describe = describeBackup(header);
    const attempts = fromFiles ? 1 : 3;
    let opened: BackupSource | undefined;
    for (let a = 0; a < attempts && !opened; a++) {
      const pass = fromFiles
        ? fromFiles[i]!
        : await readHidden(`Passphrase for backup ${label} [${describe}]: `);
      try {
        // openBackup checks every share against its public share: that is the whole of --verify-only.
        opened = await openBackup(text, pass);
      } catch (e) {
        const retry = e instanceof BackupError && e.code === 'WRONG_PASSPHRASE' && a + 1 < attempts;
        out(`backup ${label}: ${errorText(e)}${retry ? ' (try again)' : ''}`);
        if (!retry) {
          failures++;
          break;
        }
      }
    }
    if (!opened) continue;
    out(`backup ${label}: ${openedText(header)}`);
    inputs.push({ label, source: opened });
  }
  return { inputs, failures };
}

async function keystorePassword(o: Options): Promise<string> {
  let pw: string;
  if (o.keystorePasswordFile) {
    pw = stripOneNewline(readSmallFile(o.keystorePasswordFile, 'keystore password file', 64 * 1024)).split(
      /\r?\n/,
    )[0]!;
  } else {
    pw = await readHidden('New keystore password: ');
    const again = await readHidden('Repeat the keystore password: ');
    if (pw !== again) throw new UsageError('the keystore passwords differ');
  }
  // The keystore holds the whole key: it gets the same strength policy as backups.
  assertStrongPassphrase(pw);
  return pw;
}

async function writeOutputs(o: Options, r: VaultRecovered): Promise<void> {
  const key: RecoveredKey = r.key;
  if (o.outHex) {
    writeSecretFile(o.outHex, `${key.privateKeyHex()}\n`);
    out(`  wrote private key (hex) to ${o.outHex}`);
  }
  if (o.outKeystore) {
    const pw = await keystorePassword(o);
    writeSecretFile(o.outKeystore, await key.keystoreV3(pw));
    out(`  wrote Ethereum keystore V3 to ${o.outKeystore} (address ${r.address})`);
  }
  if (o.outWif) {
    const network = o.testnet ? 'testnet' : 'mainnet';
    const { wif, address } = key.bitcoin(network);
    writeSecretFile(o.outWif, `${wif}\n`);
    out(`  wrote Bitcoin ${network} WIF (compressed) to ${o.outWif}`);
    out(`  Bitcoin ${network} P2WPKH address: ${address}`);
  }
}

async function main(argv: string[]): Promise<number> {
  const o = parseOptions(argv);
  if (o === 'help') {
    out(HELP);
    return 0;
  }
  // Refuse existing output files before asking for any passphrase (writing uses 'wx' as well).
  for (const p of [o.outHex, o.outKeystore, o.outWif]) {
    if (p !== undefined && existsSync(p))
      throw new UsageError(`${p} already exists; refusing to overwrite it`);
  }
  const { inputs, failures } = await openAll(o);
  if (o.verifyOnly) {
    out(`${inputs.length} of ${o.backups.length} backups verified; no key was rebuilt`);
    return failures === 0 ? 0 : 1;
  }
  let results = recoverVaults(inputs);
  if (o.vault) {
    const want = o.vault;
    results = results.filter((r) => r.vaultId.startsWith(want));
    if (results.length === 0) throw new UsageError(`no vault id starts with ${want}`);
  }
  let bad = failures;
  try {
    for (const r of results) {
      out();
      out(`vault ${r.vaultId}`);
      for (const line of vaultReport(r)) out(`  ${line.text}`);
      if (!r.ok) bad++;
    }
    const ok = results.filter((r): r is VaultRecovered => r.ok);
    if (o.outHex || o.outKeystore || o.outWif) {
      if (ok.length !== 1) {
        throw new UsageError(
          ok.length === 0
            ? 'no key was recovered, nothing written'
            : `${ok.length} vaults were recovered; choose one with --vault ID before writing a key`,
        );
      }
      out();
      await writeOutputs(o, ok[0]!);
    } else if (ok.length > 0) {
      out();
      out('No key was written (use --out-hex, --out-keystore or --out-wif to write one).');
    }
  } finally {
    for (const r of results) if (r.ok) r.key.destroy();
  }
  return bad === 0 ? 0 : 1;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    process.stderr.write(`concord-recover: ${errorText(e)}\n`);
    process.exitCode = e instanceof UsageError ? 2 : 1;
  },
);
