import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGraphqlServer, type GraphqlServer } from '../graphql/harness.ts';
import { API_TOKEN, startHarness, type Harness } from './harness.ts';

/*
 * Each subscription rule (issue 16) through REST and GraphQL: set, shown in every read, changed, removed, and the
 * refusals carrying what the subscriber needs to fix them (a filter's position). The verdict table for good and bad
 * requests on both interfaces is subscription-requests.ts; this covers what a verdict alone does not show.
 */

const FIELDS = 'id eventName filter fields headers { name value } maxPerSecond';

describe('subscription rules over REST and GraphQL', () => {
  let h: Harness;
  let graphql: GraphqlServer;

  beforeAll(async () => {
    h = await startHarness();
    graphql = await startGraphqlServer(h.deps);
  });
  afterAll(async () => {
    await graphql?.close();
    await h?.close();
  });

  const base = { event_name: 'sales.order.*', recipient_url: 'https://hooks.example.com/orders', verification_token: 'tok-rules', metadata: 'http' };
  const rules = { filter: 'data.status: processing AND data.grand_total:>100', fields: 'entity_id,increment_id,items[sku,qty_ordered]', headers: { 'X-Api-Key': 'k-1' }, max_per_second: 20 };

  it('REST: every rule is stored and shown by GET one, GET list and GraphQL', async () => {
    const created = await h.request('POST', '/rest/V1/async_event', { body: { asyncEvent: { ...base, ...rules, max_per_second: '20' } } });
    expect(created.status).toBe(200);
    expect(created.json).toMatchObject({ event_name: 'sales.order.*', ...rules });
    const id = (created.json as { subscription_id: number }).subscription_id;
    expect((await h.request('GET', `/rest/V1/async_event/${id}`)).json).toMatchObject(rules);
    const list = (await h.request('GET', '/rest/V1/async_events')).json as { items: { subscription_id: number }[] };
    expect(list.items.find((item) => item.subscription_id === id)).toMatchObject(rules);
    const reply = await graphql.query<{ subscription: unknown }>(`{ subscription(id: "${id}") { ${FIELDS} } }`, {}, API_TOKEN);
    expect(reply.data?.subscription).toEqual({ id: String(id), eventName: 'sales.order.*', filter: rules.filter, fields: rules.fields, headers: [{ name: 'X-Api-Key', value: 'k-1' }], maxPerSecond: 20 });
  });

  it('a subscription without rules reads as upstream shaped it', async () => {
    const created = await h.request('POST', '/rest/V1/async_event', { body: { asyncEvent: { ...base, event_name: 'customer.created' } } });
    expect(Object.keys(created.json as object).sort()).toEqual(['event_name', 'recipient_url', 'status', 'store_id', 'subscribed_at', 'subscription_id']);
    const id = (created.json as { subscription_id: number }).subscription_id;
    const reply = await graphql.query<{ subscription: unknown }>(`{ subscription(id: "${id}") { ${FIELDS} } }`, {}, API_TOKEN);
    expect(reply.data?.subscription).toEqual({ id: String(id), eventName: 'customer.created', filter: null, fields: null, headers: [], maxPerSecond: null });
  });

  it('PUT changes the rules it names and null removes one; GraphQL does the same', async () => {
    const created = await h.request('POST', '/rest/V1/async_event', { body: { asyncEvent: { ...base, ...rules } } });
    const id = (created.json as { subscription_id: number }).subscription_id;
    const put = await h.request('PUT', `/rest/V1/async_event/${id}`, { body: { asyncEvent: { filter: null, max_per_second: 2.5 } } });
    expect(put.status).toBe(200);
    expect(put.json).toMatchObject({ fields: rules.fields, headers: rules.headers, max_per_second: 2.5 });
    expect(put.json).not.toHaveProperty('filter');

    const update = await graphql.query<{ updateSubscription: unknown }>(
      `mutation ($id: ID!, $input: UpdateSubscriptionInput!) { updateSubscription(id: $id, input: $input) { ${FIELDS} } }`,
      { id: String(id), input: { filter: 'store_id:1', headers: [{ name: 'X-Tenant', value: 'eu' }], fields: null } },
      API_TOKEN,
    );
    expect(update.errors).toBeUndefined();
    expect(update.data?.updateSubscription).toMatchObject({ filter: 'store_id:1', fields: null, headers: [{ name: 'X-Tenant', value: 'eu' }], maxPerSecond: 2.5 });
    const cleared = await graphql.query<{ updateSubscription: unknown }>(
      `mutation ($id: ID!) { updateSubscription(id: $id, input: { headers: [], maxPerSecond: null }) { ${FIELDS} } }`,
      { id: String(id) },
      API_TOKEN,
    );
    expect(cleared.data?.updateSubscription).toMatchObject({ filter: 'store_id:1', fields: null, headers: [], maxPerSecond: null });
    expect((await h.store.subscriptions.get(id))?.rules).toEqual({ filter: 'store_id:1' });
  });

  it('ordering: set at creation on REST or GraphQL, starting the publish-order reader first, shown in reads, fixed after', async () => {
    const enabledBefore = h.calls.publishOrderEnabled.length;
    const created = await h.request('POST', '/rest/V1/async_event', { body: { asyncEvent: { ...base, ordering: 'entity' } } });
    expect(created.status).toBe(200);
    expect(created.json).toMatchObject({ event_name: 'sales.order.*', ordering: 'entity' });
    expect(h.calls.publishOrderEnabled.length).toBe(enabledBefore + 1);
    const id = (created.json as { subscription_id: number }).subscription_id;
    const read = await graphql.query<{ subscription: { ordering: string | null } }>(`{ subscription(id: "${id}") { ordering } }`, {}, API_TOKEN);
    expect(read.data?.subscription.ordering).toBe('ENTITY');
    const viaGraphql = await graphql.query<{ subscribe: { id: string; ordering: string } }>(
      `mutation { subscribe(input: { eventName: "customer.created", recipientUrl: "https://h.example.com/", verificationToken: "t", ordering: ENTITY }) { id ordering } }`, {}, API_TOKEN);
    expect(viaGraphql.data?.subscribe.ordering).toBe('ENTITY');
    expect(h.calls.publishOrderEnabled.length).toBe(enabledBefore + 2);

    const off = await h.request('PUT', `/rest/V1/async_event/${id}`, { body: { asyncEvent: { ordering: null } } });
    expect(off.status).toBe(400);
    expect((off.json as { parameters: { fieldName: string; reason: string } }).parameters).toMatchObject({ fieldName: 'asyncEvent.ordering', reason: expect.stringMatching(/cannot change after the subscription is created/) });
    const unknown = await h.request('POST', '/rest/V1/async_event', { body: { asyncEvent: { ...base, ordering: 'global' } } });
    expect(unknown.status).toBe(400);
    expect((unknown.json as { parameters: { fieldName: string } }).parameters.fieldName).toBe('asyncEvent.ordering');
    // A change of another rule keeps it.
    const put = await h.request('PUT', `/rest/V1/async_event/${id}`, { body: { asyncEvent: { filter: 'data.status: new', ordering: 'entity' } } });
    expect(put.status).toBe(200);
    expect((await h.store.subscriptions.get(id))?.rules).toEqual({ filter: 'data.status: new', ordering: 'entity' });
    // Without ordering, the reader is not started.
    const plain = await h.request('POST', '/rest/V1/async_event', { body: { asyncEvent: { ...base } } });
    expect(plain.status).toBe(200);
    expect(h.calls.publishOrderEnabled.length).toBe(enabledBefore + 2);
  });

  it('a filter syntax error is refused with its position, on REST and GraphQL alike', async () => {
    const rest = await h.request('POST', '/rest/V1/async_event', { body: { asyncEvent: { ...base, filter: 'data.status:(processing' } } });
    expect(rest.status).toBe(400);
    const parameters = (rest.json as { parameters: { fieldName: string; reason: string } }).parameters;
    expect(parameters.fieldName).toBe('asyncEvent.filter');
    expect(parameters.reason).toMatch(/Unclosed "\(" at position 13/);
    const reply = await graphql.query(`mutation { subscribe(input: { eventName: "sales.order.*", recipientUrl: "https://h.example.com/", verificationToken: "t", filter: "data.status:(processing" }) { id } }`, {}, API_TOKEN);
    expect(reply.errors?.[0]?.extensions).toMatchObject({ code: 'VALIDATION_FAILED', field: 'input.filter' });
    expect(reply.errors?.[0]?.message).toContain(parameters.reason);
  });

  it('a fields mistake names its position; a header refusal names the header', async () => {
    const fields = await h.request('POST', '/rest/V1/async_event', { body: { asyncEvent: { ...base, fields: 'entity_id,items[sku' } } });
    expect((fields.json as { parameters: { reason: string } }).parameters.reason).toMatch(/unclosed \(position 20\)/);
    const header = await h.request('POST', '/rest/V1/async_event', { body: { asyncEvent: { ...base, headers: { 'X-Ok': '1', 'Content-Length': '5' } } } });
    expect(header.status).toBe(400);
    expect((header.json as { parameters: { reason: string } }).parameters.reason).toMatch(/^headers\.Content-Length: .*set by the sidecar itself/);
    const twice = await graphql.query(`mutation { subscribe(input: { eventName: "sales.order.*", recipientUrl: "https://h.example.com/", verificationToken: "t", headers: [{ name: "X-A", value: "1" }, { name: "X-A", value: "2" }] }) { id } }`, {}, API_TOKEN);
    expect(twice.errors?.[0]?.extensions).toMatchObject({ code: 'VALIDATION_FAILED', field: 'input.headers' });
  });

  it('headers are for the http sink only', async () => {
    const refused = await h.deps.store.subscriptions.list();
    const svc = await h.request('POST', '/rest/V1/async_event', { body: { asyncEvent: { ...base, metadata: 'eventbridge', recipient_url: 'arn:aws:events:eu-west-1:1:event-bus/x', headers: { 'X-A': '1' } } } });
    expect(svc.status).toBe(400);
    expect(await h.deps.store.subscriptions.list()).toEqual(refused);
  });
});
