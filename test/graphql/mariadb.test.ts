import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Store } from '../../src/store/store.ts';
import { describeWith } from '../support/services.ts';
import { makeDeps, openMariadbStore, startGraphqlServer, type GraphqlServer } from './harness.ts';
import { DEAD_UUID, DELIVERED_UUID, SECRET_TOKENS, UPSTREAM_UUID, seed, type Seeded } from './seed.ts';

// The same API on Magento's database (prefixed tables, BLOB payloads, DATETIME columns) as on the embedded SQLite.
describeWith(['mariadb'], 'GraphQL over a MariaDB store', () => {
  let server: GraphqlServer;
  let store: Store;
  let seeded: Seeded;
  let closeStore: () => Promise<void>;

  beforeAll(async () => {
    const opened = await openMariadbStore();
    store = opened.store;
    closeStore = opened.close;
    seeded = await seed(store);
    server = await startGraphqlServer(makeDeps(store).deps);
  });
  afterAll(async () => {
    await server?.close();
    await closeStore?.();
  });

  it('searches, traces and lists as on SQLite', async () => {
    const reply = await server.query<{
      deliveries: { total: number; nodes: { uuid: string; created: string }[] };
      trace: { status: string; retries: number; payload: string; subscription: { sink: string } };
      upstream: { status: string };
      subscriptions: { total: number; nodes: { id: string; sink: string }[] };
    }>(`{
      deliveries(query: "data.data.email:roni_cost@example.com AND success:false", first: 2) { total nodes { uuid created } }
      trace(uuid: "${DELIVERED_UUID}") { status retries payload subscription { sink } }
      upstream: trace(uuid: "${UPSTREAM_UUID}") { status }
      subscriptions(eventName: "customer.created") { total nodes { id sink } }
    }`);
    expect(reply.errors).toBeUndefined();
    expect(reply.data?.deliveries.total).toBe(6);
    expect(reply.data?.deliveries.nodes.map((node) => node.uuid)).toEqual([DEAD_UUID, DEAD_UUID]);
    expect(reply.data?.deliveries.nodes[0]?.created).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.000Z$/);
    expect(reply.data?.trace).toMatchObject({ status: 'DELIVERED', retries: 2, subscription: { sink: 'http' } });
    expect(reply.data?.trace.payload).toContain('"grand_total": 10.50');
    expect(reply.data?.trace.payload).toContain('"url": "https:\\/\\/shop.example.com\\/"');
    expect(reply.data?.upstream.status).toBe('DELIVERED');
    expect(reply.data?.subscriptions).toEqual({ total: 1, nodes: [{ id: String(seeded.customers.id), sink: 'eventbridge' }] });
  });

  it('subscribes and updates, storing the token encrypted and never returning it', async () => {
    const created = await server.query<{ subscribe: { id: string } }>(
      'mutation ($input: SubscribeInput!) { subscribe(input: $input) { id } }',
      { input: { eventName: 'catalog.product.saved', recipientUrl: 'https://erp.example.com/products', verificationToken: 'tok-SECRET-maria' } },
    );
    expect(created.errors).toBeUndefined();
    const id = Number(created.data?.subscribe.id);
    expect((await store.subscriptions.get(id))?.verificationToken).toBe('tok-SECRET-maria');
    const raw = await store.db.selectFrom('async_event_subscriber').select('verification_token').where('subscription_id', '=', id).executeTakeFirstOrThrow();
    expect(raw.verification_token).not.toContain('tok-SECRET-maria');

    const updated = await server.query<{ updateSubscription: { active: boolean } }>(`mutation { updateSubscription(id: "${id}", input: { active: false }) { active } }`);
    expect(updated.data?.updateSubscription.active).toBe(false);
    for (const body of server.bodies) for (const token of [...SECRET_TOKENS, 'tok-SECRET-maria']) expect(body).not.toContain(token);
  });
});
