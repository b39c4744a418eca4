import { afterAll, beforeAll, expect, it } from 'vitest';
import { createHttpServer, type HttpServer } from '../../src/api/http-server.ts';
import { mountGraphqlAndConsole } from '../../src/api/mount-extras.ts';
import { encodeRetryMessage, encodeTriggerMessage } from '../../src/queue/publish.ts';
import { describeWith } from '../support/services.ts';
import { API_TOKEN, startReceiver, startSidecar, waitFor, type TestSidecar } from '../support/sidecar.ts';

/*
 * Redrive against the whole sidecar on RabbitMQ and MariaDB, over REST and GraphQL as an operator calls them: a
 * parked trigger and a parked retry go back on their queues, leave the parked list and are delivered; a trigger that
 * is still bad is parked again under a new id.
 */

describeWith(['rabbitmq', 'mariadb'], 'redriving parked messages on RabbitMQ', () => {
  let sidecar: TestSidecar;
  let http: HttpServer;
  let endLiveFeeds: (() => void) | undefined;
  let receiver: Awaited<ReturnType<typeof startReceiver>>;
  let subscriptionId: number;

  const call = async (method: string, path: string, body: unknown) => {
    const response = await fetch(`${http.url}${path}`, { method, headers: { authorization: `Bearer ${API_TOKEN}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
    return { status: response.status, json: (await response.json()) as Record<string, unknown> };
  };

  beforeAll(async () => {
    receiver = await startReceiver(() => ({ status: 200, body: '{"received":true}' }));
    sidecar = await startSidecar({ mode: 'amqp' });
    subscriptionId = (await sidecar.app.store.subscriptions.create({ eventName: 'sales.order.created', recipientUrl: receiver.url, verificationToken: 't', metadata: 'http' })).id;
    http = createHttpServer({ deps: sidecar.app.deps, port: 0, host: '127.0.0.1', metrics: sidecar.app.metrics });
    endLiveFeeds = mountGraphqlAndConsole(sidecar.app.deps, http);
    await http.listen();
  });

  afterAll(async () => {
    endLiveFeeds?.();
    await http?.close();
    await sidecar?.close();
    await receiver?.close();
  });

  it('REST: the given ids go back and are delivered; a still-bad trigger is parked again', async () => {
    const { parked } = sidecar.app.store;
    const trigger = await parked.park({ queue: 'event.trigger', body: encodeTriggerMessage('sales.order.created', { id: 41 }, '1'), reason: 'Magento answered 503' });
    const bad = await parked.park({ queue: 'event.trigger', body: '["no.such.event","{}",1]', reason: 'Unknown event "no.such.event"' });
    const res = await call('POST', '/rest/V1/async_events/parked/redrive', { ids: [trigger, bad, 777_777] });
    expect(res.status).toBe(200);
    expect(res.json).toEqual({ redriven: 2, ids: [trigger, bad], unknown: [777_777], failed: [] });
    expect(await parked.get([trigger, bad])).toEqual([]);
    await waitFor('the redriven trigger delivered', () => receiver.requests.length === 1);
    expect(JSON.parse(receiver.requests[0]?.body ?? '{}')).toMatchObject({ type: 'sales.order.created', source: '1' });
    const again = await waitFor('the unknown event parked again', async () => (await parked.list(5)).find((p) => p.body === '["no.such.event","{}",1]'));
    expect(again.id).toBeGreaterThan(bad);
    expect(again.reason).toMatch(/no\.such\.event/);
    await parked.remove([again.id]);
  });

  it('GraphQL: redriveParked(all: true) puts a parked retry back on event.failover.retry under its UUID', async () => {
    const uuid = '0b6c3f1e-6d5a-4a8e-9a57-2f1f2d3c4b5a';
    const content = JSON.stringify({ specversion: '1.0', id: uuid, source: '1', type: 'sales.order.created', datacontenttype: 'application/json', data: { entity_id: 41 } });
    const retry = await sidecar.app.store.parked.park({ queue: 'event.failover.retry', body: encodeRetryMessage({ subscription_id: subscriptionId, death_count: 1, content, uuid }), reason: 'parked by hand' });
    const delivered = receiver.requests.length;
    const res = await call('POST', '/graphql', { query: 'mutation { redriveParked(all: true) { redriven ids unknown failed { id message } } }' });
    expect(res.json).toEqual({ data: { redriveParked: { redriven: 1, ids: [String(retry)], unknown: [], failed: [] } } });
    await waitFor('the redriven retry delivered', () => receiver.requests.length > delivered);
    expect(receiver.requests.at(-1)?.headers['webhook-id']).toBe(uuid);
    expect(await sidecar.app.store.parked.count()).toBe(0);
  });
});
