/**
 * Admission at the upgrade: the relay-auth JWT (did:key Ed25519, EdDSA JWS) and projectId from the
 * query. Every refusal is an HTTP 401 naming the reason; a valid JWT is admitted.
 */
import { ed25519 } from '@noble/curves/ed25519.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningWcRelay, startWcRelay } from '../../src/wc-relay/index.ts';
import { didKey, mintJwt, RelayClient, refusedUpgrade, relayQuery } from './client.ts';

let relay: RunningWcRelay;
beforeAll(async () => {
  relay = await startWcRelay({ projectIds: ['concord-test'] });
});
afterAll(() => relay.close());

async function refused(url: string, reason: RegExp): Promise<void> {
  const r = await refusedUpgrade(url);
  expect(r.status).toBe(401);
  expect(r.body).toMatch(reason);
}

describe('wc-relay auth', () => {
  it('admits a valid JWT for this relay, on 127.0.0.1 or localhost', async () => {
    const c = await RelayClient.connect(relay.url);
    expect(c.clientId).toMatch(/^did:key:z/);
    await c.close();
    const { jwt } = mintJwt({ aud: `ws://localhost:${relay.port}` });
    await refusedUpgrade(relayQuery(relay.url, jwt)).then(
      () => expect.fail('a JWT for ws://localhost:<port> must be admitted'),
      (e: Error) => expect(e.message).toBe('the relay accepted the connection'),
    );
  });

  it('refuses a missing auth or projectId, or a projectId not allowed', async () => {
    await refused(`${relay.url}/?projectId=concord-test`, /missing auth/);
    const { jwt } = mintJwt({ aud: relay.url });
    await refused(`${relay.url}/?auth=${jwt}`, /projectId/);
    await refused(relayQuery(relay.url, jwt, 'someone-else'), /projectId is not allowed/);
  });

  it('refuses a JWT whose signature does not verify for its iss', async () => {
    const other = didKey(ed25519.getPublicKey(ed25519.utils.randomSecretKey()));
    const { jwt } = mintJwt({ aud: relay.url, claimIss: other });
    await refused(relayQuery(relay.url, jwt), /signature does not verify/);
    // A payload changed after signing.
    const good = mintJwt({ aud: relay.url }).jwt.split('.');
    const forged = mintJwt({ aud: relay.url, ttlSeconds: 999_999 }).jwt.split('.')[1];
    await refused(relayQuery(relay.url, `${good[0]}.${forged}.${good[2]}`), /signature does not verify/);
  });

  it('refuses a JWT for another relay, expired, from the future, or not EdDSA', async () => {
    await refused(
      relayQuery(relay.url, mintJwt({ aud: 'wss://relay.walletconnect.org' }).jwt),
      /aud .* is not this relay/,
    );
    await refused(
      relayQuery(relay.url, mintJwt({ aud: relay.url, iatMs: Date.now() - 2 * 86_400_000 }).jwt),
      /expired/,
    );
    await refused(
      relayQuery(relay.url, mintJwt({ aud: relay.url, iatMs: Date.now() + 3_600_000 }).jwt),
      /future/,
    );
    await refused(relayQuery(relay.url, mintJwt({ aud: relay.url, alg: 'HS256' }).jwt), /alg: EdDSA/);
    await refused(relayQuery(relay.url, 'a.b'), /not a compact JWT/);
    await refused(relayQuery(relay.url, mintJwt({ aud: relay.url, claimIss: 'did:key:zABC' }).jwt), /iss/);
  });

  it('serves nothing but the relay path', async () => {
    const { jwt } = mintJwt({ aud: relay.url });
    const r = await refusedUpgrade(`${relay.url}/v1?auth=${jwt}&projectId=concord-test`);
    expect(r.status).toBe(404);
  });
});
