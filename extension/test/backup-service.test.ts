/**
 * BackupService over fake-indexeddb: devices whose vault share comes from a prebuilt tss DKG fixture
 * ([2,1,1], threshold 3), sealed under a data key the way ceremonies.ts stores it. Covers export and
 * verify, recovery of the vault address from a threshold of exported backups (tss recovery core),
 * every BACKUP_INVALID cause, WEAK_PASSPHRASE / LOCKED / NOT_FOUND, that no failure changes storage,
 * that no error carries secret bytes, and that the default KDF is the production scrypt (tss
 * backup/format.ts header: N = 2^17, r = 8, p = 1).
 */
import 'fake-indexeddb/auto';
import { KeyShare } from '@concord/tss';
import {
  createBackup,
  DEFAULT_SCRYPT,
  inspectBackup,
  keyShareToBackupSource,
  openBackup,
  type ScryptParams,
  shareBackupText,
} from '@concord/tss/backup';
import { mulG, pointToBytes } from '@concord/tss/curve';
import { recoverKey } from '@concord/tss/recovery';
import { runReshare } from '@concord/tss/testing';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadFixture } from '../../tss/test/fixtures/index.ts';
import { BackupService, type InsecureTestKdf } from '../src/background/services/backup.ts';
import type { Unlocked } from '../src/background/services/ceremonies.ts';
import { openDeviceIdentity, parseDeviceBackup } from '../src/background/services/device-backup.ts';
import {
  type DeviceIdentity,
  decodeDeviceIdentity,
  generateDeviceIdentity,
} from '../src/background/services/identity-api.ts';
import { confirmKeyringPassphrase, createKeyring } from '../src/crypto/keyring-header.ts';
import { toHex } from '../src/shared/bytes.ts';
import { ExtensionError, type ExtensionErrorCode } from '../src/shared/errors.ts';
import { assessPassphrase } from '../src/shared/passphrase.ts';
import { ConcordDb } from '../src/storage/db.ts';
import type { VaultRecord } from '../src/storage/records.ts';
import { type Repositories, repositories } from '../src/storage/repositories/index.ts';
import { SharesRepository } from '../src/storage/repositories/shares.ts';
import { FAST_KDF } from './helpers.ts';

const PASSPHRASE = 'orbit lantern velvet cascade 1987';
/** The passphrase that unlocks the wallet (re-confirmed before every export). */
const WALLET_PASSPHRASE = 'harbor juniper tundra falcon 310';
const OTHER_PASSPHRASE = 'quartz meadow pilgrim saffron 42';
/** Far below the production floor: only reachable through the explicit test switch. */
const TEST_SCRYPT: ScryptParams = { N: 2 ** 10, r: 8, p: 1 };
const TEST_KDF: InsecureTestKdf = { insecureTestKdf: true, scrypt: TEST_SCRYPT };
const LAYOUT = '2-1-1_t3';

/** Every error a failing call produced, checked for secrets at the end. */
const errors: ExtensionError[] = [];
/** Strings that must never appear in an error: passphrases, data keys, share scalars. */
const secrets: string[] = [PASSPHRASE, OTHER_PASSPHRASE, WALLET_PASSPHRASE];

/** One simulated profile: its own database, data key and vault share (party `index` of the layout). */
interface Device {
  db: ConcordDb;
  repos: Repositories;
  dek: Uint8Array;
  vault: VaultRecord;
  keyShare: KeyShare;
  locked: boolean;
  service: BackupService;
  /** A service without the test KDF switch: production scrypt, production floor. */
  production: BackupService;
  /** The device identity the service sees while unlocked. */
  unlockedIdentity: () => Promise<DeviceIdentity>;
}

