/**
 * End-to-end tests of `tss/bin/concord-recover.ts` in a child process, with every network API
 * stubbed to throw and record (no-network.cjs). Backups here use the production KDF (the CLI accepts
 * nothing weaker), so this file costs a few seconds.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { sha256 } from '@noble/hashes/sha2.js';
import { base58 } from '@scure/base';
import { Wallet } from 'ethers';
import { beforeAll, describe, expect, it } from 'vitest';
import { createBackup } from '../../src/backup/backup.ts';
import { equalBytes, toHex } from '../../src/bytes.ts';
import { p2wpkhAddress } from '../../src/recovery/bitcoin.ts';
import { ethereumAddress } from '../../src/recovery/ethereum.ts';
import { seededRandom } from '../../src/testing/rng.ts';
import { type Dealt, dealBackups } from '../../src/testing/shamir-dealer.ts';
import { PASS, seal } from '../backup/helpers.ts';

const ROOT = resolve(import.meta.dirname, '../../..');
const PRELOAD = resolve(import.meta.dirname, 'no-network.cjs');
const CLI = 'tss/bin/concord-recover.ts';
const KEYSTORE_PW = 'orchid-lantern-basalt-meadow-71';

/**
 * tsx's ESM loader always tries to reach its parent's IPC pipe (`$TMPDIR/tsx-<uid>/<ppid>.pipe`, a
 * Unix socket, when started as `node --import tsx`). That is local IPC inside the tool runner, not
 * network; the stub still blocks it and tsx carries on. Everything else recorded is a failure.
 */
const TSX_IPC = /^net\.createConnection unix:.*tsx-[^/]+\/\d+\.pipe$/;
const networkAttempts = (r: Run): string[] => r.network.filter((l) => !TSX_IPC.test(l));

interface Run {
  code: number;
  stdout: string;
  stderr: string;
  network: string[];
}

const logDir = mkdtempSync(join(tmpdir(), 'concord-netlog-'));

function run(args: string[]): Promise<Run> {
  const netLog = join(logDir, `net-${Math.random().toString(36).slice(2)}.log`);
  return new Promise((done) => {
    execFile(
      process.execPath,
      ['--require', PRELOAD, '--import', 'tsx', CLI, ...args],
      { cwd: ROOT, env: { ...process.env, CONCORD_NET_LOG: netLog }, timeout: 110_000 },
      (err, stdout, stderr) => {
        let network: string[] = [];
        try {
          network = readFileSync(netLog, 'utf8').trim().split('\n').filter(Boolean);
        } catch {}
        const code = err ? (typeof err.code === 'number' ? err.code : -1) : 0;
        done({ code, stdout, stderr, network });
      },
    );
  });
}

