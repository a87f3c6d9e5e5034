/**
 * Simulated browser profiles for multi-device tests: each `Device` is a whole background (router and
 * services) over its own fake-indexeddb database and fake platform, with `ws` as its WebSocket, so
 * several of them can run ceremonies against a real in-process bridge. `restart()` models a
 * service-worker restart (new service graph, same storage).
 */

import type { WebSocketCtor } from '@concord/bridge-server/client';
import WebSocket from 'ws';
import { ExtensionError } from '../src/shared/errors.ts';
import {
  type DeviceInfo,
  type Request,
  type ResponseEnvelope,
  type ResultMap,
  UI_CHANNEL,
} from '../src/shared/messages.ts';
import type { ConcordDb } from '../src/storage/db.ts';
import { type FakePlatform, fakePlatform } from './fakes/platform.ts';
import {
  type BackgroundExtra,
  GOOD_PASSPHRASE,
  openFreshDb,
  PAGE_SENDER,
  startBackground,
} from './helpers.ts';

export class Device {
  bg: ReturnType<typeof startBackground>;
  info!: DeviceInfo;

  constructor(
    readonly db: ConcordDb,
    readonly platform: FakePlatform,
    private readonly extra: BackgroundExtra = {},
  ) {
    this.bg = startBackground(db, platform, extra);
  }

  async call<T extends Request['type']>(request: Extract<Request, { type: T }>): Promise<ResultMap[T]> {
    const r = (await this.bg.route({ channel: UI_CHANNEL, request }, PAGE_SENDER)) as ResponseEnvelope<
      ResultMap[T]
    >;
    if (!r.ok) throw new ExtensionError(r.error.code, r.error.message);
    return r.result;
  }

  /** A service-worker restart: the old worker's socket dies, a new graph starts over the same storage. */
  async restart(): Promise<void> {
    this.bg.bridge.stop();
    this.bg = startBackground(this.db, this.platform, this.extra);
    await this.call({ type: 'status' }); // brings the bridge up again
  }
}

/** A profile that has not been onboarded yet (for restore tests). */
export async function blankDevice(extra: BackgroundExtra = {}): Promise<Device> {
  const platform = { ...fakePlatform(), WebSocket: WebSocket as unknown as WebSocketCtor };
  return new Device(await openFreshDb(), platform, extra);
}

export async function device(bridgeUrl: string, extra: BackgroundExtra = {}): Promise<Device> {
  const d = await blankDevice(extra);
  d.info = await d.call({ type: 'onboarding.create', passphrase: GOOD_PASSPHRASE });
  await d.call({ type: 'settings.update', patch: { bridgeUrl } });
  await d.call({ type: 'status' }); // brings the bridge up
  return d;
}

export async function until<T>(f: () => Promise<T | undefined>, ms: number, what: string): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await f();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Waits until every device shows ceremony `id` as done (throws at once if one shows it failed). */
export function dkgDone(devices: readonly Device[], id: string, ms = 120_000) {
  return Promise.all(
    devices.map((d) =>
      until(
        async () => {
          const v = (await d.call({ type: 'ceremony.list' })).find((c) => c.id === id);
          if (v?.phase === 'failed') throw new Error(`DKG failed: ${v.error}`);
          return v?.phase === 'done' ? v : undefined;
        },
        ms,
        'the DKG',
      ),
    ),
  );
}
