/**
 * `wc-relay`: a WalletConnect-compatible relay for tests and demos (bridge-server/README.md,
 * "WalletConnect relay"). In memory, binds 127.0.0.1; prints `wc-relay listening on <url>` on stdout
 * once it accepts connections. Give clients that URL as `relayUrl`.
 *
 *   npm run wc-relay -- --port 8789
 */
import { parseArgs } from 'node:util';
import pino from 'pino';
import { startWcRelay } from '../wc-relay/server.ts';

const HELP = `usage: wc-relay [--host 127.0.0.1] [--port 8789] [--public-url URL]... [--project-id ID]...
                [--log-level info]
  --host         interface to bind (default 127.0.0.1; this relay is for tests and demos)
  --port         TCP port (default 8789; 0 = any free port)
  --public-url   another URL clients use to reach the relay (accepted as JWT audience)
  --project-id   admit only these WalletConnect project ids (default: any)
  --log-level    trace|debug|info|warn|error|fatal|silent (default info, to stderr)`;

const { values } = parseArgs({
  options: {
    host: { type: 'string', default: '127.0.0.1' },
    port: { type: 'string', default: '8789' },
    'public-url': { type: 'string', multiple: true, default: [] },
    'project-id': { type: 'string', multiple: true },
    'log-level': { type: 'string', default: 'info' },
    help: { type: 'boolean', default: false },
  },
});

if (values.help) {
  process.stdout.write(`${HELP}\n`);
  process.exit(0);
}
const port = Number(values.port);
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  process.stderr.write(`wc-relay: --port must be an integer 0..65535, got ${JSON.stringify(values.port)}\n`);
  process.exit(2);
}

const log = pino({ level: values['log-level'] }, pino.destination(2));
const relay = await startWcRelay({
  host: values.host,
  port,
  publicUrls: values['public-url'],
  ...(values['project-id'] ? { projectIds: values['project-id'] } : {}),
  log,
});
process.stdout.write(`wc-relay listening on ${relay.url}\n`);

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    void relay.close().then(() => process.exit(0));
  });
}
