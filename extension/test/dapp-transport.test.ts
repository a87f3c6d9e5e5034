/**
 * The dApp provider's transport (THREATS 45–47): the MAIN-world provider and the isolated-world
 * relay over one fake window, and the background Port host. Messages from other windows, frames or
 * origins, and with a wrong channel nonce, are ignored; an origin written into a message is never
 * read — the background uses the Port sender's.
 */
import { describe, expect, it } from 'vitest';
import type { DappService } from '../src/background/dapp/methods.ts';
import { dappOrigin } from '../src/background/dapp/origin.ts';
import { DappPortHost, type HostPort } from '../src/background/dapp/port-host.ts';
import { type PortLike, startContentRelay, type WindowLike } from '../src/provider/content.ts';
import { installProvider, type PageWindow, PROVIDER_RDNS, ProviderRpcError } from '../src/provider/inpage.ts';
import {
  DAPP_PORT,
  type PortMessage,
  type PortRequest,
  TO_CONTENT,
  TO_INPAGE,
} from '../src/provider/protocol.ts';
import { RUNTIME_ID } from './helpers.ts';

const PAGE_ORIGIN = 'https://dapp.example';

/** A window: postMessage delivers a `message` event (source = this window) on a later microtask. */
class FakeWindow extends EventTarget {
  readonly location = { origin: PAGE_ORIGIN };
  ethereum?: unknown;
  readonly posted: unknown[] = [];
  postMessage(message: unknown, targetOrigin: string): void {
    expect(targetOrigin).toBe(PAGE_ORIGIN);
    this.posted.push(message);
    this.deliver(structuredClone(message), this, PAGE_ORIGIN);
  }
  /** Delivers a message event as if posted by `source` from `origin`. */
  deliver(data: unknown, source: unknown, origin: string): void {
    queueMicrotask(() => {
      const e = new Event('message');
      Object.assign(e, { data, source, origin });
      this.dispatchEvent(e);
    });
  }
}

class FakePort implements PortLike {
  readonly sent: PortRequest[] = [];
  private onMsg: ((m: unknown) => void)[] = [];
  private onDisc: (() => void)[] = [];
  onMessage = { addListener: (fn: (m: unknown) => void) => void this.onMsg.push(fn) };
  onDisconnect = { addListener: (fn: () => void) => void this.onDisc.push(fn) };
  postMessage(m: PortRequest): void {
    this.sent.push(structuredClone(m));
  }
  emit(m: PortMessage): void {
    for (const fn of this.onMsg) fn(structuredClone(m));
  }
  drop(): void {
    for (const fn of this.onDisc) fn();
  }
}

const tick = () => new Promise((r) => setTimeout(r, 0));

function page(opts: { relayFirst?: boolean } = {}) {
  const w = new FakeWindow();
  const ports: FakePort[] = [];
  const relay = () =>
    startContentRelay({
      window: w as unknown as WindowLike,
      connect: (name) => {
        expect(name).toBe(DAPP_PORT);
        const p = new FakePort();
        ports.push(p);
        return p;
      },
    });
  if (opts.relayFirst) relay();
  const announced: unknown[] = [];
  w.addEventListener('eip6963:announceProvider', (e) => announced.push((e as CustomEvent).detail));
  const { provider, info } = installProvider(w as unknown as PageWindow);
  if (!opts.relayFirst) relay();
  return { w, ports, provider, info, announced };
}

