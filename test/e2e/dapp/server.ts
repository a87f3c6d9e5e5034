/**
 * Builds the test dApp page (page.ts with viem, mipd and ethers) into one ES module and serves it
 * over HTTP on 127.0.0.1 on a free port (reachable as http://127.0.0.1:<port> and, as a second
 * origin, http://localhost:<port>).
 */
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { build, type Rollup } from 'vite';

export interface DappServer {
  port: number;
  close(): Promise<void>;
}

export async function startDappServer(): Promise<DappServer> {
  const out = (await build({
    configFile: false,
    logLevel: 'warn',
    publicDir: false,
    build: {
      write: false,
      target: 'chrome116',
      minify: false,
      modulePreload: false,
      rolldownOptions: {
        input: join(import.meta.dirname, 'page.ts'),
        output: { format: 'es', entryFileNames: 'page.js', codeSplitting: false },
      },
    },
  })) as Rollup.RollupOutput;
  const chunk = out.output.find(
    (c): c is Rollup.OutputChunk => c.type === 'chunk' && c.fileName === 'page.js',
  );
  if (chunk === undefined) throw new Error('the dApp page did not build');
  const html = readFileSync(join(import.meta.dirname, 'index.html'), 'utf8');
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (path === '/' || path === '/index.html') {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(html);
    } else if (path === '/page.js') {
      res.writeHead(200, { 'content-type': 'text/javascript; charset=utf-8' }).end(chunk.code);
    } else {
      res.writeHead(404).end();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
