/**
 * JSON-RPC framing of the local WalletConnect relay over a real ws server: every malformed frame
 * gets a specific JSON-RPC error (and the socket survives it), until too many close the socket.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningWcRelay, startWcRelay, WC_RELAY_ERRORS } from '../../src/wc-relay/index.ts';
import { RelayClient, topic } from './client.ts';

let relay: RunningWcRelay;
beforeAll(async () => {
  relay = await startWcRelay({ limits: { maxMessageChars: 100, maxBatch: 3 } });
});
afterAll(() => relay.close());

describe('wc-relay framing', () => {
  it('answers each malformed frame with its JSON-RPC error and keeps serving', async () => {
    const c = await RelayClient.connect(relay.url);
    const notJson = await c.sendRaw('{"id": 1, oops', null);
    expect(notJson.error).toMatchObject({
      code: WC_RELAY_ERRORS.PARSE_ERROR,
      message: 'frame is not valid JSON',
    });

    const batch = await c.sendRaw('[]', null);
    expect(batch.error?.code).toBe(WC_RELAY_ERRORS.INVALID_REQUEST);
    expect(batch.error?.message).toMatch(/batch/);

    // The id is salvaged so the client can match the error to its request.
    const noVersion = await c.sendRaw(JSON.stringify({ id: 7, method: 'irn_subscribe', params: {} }), 7);
    expect(noVersion.error?.code).toBe(WC_RELAY_ERRORS.INVALID_REQUEST);
    expect(noVersion.error?.message).toMatch(/jsonrpc/);

    const unknown = await c.request('irn_nope', {});
    expect(unknown.error).toMatchObject({
      code: WC_RELAY_ERRORS.METHOD_NOT_FOUND,
      message: 'unknown method irn_nope',
    });

    const badTopic = await c.request('irn_subscribe', { topic: 'ABC' });
    expect(badTopic.error?.code).toBe(WC_RELAY_ERRORS.INVALID_PARAMS);
    expect(badTopic.error?.message).toMatch(
      /^irn_subscribe params\.topic: must be 32 bytes of lowercase hex/,
    );

    const noParams = await c.request('irn_publish', undefined);
    expect(noParams.error?.code).toBe(WC_RELAY_ERRORS.INVALID_PARAMS);
    expect(noParams.error?.message).toMatch(/^irn_publish params: Invalid type/);

    const badTtl = await c.request('irn_publish', { topic: topic(1), message: 'm', ttl: 0 });
    expect(badTtl.error?.code).toBe(WC_RELAY_ERRORS.INVALID_PARAMS);
    expect(badTtl.error?.message).toMatch(/params\.ttl/);

    const tooBig = await c.request('irn_publish', { topic: topic(1), message: 'x'.repeat(101), ttl: 300 });
    expect(tooBig.error?.code).toBe(WC_RELAY_ERRORS.PAYLOAD_TOO_LARGE);
    expect(tooBig.error?.message).toMatch(/longer than 100 characters/);

    const bigBatch = await c.request('irn_batchSubscribe', {
      topics: [topic(1), topic(2), topic(3), topic(4)],
    });
    expect(bigBatch.error?.code).toBe(WC_RELAY_ERRORS.INVALID_PARAMS);
    expect(bigBatch.error?.message).toMatch(/more than 3 items/);

    const binary = await c.sendRaw(Buffer.from([1, 2, 3]), null);
    expect(binary.error).toMatchObject({
      code: WC_RELAY_ERRORS.INVALID_REQUEST,
      message: 'binary frames are not supported',
    });

    // Still serving, and nothing was stored by the refused publishes.
    expect(await c.call('irn_fetchMessages', { topic: topic(1) })).toEqual({ messages: [], hasMore: false });
    expect(relay.core.mailboxes.size(topic(1))).toBe(0);
    await c.close();
  });

  it('closes a socket that keeps sending malformed frames (1008)', async () => {
    const c = await RelayClient.connect(relay.url);
    for (let i = 0; i < 20; i++) c.ws.send('not json');
    expect(await c.closed).toEqual({ code: 1008, reason: 'too many malformed frames' });
  });
});