describe('inpage provider + content relay', () => {
  for (const relayFirst of [false, true]) {
    it(`a request reaches the background without any origin and its answer resolves it (relay ${relayFirst ? 'first' : 'second'})`, async () => {
      const { ports, provider } = page({ relayFirst });
      const pending = provider.request({ method: 'eth_chainId', params: [] });
      await tick();
      expect(ports).toHaveLength(1);
      const port = ports[0]!;
      expect(port.sent).toEqual([{ id: 1, method: 'eth_chainId', params: [] }]);
      port.emit({ kind: 'response', id: 1, result: '0x7a69' });
      await expect(pending).resolves.toBe('0x7a69');
    });
  }

  it('only method and params are forwarded: an origin in the message never leaves the page', async () => {
    const { w, ports, provider } = page();
    const nonce = (w.posted.find((m) => (m as { type?: string }).type === 'hello') as { nonce: string })
      .nonce;
    void provider.request({ method: 'eth_accounts' });
    await tick();
    // A page script posting with the right nonce and an `origin` claim: forwarded, but without it.
    w.deliver(
      {
        target: TO_CONTENT,
        type: 'request',
        nonce,
        id: 99,
        method: 'eth_accounts',
        origin: 'https://trusted.app',
        sender: { origin: 'https://trusted.app' },
      },
      w,
      PAGE_ORIGIN,
    );
    await tick();
    for (const r of ports[0]!.sent) expect(Object.keys(r).sort()).toEqual(['id', 'method']);
  });

  it('messages from other windows or frames, other origins or with another nonce are ignored', async () => {
    const { w, ports } = page();
    await tick();
    const nonce = (w.posted.find((m) => (m as { type?: string }).type === 'hello') as { nonce: string })
      .nonce;
    const req = { target: TO_CONTENT, type: 'request', nonce, id: 7, method: 'eth_requestAccounts' };
    w.deliver(req, { other: 'frame' }, PAGE_ORIGIN); // another window / frame
    w.deliver(req, w, 'https://evil.example'); // another origin
    w.deliver({ ...req, nonce: '0'.repeat(32) }, w, PAGE_ORIGIN); // a forged nonce
    w.deliver({ target: TO_CONTENT, type: 'hello', nonce: 'f'.repeat(32) }, w, PAGE_ORIGIN); // a second hello
    w.deliver({ ...req, nonce: 'f'.repeat(32) }, w, PAGE_ORIGIN);
    w.deliver({ ...req, method: 'x'.repeat(500) }, w, PAGE_ORIGIN); // malformed
    await tick();
    expect(ports[0]!.sent).toEqual([]);
    // The genuine one passes, proving the filter is what stopped the others.
    w.deliver(req, w, PAGE_ORIGIN);
    await tick();
    expect(ports[0]!.sent).toEqual([{ id: 7, method: 'eth_requestAccounts' }]);
  });

  it('forged answers to the provider (other frame, wrong nonce) are ignored', async () => {
    const { w, ports, provider } = page();
    let settled = false;
    const pending = provider.request({ method: 'eth_accounts' }).finally(() => {
      settled = true;
    });
    await tick();
    const forged: PortMessage = {
      kind: 'response',
      id: 1,
      result: ['0x0000000000000000000000000000000000000bad'],
    };
    w.deliver({ target: TO_INPAGE, type: 'message', nonce: '0'.repeat(32), message: forged }, w, PAGE_ORIGIN);
    const hello = w.posted.find((m) => (m as { type?: string }).type === 'hello') as { nonce: string };
    w.deliver(
      { target: TO_INPAGE, type: 'message', nonce: hello.nonce, message: forged },
      { other: 'frame' },
      PAGE_ORIGIN,
    );
    await tick();
    expect(settled).toBe(false);
    ports[0]!.emit({ kind: 'response', id: 1, result: [] });
    await expect(pending).resolves.toEqual([]);
  });

  it('errors carry EIP-1193 codes; a lost background rejects pending requests with 4900', async () => {
    const { ports, provider } = page();
    const a = provider.request({ method: 'eth_sign', params: [] });
    const b = provider.request({ method: 'eth_requestAccounts' });
    await tick();
    ports[0]!.emit({ kind: 'response', id: 1, error: { code: 4200, message: 'refused' } });
    await expect(a).rejects.toMatchObject({ code: 4200, message: 'refused' });
    await expect(a).rejects.toBeInstanceOf(ProviderRpcError);
    ports[0]!.drop();
    await expect(b).rejects.toMatchObject({ code: 4900 });
    // The next request opens a new Port.
    void provider.request({ method: 'eth_chainId' });
    await tick();
    expect(ports).toHaveLength(2);
    await expect(provider.request({ method: '' })).rejects.toMatchObject({ code: -32600 });
  });

  it('state pushes emit connect, chainChanged and accountsChanged only on change', async () => {
    const { ports, provider } = page();
    const events: [string, unknown][] = [];
    for (const ev of ['connect', 'chainChanged', 'accountsChanged'])
      provider.on(ev, (x) => events.push([ev, x]));
    await tick();
    const push = async (chainId: `0x${string}`, accounts: `0x${string}`[]) => {
      ports[0]!.emit({ kind: 'state', state: { chainId, accounts } });
      await tick();
    };
    const A = '0x00000000000000000000000000000000000000a1';
    await push('0x7a69', []);
    await push('0x7a69', []);
    await push('0x7a69', [A]);
    await push('0x1', [A]);
    await push('0x1', []);
    expect(events).toEqual([
      ['connect', { chainId: '0x7a69' }],
      ['accountsChanged', [A]],
      ['chainChanged', '0x1'],
      ['accountsChanged', []],
    ]);
    expect(provider.isConnected()).toBe(true);
    expect(provider.chainId).toBe('0x1');
  });

  it('EIP-6963: announced at once and again on every requestProvider, with a per-page uuid', async () => {
    const one = page();
    const two = page();
    expect(one.announced).toHaveLength(1);
    one.w.dispatchEvent(new Event('eip6963:requestProvider'));
    expect(one.announced).toHaveLength(2);
    const detail = one.announced[0] as {
      info: { uuid: string; name: string; rdns: string; icon: string };
      provider: unknown;
    };
    expect(detail.info.name).toBe('Concord');
    expect(detail.info.rdns).toBe(PROVIDER_RDNS);
    expect(detail.info.icon).toMatch(/^data:image\/svg\+xml;base64,/);
    expect(detail.info.uuid).toMatch(/^[0-9a-f-]{36}$/);
    expect(detail.provider).toBe(one.provider);
    expect(Object.isFrozen(detail)).toBe(true);
    expect(two.info.uuid).not.toBe(one.info.uuid);
    expect(one.w.ethereum).toBe(one.provider);
  });

  it('window.ethereum of another wallet is never overwritten', () => {
    const w = new FakeWindow();
    const other = { isOtherWallet: true };
    w.ethereum = other;
    const { provider } = installProvider(w as unknown as PageWindow);
    expect(w.ethereum).toBe(other);
    expect(provider.isConcord).toBe(true);
  });
});

