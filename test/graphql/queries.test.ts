import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Store } from '../../src/store/store.ts';
import { startGraphqlFixture, type GraphqlServer, type Pipeline } from './harness.ts';
import { DEAD_UUID, DELIVERED_UUID, SECRET_TOKENS, UPSTREAM_UUID, seed, type Seeded } from './seed.ts';

interface DeliveryNode {
  logId: number;
  uuid: string;
  eventName: string;
  success: boolean;
  created: string;
  subscriptionId: number;
  recipientUrl: string;
  responseData: string;
}

const DELIVERY_FIELDS = 'logId uuid eventName success created subscriptionId recipientUrl responseData';

describe('GraphQL queries', () => {
  let server: GraphqlServer;
  let store: Store;
  let seeded: Seeded;
  let pipeline: Pipeline;
  let close: () => Promise<void>;

  beforeAll(async () => {
    ({ server, store, pipeline, prepared: seeded, close } = await startGraphqlFixture(seed));
  });
  afterAll(async () => close());

  it('deliveries: a Lucene query selects attempts, newest first, with total and paging', async () => {
    const query = `query ($q: String, $first: Int, $offset: Int) { deliveries(query: $q, first: $first, offset: $offset) { total nodes { ${DELIVERY_FIELDS} } } }`;
    const failed = await server.query<{ deliveries: { total: number; nodes: DeliveryNode[] } }>(query, { q: 'event_name:sales.* AND success:false' });
    expect(failed.errors).toBeUndefined();
    expect(failed.data?.deliveries.total).toBe(2);
    const log = await store.log.rows({ limit: 1000, order: 'asc' });
    const rows = log.filter((row) => row.uuid === DELIVERED_UUID && !row.success).reverse();
    expect(failed.data?.deliveries.nodes).toEqual(
      rows.map((row) => ({
        logId: row.logId,
        uuid: DELIVERED_UUID,
        eventName: 'sales.order.created',
        success: false,
        created: row.created.toISOString(),
        subscriptionId: seeded.orders.id,
        recipientUrl: 'https://hooks.example.com/orders',
        responseData: row.responseData,
      })),
    );

    const all = await server.query<{ deliveries: { total: number; nodes: DeliveryNode[] } }>(query, {});
    expect(all.data?.deliveries.total).toBe(log.length);
    expect(all.data?.deliveries.nodes).toHaveLength(log.length);

    const byPayload = await server.query<{ deliveries: { total: number; nodes: DeliveryNode[] } }>(query, { q: 'data.data.increment_id:000000123 AND success:true' });
    expect(byPayload.data?.deliveries.nodes.map((node) => [node.uuid, node.success])).toEqual([[DELIVERED_UUID, true]]);

    const totalOnly = await server.query<{ deliveries: { total: number; nodes: DeliveryNode[] } }>(query, { q: 'success:true', first: 0 });
    expect(totalOnly.data?.deliveries).toEqual({ total: 2, nodes: [] });

    const second = await server.query<{ deliveries: { total: number; nodes: DeliveryNode[] } }>(query, { q: `uuid:${DEAD_UUID}`, first: 2, offset: 2 });
    expect(second.data?.deliveries.total).toBe(6);
    const deadIds = log.filter((row) => row.uuid === DEAD_UUID).map((row) => row.logId).sort((a, b) => b - a);
    expect(second.data?.deliveries.nodes.map((node) => node.logId)).toEqual(deadIds.slice(2, 4));
  });

  it('deliveries: a query syntax error says where, with code QUERY_SYNTAX and the position', async () => {
    const reply = await server.query('{ deliveries(query: "event_name:(") { total } }');
    expect(reply.status).toBe(200);
    expect(reply.data).toBeNull();
    expect(reply.errors?.[0]?.extensions).toMatchObject({ code: 'QUERY_SYNTAX', position: 12 });
    expect(reply.errors?.[0]?.message).toContain('position 12');
    expect(reply.errors?.[0]?.path).toEqual(['deliveries']);
  });

  it('deliveries: refuses page sizes out of range, naming the argument', async () => {
    const big = await server.query('{ deliveries(first: 5000) { total } }');
    expect(big.errors?.[0]?.extensions).toMatchObject({ code: 'VALIDATION_FAILED', field: 'first' });
    const negative = await server.query('{ deliveries(offset: -1) { total } }');
    expect(negative.errors?.[0]?.extensions).toMatchObject({ code: 'VALIDATION_FAILED', field: 'offset' });
  });

  it('trace: status, retries, first and last attempt, subscription, attempts and the indented payload', async () => {
    const query = `query ($uuid: ID!) { trace(uuid: $uuid) { uuid status retries firstAttempt lastAttempt
      subscription { id eventName recipientUrl active sink storeId } attempts { logId success created } payload } }`;
    const delivered = await server.query<{ trace: Record<string, unknown> & { attempts: { logId: number; success: boolean; created: string }[] } }>(query, { uuid: DELIVERED_UUID });
    expect(delivered.errors).toBeUndefined();
    const rows = await store.log.attempts(DELIVERED_UUID);
    expect(delivered.data?.trace).toEqual({
      uuid: DELIVERED_UUID,
      status: 'DELIVERED',
      retries: 2,
      firstAttempt: rows[0]?.created.toISOString(),
      lastAttempt: rows[2]?.created.toISOString(),
      subscription: { id: String(seeded.orders.id), eventName: 'sales.order.created', recipientUrl: 'https://hooks.example.com/orders', active: true, sink: 'http', storeId: 0 },
      attempts: rows.map((row) => ({ logId: row.logId, success: row.success, created: row.created.toISOString() })),
      payload: [
        '{',
        '  "specversion": "1.0",',
        '  "id": "11111111-1111-4111-8111-111111111111",',
        '  "type": "sales.order.created",',
        '  "data": {',
        '    "increment_id": "000000123",',
        '    "grand_total": 10.50,',
        '    "url": "https:\\/\\/shop.example.com\\/",',
        '    "items": [],',
        '    "customer": {}',
        '  }',
        '}',
      ].join('\n'),
    });

    const dead = await server.query<{ trace: { status: string; retries: number; attempts: unknown[]; subscription: { sink: string } } }>(query, { uuid: DEAD_UUID });
    expect(dead.data?.trace).toMatchObject({ status: 'DEAD_LETTERED', retries: 5, subscription: { sink: 'eventbridge' } });
    expect(dead.data?.trace.attempts).toHaveLength(6);

    // Rows of the PHP module have no chain row: judged as upstream's trace page does.
    const upstream = await server.query<{ trace: { status: string; retries: number; payload: string } }>(query, { uuid: UPSTREAM_UUID });
    expect(upstream.data?.trace).toMatchObject({ status: 'DELIVERED', retries: 0, payload: '{\n  "data": {\n    "increment_id": "000000124"\n  }\n}' });

    const missing = await server.query(query, { uuid: 'no-such-uuid' });
    expect(missing.errors).toBeUndefined();
    expect(missing.data).toEqual({ trace: null });
  });

  it('trace: a chain that is retrying or pending shows that status', async () => {
    const retrying = '44444444-4444-4444-8444-444444444444';
    await store.log.openChain({ uuid: retrying, subscriptionId: seeded.orders.id, eventName: 'sales.order.created', storeId: '0' });
    await store.log.recordAttempt({
      uuid: retrying,
      subscriptionId: seeded.orders.id,
      eventName: 'sales.order.created',
      storeId: '0',
      success: false,
      responseData: 'HTTP 502',
      serializedData: '{"data":{}}',
      chainStatus: 'retrying',
      deathCount: 1,
      nextAttemptAt: new Date(Date.now() + 1000),
    });
    const reply = await server.query<{ trace: { status: string; retries: number } }>(`{ trace(uuid: "${retrying}") { status retries } }`);
    expect(reply.data?.trace).toEqual({ status: 'RETRYING', retries: 0 });
    await store.log.openChain({ uuid: 'only-opened', subscriptionId: seeded.orders.id, eventName: 'sales.order.created', storeId: '0' });
    const pending = await server.query<{ trace: Record<string, unknown> }>('{ trace(uuid: "only-opened") { status retries attempts { logId } firstAttempt payload subscription { id } } }');
    expect(pending.data?.trace).toEqual({ status: 'PENDING', retries: 0, attempts: [], firstAttempt: null, payload: null, subscription: { id: String(seeded.orders.id) } });
  });

  it('subscriptions: lists display fields with the sink, filters by event and pages by offset', async () => {
    const query = `query ($eventName: String, $first: Int, $offset: Int) { subscriptions(eventName: $eventName, first: $first, offset: $offset) {
      total nodes { id eventName recipientUrl active sink storeId subscribedAt modified } } }`;
    const all = await server.query<{ subscriptions: { total: number; nodes: Record<string, unknown>[] } }>(query);
    expect(all.data?.subscriptions.total).toBe(2);
    expect(all.data?.subscriptions.nodes).toEqual([
      {
        id: String(seeded.orders.id),
        eventName: 'sales.order.created',
        recipientUrl: 'https://hooks.example.com/orders',
        active: true,
        sink: 'http',
        storeId: 0,
        subscribedAt: seeded.orders.subscribedAt?.toISOString(),
        modified: seeded.orders.modified?.toISOString() ?? null,
      },
      expect.objectContaining({ id: String(seeded.customers.id), sink: 'eventbridge', storeId: 1, recipientUrl: 'arn:aws:events:eu-west-1:123456789012:event-bus/shop' }),
    ]);

    const customers = await server.query<{ subscriptions: { total: number; nodes: { id: string }[] } }>(query, { eventName: 'customer.created' });
    expect(customers.data?.subscriptions).toEqual({ total: 1, nodes: [expect.objectContaining({ id: String(seeded.customers.id) })] });

    // offset 1 with page size 1 is page 2; offset 1 with page size 5 is not a page boundary.
    const second = await server.query<{ subscriptions: { total: number; nodes: { id: string }[] } }>(query, { first: 1, offset: 1 });
    expect(second.data?.subscriptions.nodes.map((node) => node.id)).toEqual([String(seeded.customers.id)]);
    const unaligned = await server.query<{ subscriptions: { total: number; nodes: { id: string }[] } }>(query, { first: 5, offset: 1 });
    expect(unaligned.data?.subscriptions).toEqual({ total: 2, nodes: [expect.objectContaining({ id: String(seeded.customers.id) })] });
  });

  it('subscription: one by id, null when absent, a clear error for an id that is not a number', async () => {
    const one = await server.query<{ subscription: { recipientUrl: string; sink: string } | null }>(`{ subscription(id: "${seeded.customers.id}") { recipientUrl sink } }`);
    expect(one.data?.subscription).toEqual({ recipientUrl: 'arn:aws:events:eu-west-1:123456789012:event-bus/shop', sink: 'eventbridge' });
    const none = await server.query('{ subscription(id: "999") { id } }');
    expect(none.data).toEqual({ subscription: null });
    const bad = await server.query('{ subscription(id: "abc") { id } }');
    expect(bad.errors?.[0]?.extensions).toMatchObject({ code: 'VALIDATION_FAILED', field: 'id' });
    expect(bad.errors?.[0]?.message).toContain('"abc"');
  });

  it('the subscription type has no token field at all', async () => {
    const reply = await server.query<{ __type: { fields: { name: string }[] } }>('{ __type(name: "EventSubscription") { fields { name } } }');
    const names = reply.data?.__type.fields.map((field) => field.name);
    expect(names).toContain('sink');
    expect(names).not.toContain('verificationToken');
    const asked = await server.query(`{ subscription(id: "${seeded.orders.id}") { verificationToken } }`);
    expect(asked.status).toBe(400);
    expect(asked.errors?.[0]?.message).toContain('Cannot query field "verificationToken"');
  });

  it('events, sinks and health', async () => {
    const reply = await server.query<{ events: Record<string, unknown>[]; sinks: unknown[]; health: unknown[] }>(
      '{ events { name serviceClass serviceMethod module file line } sinks { key usable reason } health { name up detail } }',
    );
    expect(reply.data?.events.map((event) => event.name)).toEqual(['catalog.product.saved', 'customer.created', 'sales.order.created']);
    expect(reply.data?.events[2]).toEqual({
      name: 'sales.order.created',
      serviceClass: 'Magento\\Sales\\Api\\OrderRepositoryInterface',
      serviceMethod: 'get',
      module: 'MageOS_CommonAsyncEvents',
      file: 'vendor/mage-os/common/etc/async_events.xml',
      line: 4,
    });
    expect(reply.data?.sinks).toEqual([
      { key: 'http', usable: true, reason: null },
      { key: 'eventbridge', usable: false, reason: 'async_events_aws/eventbridge/region is not set' },
    ]);
    expect(reply.data?.health).toEqual([
      { name: 'database', up: true, detail: 'sqlite' },
      { name: 'queue', up: false, detail: 'RabbitMQ refused the connection' },
    ]);
  });

  it('masks unexpected errors: no internals reach the client', async () => {
    pipeline.failHealth = new Error('connect ECONNREFUSED mysql://root:hunter2@db');
    try {
      const reply = await server.query('{ health { name } }');
      expect(reply.errors?.[0]?.message).toBe('Unexpected error.');
      expect(reply.errors?.[0]?.extensions?.code).toBe('INTERNAL_SERVER_ERROR');
      expect(server.bodies.at(-1)).not.toContain('hunter2');
    } finally {
      delete pipeline.failHealth;
    }
  });

  it('no response of this suite contained a verification token', () => {
    expect(server.bodies.length).toBeGreaterThan(10);
    for (const body of server.bodies) for (const token of SECRET_TOKENS) expect(body).not.toContain(token);
  });
});
