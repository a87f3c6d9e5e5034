/**
 * Flood mode of the bridge benchmark (`npm run bench:bridge -- --flood ack|fetch|send|connect`):
 * a relay with the **default** profile (the production limits, which are what is under test) on
 * loopback; an honest pair of devices in one session does a round trip (A → relay → B → relay →
 * A) every 20 ms, first alone for a baseline, then while attacker devices from the same IP flood:
 *
 * - `ack`: authenticated devices send `ack` frames of 1,000 made-up seqs as fast as they can write;
 * - `fetch`: devices re-read the same unacknowledged page of large messages without acking, the
 *   next fetch as each page arrives (the mailbox is filled before the recipient connects);
 * - `send`: devices send to an offline victim as fast as they can, reconnecting as fresh devices
 *   when the relay closes them;
 * - `connect`: new WebSocket connections (never authenticated) as fast as the relay answers.
 *
 * Reports the honest p50/p99 round trip in each phase beside the attacker's load (frames it got
 * out per second, bytes it was sent) and the relay's CPU (its own `process_cpu_seconds_total`).
 * The attacker runs in its own process (this file with `attack <kind> <url>`), so its busy event
 * loop does not delay the honest client's. Everything shares the machine: compare the two phases
 * of one run.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { generateKeyPairSync, type KeyObject, sign } from 'node:crypto';
import { loadavg } from 'node:os';
import WebSocket from 'ws';
import { authMessage } from '../src/protocol/auth.ts';
import { b64uDecode, b64uEncode } from '../src/protocol/base64url.ts';
import { SUBPROTOCOL } from '../src/protocol/frames.ts';

export type FloodKind = 'ack' | 'fetch' | 'send' | 'connect';
export const FLOOD_KINDS: readonly FloodKind[] = ['ack', 'fetch', 'send', 'connect'];

interface Dev {
  ws: WebSocket;
  id: string;
}

export interface FloodHarness {
  startServer(
    store: string,
    redis?: undefined,
    profile?: string,
  ): Promise<{ proc: ChildProcess; url: string; http: string }>;
  connect(url: string, origin: string): Promise<Dev>;
  scrape(http: string, name: string): Promise<number>;
}

interface DeviceKey {
  publicKey: KeyObject;
  privateKey: KeyObject;
}

const deviceIdOf = (k: DeviceKey) => k.publicKey.export({ format: 'jwk' }).x as string;

/**
 * A device, authenticated (the attacker's own, so this file runs without the harness): a fresh key,
 * or `key` to come back as a device that already exists.
 */