let dbCounter = 0;
async function device(keyShare: KeyShare, name: string): Promise<Device> {
  dbCounter += 1;
  const db = new ConcordDb(`concord-backup-test-${process.pid}-${dbCounter}-${Math.random()}`);
  await db.open();
  const repos = repositories(db);
  // A real keyring: the data key is wrapped under WALLET_PASSPHRASE, as onboarding stores it.
  const { header, dek } = await createKeyring(WALLET_PASSPHRASE, FAST_KDF, Date.now());
  await repos.meta.putKeyringHeader(header);
  secrets.push(toHex(dek));
  for (const s of keyShare.shares) secrets.push(s.toString(16).padStart(64, '0'), s.toString());
  const localId = toHex(crypto.getRandomValues(new Uint8Array(16)));
  await store(repos, dek, localId, name, keyShare);
  const d: Device = {
    db,
    repos,
    dek,
    vault: (await repos.vaults.get(localId))!,
    keyShare,
    locked: false,
    service: undefined as unknown as BackupService,
    production: undefined as unknown as BackupService,
    unlockedIdentity: undefined as unknown as () => Promise<DeviceIdentity>,
  };
  // A real identity: exports carry it (device backup bundle). Fixture party ids are not identity
  // keys, so its id differs from the share's party id; the service compares shares by party id.
  const identity: DeviceIdentity = generateDeviceIdentity();
  d.unlockedIdentity = async () => identity;
  const unlocked = async (): Promise<Unlocked | null> => (d.locked ? null : { identity, dek });
  // What WalletService.confirmPassphrase checks, minus its throttle (tested in wallet.test.ts).
  const confirmPassphrase = async (p: string) => {
    if (d.locked) throw new ExtensionError('LOCKED', 'Concord is locked.');
    await confirmKeyringPassphrase((await repos.meta.getKeyringHeader())!, p, FAST_KDF, dek);
  };
  d.service = new BackupService({ repos, unlocked, confirmPassphrase, kdf: TEST_KDF });
  d.production = new BackupService({ repos, unlocked, confirmPassphrase });
  return d;
}

/** Writes the vault record and its active share sealed under `dek`, as ceremonies.ts `complete` does. */
async function store(repos: Repositories, dek: Uint8Array, id: string, name: string, ks: KeyShare) {
  const descriptor = ks.descriptor;
  const now = Date.now();
  const vault: VaultRecord = {
    id,
    name,
    epoch: descriptor.epoch,
    threshold: descriptor.threshold,
    members: descriptor.parties.map((p, i) => ({
      deviceId: toHex(p.id),
      label: `Signer ${i + 1}`,
      weight: p.power,
      publicIdentity: new Uint8Array(0),
    })),
    publicKey: toHex(descriptor.groupPublicKey.toBytes(true)),
    address: descriptor.address,
    status: 'active',
    createdAt: now,
    updatedAt: now,
  };
  const secret = ks.encode();
  try {
    const share = SharesRepository.build(
      { vaultId: id, epoch: descriptor.epoch, status: 'active', secret, createdAt: now },
      dek,
    );
    await repos.db.transaction('rw', [repos.db.vaults, repos.db.shares], async () => {
      await repos.db.vaults.put(vault);
      await repos.db.shares.put(share);
    });
  } finally {
    secret.fill(0);
  }
}

/** Runs `f`, expects an ExtensionError with `code`, keeps it for the secrets check. */
async function fails(f: () => Promise<unknown>, code: ExtensionErrorCode): Promise<ExtensionError> {
  let caught: unknown;
  try {
    await f();
  } catch (e) {
    caught = e;
  }
  expect(caught).toBeInstanceOf(ExtensionError);
  const e = caught as ExtensionError;
  expect(e.code).toBe(code);
  errors.push(e);
  return e;
}

/** Everything stored, to show a failure changed nothing. */
async function snapshot(d: Device): Promise<unknown> {
  return {
    vaults: await d.db.vaults.toArray(),
    shares: await d.db.shares.toArray(),
    meta: await d.db.meta.toArray(),
  };
}

/** The stored share still decrypts under the data key and is the same share. */
async function expectShareOpens(d: Device): Promise<void> {
  const record = (await d.repos.shares.active(d.vault.id))!;
  const secret = SharesRepository.openSecret(record, d.dek);
  const ks = KeyShare.decode(secret);
  expect(toHex(ks.encode())).toBe(toHex(d.keyShare.encode()));
  ks.destroy();
}

