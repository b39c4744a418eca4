import type { Store } from '../../src/store/store.ts';
import type { ChainStatus, Subscription } from '../../src/types.ts';

export const DELIVERED_UUID = '11111111-1111-4111-8111-111111111111';
export const DEAD_UUID = '22222222-2222-4222-8222-222222222222';
/** Written the way the PHP module writes: a log row and no chain row of ours. */
export const UPSTREAM_UUID = '33333333-3333-4333-8333-333333333333';

/** Tokens that must never appear in a response. */
export const SECRET_TOKENS = ['tok-SECRET-orders', 'tok-SECRET-customers'] as const;

/** Bytes as PHP wrote them: the escaped slashes and 10.50 must survive pretty-printing. */
export const ORDER_PAYLOAD = '{"specversion":"1.0","id":"11111111-1111-4111-8111-111111111111","type":"sales.order.created","data":{"increment_id":"000000123","grand_total":10.50,"url":"https:\\/\\/shop.example.com\\/","items":[],"customer":{}}}';

export interface Seeded {
  readonly orders: Subscription;
  readonly customers: Subscription;
}

export async function seed(store: Store): Promise<Seeded> {
  const orders = await store.subscriptions.create({
    eventName: 'sales.order.created',
    recipientUrl: 'https://hooks.example.com/orders',
    verificationToken: SECRET_TOKENS[0],
    metadata: 'http',
    storeId: 0,
  });
  const customers = await store.subscriptions.create({
    eventName: 'customer.created',
    recipientUrl: 'arn:aws:events:eu-west-1:123456789012:event-bus/shop',
    verificationToken: SECRET_TOKENS[1],
    metadata: 'eventbridge',
    storeId: 1,
  });

  const attempt = (uuid: string, subscription: Subscription, success: boolean, chainStatus: ChainStatus, deathCount: number, serializedData: string) =>
    store.log.recordAttempt({
      uuid,
      subscriptionId: subscription.id,
      eventName: subscription.eventName,
      storeId: String(subscription.storeId),
      success,
      responseData: success ? '{"ok":true}' : `HTTP 503 attempt ${deathCount}`,
      serializedData,
      chainStatus,
      deathCount,
      nextAttemptAt: chainStatus === 'retrying' ? new Date(Date.now() + deathCount * deathCount * 1000) : null,
    });

  await store.log.openChain({ uuid: DELIVERED_UUID, subscriptionId: orders.id, eventName: orders.eventName, storeId: '0' });
  await attempt(DELIVERED_UUID, orders, false, 'retrying', 1, ORDER_PAYLOAD);
  await attempt(DELIVERED_UUID, orders, false, 'retrying', 2, ORDER_PAYLOAD);
  await attempt(DELIVERED_UUID, orders, true, 'delivered', 2, ORDER_PAYLOAD);

  const customerPayload = JSON.stringify({ specversion: '1.0', id: DEAD_UUID, type: 'customer.created', data: { email: 'roni_cost@example.com' } });
  await store.log.openChain({ uuid: DEAD_UUID, subscriptionId: customers.id, eventName: customers.eventName, storeId: '1' });
  for (let death = 1; death <= 6; death++) await attempt(DEAD_UUID, customers, false, death === 6 ? 'dead' : 'retrying', death, customerPayload);

  await store.db
    .insertInto('async_event_subscriber_log')
    .values({ uuid: UPSTREAM_UUID, subscription_id: orders.id, success: 1, response_data: '{"ok":true}', created: new Date().toISOString().slice(0, 19).replace('T', ' '), serialized_data: '{"data":{"increment_id":"000000124"}}' })
    .execute();
  return { orders, customers };
}
