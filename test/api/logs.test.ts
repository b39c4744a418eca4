import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MagentoErrorBody } from '../../src/api/api-error.ts';
import { renderMessage } from '../../src/api/api-error.ts';
import type { SearchHit } from '../../src/api/dependencies.ts';
import { newSubscription, SECRET_TOKEN, startHarness, type Harness } from './harness.ts';

/* Our routes beyond upstream: log search, trace, replay (one and by query), publish, sinks, parked, CSV. */

describe('REST delivery log and operations', () => {
  let h: Harness;
  let subscriptionId: number;
  const uuid = randomUUID();
  const payload = '{"specversion":"1.0","id":"x","data":{"entity_id":"7","note":"a, \\"quoted\\" line"}}';

  beforeAll(async () => {
    h = await startHarness({ replayLimit: 3 });
    subscriptionId = ((await h.request('POST', '/rest/V1/async_event', { body: newSubscription() })).json as { subscription_id: number }).subscription_id;
    await h.store.log.openChain({ uuid, subscriptionId, eventName: 'sales.order.created', storeId: '1' });
    await h.store.log.recordAttempt({ uuid, subscriptionId, eventName: 'sales.order.created', storeId: '1', success: false, responseData: 'HTTP 503', serializedData: payload, chainStatus: 'retrying', deathCount: 1, nextAttemptAt: new Date(Date.now() + 1000) });
    await h.store.log.recordAttempt({ uuid, subscriptionId, eventName: 'sales.order.created', storeId: '1', success: true, responseData: 'HTTP 200', serializedData: payload, chainStatus: 'delivered', deathCount: 1, nextAttemptAt: null });
    const at = new Date(Date.UTC(2026, 0, 2, 3, 4, 5));
    const hit = (n: number, id: string, success: boolean, responseData = `r${n}`): SearchHit => ({ logId: n, uuid: id, eventName: 'sales.order.created', success, created: at, subscriptionId, recipientUrl: 'https://receiver.example.com/hook', responseData });
    const other = randomUUID();
    h.hits = [
      hit(1, uuid, false, 'HTTP 503'),
      hit(2, uuid, true, 'line one\r\nline "two", with comma'),
      hit(3, other, false),
      hit(4, randomUUID(), false),
      hit(5, other, false),
    ];
  });
  afterAll(async () => {
    for (const body of h.bodies) expect(body).not.toContain(SECRET_TOKEN);
    await h.close();
  });

  it('GET /V1/async_events/logs pages through the search with log fields', async () => {
    const res = await h.request('GET', '/rest/V1/async_events/logs?query=success:false&pageSize=2&currentPage=2');
    expect(res.status, res.text).toBe(200);
    expect(h.calls.search.at(-1)).toEqual({ query: 'success:false', size: 2, from: 2 });
    expect(res.json).toMatchObject({ total_count: 4, page_size: 2, current_page: 2, next_cursor: null });
    const items = (res.json as { items: Record<string, unknown>[] }).items;
    expect(items.map((i) => i.log_id)).toEqual([3, 1]);
    expect(items[0]).toEqual({ log_id: 3, uuid: h.hits[2]?.uuid, event_name: 'sales.order.created', success: false, created: '2026-01-02 03:04:05', subscription_id: subscriptionId, recipient_url: 'https://receiver.example.com/hook', response_data: 'r3' });
  });

  it('GET /V1/async_events/logs pages at any depth with the cursor beside currentPage', async () => {
    const first = await h.request('GET', '/rest/V1/async_events/logs?query=success:false&pageSize=2');
    expect(first.json).toMatchObject({ current_page: 1, next_cursor: 4 });
    const second = await h.request('GET', '/rest/V1/async_events/logs?query=success:false&pageSize=2&cursor=4');
    expect(h.calls.search.at(-1)).toEqual({ query: 'success:false', size: 2, beforeLogId: 4 });
    expect(second.json).toMatchObject({ current_page: null, next_cursor: null, total_count: 4 });
    expect((second.json as { items: { log_id: number }[] }).items.map((i) => i.log_id)).toEqual([3, 1]);
    const both = await h.request('GET', '/rest/V1/async_events/logs?cursor=4&currentPage=2');
    expect(both.status).toBe(400);
    expect(both.text).toContain('cursor');
  });

  it('GET /V1/async_events/logs/:uuid traces the chain, every attempt and the payload', async () => {
    const res = await h.request('GET', `/rest/V1/async_events/logs/${uuid}`);
    expect(res.status, res.text).toBe(200);
    const body = res.json as { chain: Record<string, unknown>; attempts: Record<string, unknown>[]; payload_pretty: string };
    expect(body.chain).toMatchObject({ subscription_id: subscriptionId, event_name: 'sales.order.created', store_id: '1', status: 'delivered', attempts: 2, death_count: 1 });
    expect(body.attempts.map((a) => [a.success, a.response_data])).toEqual([[false, 'HTTP 503'], [true, 'HTTP 200']]);
    expect(body.attempts[0]?.serialized_data).toBe(payload);
    expect(body.attempts[0]?.recipient_url).toBe('https://receiver.example.com/hook');
    expect(body.payload_pretty).toBe(JSON.stringify(JSON.parse(payload), null, 2));
  });

  it('trace of an unknown uuid is 404', async () => {
    const res = await h.request('GET', `/rest/V1/async_events/logs/${randomUUID()}`);
    expect(res.status).toBe(404);
    expect((res.json as MagentoErrorBody).message).toContain('No delivery log with uuid');
  });

  it('POST /V1/async_events/logs/:uuid/replay replays one chain; unknown uuid is 404', async () => {
    const res = await h.request('POST', `/rest/V1/async_events/logs/${uuid}/replay`);
    expect(res.status, res.text).toBe(200);
    expect(res.json).toEqual({ uuid, subscription_id: subscriptionId });
    expect(h.calls.replay.at(-1)).toBe(uuid);
    const missing = randomUUID();
    expect((await h.request('POST', `/rest/V1/async_events/logs/${missing}/replay`)).status).toBe(404);
  });

  it('POST /V1/async_events/replay replays each distinct matching uuid once and reports failures', async () => {
    h.calls.replay.length = 0;
    const res = await h.request('POST', '/rest/V1/async_events/replay', { body: { query: 'success:false' } });
    expect(res.status, res.text).toBe(200);
    const body = res.json as { count: number; replayed: { uuid: string }[]; failed: { uuid: string; message: string }[] };
    const distinct = [...new Set(h.hits.filter((x) => !x.success).map((x) => x.uuid))];
    expect(h.calls.replay.sort()).toEqual([...distinct].sort());
    // Only `uuid` has a chain in the store; the fake replay refuses the others, which are reported, not hidden.
    expect(body.replayed.map((r) => r.uuid)).toEqual([uuid]);
    expect(body.failed.map((f) => f.uuid).sort()).toEqual(distinct.filter((d) => d !== uuid).sort());
    expect(body.count).toBe(1);
  });

  it('refuses, replaying nothing, when the query matches more chains than the limit', async () => {
    h.calls.replay.length = 0;
    const saved = h.hits;
    h.hits = [...saved, ...[1, 2, 3].map((n) => ({ ...saved[0]!, logId: 100 + n, uuid: randomUUID() }))];
    const res = await h.request('POST', '/rest/V1/async_events/replay', { body: { query: 'success:false' } });
    h.hits = saved;
    expect(res.status).toBe(400);
    const body = res.json as MagentoErrorBody;
    expect(renderMessage(body.message, body.parameters)).toContain('more than 3 chains');
    expect(h.calls.replay).toEqual([]);
  });

  it('POST /V1/async_events/publish publishes as the PHP publisher would', async () => {
    const res = await h.request('POST', '/rest/V1/async_events/publish', { body: { event_name: 'sales.order.created', arguments: { id: 42 }, store_id: '2' } });
    expect(res.status, res.text).toBe(200);
    expect(res.json).toEqual({ published: true, event_name: 'sales.order.created', store_id: '2' });
    expect(h.calls.publish.at(-1)).toEqual({ eventName: 'sales.order.created', args: { id: 42 }, storeId: '2' });
    const viaAll = await h.request('POST', '/rest/all/V1/async_events/publish', { body: { event_name: 'example.event', arguments: {} } });
    expect(viaAll.status).toBe(200);
    expect(h.calls.publish.at(-1)?.storeId).toBe('0');
    expect((await h.request('POST', '/rest/V1/async_events/publish', { body: { event_name: 'example.event', arguments: { a: [1] } } })).status).toBe(200);
    expect(h.calls.publish.at(-1)).toEqual({ eventName: 'example.event', args: { a: [1] }, storeId: '0' });
  });

  it('GET /V1/async_events/sinks offers the usable sinks; all=1 lists the others with the reason', async () => {
    const res = await h.request('GET', '/rest/V1/async_events/sinks');
    expect(res.status).toBe(200);
    expect(res.json).toEqual([{ key: 'http', usable: true }]);
    const all = await h.request('GET', '/rest/V1/async_events/sinks?all=1');
    expect(all.json).toEqual([{ key: 'http', usable: true }, { key: 'eventbridge', usable: false, reason: 'no AWS credentials' }]);
  });

  it('GET /V1/async_events/parked lists parked messages with their reason', async () => {
    await h.store.parked.park({ queue: 'event.trigger', body: 'not json', reason: 'body is not JSON' });
    const res = await h.request('GET', '/rest/V1/async_events/parked?limit=10');
    expect(res.status, res.text).toBe(200);
    const body = res.json as { items: { queue: string; body: string; reason: string; created: string }[]; total_count: number };
    expect(body.total_count).toBe(1);
    expect(body.items[0]).toMatchObject({ queue: 'event.trigger', body: 'not json', reason: 'body is not JSON' });
    expect(body.items[0]?.created).toMatch(/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/);
  });

  it('POST /V1/async_events/parked/redrive puts the given ids back and reports the unknown ones', async () => {
    await h.store.parked.remove((await h.store.parked.list(1000)).map((p) => p.id));
    const trigger = '["sales.order.created","{\\"id\\":5}","1"]';
    const a = await h.store.parked.park({ queue: 'event.trigger', body: trigger, reason: 'Magento answered 503' });
    const b = await h.store.parked.park({ queue: 'event.trigger', body: 'not json', reason: 'body is not JSON' });
    const c = await h.store.parked.park({ queue: 'some.other.queue', body: '{}', reason: 'from elsewhere' });
    h.calls.requeue.length = 0;

    const some = await h.request('POST', '/rest/V1/async_events/parked/redrive', { body: { ids: [a, String(c), 999_999] } });
    expect(some.status, some.text).toBe(200);
    expect(some.json).toEqual({
      redriven: 1,
      ids: [a],
      unknown: [999_999],
      failed: [{ id: c, message: expect.stringMatching(/queue "some\.other\.queue".*cannot be redriven/) }],
    });
    expect(h.calls.requeue).toEqual([{ queue: 'event.trigger', body: trigger }]);
    expect((await h.store.parked.list(10)).map((p) => p.id).sort()).toEqual([b, c]);

    const none = await h.request('POST', '/rest/V1/async_events/parked/redrive', { body: { ids: [a] } });
    expect(none.json).toEqual({ redriven: 0, ids: [], unknown: [a], failed: [] });

    const all = await h.request('POST', '/rest/V1/async_events/parked/redrive', { body: {} });
    expect(all.status, all.text).toBe(200);
    expect(all.json).toMatchObject({ redriven: 1, ids: [b], unknown: [], failed: [{ id: c }] });
    expect(h.calls.requeue.at(-1)).toEqual({ queue: 'event.trigger', body: 'not json' });
    expect((await h.store.parked.list(10)).map((p) => p.id)).toEqual([c]);
  });

  it('POST /V1/async_events/parked/redrive needs the admin token', async () => {
    const res = await h.request('POST', '/rest/V1/async_events/parked/redrive', { body: {}, token: null });
    expect(res.status).toBe(401);
    expect(await h.store.parked.count()).toBeGreaterThan(0);
  });

  it('GET /V1/async_events/search.csv streams every page as RFC 4180 CSV', async () => {
    h.calls.search.length = 0;
    const res = await h.request('GET', '/rest/V1/async_events/search.csv');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/csv; charset=utf-8');
    expect(res.headers.get('content-disposition')).toContain('attachment');
    const at = '2026-01-02 03:04:05';
    const url = 'https://receiver.example.com/hook';
    expect(res.text).toBe(
      'log_id,uuid,event_name,success,created,subscription_id,recipient_url,response_data,sink\r\n' +
        [...h.hits]
          .reverse()
          .map((x) => `${x.logId},${x.uuid},sales.order.created,${x.success ? 1 : 0},${at},${subscriptionId},${url},${x.logId === 2 ? '"line one\r\nline ""two"", with comma"' : x.responseData},\r\n`)
          .join(''),
    );
    // Page size 2 in the harness: five rows take three keyset pages (plus the up-front syntax probe).
    expect(h.calls.search.filter((c) => c.size === 2).map((c) => c.beforeLogId)).toEqual([undefined, 4, 2]);
  });
});
