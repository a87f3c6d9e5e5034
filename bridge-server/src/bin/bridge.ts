/**
 * `concord-bridge`: run the relay (BRIDGE.md). Flags override environment variables, which
 * override the profile defaults. Binds 127.0.0.1:8787 unless told otherwise; put TLS and a second
 * rate limiter in a reverse proxy in front of it for real deployments.
 *
 *   npx tsx bridge-server/src/bin/bridge.ts --help
 */
import { parseArgs } from 'node:util';
import { type BridgeLimits, PROFILES, type ProfileName } from '../relay/config.ts';
import { startBridge } from '../relay/server.ts';

const OPTIONS = {
  host: { type: 'string', env: 'CONCORD_BRIDGE_HOST', def: '127.0.0.1', help: 'interface to bind' },
  port: { type: 'string', env: 'CONCORD_BRIDGE_PORT', def: '8787', help: 'TCP port (0 = any free port)' },
  'data-dir': {
    type: 'string',
    env: 'CONCORD_BRIDGE_DATA_DIR',
    def: './data',
    help: 'directory of bridge.sqlite',
  },
  store: {
    type: 'string',
    env: 'CONCORD_BRIDGE_STORE',
    def: 'sqlite',
    help: 'sqlite (one machine) | memory (tests) | redis (several nodes on one Redis)',
  },
  'redis-url': {
    type: 'string',
    env: 'CONCORD_REDIS_URL',
    def: '',
    help: 'Redis for --store redis, e.g. redis://127.0.0.1:6379 (run it with appendonly yes)',
  },
  'redis-prefix': {
    type: 'string',
    env: 'CONCORD_REDIS_PREFIX',
    def: 'concord:',
    help: 'prefix of every Redis key and channel (bridges sharing one Redis need different ones)',
  },
  'node-id': {
    type: 'string',
    env: 'CONCORD_BRIDGE_NODE_ID',
    def: '',
    help: 'name of this node in a Redis cluster (default host:port:pid)',
  },
  'sqlite-sync': {
    type: 'string',
    env: 'CONCORD_BRIDGE_SQLITE_SYNC',
    def: 'NORMAL',
    help: 'OFF | NORMAL | FULL',
  },
  profile: { type: 'string', env: 'CONCORD_BRIDGE_PROFILE', def: 'default', help: 'default | loadtest' },
  'log-level': {
    type: 'string',
    env: 'CONCORD_BRIDGE_LOG_LEVEL',
    def: 'info',
    help: 'trace|debug|info|warn|error|fatal|silent',
  },
  'public-origin': {
    type: 'string',
    env: 'CONCORD_BRIDGE_PUBLIC_ORIGIN',
    def: '',
    help: 'origin clients dial and sign, e.g. wss://bridge.example.com (default ws://host:port)',
  },
  'allowed-origins': {
    type: 'string',
    env: 'CONCORD_BRIDGE_ALLOWED_ORIGINS',
    def: '*',
    help: 'comma-separated Origin allowlist, e.g. chrome-extension://<id> (* = any)',
  },
  'deny-missing-origin': {
    type: 'boolean',
    env: 'CONCORD_BRIDGE_DENY_MISSING_ORIGIN',
    def: 'false',
    help: 'refuse upgrades without an Origin header (Node clients send none)',
  },
  'trust-proxy': {
    type: 'boolean',
    env: 'CONCORD_BRIDGE_TRUST_PROXY',
    def: 'false',
    help: 'take client IPs from X-Forwarded-For (only behind your proxy)',
  },
  'max-connections-per-ip': {
    type: 'string',
    env: 'CONCORD_BRIDGE_MAX_CONNECTIONS_PER_IP',
    def: String(PROFILES.default.maxConnectionsPerIp),
    help: 'concurrent connections from one client IP on this node (the loadtest profile lifts it)',
  },
  limit: {
    type: 'string',
    env: 'CONCORD_BRIDGE_LIMITS',
    def: '',
    help: 'override limits: name=value[,name=value] (numbers; see the list below), repeatable',
    multiple: true,
  },
  help: { type: 'boolean', env: '', def: 'false', help: 'show this help' },
} as const;

function usage(): string {
  const lines = [
    'Usage: npx tsx bridge-server/src/bin/bridge.ts [options]',
    '',
    'Options (flag / env var, default):',
  ];
  for (const [name, o] of Object.entries(OPTIONS)) {
    const flag = o.type === 'boolean' ? `--${name}` : `--${name} <v>`;
    lines.push(`  ${flag.padEnd(26)} ${o.help}`);
    if (o.env) lines.push(`  ${''.padEnd(26)} env ${o.env}, default ${o.def === '' ? '(none)' : o.def}`);
  }
  lines.push('', 'Limits (--limit name=value), default profile values:');
  for (const [k, v] of Object.entries(PROFILES.default)) {
    lines.push(
      `  ${k.padEnd(24)} ${typeof v === 'object' ? `${v.ratePerSec}/s burst ${v.burst} (set ${k}.ratePerSec / ${k}.burst)` : v}`,
    );
  }
  lines.push('', 'Endpoints: ws://host:port/v1 (subprotocol concord-bridge.v1), /healthz, /readyz, /metrics');
  return lines.join('\n');
}

