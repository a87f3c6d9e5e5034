/**
 * Wallet lifecycle through the background (router + services) with a fake browser: onboarding,
 * generic wrong-passphrase error and persisted exponential backoff (THREATS 60), auto-lock and
 * session restore across a simulated worker restart (THREATS 61), storage placement (THREATS 62).
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { AUTO_LOCK_ALARM, SESSION_STORAGE_KEY } from '../src/background/services/session.ts';
import { BACKOFF_BASE_MS, backoffMs } from '../src/background/services/throttle.ts';
import { toHex } from '../src/shared/bytes.ts';
import type { WireError } from '../src/shared/errors.ts';
import { type Request, type ResponseEnvelope, UI_CHANNEL } from '../src/shared/messages.ts';
import type { ConcordDb } from '../src/storage/db.ts';
import { fakePlatform } from './fakes/platform.ts';
import { GOOD_PASSPHRASE, openFreshDb, PAGE_SENDER, startBackground } from './helpers.ts';

type Bg = ReturnType<typeof startBackground>;

async function send(bg: Bg, request: Request): Promise<ResponseEnvelope> {
  const r = bg.route({ channel: UI_CHANNEL, request }, PAGE_SENDER);
  if (r === undefined) throw new Error('router ignored a page request');
  return r;
}

async function ok<T>(bg: Bg, request: Request): Promise<T> {
  const r = await send(bg, request);
  if (!r.ok) throw new Error(`${r.error.code}: ${r.error.message}`);
  return r.result as T;
}

async function fail(bg: Bg, request: Request): Promise<WireError> {
  const r = await send(bg, request);
  if (r.ok) throw new Error('expected failure');
  return r.error;
}

const START = new Date('2026-01-01T00:00:00Z').getTime();
let db: ConcordDb;

beforeEach(async () => {
  // Only Date is faked: IndexedDB's own scheduling keeps using real timers.
  vi.useFakeTimers({ toFake: ['Date'] });
  vi.setSystemTime(START);
  db = await openFreshDb();
});

afterEach(() => {
  db.close();
  vi.useRealTimers();
});

describe('onboarding', () => {
  it('creates an encrypted identity, unlocks, and keeps secrets out of plain storage', async () => {
    const bg = startBackground(db);
    expect(await ok(bg, { type: 'status' })).toEqual({
      onboarded: false,
      unlocked: false,
      autoLockAt: null,
      retryAfterMs: 0,
    });
    const device = await ok<{ deviceId: string; deviceCode: string; fingerprint: string }>(bg, {
      type: 'onboarding.create',
      passphrase: GOOD_PASSPHRASE,
    });
    expect(device.deviceId).toMatch(/^[0-9a-f]{64}$/);
    expect(device.deviceCode.endsWith(`.${device.fingerprint}`)).toBe(true);
    const status = await ok<{ unlocked: boolean; autoLockAt: number }>(bg, { type: 'status' });
    expect(status.unlocked).toBe(true);
    expect(status.autoLockAt).toBe(START + 15 * 60_000);

    // The identity row holds the secret only sealed; its plaintext encoding is nowhere in the row.
    const row = (await db.identity.get('device'))!;
    expect(row.sealed.ct.length).toBeGreaterThan(64);
    const session = bg.platform.session.data.get(SESSION_STORAGE_KEY) as { dek: string };
    expect(typeof session.dek).toBe('string');
    expect([...bg.platform.session.data.keys()]).toEqual([SESSION_STORAGE_KEY]);
    expect(bg.platform.alarms.alarms.get(AUTO_LOCK_ALARM)).toBe(START + 15 * 60_000);
    // The identity decrypts under the session key and under nothing else.
    expect(JSON.stringify(await db.meta.toArray())).not.toContain(GOOD_PASSPHRASE);
    expect(toHex(row.publicIdentity)).toContain(device.deviceId);
  });

  it('refuses weak passphrases with the policy message, and a second onboarding', async () => {
    const bg = startBackground(db);
    expect((await fail(bg, { type: 'onboarding.create', passphrase: 'short' })).code).toBe('WEAK_PASSPHRASE');
    expect((await fail(bg, { type: 'onboarding.create', passphrase: 'password1234' })).code).toBe(
      'WEAK_PASSPHRASE',
    );
    expect(await db.identity.count()).toBe(0);
    await ok(bg, { type: 'onboarding.create', passphrase: GOOD_PASSPHRASE });
    expect((await fail(bg, { type: 'onboarding.create', passphrase: GOOD_PASSPHRASE })).code).toBe(
      'ALREADY_ONBOARDED',
    );
  });
});

describe('unlock, wrong passphrase and backoff', () => {
  async function onboardedAndLocked(): Promise<Bg> {
    const bg = startBackground(db);
    await ok(bg, { type: 'onboarding.create', passphrase: GOOD_PASSPHRASE });
    await ok(bg, { type: 'lock' });
    return bg;
  }

  it('lock clears the session key; unlock with the right passphrase restores it', async () => {
    const bg = await onboardedAndLocked();
    expect(bg.platform.session.data.size).toBe(0);
    expect(bg.platform.alarms.alarms.size).toBe(0);
    await expect(bg.wallet.requireKey()).rejects.toMatchObject({ code: 'LOCKED' });
    // The public device code stays readable while locked.
    expect((await ok<{ fingerprint: string }>(bg, { type: 'device.get' })).fingerprint).toMatch(
      /^.{4}-.{4}-.{4}$/,
    );
    const s = await ok<{ unlocked: boolean }>(bg, { type: 'unlock', passphrase: GOOD_PASSPHRASE });
    expect(s.unlocked).toBe(true);
    expect(bg.platform.session.data.has(SESSION_STORAGE_KEY)).toBe(true);
  });

  it('a wrong passphrase gives one generic error', async () => {
    const bg = await onboardedAndLocked();
    const e = await fail(bg, { type: 'unlock', passphrase: 'orbit lantern velvet cascade 1988' });
    expect(e).toEqual({ code: 'WRONG_PASSPHRASE', message: 'That passphrase is not correct.' });
  });

  it('after 5 failures the next attempt waits, doubling, and the wait survives a restart', async () => {
    let bg = await onboardedAndLocked();
    for (let i = 1; i <= 4; i++) {
      const e = await fail(bg, { type: 'unlock', passphrase: `wrong passphrase ${i}` });
      expect(e.code).toBe('WRONG_PASSPHRASE');
      expect(e.retryAfterMs).toBeUndefined();
    }
    const fifth = await fail(bg, { type: 'unlock', passphrase: 'wrong passphrase 5' });
    expect(fifth.code).toBe('WRONG_PASSPHRASE');
    expect(fifth.retryAfterMs).toBe(BACKOFF_BASE_MS);

    // Even the right passphrase is not tried during the wait.
    const throttled = await fail(bg, { type: 'unlock', passphrase: GOOD_PASSPHRASE });
    expect(throttled.code).toBe('UNLOCK_THROTTLED');
    expect(throttled.retryAfterMs).toBe(BACKOFF_BASE_MS);
    expect((await ok<{ retryAfterMs: number }>(bg, { type: 'status' })).retryAfterMs).toBe(BACKOFF_BASE_MS);

    // A worker restart (new services over the same database) does not reset the throttle.
    bg = startBackground(db, fakePlatform());
    vi.setSystemTime(START + 10_000);
    expect((await fail(bg, { type: 'unlock', passphrase: GOOD_PASSPHRASE })).retryAfterMs).toBe(
      BACKOFF_BASE_MS - 10_000,
    );

    // After the wait, another failure doubles it.
    vi.setSystemTime(START + BACKOFF_BASE_MS);
    const sixth = await fail(bg, { type: 'unlock', passphrase: 'wrong passphrase 6' });
    expect(sixth.retryAfterMs).toBe(2 * BACKOFF_BASE_MS);
    expect(backoffMs(7)).toBe(4 * BACKOFF_BASE_MS);
    expect(backoffMs(100)).toBe(60 * 60_000);

    // After that wait the right passphrase unlocks and resets the counter.
    vi.setSystemTime(START + 3 * BACKOFF_BASE_MS + 1);
    expect(
      (await ok<{ unlocked: boolean }>(bg, { type: 'unlock', passphrase: GOOD_PASSPHRASE })).unlocked,
    ).toBe(true);
    expect(await db.meta.get('unlockThrottle')).toEqual({
      key: 'unlockThrottle',
      value: { failures: 0, notBefore: 0 },
    });
  });
});

describe('re-confirming the passphrase while unlocked (before a backup export)', () => {
  it('the right passphrase passes; a wrong one is WRONG_PASSPHRASE, counts against the throttle and stores nothing else', async () => {
    const bg = startBackground(db);
    await ok(bg, { type: 'onboarding.create', passphrase: GOOD_PASSPHRASE });
    await expect(bg.wallet.confirmPassphrase(GOOD_PASSPHRASE)).resolves.toBeUndefined();
    const header = await db.meta.get('keyring');
    const identity = await db.identity.toArray();
    for (let i = 1; i <= 4; i++) {
      await expect(bg.wallet.confirmPassphrase(`wrong passphrase ${i}`)).rejects.toMatchObject({
        code: 'WRONG_PASSPHRASE',
        message: 'That is not the passphrase that unlocks Concord.',
        retryAfterMs: undefined,
      });
    }
    await expect(bg.wallet.confirmPassphrase('wrong passphrase 5')).rejects.toMatchObject({
      code: 'WRONG_PASSPHRASE',
      retryAfterMs: BACKOFF_BASE_MS,
    });
    // The same throttle as the lock screen: even the right one waits now.
    await expect(bg.wallet.confirmPassphrase(GOOD_PASSPHRASE)).rejects.toMatchObject({
      code: 'UNLOCK_THROTTLED',
    });
    // The session stays unlocked and the keyring and identity are untouched.
    expect((await ok<{ unlocked: boolean }>(bg, { type: 'status' })).unlocked).toBe(true);
    expect(await db.meta.get('keyring')).toEqual(header);
    expect(await db.identity.toArray()).toEqual(identity);
    vi.setSystemTime(START + BACKOFF_BASE_MS);
    await expect(bg.wallet.confirmPassphrase(GOOD_PASSPHRASE)).resolves.toBeUndefined();
    expect((await db.meta.get('unlockThrottle'))?.value).toEqual({ failures: 0, notBefore: 0 });
  });

  it('locked → LOCKED without any KDF work or throttle change', async () => {
    const bg = startBackground(db);
    await ok(bg, { type: 'onboarding.create', passphrase: GOOD_PASSPHRASE });
    await ok(bg, { type: 'lock' });
    await expect(bg.wallet.confirmPassphrase(GOOD_PASSPHRASE)).rejects.toMatchObject({ code: 'LOCKED' });
    await expect(bg.wallet.confirmPassphrase('wrong passphrase')).rejects.toMatchObject({ code: 'LOCKED' });
    expect((await db.meta.get('unlockThrottle'))?.value).toEqual({ failures: 0, notBefore: 0 });
  });
});

describe('auto-lock and worker restarts', () => {
  it('the auto-lock alarm clears the session key from memory and storage.session', async () => {
    const bg = startBackground(db);
    await ok(bg, { type: 'onboarding.create', passphrase: GOOD_PASSPHRASE });
    const when = bg.platform.alarms.alarms.get(AUTO_LOCK_ALARM)!;
    vi.setSystemTime(when);
    await bg.onAlarm(AUTO_LOCK_ALARM);
    expect(bg.platform.session.data.size).toBe(0);
    expect(bg.platform.alarms.alarms.size).toBe(0);
    expect((await ok<{ unlocked: boolean }>(bg, { type: 'status' })).unlocked).toBe(false);
  });

  it('an expired session is locked on the next read even if the alarm never fired', async () => {
    const bg = startBackground(db);
    await ok(bg, { type: 'onboarding.create', passphrase: GOOD_PASSPHRASE });
    vi.setSystemTime(START + 15 * 60_000 + 1);
    expect((await ok<{ unlocked: boolean }>(bg, { type: 'status' })).unlocked).toBe(false);
    expect(bg.platform.session.data.size).toBe(0);
  });

  it('activity pushes the deadline back; an early alarm does not lock', async () => {
    const bg = startBackground(db);
    await ok(bg, { type: 'onboarding.create', passphrase: GOOD_PASSPHRASE });
    vi.setSystemTime(START + 10 * 60_000);
    await ok(bg, { type: 'activity' });
    expect(bg.platform.alarms.alarms.get(AUTO_LOCK_ALARM)).toBe(START + 25 * 60_000);
    vi.setSystemTime(START + 15 * 60_000);
    await bg.onAlarm(AUTO_LOCK_ALARM); // a stale alarm from before the activity
    expect((await ok<{ unlocked: boolean }>(bg, { type: 'status' })).unlocked).toBe(true);
  });

  it('changing the auto-lock minutes applies to the running session', async () => {
    const bg = startBackground(db);
    await ok(bg, { type: 'onboarding.create', passphrase: GOOD_PASSPHRASE });
    await ok(bg, { type: 'settings.update', patch: { autoLockMinutes: 5 } });
    expect(bg.platform.alarms.alarms.get(AUTO_LOCK_ALARM)).toBe(START + 5 * 60_000);
  });

  it('a worker restart while unlocked restores the session from storage.session', async () => {
    const first = startBackground(db);
    await ok(first, { type: 'onboarding.create', passphrase: GOOD_PASSPHRASE });
    // New services, empty memory, same storage.session and database: what a restarted worker sees.
    const second = startBackground(db, fakePlatform(first.platform.session, first.platform.alarms));
    expect((await ok<{ unlocked: boolean }>(second, { type: 'status' })).unlocked).toBe(true);
    expect(await second.wallet.requireKey()).toHaveLength(32);
  });

  it('after lock, a restarted worker is locked', async () => {
    const first = startBackground(db);
    await ok(first, { type: 'onboarding.create', passphrase: GOOD_PASSPHRASE });
    await ok(first, { type: 'lock' });
    const second = startBackground(db, fakePlatform(first.platform.session, first.platform.alarms));
    expect((await ok<{ unlocked: boolean }>(second, { type: 'status' })).unlocked).toBe(false);
    await expect(second.wallet.requireKey()).rejects.toMatchObject({ code: 'LOCKED' });
  });

  it('a session key that does not open the identity is discarded, not half-unlocked', async () => {
    const first = startBackground(db);
    await ok(first, { type: 'onboarding.create', passphrase: GOOD_PASSPHRASE });
    const stored = first.platform.session.data.get(SESSION_STORAGE_KEY) as { dek: string };
    first.platform.session.data.set(SESSION_STORAGE_KEY, { ...stored, dek: btoa('x'.repeat(32)) });
    const second = startBackground(db, fakePlatform(first.platform.session, first.platform.alarms));
    expect((await ok<{ unlocked: boolean }>(second, { type: 'status' })).unlocked).toBe(false);
    expect(first.platform.session.data.size).toBe(0);
  });
});