function connectDevice(
  url: string,
  origin: string,
  key: DeviceKey = generateKeyPairSync('ed25519'),
): Promise<Dev> {
  const { privateKey } = key;
  const id = deviceIdOf(key);
  return new Promise((res, rej) => {
    const ws = new WebSocket(url, SUBPROTOCOL, { perMessageDeflate: false });
    const t = setTimeout(() => {
      ws.terminate();
      rej(new Error('auth timeout'));
    }, 30_000);
    ws.once('error', (e) => {
      clearTimeout(t);
      rej(e);
    });
    ws.once('close', () => {
      clearTimeout(t);
      rej(new Error('closed'));
    });
    ws.on('message', function first(data) {
      const f = JSON.parse(data.toString());
      if (f.t === 'challenge') {
        const sig = sign(null, authMessage(origin, b64uDecode(f.nonce), b64uDecode(id)), privateKey);
        ws.send(JSON.stringify({ t: 'auth', rid: 'a', deviceId: id, sig: b64uEncode(sig) }));
      } else if (f.t === 'welcome') {
        clearTimeout(t);
        ws.off('message', first);
        res({ ws, id });
      } else if (f.t === 'error') {
        clearTimeout(t);
        rej(new Error(f.code));
      }
    });
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function pct(xs: number[], p: number): number {
  if (xs.length === 0) return Number.NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
}

/** Send one frame and wait for the reply matching `pred`. */
function request<T>(d: Dev, frame: object, pred: (f: Record<string, unknown>) => boolean): Promise<T> {
  return new Promise((res, rej) => {
    const t = setTimeout(() => rej(new Error(`no reply to ${JSON.stringify(frame).slice(0, 40)}`)), 30_000);
    const on = (data: WebSocket.RawData) => {
      const f = JSON.parse(data.toString()) as Record<string, unknown>;
      if (pred(f)) {
        clearTimeout(t);
        d.ws.off('message', on);
        res(f as T);
      }
    };
    d.ws.on('message', on);
    d.ws.send(JSON.stringify(frame));
  });
}

async function session(a: Dev, members: Dev[], rid: string): Promise<string> {
  const f = await request<{ session: { sid: string } }>(
    a,
    { t: 'create_session', rid, kind: 'sign', members: members.map((m) => m.id), ttlMs: 600_000 },
    (x) => x.t === 'session' && x.rid === rid,
  );
  return f.session.sid;
}

const sendFrame = (sid: string, from: Dev, to: Dev, msgId: string, ct: string) =>
  JSON.stringify({ t: 'send', rid: msgId, v: 1, sid, from: from.id, to: to.id, tag: 't', msgId, ct });

/** The honest pair: B echoes every message back to A; A times each round trip. */
async function honestPair(h: FloodHarness, url: string, origin: string) {
  const a = await h.connect(url, origin);
  const b = await h.connect(url, origin);
  const sid = await session(a, [a, b], 'hs');
  await request(b, { t: 'join', rid: 'hj', sid }, (x) => x.t === 'session' && x.rid === 'hj');
  const sentAt = new Map<string, number>();
  let rtts: number[] = [];
  let n = 0;
  b.ws.on('message', (data) => {
    const f = JSON.parse(data.toString());
    if (f.t !== 'deliver') return;
    b.ws.send(JSON.stringify({ t: 'ack', seqs: [f.seq] }));
    b.ws.send(sendFrame(sid, b, a, `e${f.msgId}`, f.ct));
  });
  a.ws.on('message', (data) => {
    const f = JSON.parse(data.toString());
    if (f.t !== 'deliver') return;
    a.ws.send(JSON.stringify({ t: 'ack', seqs: [f.seq] }));
    const t0 = sentAt.get(f.msgId.slice(1));
    if (t0 !== undefined) {
      rtts.push(performance.now() - t0);
      sentAt.delete(f.msgId.slice(1));
    }
  });
  const timer = setInterval(() => {
    const id = `h${n++}`;
    sentAt.set(id, performance.now());
    a.ws.send(sendFrame(sid, a, b, id, 'A'.repeat(344)));
  }, 20);
  return {
    /** Round trips since the last call; `lost` = sent and not back (still pending or dropped). */
    take(): { rtts: number[]; lost: number } {
      const out = rtts;
      rtts = [];
      const now = performance.now();
      let lost = 0;
      for (const [k, t] of sentAt)
        if (now - t > 2000) {
          lost++;
          sentAt.delete(k);
        }
      return { rtts: out, lost };
    },
    stop() {
      clearInterval(timer);
      a.ws.close();
      b.ws.close();
    },
  };
}

/**
 * Keep writing while the socket's own buffer is small, so the attacker is as fast as TCP allows,
 * but at most 1,000 frames per turn: the kernel takes small frames (a 40-byte fetch) as fast as
 * they are written, so the buffer alone never stops the loop and the attacker's own event loop
 * (its reads, its reports) would starve.
 */
function pump(d: Dev, frame: () => string, count: { frames: number }, stop: () => boolean): void {
  const go = () => {
    if (stop() || d.ws.readyState !== 1) return;
    for (let i = 0; i < 1000 && d.ws.bufferedAmount < 1 << 20; i++) {
      d.ws.send(frame());
      count.frames++;
    }
    setTimeout(go, 1);
  };
  go();
}

/** An attacker device, what it writes, and (reply-driven) which replies prompt the next frame. */
interface Flooder {
  d: Dev;
  frame: () => string;
  onReply?: (data: Buffer) => boolean;
}

async function attack(
  kind: FloodKind,
  h: Pick<FloodHarness, 'connect'>,
  url: string,
  origin: string,
  stop: () => boolean,
  stats: { frames: number; bytesIn: number; refused: number; devices: number },
): Promise<void> {
  const count = stats;
  const watch = (d: Dev) => {
    d.ws.on('message', (data: Buffer) => {
      stats.bytesIn += data.length;
    });
  };
  const seqs = JSON.stringify(Array.from({ length: 1000 }, (_, i) => i + 1));
  /**
   * One attacker: set up a device, flood until the relay closes it, then come back as a fresh
   * device (new key, new connection: what a real attacker does), until the phase ends.
   */
  const persistent = (setup: () => Promise<Flooder>) => {
    void (async () => {
      while (!stop()) {
        let a: Flooder;
        try {
          a = await setup();
        } catch (e) {
          if (process.env.CONCORD_DEBUG) process.stderr.write(`set-up: ${String(e)}\n`);
          count.refused++;
          await sleep(100);
          continue;
        }
        watch(a.d);
        count.devices++;
        const closed = new Promise((r) => a.d.ws.once('close', r));
        if (a.onReply === undefined) pump(a.d, a.frame, count, stop);
        else {
          // Reply-driven: the next request as each reply arrives, two in flight.
          const pred = a.onReply;
          a.d.ws.on('message', (data: Buffer) => {
            if (!stop() && a.d.ws.readyState === 1 && pred(data)) {
              a.d.ws.send(a.frame());
              count.frames++;
            }
          });
          for (let k = 0; k < 2; k++) {
            a.d.ws.send(a.frame());
            count.frames++;
          }
        }
        await closed;
        count.refused++;
      }
    })();
  };
  if (kind === 'ack') {
    for (let i = 0; i < 10; i++)
      persistent(async () => ({
        d: await h.connect(url, origin),
        frame: () => `{"t":"ack","seqs":${seqs}}`,
      }));
  } else if (kind === 'fetch') {
    // s fills r's mailbox with 20 × 200 kB while r is offline (connected, r would be sent the
    // 4 MB live and, on a loaded machine, be closed as a slow consumer before its first fetch);
    // then r connects and re-reads the same page without acking.
    for (let i = 0; i < 5; i++)
      persistent(async () => {
        const s = await h.connect(url, origin);
        const rKey = generateKeyPairSync('ed25519');
        const rId = deviceIdOf(rKey);
        const sid = await session(s, [s, { id: rId } as Dev], `f${i}`);
        for (let k = 0; k < 20; k++)
          await request(
            s,
            JSON.parse(sendFrame(sid, s, { id: rId } as Dev, `big${k}`, 'Q'.repeat(200_000))),
            (x) => x.rid === `big${k}`,
          );
        s.ws.close();
        const r = await connectDevice(url, origin, rKey);
        // It reads every page (an amplification attack wants the bytes), then asks for it again.
        return {
          d: r,
          frame: () => '{"t":"fetch","rid":"x","afterSeq":0}',
          onReply: (data) => data.subarray(0, 40).toString().includes('"batch"'),
        };
      });
  } else if (kind === 'send') {
    const victim = await h.connect(url, origin);
    victim.ws.close();
    for (let i = 0; i < 10; i++)
      persistent(async () => {
        const d = await h.connect(url, origin);
        const sid = await session(d, [d, victim], 'v');
        let k = 0;
        return { d, frame: () => sendFrame(sid, d, victim, `s${k++}`, 'A'.repeat(344)) };
      });
  } else {
    const loop = async () => {
      while (!stop()) {
        await new Promise<void>((res) => {
          const ws = new WebSocket(url, SUBPROTOCOL);
          count.frames++;
          ws.once('unexpected-response', () => {
            count.refused++;
            res();
          });
          ws.once('open', () => res());
          ws.once('error', () => res());
        });
      }
    };
    for (let i = 0; i < 20; i++) void loop();
  }
}

export async function runFlood(
  kind: FloodKind,
  h: FloodHarness,
  store: string,
): Promise<Record<string, unknown>> {
  const server = await h.startServer(store, undefined, 'default');
  const origin = `ws://${new URL(server.url).host}`;
  const honest = await honestPair(h, server.url, origin);
  const cpu = () => h.scrape(server.http, 'concord_bridge_process_cpu_seconds_total');
  const phase = async (seconds: number) => {
    honest.take();
    const c0 = await cpu();
    const t0 = performance.now();
    await sleep(seconds * 1000);
    const s = (performance.now() - t0) / 1000;
    const cpuPct = (((await cpu()) - c0) / s) * 100;
    const { rtts, lost } = honest.take();
    return { s, cpuPct, rtts, lost };
  };
  await sleep(1000); // warm-up
  const base = await phase(5);
  // The attacker in its own process; it prints its running totals as a JSON line every second.
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', import.meta.filename, 'attack', kind, server.url],
    {
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  let stats = { frames: 0, bytesIn: 0, refused: 0, devices: 0 };
  let buf = '';
  child.stdout!.on('data', (d: Buffer) => {
    buf += d.toString();
    const lines = buf.split('\n');
    buf = lines.pop()!;
    const last = lines.at(-1);
    if (last) stats = JSON.parse(last) as typeof stats;
  });
  await sleep(4000); // let the attackers get going
  // The fetch attackers' set-up (uploading 4 MB each) can outlast that on a loaded machine: the
  // window starts once one of them floods (connect attackers have no set-up).
  for (let t = 0; kind !== 'connect' && stats.devices === 0 && t < 60; t++) await sleep(1000);
  const f0 = stats.frames;
  const b0 = stats.bytesIn;
  const r0 = stats.refused;
  const d0 = stats.devices;
  const flood = await phase(10);
  await sleep(1100); // the attacker's next report
  const attackerFramesPerSec = Math.round((stats.frames - f0) / (flood.s + 1.1));
  const attackerMBIn = Number(((stats.bytesIn - b0) / 1e6).toFixed(1));
  child.kill('SIGKILL');
  honest.stop();
  server.proc.kill('SIGKILL');
  const r = {
    flood: kind,
    store,
    loadAverage1m: Number(loadavg()[0]!.toFixed(2)),
    baselineP50Ms: Number(pct(base.rtts, 50).toFixed(1)),
    baselineP99Ms: Number(pct(base.rtts, 99).toFixed(1)),
    baselineRelayCpuPct: Math.round(base.cpuPct),
    floodP50Ms: Number(pct(flood.rtts, 50).toFixed(1)),
    floodP99Ms: Number(pct(flood.rtts, 99).toFixed(1)),
    floodRoundTrips: flood.rtts.length,
    floodLostOver2s: flood.lost,
    floodRelayCpuPct: Math.round(flood.cpuPct),
    attackerFramesPerSec,
    attackerMBReceived: attackerMBIn,
    attackerClosedOrRefused: stats.refused - r0,
    /** Attacker devices through their set-up and flooding: in all, and new in the window. */
    attackerDevicesFlooding: stats.devices,
    attackerDevicesNewInWindow: stats.devices - d0,
  };
  return r;
}

// Attacker process: `flood.ts attack <kind> <url>`.
if (process.argv[2] === 'attack') {
  const kind = process.argv[3] as FloodKind;
  const url = process.argv[4]!;
  const stats = { frames: 0, bytesIn: 0, refused: 0, devices: 0 };
  await attack(kind, { connect: connectDevice }, url, `ws://${new URL(url).host}`, () => false, stats);
  setInterval(() => process.stdout.write(`${JSON.stringify(stats)}\n`), 1000);
}