function parseLimits(specs: string[]): Partial<BridgeLimits> {
  const out: Record<string, unknown> = {};
  const base = PROFILES.default as Record<string, unknown>;
  for (const spec of specs.flatMap((s) => s.split(',')).filter(Boolean)) {
    const [key, raw] = spec.split('=');
    const n = Number(raw);
    if (key === undefined || raw === undefined || !Number.isFinite(n)) throw new Error(`bad --limit ${spec}`);
    const [name, sub] = key.split('.');
    if (name === undefined || !(name in base)) throw new Error(`unknown limit ${key}`);
    if (sub !== undefined) {
      const cur = (out[name] ?? { ...(base[name] as object) }) as Record<string, number>;
      if (!(sub in cur)) throw new Error(`unknown limit ${key}`);
      cur[sub] = n;
      out[name] = cur;
    } else {
      if (typeof base[name] !== 'number') throw new Error(`limit ${name} needs .ratePerSec or .burst`);
      out[name] = n;
    }
  }
  return out as Partial<BridgeLimits>;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: Object.fromEntries(
      Object.entries(OPTIONS).map(([k, o]) => [
        k,
        { type: o.type, ...('multiple' in o ? { multiple: true } : {}) },
      ]),
    ) as Record<string, { type: 'string' | 'boolean'; multiple?: boolean }>,
    allowPositionals: false,
  });
  if (values.help) {
    process.stdout.write(`${usage()}\n`);
    return;
  }
  const get = (name: keyof typeof OPTIONS): string => {
    const v = values[name];
    if (v !== undefined && !Array.isArray(v)) return String(v);
    const o = OPTIONS[name];
    return (o.env && process.env[o.env]) || o.def;
  };
  const profile = get('profile') as ProfileName;
  if (!(profile in PROFILES)) throw new Error(`unknown profile ${profile}`);
  const limitSpecs = [
    ...((values.limit as string[] | undefined) ?? []),
    process.env.CONCORD_BRIDGE_LIMITS ?? '',
  ];
  // The flag (or its env var) wins over the profile; otherwise the profile decides.
  const perIpRaw =
    values['max-connections-per-ip'] ?? process.env.CONCORD_BRIDGE_MAX_CONNECTIONS_PER_IP ?? undefined;
  const perIp = perIpRaw === undefined ? undefined : Number(perIpRaw);
  if (perIp !== undefined && !(Number.isSafeInteger(perIp) && perIp >= 1))
    throw new Error('--max-connections-per-ip must be a whole number ≥ 1');
  const store = get('store');
  if (store !== 'sqlite' && store !== 'memory' && store !== 'redis')
    throw new Error('--store must be sqlite, memory or redis');
  const redisUrl = get('redis-url');
  if (store === 'redis' && !/^rediss?:\/\//.test(redisUrl))
    throw new Error('--store redis needs --redis-url redis://host:port (or CONCORD_REDIS_URL)');
  const sync = get('sqlite-sync').toUpperCase();
  if (sync !== 'OFF' && sync !== 'NORMAL' && sync !== 'FULL')
    throw new Error('--sqlite-sync must be OFF, NORMAL or FULL');
  const origins = get('allowed-origins')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  const bridge = await startBridge({
    host: get('host'),
    port: Number(get('port')),
    dataDir: get('data-dir'),
    store,
    sqliteSync: sync,
    ...(store === 'redis' ? { redisUrl, redisPrefix: get('redis-prefix') } : {}),
    ...(get('node-id') ? { nodeId: get('node-id') } : {}),
    profile,
    limits: { ...parseLimits(limitSpecs), ...(perIp === undefined ? {} : { maxConnectionsPerIp: perIp }) },
    logLevel: get('log-level'),
    ...(get('public-origin') ? { publicOrigin: get('public-origin') } : {}),
    allowedOrigins: origins,
    allowMissingOrigin: get('deny-missing-origin') !== 'true',
    trustProxy: get('trust-proxy') === 'true',
  });
  process.stderr.write(`concord bridge listening on ${bridge.url} (origin ${bridge.origin})\n`);
  let stopping = false;
  const stop = (sig: string) => {
    if (stopping) return;
    stopping = true;
    process.stderr.write(`${sig}: shutting down\n`);
    bridge.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
}

main().catch((err: unknown) => {
  process.stderr.write(`concord-bridge: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(2);
});