describe('concord-recover CLI (child process, network stubbed)', () => {
  let dir = '';
  let dealt: Dealt;
  let b1 = '';
  let b2 = '';
  let weak = '';

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'concord-recover-'));
    dealt = dealBackups({
      parties: [{ power: 1 }, { power: 1 }, { power: 1 }],
      threshold: 2,
      rng: seededRandom('cli'),
    });
    b1 = join(dir, 'alice.json');
    b2 = join(dir, 'bob.json');
    weak = join(dir, 'weak-kdf.json');
    // Production parameters (N = 2^17): the CLI applies the real floor.
    writeFileSync(b1, await createBackup(dealt.sources[0]!, PASS, { rng: seededRandom('b1') }));
    writeFileSync(b2, await createBackup(dealt.sources[1]!, PASS, { rng: seededRandom('b2') }));
    writeFileSync(weak, await seal(dealt.sources[2]!));
    writeFileSync(join(dir, 'both.txt'), `${PASS}\n${PASS}\n`);
    writeFileSync(join(dir, 'one.txt'), `${PASS}\n`);
    writeFileSync(join(dir, 'wrong.txt'), 'definitely-not-the-passphrase\n');
    writeFileSync(join(dir, 'ks.txt'), `${KEYSTORE_PW}\n`);
  });

  it('the network stub itself records and blocks attempts (control)', async () => {
    const netLog = join(logDir, 'control.log');
    await new Promise<void>((done) =>
      execFile(
        process.execPath,
        [
          '--require',
          PRELOAD,
          '-e',
          "try { fetch('http://127.0.0.1:9') } catch {} try { require('node:net').connect(9, '127.0.0.1') } catch {}",
        ],
        { env: { ...process.env, CONCORD_NET_LOG: netLog } },
        () => done(),
      ),
    );
    expect(readFileSync(netLog, 'utf8')).toMatch(/fetch[\s\S]*net\.connect/);
  });

  it('--help', async () => {
    const r = await run(['--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/--passphrase-file FILE/);
    expect(r.stdout).toMatch(/device backup bundle/);
    expect(networkAttempts(r)).toEqual([]);
  });

  it('THREATS D74/D76: recovers offline, prints the EIP-55 address, and writes nothing unless asked', async () => {
    const before = readdirSync(dir).sort();
    const r = await run(['--passphrase-file', join(dir, 'both.txt'), b1, b2]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`Ethereum address (EIP-55): ${ethereumAddress(dealt.groupPublicKey)}`);
    expect(r.stdout).toContain('key matches the group public key');
    expect(r.stdout).toContain('No key was written');
    const secretHex = dealt.secret.toString(16).padStart(64, '0');
    expect(r.stdout + r.stderr).not.toContain(secretHex);
    expect(
      readdirSync(dir)
        .filter((f) => !f.startsWith('net-'))
        .sort(),
    ).toEqual(before);
    expect(networkAttempts(r)).toEqual([]);
  });

  it('writes hex, keystore V3 and testnet WIF only when asked; files are 0600; outputs check out', async () => {
    const hex = join(dir, 'key.hex');
    const ks = join(dir, 'key.keystore.json');
    const wif = join(dir, 'key.wif');
    const r = await run([
      '--passphrase-file',
      join(dir, 'one.txt'),
      '--passphrase-file',
      join(dir, 'one.txt'),
      '--out-hex',
      hex,
      '--out-keystore',
      ks,
      '--keystore-password-file',
      join(dir, 'ks.txt'),
      '--out-wif',
      wif,
      '--testnet',
      b2,
      b1,
    ]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(networkAttempts(r)).toEqual([]);
    for (const f of [hex, ks, wif]) expect(statSync(f).mode & 0o777).toBe(0o600);
    expect(BigInt(readFileSync(hex, 'utf8').trim())).toBe(dealt.secret);
    // WIF through an independent decoder.
    const raw = base58.decode(readFileSync(wif, 'utf8').trim());
    const body = raw.subarray(0, 34);
    expect(equalBytes(sha256(sha256(body)).subarray(0, 4), raw.subarray(34))).toBe(true);
    expect(body[0]).toBe(0xef);
    expect(body[33]).toBe(1);
    expect(BigInt(`0x${toHex(body.subarray(1, 33))}`)).toBe(dealt.secret);
    expect(r.stdout).toContain(`P2WPKH address: ${p2wpkhAddress(dealt.groupPublicKey, 'testnet')}`);
    const w = await Wallet.fromEncryptedJson(readFileSync(ks, 'utf8'), KEYSTORE_PW);
    expect(w.address).toBe(ethereumAddress(dealt.groupPublicKey));
    // Never overwrites an existing file (checked before any passphrase is asked).
    const again = await run(['--passphrase-file', join(dir, 'both.txt'), '--out-hex', hex, b1, b2]);
    expect(again.code).toBe(2);
    expect(again.stderr).toMatch(/already exists; refusing to overwrite/);
  });

  it('THREATS D71/D72: a wrong passphrase is reported for its own backup only; a below-floor KDF is refused', async () => {
    writeFileSync(join(dir, 'mixed.txt'), `${PASS}\ndefinitely-not-the-passphrase\n${PASS}\n`);
    const r = await run(['--passphrase-file', join(dir, 'mixed.txt'), weak, b2, b1]);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(
      /backup #1 \(.*weak-kdf\.json\): KDF_PARAMS_REJECTED: scrypt N = 16 is below the floor/,
    );
    expect(r.stdout).toMatch(
      /backup #2 \(.*bob\.json\): WRONG_PASSPHRASE: the passphrase does not open this backup\n/,
    );
    expect(r.stdout).toMatch(/backup #3 \(.*alice\.json\): opened and verified/);
    expect(r.stdout).toMatch(/BELOW_THRESHOLD: .*1 more point of signing power missing/);
    expect(r.stdout).not.toMatch(/Ethereum address/);
    expect(networkAttempts(r)).toEqual([]);
  });

  it('recovers from extension backup files (device backup bundles) mixed with bare files', async () => {
    const wrap = (text: string): string =>
      JSON.stringify({ format: 'concord-device-backup', version: 1, share: text, device: { opaque: true } });
    const bundled = join(dir, 'alice.extension-backup.json');
    writeFileSync(bundled, wrap(readFileSync(b1, 'utf8')));
    const r = await run(['--passphrase-file', join(dir, 'both.txt'), b2, bundled]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/backup #2 \(.*alice\.extension-backup\.json\): opened and verified/);
    expect(r.stdout).toContain(`Ethereum address (EIP-55): ${ethereumAddress(dealt.groupPublicKey)}`);
    expect(networkAttempts(r)).toEqual([]);
    // An unknown bundle version is reported for its own file.
    const v2 = join(dir, 'v2.extension-backup.json');
    writeFileSync(v2, JSON.stringify({ ...JSON.parse(wrap(readFileSync(b1, 'utf8'))), version: 2 }));
    const bad = await run(['--passphrase-file', join(dir, 'both.txt'), v2, b2]);
    expect(bad.code).toBe(1);
    expect(bad.stdout).toMatch(/backup #1 \(.*v2\.extension-backup\.json\): UNSUPPORTED_BACKUP_VERSION/);
  });

  it('bad usage exits 2 with a clear message', async () => {
    const r = await run(['--passphrase-file', join(dir, 'both.txt'), b1]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/has several lines; with one --passphrase-file per backup/);
  });
});
