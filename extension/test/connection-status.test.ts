/**
 * The connection view (background/services/connection-status.ts) over a stand-in bridge client that
 * emits the real client's `state` and `error` events: "known down" after one failed attempt (what
 * lets Send refuse at once), the reason in words, reset on ready, and the RPC check's outcome.
 */

import type { BridgeClient } from '@concord/bridge-server/client';
import { describe, expect, it } from 'vitest';
import { ConnectionStatus } from '../src/background/services/connection-status.ts';
import { ExtensionError } from '../src/shared/errors.ts';

type Handler = (e: unknown) => void;

function fakeClient() {
  const handlers = new Map<string, Set<Handler>>();
  let state = 'connecting';
  const client = {
    get state() {
      return state;
    },
    on(event: string, h: Handler) {
      if (!handlers.has(event)) handlers.set(event, new Set());
      handlers.get(event)!.add(h);
      return () => handlers.get(event)!.delete(h);
    },
  };
  const emit = (event: string, value: unknown) => {
    if (event === 'state') state = value as string;
    for (const h of handlers.get(event) ?? []) h(value);
  };
  return {
    client: client as unknown as BridgeClient,
    emit,
    listeners: () => [...handlers.values()].reduce((n, s) => n + s.size, 0),
  };
}

function setup(chainCheck: (id: number) => Promise<number> = async () => 7) {
  let now = 1000;
  const f = fakeClient();
  const status = new ConnectionStatus({
    now: () => now,
    bridge: () => ({ state: f.client.state, url: 'ws://127.0.0.1:9/v1' }),
    chainCheck,
    chainName: async (id) => (id === 31337 ? 'Local development chain' : `Chain ${id}`),
  });
  status.watch(f.client);
  return { status, f, tick: (ms: number) => (now += ms) };
}

describe('ConnectionStatus', () => {
  it('connecting for the first time is not yet "down"', () => {
    const { status } = setup();
    expect(status.bridgeView()).toMatchObject({
      state: 'connecting',
      down: false,
      reason: null,
      failures: 0,
    });
  });

  it('one failed attempt makes it known down, with a reason naming the host; ready clears it', () => {
    const { status, f, tick } = setup();
    tick(250);
    f.emit('state', 'reconnecting');
    const v = status.bridgeView();
    expect(v).toMatchObject({ down: true, failures: 1, since: 1250 });
    expect(v.reason).toBe(
      '127.0.0.1:9 does not answer (1 attempt failed). Is the bridge running, and is its URL in Settings right?',
    );
    f.emit('state', 'reconnecting');
    expect(status.bridgeView()).toMatchObject({ failures: 2, since: 1250 });
    f.emit('state', 'ready');
    expect(status.bridgeView()).toMatchObject({ state: 'ready', down: false, reason: null, failures: 0 });
  });

  it("the relay's own error is the reason when it gave one", () => {
    const { status, f } = setup();
    f.emit('error', new Error('RATE_LIMITED: too many connections'));
    f.emit('state', 'reconnecting');
    expect(status.bridgeView().reason).toBe('too many connections');
  });

  it('a forgotten client stops being followed; off means locked', () => {
    const { status, f } = setup();
    expect(f.listeners()).toBe(2);
    status.forget(f.client);
    expect(f.listeners()).toBe(0);
    const off = new ConnectionStatus({
      now: () => 0,
      bridge: () => ({ state: 'off', url: null }),
      chainCheck: async () => 1,
      chainName: async () => 'x',
    });
    expect(off.bridgeView()).toMatchObject({
      state: 'off',
      down: true,
      reason: 'Not started: unlock Concord to connect.',
    });
  });

  it('the RPC check reports the block, or the chain service’s reason', async () => {
    expect(await setup().status.chainView(31337)).toEqual({
      chainId: 31337,
      name: 'Local development chain',
      ok: true,
      reason: null,
      block: 7,
    });
    const down = setup(async () => {
      throw new ExtensionError('CHAIN_UNAVAILABLE', 'Cannot reach the RPC at 127.0.0.1:8545.');
    });
    expect(await down.status.chainView(1)).toEqual({
      chainId: 1,
      name: 'Chain 1',
      ok: false,
      reason: 'Cannot reach the RPC at 127.0.0.1:8545.',
      block: null,
    });
  });
});
