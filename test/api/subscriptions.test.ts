import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newSubscription, SECRET_TOKEN, startHarness, type Harness } from './harness.ts';

/* In the manner of upstream's Test/Api/AsyncEventRepositoryTest.php, over real HTTP and a real SQLite store. */

const DISPLAY_KEYS = ['event_name', 'recipient_url', 'status', 'store_id', 'subscribed_at', 'subscription_id'];

interface Display {
  subscription_id: number;
  event_name: string;
  recipient_url: string;
  status: boolean;
  subscribed_at: string;
  store_id: number;
}

describe('REST subscriptions (upstream routes)', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(async () => {
    // No response of the whole suite may carry the verification token.
    for (const body of h.bodies) expect(body).not.toContain(SECRET_TOKEN);
    await h.close();
  });

  async function create(overrides: Record<string, unknown> = {}): Promise<Display> {
    const res = await h.request('POST', '/rest/V1/async_event', { body: newSubscription(overrides) });
    expect(res.status, res.text).toBe(200);
    return res.json as Display;
  }

  it('POST creates an active subscription and answers with the display fields only', async () => {
    const before = Date.now();
    const created = await create();
    expect(Object.keys(created).sort()).toEqual(DISPLAY_KEYS);
    expect(created).toMatchObject({ event_name: 'sales.order.created', recipient_url: 'https://receiver.example.com/hook', status: true, store_id: 0 });
    expect(created.subscribed_at).toMatch(/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/);
    expect(Date.parse(`${created.subscribed_at.replace(' ', 'T')}Z`)).toBeGreaterThanOrEqual(Math.floor(before / 1000) * 1000);
    const stored = await h.store.subscriptions.get(created.subscription_id);
    expect(stored?.verificationToken).toBe(SECRET_TOKEN);
    expect(stored?.metadata).toBe('http');
  });

  it('GET /V1/async_event/:id returns subscription_id, event_name, recipient_url, status, subscribed_at, store_id and no token', async () => {
    const created = await create({ store_id: 3, event_name: 'customer.created' });
    const res = await h.request('GET', `/rest/V1/async_event/${created.subscription_id}`);
    expect(res.status).toBe(200);
    expect(res.json).toEqual(created);
    expect(res.json).not.toHaveProperty('verification_token');
    expect(res.json).not.toHaveProperty('metadata');
    expect(res.text).not.toContain(SECRET_TOKEN);
  });

  it('GET of a missing id is Magento\'s 404 NoSuchEntity', async () => {
    const res = await h.request('GET', '/rest/V1/async_event/987654');
    expect(res.status).toBe(404);
    expect(res.json).toEqual({ message: 'Async event with subscription ID %1 does not exist', parameters: [987654] });
  });

  it('GET /V1/async_events?searchCriteria= lists items with the same keys, search_criteria and total_count', async () => {
    const res = await h.request('GET', '/rest/V1/async_events?searchCriteria=');
    expect(res.status).toBe(200);
    const body = res.json as { items: Display[]; search_criteria: unknown; total_count: number };
    expect(body.search_criteria).toEqual({ filter_groups: [] });
    expect(body.total_count).toBe(body.items.length);
    expect(body.items.length).toBeGreaterThanOrEqual(2);
    for (const item of body.items) expect(Object.keys(item).sort()).toEqual(DISPLAY_KEYS);
    expect(res.text).not.toContain('verification_token');
  });

  describe('searchCriteria', () => {
    let ids: number[];
    beforeAll(async () => {
      // A fresh, recognisable set: three events × stores.
      const made = [
        await create({ event_name: 'example.event', store_id: 1, recipient_url: 'https://a.example.com/1' }),
        await create({ event_name: 'example.event', store_id: 2, recipient_url: 'https://b.example.com/2' }),
        await create({ event_name: 'example.event', store_id: 1, recipient_url: 'https://c.example.com/3', status: false }),
      ];
      ids = made.map((m) => m.subscription_id);
    });

    const f = (g: number, i: number, field: string, value: string, type?: string) =>
      `searchCriteria[filter_groups][${g}][filters][${i}][field]=${field}&searchCriteria[filter_groups][${g}][filters][${i}][value]=${encodeURIComponent(value)}` +
      (type ? `&searchCriteria[filter_groups][${g}][filters][${i}][condition_type]=${type}` : '');

    async function list(query: string) {
      const res = await h.request('GET', `/rest/V1/async_events?${query}`);
      expect(res.status, res.text).toBe(200);
      return res.json as { items: Display[]; total_count: number; search_criteria: Record<string, unknown> };
    }

    it('eq filter', async () => {
      const body = await list(f(0, 0, 'event_name', 'example.event'));
      expect(body.items.map((i) => i.subscription_id).sort()).toEqual(ids);
      expect(body.search_criteria).toEqual({ filter_groups: [{ filters: [{ field: 'event_name', value: 'example.event', condition_type: 'eq' }] }] });
    });

    it('filters in one group are OR-ed, groups are AND-ed', async () => {
      const body = await list(`${f(0, 0, 'store_id', '2')}&${f(0, 1, 'status', '0')}&${f(1, 0, 'event_name', 'example.event')}`);
      expect(body.items.map((i) => i.subscription_id).sort()).toEqual([ids[1], ids[2]]);
    });

    it('like, neq, in and gt condition types', async () => {
      expect((await list(f(0, 0, 'recipient_url', 'https://b.%', 'like'))).items.map((i) => i.subscription_id)).toEqual([ids[1]]);
      expect((await list(`${f(0, 0, 'event_name', 'example.event')}&${f(1, 0, 'store_id', '1', 'neq')}`)).items.map((i) => i.subscription_id)).toEqual([ids[1]]);
      expect((await list(f(0, 0, 'subscription_id', `${ids[0]},${ids[2]}`, 'in'))).items.map((i) => i.subscription_id).sort()).toEqual([ids[0], ids[2]]);
      expect((await list(f(0, 0, 'subscription_id', String(ids[0]), 'gt'))).items.map((i) => i.subscription_id).sort()).toEqual([ids[1], ids[2]]);
    });

    it('sort orders and paging; total_count counts every match', async () => {
      const base = `${f(0, 0, 'event_name', 'example.event')}&searchCriteria[sort_orders][0][field]=subscription_id&searchCriteria[sort_orders][0][direction]=DESC&searchCriteria[pageSize]=2`;
      const page1 = await list(`${base}&searchCriteria[currentPage]=1`);
      const page2 = await list(`${base}&searchCriteria[currentPage]=2`);
      expect(page1.items.map((i) => i.subscription_id)).toEqual([ids[2], ids[1]]);
      expect(page2.items.map((i) => i.subscription_id)).toEqual([ids[0]]);
      expect(page1.total_count).toBe(3);
      expect(page2.total_count).toBe(3);
      expect(page1.search_criteria).toMatchObject({ sort_orders: [{ field: 'subscription_id', direction: 'DESC' }], page_size: 2, current_page: 1 });
    });
  });

  it('PUT changes recipient_url, token, status and store_id, keeping the id and subscribed_at', async () => {
    const created = await create();
    const res = await h.request('PUT', `/rest/V1/async_event/${created.subscription_id}`, {
      body: { asyncEvent: { subscription_id: created.subscription_id, recipient_url: 'https://new.example.com/x', verification_token: 'another-secret-token', status: false, store_id: 4 } },
    });
    expect(res.status, res.text).toBe(200);
    expect(res.json).toEqual({ ...created, recipient_url: 'https://new.example.com/x', status: false, store_id: 4 });
    expect(res.text).not.toContain('another-secret-token');
    const stored = await h.store.subscriptions.get(created.subscription_id);
    expect(stored?.verificationToken).toBe('another-secret-token');
    expect(stored?.active).toBe(false);
  });

  it('PUT with only status, as upstream clients send it', async () => {
    const created = await create();
    const res = await h.request('PUT', `/rest/V1/async_event/${created.subscription_id}`, { body: { asyncEvent: { status: 0 } } });
    expect(res.status, res.text).toBe(200);
    expect((res.json as Display).status).toBe(false);
  });

  it('PUT of a missing id is 404 and creates nothing', async () => {
    const before = (await h.store.subscriptions.list()).totalCount;
    const res = await h.request('PUT', '/rest/V1/async_event/55555', { body: { asyncEvent: { status: true } } });
    expect(res.status).toBe(404);
    expect((await h.store.subscriptions.list()).totalCount).toBe(before);
  });

  it('DELETE removes the subscription; a second DELETE is 404', async () => {
    const created = await create();
    const res = await h.request('DELETE', `/rest/V1/async_event/${created.subscription_id}`);
    expect(res.status).toBe(200);
    expect(res.json).toBe(true);
    expect(await h.store.subscriptions.get(created.subscription_id)).toBeUndefined();
    expect((await h.request('DELETE', `/rest/V1/async_event/${created.subscription_id}`)).status).toBe(404);
  });

  it('DELETE also works for a subscription that has delivery log rows', async () => {
    const created = await create();
    const uuid = '0b6c3f1e-6d5a-4a8e-9a57-2f1f2d3c4b5a';
    await h.store.log.openChain({ uuid, subscriptionId: created.subscription_id, eventName: 'sales.order.created', storeId: '0' });
    await h.store.log.recordAttempt({ uuid, subscriptionId: created.subscription_id, eventName: 'sales.order.created', storeId: '0', success: true, responseData: 'ok', serializedData: '{}', chainStatus: 'delivered', deathCount: 0, nextAttemptAt: null });
    const res = await h.request('DELETE', `/rest/V1/async_event/${created.subscription_id}`);
    expect(res.status, res.text).toBe(200);
    expect(await h.store.subscriptions.get(created.subscription_id)).toBeUndefined();
  });

  it('serves the same routes under /rest/<store_code>/V1 and /rest/all/V1', async () => {
    const created = await create();
    for (const prefix of ['/rest/default/V1', '/rest/all/V1', '/rest/store_2/V1']) {
      const res = await h.request('GET', `${prefix}/async_event/${created.subscription_id}`);
      expect(res.status, prefix).toBe(200);
      expect((res.json as Display).subscription_id).toBe(created.subscription_id);
    }
    expect((await h.request('GET', `/rest/Bad-Code/V1/async_event/${created.subscription_id}`)).status).toBe(404);
  });

  it('401 in Magento\'s words without a token, with a wrong token, and with a malformed header', async () => {
    const expected = { message: "The consumer isn't authorized to access %resources.", parameters: { resources: 'MageOS_AsyncEvents::manage' } };
    for (const init of [{ token: null }, { token: 'wrong' }, { token: null, headers: { authorization: 'Basic abc' } }]) {
      const res = await h.request('GET', '/rest/V1/async_events?searchCriteria=', init);
      expect(res.status).toBe(401);
      expect(res.json).toEqual(expected);
    }
    const before = (await h.store.subscriptions.list()).totalCount;
    expect((await h.request('POST', '/rest/V1/async_event', { body: newSubscription(), token: null })).status).toBe(401);
    expect((await h.store.subscriptions.list()).totalCount).toBe(before);
  });

  it('unknown routes are Magento\'s 404, before any auth', async () => {
    const res = await h.request('GET', '/rest/V1/nothing_here', { token: null });
    expect(res.status).toBe(404);
    expect(res.json).toEqual({ message: 'Request does not match any route.' });
    expect((await h.request('PATCH', '/rest/V1/async_event/1')).status).toBe(404);
  });
});
