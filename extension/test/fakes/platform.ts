/**
 * A small typed fake of the browser facilities the background uses (`storage.session`, `alarms`),
 * plus a clock read from `Date.now()` so tests drive time with `vi.setSystemTime`.
 */
import type { AlarmScheduler, Platform, SessionArea } from '../../src/background/platform.ts';
import { cryptoRandomBytes } from '../../src/crypto/aead.ts';

export class FakeSessionArea implements SessionArea {
  readonly data = new Map<string, unknown>();
  async get(key: string): Promise<unknown> {
    // storage.session round-trips through JSON-like serialisation; mimic that.
    const v = this.data.get(key);
    return v === undefined ? undefined : structuredClone(v);
  }
  async set(key: string, value: unknown): Promise<void> {
    this.data.set(key, structuredClone(value));
  }
  async remove(key: string): Promise<void> {
    this.data.delete(key);
  }
}

export class FakeAlarms implements AlarmScheduler {
  readonly alarms = new Map<string, number>();
  async create(name: string, when: number): Promise<void> {
    this.alarms.set(name, when);
  }
  async clear(name: string): Promise<void> {
    this.alarms.delete(name);
  }
}

export interface FakePlatform extends Platform {
  session: FakeSessionArea;
  alarms: FakeAlarms;
}

export function fakePlatform(session = new FakeSessionArea(), alarms = new FakeAlarms()): FakePlatform {
  return { session, alarms, now: () => Date.now(), rng: cryptoRandomBytes };
}
