import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Store } from '../../src/store/store.ts';
import { startGraphqlFixture, type GraphqlServer, type Pipeline } from './harness.ts';
import { DEAD_UUID, DELIVERED_UUID, SECRET_TOKENS, seed, type Seeded } from './seed.ts';

const SUBSCRIBE = `mutation ($input: SubscribeInput!) { subscribe(input: $input) { id eventName recipientUrl active sink storeId subscribedAt } }`;
const UPDATE = `mutation ($id: ID!, $input: UpdateSubscriptionInput!) { updateSubscription(id: $id, input: $input) { id recipientUrl active sink storeId } }`;
const RETRY_BODY = '{"subscription_id":3,"death_count":2,"content":"{}","uuid":"00000000-0000-4000-8000-000000000003"}';
const NEW_TOKEN = 'tok-SECRET-new-subscription';
const CHANGED_TOKEN = 'tok-SECRET-changed';

/** Every subscription as stored, token included (decrypted), to compare before and after a refused request. */
async function storedSubscriptions(store: Store) {
  const { items } = await store.subscriptions.list({ pageSize: 100, currentPage: 1 });
  return items.map((row) => ({ ...row, verificationToken: row.verificationToken }));
}

describe('GraphQL mutations', () => {
  let server: GraphqlServer;
  let store: Store;
  let seeded: Seeded;
  let pipeline: Pipeline;
  let close: () => Promise<void>;

  beforeAll(async () => {
    ({ server, store, pipeline, prepared: seeded, close } = await startGraphqlFixture(seed));
  });
  afterAll(async () => close());

  it('subscribe creates an active http subscription for store 0 by default; the token is stored, not returned', async () => {
    const reply = await server.query<{ subscribe: Record<string, unknown> }>(SUBSCRIBE, {
      input: { eventName: 'catalog.product.saved', recipientUrl: 'https://erp.example.com/hooks/products', verificationToken: NEW_TOKEN },
    });
    expect(reply.errors).toBeUndefined();
    const created = (await storedSubscriptions(store)).find((row) => row.eventName === 'catalog.product.saved');
    expect(created).toMatchObject({ recipientUrl: 'https://erp.example.com/hooks/products', verificationToken: NEW_TOKEN, metadata: 'http', storeId: 0, active: true });
    expect(reply.data?.subscribe).toEqual({
      id: String(created?.id),
      eventName: 'catalog.product.saved',
      recipientUrl: 'https://erp.example.com/hooks/products',
      active: true,
      sink: 'http',
      storeId: 0,
      subscribedAt: created?.subscribedAt?.toISOString(),
    });
  });

  it('subscribe refuses a sink that cannot deliver now, saying why', async () => {
    const reply = await server.query(SUBSCRIBE, {
      input: { eventName: 'customer.created', recipientUrl: 'arn:aws:events:eu-west-1:123456789012:event-bus/crm', verificationToken: 'x', sink: 'eventbridge', storeId: 2 },
    });
    expect(reply.errors?.[0]?.extensions).toMatchObject({ code: 'SINK_NOT_CONFIGURED', field: 'input.sink' });
    expect(reply.errors?.[0]?.message).toContain('async_events_aws/eventbridge/region is not set');
  });

  it.each([
    ['an unknown event', { eventName: 'sales.order.Created' }, 'EVENT_UNKNOWN', 'input.eventName', 'no async event "sales.order.Created" is declared'],
    ['an unknown sink', { sink: 'pigeon' }, 'SINK_UNKNOWN', 'input.sink', 'known sinks: http, eventbridge'],
    ['a URL that is not one', { recipientUrl: 'hooks.example.com/orders' }, 'VALIDATION_FAILED', 'input.recipientUrl', 'is not an absolute URL'],
    ['a non-http URL for the http sink', { recipientUrl: 'ftp://hooks.example.com/orders' }, 'VALIDATION_FAILED', 'input.recipientUrl', 'not ftp://'],
    ['an empty token', { verificationToken: '' }, 'VALIDATION_FAILED', 'input.verificationToken', 'must not be empty'],
    ['a negative store id', { storeId: -1 }, 'VALIDATION_FAILED', 'input.storeId', 'between 0 and 65535'],
    // Checked by the store: the encrypted token must fit varchar(255).
    ['a token too long to store', { verificationToken: 'x'.repeat(200) }, 'VALIDATION_FAILED', 'input.verificationToken', 'too long'],
  ])('subscribe refuses %s, naming the field, and writes nothing', async (_what, change, code, field, message) => {
    const before = await storedSubscriptions(store);
    const input = { eventName: 'sales.order.created', recipientUrl: 'https://hooks.example.com/more', verificationToken: 'tok', ...change };
    const reply = await server.query(SUBSCRIBE, { input });
    expect(reply.data).toBeNull();
    expect(reply.errors?.[0]?.extensions).toMatchObject({ code, field });
    expect(reply.errors?.[0]?.message).toContain(field);
    expect(reply.errors?.[0]?.message).toContain(message);
    expect(await storedSubscriptions(store)).toEqual(before);
  });

  it('updateSubscription changes only the given fields, the token included, and never returns it', async () => {
    const reply = await server.query<{ updateSubscription: Record<string, unknown> }>(UPDATE, {
      id: String(seeded.orders.id),
      input: { recipientUrl: 'https://hooks.example.com/orders-v2', active: false, verificationToken: CHANGED_TOKEN },
    });
    expect(reply.errors).toBeUndefined();
    expect(reply.data?.updateSubscription).toEqual({ id: String(seeded.orders.id), recipientUrl: 'https://hooks.example.com/orders-v2', active: false, sink: 'http', storeId: 0 });
    expect(await store.subscriptions.get(seeded.orders.id)).toMatchObject({ verificationToken: CHANGED_TOKEN, active: false, storeId: 0, eventName: 'sales.order.created' });

    const storeOnly = await server.query<{ updateSubscription: { storeId: number; recipientUrl: string } }>(UPDATE, { id: String(seeded.orders.id), input: { storeId: 3, active: true } });
    expect(storeOnly.data?.updateSubscription).toMatchObject({ storeId: 3, recipientUrl: 'https://hooks.example.com/orders-v2', active: true });
  });

  it('updateSubscription refuses bad input and unknown ids, changing nothing', async () => {
    const before = await storedSubscriptions(store);
    const missing = await server.query(UPDATE, { id: '999', input: { active: false } });
    expect(missing.errors?.[0]?.extensions).toMatchObject({ code: 'SUBSCRIPTION_NOT_FOUND', field: 'id' });

    const badUrl = await server.query(UPDATE, { id: String(seeded.orders.id), input: { recipientUrl: 'javascript:alert(1)' } });
    expect(badUrl.errors?.[0]?.extensions).toMatchObject({ code: 'VALIDATION_FAILED', field: 'input.recipientUrl' });

    // The EventBridge subscription's ARN cannot go to the http sink unless the URL changes too.
    const sinkOnly = await server.query(UPDATE, { id: String(seeded.customers.id), input: { sink: 'http' } });
    expect(sinkOnly.errors?.[0]?.extensions).toMatchObject({ code: 'VALIDATION_FAILED', field: 'input.sink' });
    expect(sinkOnly.errors?.[0]?.message).toContain('change recipientUrl too');

    const unknownSink = await server.query(UPDATE, { id: String(seeded.customers.id), input: { sink: 'sqs' } });
    expect(unknownSink.errors?.[0]?.extensions).toMatchObject({ code: 'SINK_UNKNOWN', field: 'input.sink' });
    expect(await storedSubscriptions(store)).toEqual(before);

    const both = await server.query<{ updateSubscription: { sink: string; recipientUrl: string } }>(UPDATE, {
      id: String(seeded.customers.id),
      input: { sink: 'http', recipientUrl: 'https://crm.example.com/customers' },
    });
    expect(both.data?.updateSubscription).toMatchObject({ sink: 'http', recipientUrl: 'https://crm.example.com/customers' });
  });

  it('replay starts a new chain under the same UUID; an unknown UUID is NOT_FOUND', async () => {
    const reply = await server.query<{ replay: { uuid: string; subscriptionId: number } }>(`mutation { replay(uuid: "${DEAD_UUID}") { uuid subscriptionId } }`);
    expect(reply.errors).toBeUndefined();
    expect(reply.data?.replay).toEqual({ uuid: DEAD_UUID, subscriptionId: seeded.customers.id });
    expect(pipeline.replayed).toEqual([DEAD_UUID]);
    expect((await store.log.chain(DEAD_UUID))?.status).toBe('pending');

    const missing = await server.query('mutation { replay(uuid: "nope") { uuid } }');
    expect(missing.errors?.[0]?.extensions).toMatchObject({ code: 'NOT_FOUND', uuid: 'nope' });
    expect(pipeline.replayed).toEqual([DEAD_UUID]);
  });

  it('parkedMessages lists with reasons; redriveParked puts ids or all back and refuses an ambiguous call', async () => {
    const first = await store.parked.park({ queue: 'event.trigger', body: '["sales.order.created","{}",1]', reason: 'Magento answered 404 for the order' });
    const second = await store.parked.park({ queue: 'event.failover.retry', body: RETRY_BODY, reason: 'sink refused the retry' });
    const listed = await server.query<{ parkedMessages: { total: number; nodes: { id: string; queue: string; reason: string; parkedAt: string }[] } }>(
      '{ parkedMessages(first: 10) { total nodes { id queue reason parkedAt } } }',
    );
    expect(listed.errors).toBeUndefined();
    expect(listed.data?.parkedMessages.total).toBe(2);
    expect(listed.data?.parkedMessages.nodes.map((n) => [n.id, n.queue, n.reason])).toEqual([
      [String(second), 'event.failover.retry', 'sink refused the retry'],
      [String(first), 'event.trigger', 'Magento answered 404 for the order'],
    ]);

    const REDRIVE = 'mutation ($ids: [ID!], $all: Boolean) { redriveParked(ids: $ids, all: $all) { redriven ids unknown failed { id message } } }';
    for (const [variables, field] of [[{}, 'ids'], [{ ids: ['1'], all: true }, 'all'], [{ ids: ['x1'] }, 'ids[0]'], [{ ids: [] }, 'ids']] as const) {
      const refused = await server.query(REDRIVE, variables);
      expect(refused.errors?.[0]?.extensions).toMatchObject({ code: 'VALIDATION_FAILED', field });
    }
    expect(pipeline.requeued).toEqual([]);

    const some = await server.query<{ redriveParked: unknown }>(REDRIVE, { ids: [String(first), '424242'] });
    expect(some.errors).toBeUndefined();
    expect(some.data?.redriveParked).toEqual({ redriven: 1, ids: [String(first)], unknown: ['424242'], failed: [] });
    expect(pipeline.requeued).toEqual([{ queue: 'event.trigger', body: '["sales.order.created","{}",1]' }]);

    const all = await server.query<{ redriveParked: unknown }>(REDRIVE, { all: true });
    expect(all.data?.redriveParked).toEqual({ redriven: 1, ids: [String(second)], unknown: [], failed: [] });
    expect(pipeline.requeued.at(-1)).toEqual({ queue: 'event.failover.retry', body: RETRY_BODY });
    expect(await store.parked.count()).toBe(0);
  });

  it('replayQuery replays each matching chain once and refuses an empty query', async () => {
    pipeline.replayed.length = 0;
    const reply = await server.query<{ replayQuery: { matched: number; replayed: { uuid: string }[]; failed: unknown[] } }>(
      'mutation { replayQuery(query: "success:false") { matched replayed { uuid subscriptionId } failed { uuid code message } } }',
    );
    expect(reply.errors).toBeUndefined();
    // Newest attempts first: the dead chain's rows are newer than the delivered chain's failures.
    expect(reply.data?.replayQuery).toEqual({
      matched: 2,
      replayed: [
        { uuid: DEAD_UUID, subscriptionId: seeded.customers.id },
        { uuid: DELIVERED_UUID, subscriptionId: seeded.orders.id },
      ],
      failed: [],
    });
    expect([...pipeline.replayed].sort()).toEqual([DELIVERED_UUID, DEAD_UUID].sort());

    const empty = await server.query('mutation { replayQuery(query: "  ") { matched } }');
    expect(empty.errors?.[0]?.extensions).toMatchObject({ code: 'VALIDATION_FAILED', field: 'query' });
    const syntax = await server.query('mutation { replayQuery(query: "success:(") { matched } }');
    expect(syntax.errors?.[0]?.extensions).toMatchObject({ code: 'QUERY_SYNTAX', position: 9 });
    expect(pipeline.replayed).toHaveLength(2);
  });

  it('no response of this suite contained a verification token, old or new', () => {
    expect(server.bodies.length).toBeGreaterThan(10);
    for (const body of server.bodies) for (const token of [...SECRET_TOKENS, NEW_TOKEN, CHANGED_TOKEN]) expect(body).not.toContain(token);
  });
});
