/**
 * A headless vault member as its own process, for tests that kill it (SIGKILL) and start it again
 * on the same SQLite file. Configured by environment (a test helper, not the co-signer's CLI):
 *   CONCORD_MEMBER_STORE, CONCORD_MEMBER_PASSPHRASE, CONCORD_MEMBER_BRIDGE (ws://…/v1),
 *   CONCORD_MEMBER_RPC (JSON-RPC URL the signed transactions go to),
 *   CONCORD_MEMBER_FREEZE_IN_SIGNING=1: after its signing session takes its first message, the
 *     process writes `{"frozen":true}` and blocks its only thread, so the test kills it in the middle
 *     of the ceremony with nothing more sent or stored.
 * Its decider approves every proposal and request. Writes `{"ready":true,"deviceCode":…}` once
 * connected; log lines (codes only) go to stderr.
 */
import type { WebSocketCtor } from '@concord/bridge-server/client';
import {
  type CeremonyHost,
  inProcessHost,
  SqliteVaultStore,
  VaultMember,
} from '@concord/bridge-server/vault/member';
import { SignSession } from '@concord/tss';
import WebSocket from 'ws';

const env = (k: string): string => {
  const v = process.env[k];
  if (v === undefined || v === '') throw new Error(`${k} is not set`);
  return v;
};

const freeze = (): never => {
  process.stdout.write(`${JSON.stringify({ frozen: true })}\n`); // synchronous on a pipe (Linux)
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0);
  throw new Error('unreachable');
};

const host: CeremonyHost =
  process.env.CONCORD_MEMBER_FREEZE_IN_SIGNING === '1'
    ? {
        dkg: inProcessHost.dkg,
        sign: (o) => {
          const s = new SignSession(o);
          const receive = s.receive.bind(s);
          s.receive = (m) => {
            receive(m);
            return freeze();
          };
          return s;
        },
      }
    : inProcessHost;

const rpc = env('CONCORD_MEMBER_RPC');
const member = await VaultMember.start({
  store: SqliteVaultStore.open({
    path: env('CONCORD_MEMBER_STORE'),
    passphrase: env('CONCORD_MEMBER_PASSPHRASE'),
    create: true,
    kdf: { N: 2 ** 10, r: 8, p: 1 },
  }),
  bridgeUrl: env('CONCORD_MEMBER_BRIDGE'),
  WebSocket: WebSocket as unknown as WebSocketCtor,
  decider: { proposal: async () => 'approve', request: async () => 'approve' },
  host,
  fallbackMs: 500,
  chain: {
    broadcast: async (_chainId, raw) => {
      await fetch(rpc, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'eth_sendRawTransaction', params: [raw] }),
      });
    },
  },
  log: (code) => process.stderr.write(`${code}\n`),
});
process.stdout.write(`${JSON.stringify({ ready: true, deviceCode: member.deviceCode })}\n`);