/** A fresh decoded copy: the service destroys nothing of ours, but tests keep fixtures pristine. */
const copy = (k: KeyShare): KeyShare => KeyShare.decode(k.encode());

describe('BackupService', () => {
  let A: Device; // party 0, power 2
  let B: Device; // party 1, power 1
  let fileA: string;

  beforeAll(async () => {
    const fx = loadFixture(LAYOUT);
    A = await device(copy(fx.shares[0]!), 'Family Savings');
    B = await device(copy(fx.shares[1]!), '★★★');
    fileA = shareBackupText((await A.service.exportBackup(A.vault.id, WALLET_PASSPHRASE, PASSPHRASE)).text);
  });

  it('exports a backup file of the active share and verifies it as current', async () => {
    const out = await A.service.exportBackup(A.vault.id, WALLET_PASSPHRASE, PASSPHRASE);
    const d = A.keyShare.descriptor;
    const party8 = toHex(A.keyShare.selfId).slice(0, 8);
    expect(out.filename).toBe(`concord-backup-family-s-epoch0-${party8}.json`);
    const json = JSON.parse(shareBackupText(out.text)) as {
      format: string;
      version: number;
      header: { kdf: ScryptParams };
    };
    expect(json.format).toBe('concord-tss-backup');
    expect(json.version).toBe(1);
    const h = inspectBackup(shareBackupText(out.text));
    expect(h.vaultId).toBe(toHex(d.vaultId)); // tss vault id, not the local record id
    expect(h.vaultId).not.toBe(A.vault.id);
    expect(h.partyId).toBe(toHex(A.keyShare.selfId));
    expect(h.epoch).toBe(0);
    expect(h.points).toEqual(A.keyShare.selfPoints.map(Number));
    expect(h.power).toBe(2);
    expect(h.kdf).toEqual(TEST_SCRYPT);
    // Fresh salt and nonce each time.
    expect(out.text).not.toBe(fileA);

    const check = await A.service.verifyBackup(A.vault.id, out.text, PASSPHRASE);
    expect(check).toEqual({
      vaultId: A.vault.id,
      epoch: 0,
      current: true,
      message: "This backup is valid and matches this device's current share (epoch 0).",
    });
  });

  it('the file is a device backup bundle: share for concord-recover, identity under the same passphrase', async () => {
    const out = await A.service.exportBackup(A.vault.id, WALLET_PASSPHRASE, PASSPHRASE);
    const parsed = parseDeviceBackup(out.text);
    expect(parsed.device).toBeDefined();
    const secret = await openDeviceIdentity(parsed, PASSPHRASE, TEST_SCRYPT);
    const identity = decodeDeviceIdentity(secret);
    expect(toHex(identity.deviceId)).toBe(toHex((await A.unlockedIdentity()).deviceId));
    identity.destroy();
    await expect(openDeviceIdentity(parsed, OTHER_PASSPHRASE, TEST_SCRYPT)).rejects.toThrow(
      /Wrong passphrase/,
    );
    // The identity part is bound to its share: moved into B's bundle, it no longer opens.
    const other = parseDeviceBackup(
      (await B.service.exportBackup(B.vault.id, WALLET_PASSPHRASE, PASSPHRASE)).text,
    );
    await expect(
      openDeviceIdentity({ ...other, device: parsed.device }, PASSPHRASE, TEST_SCRYPT),
    ).rejects.toThrow(/Wrong passphrase|modified/);
    // Below the production KDF floor is refused unless the caller lowers it (tests only).
    await expect(openDeviceIdentity(parsed, PASSPHRASE)).rejects.toThrow(/weaker/);
    // Verifying A's bundle on B: the share belongs to another device.
    await expect(B.service.verifyBackup(B.vault.id, out.text, PASSPHRASE)).rejects.toThrow(/another/);
  });

  it('names the file after the vault id when the name has no usable characters', async () => {
    const out = await B.service.exportBackup(B.vault.id, WALLET_PASSPHRASE, PASSPHRASE);
    expect(out.filename).toBe(
      `concord-backup-${B.vault.id.slice(0, 8)}-epoch0-${toHex(B.keyShare.selfId).slice(0, 8)}.json`,
    );
  });

  it('backups of a threshold of parties rebuild the vault address with the recovery core', async () => {
    const fileB = shareBackupText(
      (await B.service.exportBackup(B.vault.id, WALLET_PASSPHRASE, OTHER_PASSPHRASE)).text,
    );
    const opened = [
      { label: 'A', source: await openBackup(fileA, PASSPHRASE, { insecureTestKdf: true }) },
      { label: 'B', source: await openBackup(fileB, OTHER_PASSPHRASE, { insecureTestKdf: true }) },
    ];
    const r = recoverKey(opened);
    try {
      const held = [...A.keyShare.selfPoints, ...B.keyShare.selfPoints].map(Number).sort((x, y) => x - y);
      expect(r.usedPoints).toEqual(held);
      expect(r.address).toBe(A.vault.address);
      expect(r.address).toBe(A.keyShare.descriptor.address);
    } finally {
      r.key.destroy();
    }
    // One party alone (power 2 < 3) does not.
    expect(() => recoverKey(opened.slice(0, 1))).toThrow(/BELOW_THRESHOLD|missing|threshold/i);
  });

  it('a wrong passphrase is BACKUP_INVALID and changes nothing; the stored share still opens', async () => {
    const before = await snapshot(A);
    const e = await fails(
      () => A.service.verifyBackup(A.vault.id, fileA, OTHER_PASSPHRASE),
      'BACKUP_INVALID',
    );
    expect(e.message).toMatch(/wrong passphrase/i);
    expect(await snapshot(A)).toEqual(before);
    await expectShareOpens(A);
    // And the file still verifies with the right one.
    expect((await A.service.verifyBackup(A.vault.id, fileA, PASSPHRASE)).current).toBe(true);
  });

  it('a modified file is BACKUP_INVALID (corrupt), whether the header or the ciphertext was changed', async () => {
    const before = await snapshot(A);
    const json = JSON.parse(fileA) as { header: { threshold: number }; ciphertext: string };
    // Header edit: caught by the header digest, before any passphrase work.
    const headerEdited = JSON.stringify({ ...json, header: { ...json.header, threshold: 2 } });
    const e1 = await fails(
      () => A.service.verifyBackup(A.vault.id, headerEdited, PASSPHRASE),
      'BACKUP_INVALID',
    );
    expect(e1.message).toMatch(/corrupt or was modified/);
    // Ciphertext edit: the passphrase is right but the AEAD refuses.
    const flipped = (json.ciphertext[0] === '0' ? '1' : '0') + json.ciphertext.slice(1);
    const ctEdited = JSON.stringify({ ...json, ciphertext: flipped });
    const e2 = await fails(() => A.service.verifyBackup(A.vault.id, ctEdited, PASSPHRASE), 'BACKUP_INVALID');
    expect(e2.message).toMatch(/corrupt or was modified.*passphrase is right/);
    // Not JSON at all / not a backup.
    const e3 = await fails(
      () => A.service.verifyBackup(A.vault.id, fileA.slice(0, 40), PASSPHRASE),
      'BACKUP_INVALID',
    );
    expect(e3.message).toMatch(/not a Concord backup.*damaged/);
    await fails(() => A.service.verifyBackup(A.vault.id, '{"format":"x"}', PASSPHRASE), 'BACKUP_INVALID');
    expect(await snapshot(A)).toEqual(before);
    await expectShareOpens(A);
  });

  it('an unknown format version and out-of-bounds KDF parameters are named as such', async () => {
    const json = JSON.parse(fileA) as Record<string, unknown>;
    const e1 = await fails(
      () => A.service.verifyBackup(A.vault.id, JSON.stringify({ ...json, version: 2 }), PASSPHRASE),
      'BACKUP_INVALID',
    );
    expect(e1.message).toMatch(/format version/);
    // The production service refuses the test KDF's N = 2^10 (below the floor) before any KDF work.
    const e2 = await fails(() => A.production.verifyBackup(A.vault.id, fileA, PASSPHRASE), 'BACKUP_INVALID');
    expect(e2.message).toMatch(/key-derivation settings are outside the accepted bounds/);
  });

  it("another device's backup of the same vault is BACKUP_INVALID (another device)", async () => {
    const fileB = shareBackupText(
      (await B.service.exportBackup(B.vault.id, WALLET_PASSPHRASE, PASSPHRASE)).text,
    );
    const e = await fails(() => A.service.verifyBackup(A.vault.id, fileB, PASSPHRASE), 'BACKUP_INVALID');
    expect(e.message).toMatch(/another device/);
  });

  it("a well-formed file claiming this device's current share with other shares is BACKUP_INVALID", async () => {
    // Someone who knows the public header writes their own scalars and matching public shares: the
    // file opens and is self-consistent, but it is not this device's share.
    const src = keyShareToBackupSource(copy(A.keyShare));
    src.pointShares = src.pointShares.map((s, k) => ({ x: s.x, share: BigInt(k + 7) }));
    src.publicShares = src.pointShares.map((s) => ({ x: s.x, point: pointToBytes(mulG(s.share)) }));
    const forged = await createBackup(src, PASSPHRASE, { kdf: TEST_SCRYPT, insecureTestKdf: true });
    const e = await fails(() => A.service.verifyBackup(A.vault.id, forged, PASSPHRASE), 'BACKUP_INVALID');
    expect(e.message).toMatch(/do not match the share stored here/);
  });

  it("another vault's backup is BACKUP_INVALID (another vault)", async () => {
    const other = copy(loadFixture('1-1_t2').shares[0]!);
    const src = keyShareToBackupSource(other);
    const file = await createBackup(src, PASSPHRASE, { kdf: TEST_SCRYPT, insecureTestKdf: true });
    other.destroy();
    const e = await fails(() => A.service.verifyBackup(A.vault.id, file, PASSPHRASE), 'BACKUP_INVALID');
    expect(e.message).toMatch(/another vault/);
  });

  it('a weak backup passphrase is WEAK_PASSPHRASE with the policy message', async () => {
    const before = await snapshot(A);
    for (const weak of ['short', 'password1234', 'aaaaaaaaaaaaaaaa']) {
      const e = await fails(
        () => A.service.exportBackup(A.vault.id, WALLET_PASSPHRASE, weak),
        'WEAK_PASSPHRASE',
      );
      expect(e.message).toBe(assessPassphrase(weak).message);
    }
    expect(await snapshot(A)).toEqual(before);
  });

  it('a wrong wallet passphrase is WRONG_PASSPHRASE before the share is opened, and changes nothing', async () => {
    const before = await snapshot(A);
    for (const wrong of [PASSPHRASE, 'harbor juniper tundra falcon 311', '']) {
      const e = await fails(() => A.service.exportBackup(A.vault.id, wrong, PASSPHRASE), 'WRONG_PASSPHRASE');
      expect(e.message).toBe('That passphrase is not correct.');
    }
    expect(await snapshot(A)).toEqual(before);
    await expectShareOpens(A);
    // A keyring that opens with the passphrase but wraps another data key than the session's.
    const other = await createKeyring(WALLET_PASSPHRASE, FAST_KDF, Date.now());
    const own = (await A.repos.meta.getKeyringHeader())!;
    await A.repos.meta.putKeyringHeader(other.header);
    try {
      await fails(() => A.service.exportBackup(A.vault.id, WALLET_PASSPHRASE, PASSPHRASE), 'CORRUPT_RECORD');
    } finally {
      await A.repos.meta.putKeyringHeader(own);
      other.dek.fill(0);
    }
  });

  it('locked → LOCKED; unknown vault or no active share → NOT_FOUND', async () => {
    A.locked = true;
    try {
      await fails(() => A.service.exportBackup(A.vault.id, WALLET_PASSPHRASE, PASSPHRASE), 'LOCKED');
      await fails(() => A.service.verifyBackup(A.vault.id, fileA, PASSPHRASE), 'LOCKED');
    } finally {
      A.locked = false;
    }
    await fails(() => A.service.exportBackup('00'.repeat(16), WALLET_PASSPHRASE, PASSPHRASE), 'NOT_FOUND');
    await fails(() => A.service.verifyBackup('00'.repeat(16), fileA, PASSPHRASE), 'NOT_FOUND');
    // A vault record without an active share (e.g. a DKG that has not finished here).
    await A.repos.vaults.put({ ...A.vault, id: 'ff'.repeat(16), name: 'Pending' });
    await fails(() => A.service.exportBackup('ff'.repeat(16), WALLET_PASSPHRASE, PASSPHRASE), 'NOT_FOUND');
    await A.db.vaults.delete('ff'.repeat(16));
  });

  it('a backup of an older epoch is valid but not current', async () => {
    // Refresh [1,1] t=2 to epoch 1; the device keeps its epoch-0 backup.
    const fx = loadFixture('1-1_t2');
    const old = copy(fx.shares[0]!);
    const C = await device(old, 'Refreshed');
    const file0 = shareBackupText(
      (await C.service.exportBackup(C.vault.id, WALLET_PASSPHRASE, PASSPHRASE)).text,
    );
    const run = runReshare({
      oldShares: fx.shares.map(copy),
      newParties: fx.shares.map((s) => ({ id: s.selfId, power: 1 })),
      newThreshold: 2,
      seed: 'backup-service/refresh',
    });
    const outcome = run.outcomes[run.ids.findIndex((id) => toHex(id) === toHex(old.selfId))]!;
    if (!outcome.ok) throw outcome.error;
    const next = copy(outcome.value.pending!);
    expect(next.epoch).toBe(1);
    // What activation leaves in storage: the epoch-1 share active, the epoch-0 share gone.
    await C.db.shares.clear();
    for (const s of next.shares) secrets.push(s.toString(16).padStart(64, '0'), s.toString());
    await store(C.repos, C.dek, C.vault.id, C.vault.name, next);
    C.keyShare = next;

    const check = await C.service.verifyBackup(C.vault.id, file0, PASSPHRASE);
    expect(check.current).toBe(false);
    expect(check.epoch).toBe(0);
    expect(check.message).toMatch(
      /^This backup is valid but from epoch 0; the vault is now at epoch 1\. It still rebuilds the key together with other epoch-0 backups/,
    );
    const file1 = await C.service.exportBackup(C.vault.id, WALLET_PASSPHRASE, PASSPHRASE);
    expect(file1.filename).toMatch(/^concord-backup-refreshe-epoch1-[0-9a-f]{8}\.json$/);
    expect((await C.service.verifyBackup(C.vault.id, file1.text, PASSPHRASE)).current).toBe(true);
    await expectShareOpens(C);
  });

  it('without the test switch, exports use the production scrypt parameters', async () => {
    const out = await A.production.exportBackup(A.vault.id, WALLET_PASSPHRASE, PASSPHRASE);
    const h = inspectBackup(shareBackupText(out.text));
    expect(h.kdf).toEqual({ ...DEFAULT_SCRYPT });
    expect(h.kdf).toEqual({ N: 131072, r: 8, p: 1 });
    const raw = JSON.parse(shareBackupText(out.text)) as { header: { kdf: Record<string, unknown> } };
    expect(raw.header.kdf).toMatchObject({ name: 'scrypt', N: 131072, r: 8, p: 1, dkLen: 32 });
    expect((await A.production.verifyBackup(A.vault.id, out.text, PASSPHRASE)).current).toBe(true);
  });

  it('no error message or serialised error carries a secret', () => {
    expect(errors.length).toBeGreaterThanOrEqual(15);
    for (const e of errors) {
      const texts = [e.message, JSON.stringify(e), String(e), JSON.stringify({ ...e, message: e.message })];
      for (const t of texts) {
        for (const s of secrets) expect(t).not.toContain(s);
      }
    }
  });
});
