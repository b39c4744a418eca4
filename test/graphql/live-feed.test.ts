import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AttemptEvent } from '../../src/api/dependencies.ts';
import { API_TOKEN, sseReader, startGraphqlFixture, waitFor, type GraphqlServer, type Pipeline } from './harness.ts';

function attempt(logId: number, eventName: string, success: boolean): AttemptEvent {
  return {
    logId,
    uuid: `00000000-0000-4000-8000-${String(logId).padStart(12, '0')}`,
    subscriptionId: 7,
    eventName,
    success,
    deathCount: success ? 0 : 1,
    chainStatus: success ? 'delivered' : 'retrying',
    created: new Date(Date.UTC(2026, 10, 27, 12, 0, logId)),
  };
}

describe('GraphQL live feed of delivery attempts (subscription over SSE)', () => {
  let server: GraphqlServer;
  let pipeline: Pipeline;
  let close: () => Promise<void>;

  beforeAll(async () => {
    ({ server, pipeline, close } = await startGraphqlFixture());
  });
  afterAll(async () => close());

  const open = (query: string, signal: AbortSignal) =>
    fetch(server.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'text/event-stream', authorization: `Bearer ${API_TOKEN}` },
      body: JSON.stringify({ query }),
      signal,
    });

  it('streams attempts as they are logged and stops listening when the client goes away', async () => {
    const abort = new AbortController();
    const response = await open('subscription { deliveryAttempts { uuid success eventName chainStatus created } }', abort.signal);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toContain('text/event-stream');
    const stream = sseReader(response);
    await waitFor('the feed to listen', () => pipeline.listeners.size === 1);

    const first = attempt(1, 'sales.order.created', false);
    const second = attempt(2, 'customer.created', true);
    pipeline.emit(first);
    pipeline.emit(second);
    expect(await stream.next()).toEqual({
      data: { deliveryAttempts: { uuid: first.uuid, success: false, eventName: 'sales.order.created', chainStatus: 'retrying', created: '2026-11-27T12:00:01.000Z' } },
    });
    expect(await stream.next()).toEqual({
      data: { deliveryAttempts: { uuid: second.uuid, success: true, eventName: 'customer.created', chainStatus: 'delivered', created: '2026-11-27T12:00:02.000Z' } },
    });

    abort.abort();
    await waitFor('the feed to stop listening after the client left', () => pipeline.listeners.size === 0);
  });

  it('filters by event name', async () => {
    const abort = new AbortController();
    const response = await open('subscription { deliveryAttempts(eventName: "customer.created") { logId eventName } }', abort.signal);
    const stream = sseReader(response);
    await waitFor('the feed to listen', () => pipeline.listeners.size === 1);
    pipeline.emit(attempt(10, 'sales.order.created', true));
    pipeline.emit(attempt(11, 'customer.created', true));
    pipeline.emit(attempt(12, 'sales.order.created', false));
    pipeline.emit(attempt(13, 'customer.created', false));
    expect(await stream.next()).toEqual({ data: { deliveryAttempts: { logId: 11, eventName: 'customer.created' } } });
    expect(await stream.next()).toEqual({ data: { deliveryAttempts: { logId: 13, eventName: 'customer.created' } } });
    abort.abort();
    await waitFor('the feed to stop listening', () => pipeline.listeners.size === 0);
  });

  it('ends open feeds when the handler is closed, so shutdown is not held up', async () => {
    const response = await open('subscription { deliveryAttempts { logId } }', new AbortController().signal);
    const stream = sseReader(response);
    await waitFor('the feed to listen', () => pipeline.listeners.size === 1);
    pipeline.emit(attempt(20, 'sales.order.created', true));
    expect(await stream.next()).toEqual({ data: { deliveryAttempts: { logId: 20 } } });
    server.closeFeeds();
    expect(await stream.end()).toEqual(['complete']);
    expect(pipeline.listeners.size).toBe(0);
  });
});