describe('background Port host', () => {
  class HostFake implements HostPort {
    readonly posted: PortMessage[] = [];
    disconnected = false;
    private onMsg: ((m: unknown) => void)[] = [];
    onMessage = { addListener: (fn: (m: unknown) => void) => void this.onMsg.push(fn) };
    onDisconnect = { addListener: (_fn: () => void) => {} };
    constructor(
      readonly name: string,
      readonly sender: HostPort['sender'],
    ) {}
    postMessage(m: PortMessage): void {
      this.posted.push(m);
    }
    disconnect(): void {
      this.disconnected = true;
    }
    send(m: unknown): void {
      for (const fn of this.onMsg) fn(m);
    }
  }

  function host() {
    const calls: [string, string, unknown][] = [];
    const service = {
      handle: async (origin: string, method: string, params: unknown) => {
        calls.push([origin, method, params]);
        if (method === 'boom') throw new Error('secret 0xdeadbeef inside');
        return 'ok';
      },
      state: async () => ({ chainId: '0x7a69', accounts: [] }),
    } as unknown as DappService;
    return { calls, host: new DappPortHost({ runtimeId: RUNTIME_ID, service: async () => service }) };
  }

  it('uses the sender origin, never one in the message (THREATS 46)', async () => {
    const { calls, host: h } = host();
    const port = new HostFake(DAPP_PORT, {
      id: RUNTIME_ID,
      origin: 'https://evil.test',
      url: 'https://evil.test/x',
      frameId: 0,
    });
    h.attach(port);
    port.send({ id: 1, method: 'eth_accounts', origin: 'https://trusted.app', params: [] });
    await tick();
    expect(calls).toEqual([['https://evil.test', 'eth_accounts', []]]);
    expect(port.posted).toContainEqual({ kind: 'response', id: 1, result: 'ok' });
    expect(port.posted).toContainEqual({ kind: 'state', state: { chainId: '0x7a69', accounts: [] } });
  });

  it('refuses other extensions, frames, non-https pages and other Port names', async () => {
    const bad = [
      { id: 'otherextensionidotherextensionid', origin: 'https://a.test', frameId: 0 },
      { id: RUNTIME_ID, origin: 'https://a.test', frameId: 3 },
      { id: RUNTIME_ID, origin: 'http://a.test', frameId: 0 },
      { id: RUNTIME_ID, url: 'file:///etc/passwd', frameId: 0 },
      { id: RUNTIME_ID, origin: `chrome-extension://${RUNTIME_ID}`, frameId: 0 },
      { id: RUNTIME_ID, frameId: 0 },
    ];
    for (const sender of bad) {
      const { calls, host: h } = host();
      const port = new HostFake(DAPP_PORT, sender);
      h.attach(port);
      port.send({ id: 1, method: 'eth_accounts' });
      await tick();
      expect(port.disconnected, JSON.stringify(sender)).toBe(true);
      expect(calls).toEqual([]);
    }
    const { calls, host: h } = host();
    const other = new HostFake('something-else', { id: RUNTIME_ID, origin: 'https://a.test', frameId: 0 });
    h.attach(other);
    other.send({ id: 1, method: 'eth_accounts' });
    await tick();
    expect(calls).toEqual([]);
    expect(dappOrigin({ id: RUNTIME_ID, url: 'http://127.0.0.1:5173/app' }, RUNTIME_ID)).toBe(
      'http://127.0.0.1:5173',
    );
    expect(dappOrigin({ id: RUNTIME_ID, tab: { url: 'http://localhost:3000/' } }, RUNTIME_ID)).toBe(
      'http://localhost:3000',
    );
  });

  it('unknown failures become -32603 without their message; malformed requests get -32600', async () => {
    const { host: h } = host();
    const port = new HostFake(DAPP_PORT, { id: RUNTIME_ID, origin: 'https://a.test', frameId: 0 });
    h.attach(port);
    port.send({ id: 2, method: 'boom' });
    port.send({ id: 3, method: 42 });
    port.send({ id: 'x', method: 'eth_accounts' });
    await tick();
    const responses = port.posted.filter((m) => m.kind === 'response');
    expect(responses).toHaveLength(2);
    expect(JSON.stringify(responses)).not.toContain('deadbeef');
    expect(responses).toContainEqual({
      kind: 'response',
      id: 3,
      error: expect.objectContaining({ code: -32600 }),
    });
    expect(responses).toContainEqual({
      kind: 'response',
      id: 2,
      error: expect.objectContaining({ code: -32603 }),
    });
  });
});
