import { createHmac } from 'node:crypto';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { servicesOf } from '../../src/api/services.ts';
import { rawMember } from '../../src/delivery/retry-content.ts';
import type { Subscription, SubscriptionRules } from '../../src/types.ts';
import { describeWith, type ServiceName } from '../support/services.ts';
import { startReceiver, startSidecar, waitFor, type QueueMode, type ReceivedRequest, type TestSidecar } from '../support/sidecar.ts';

/*
 * Subscription rules through the whole sidecar (the database queue on SQLite and RabbitMQ with MariaDB, the Magento
 * stand-in's canned responses, a real receiver): wildcard events, filters, fields selections, extra headers, and a replay that ignores the filter.
 * The rate limit has its own test (subscription-rate.test.ts).
 */

const TOKEN = 'rules-token';

const modes: { mode: QueueMode; services: ServiceName[] }[] = [
  { mode: 'sqlite', services: [] },
  { mode: 'amqp', services: ['mariadb', 'rabbitmq'] },
];

for (const { mode, services } of modes) {
  describeWith(services, `subscription rules at delivery time on ${mode}`, () => {
    let sidecar: TestSidecar;
    let receiver: Awaited<ReturnType<typeof startReceiver>>;

    beforeAll(async () => {
      receiver = await startReceiver();
      sidecar = await startSidecar({ mode, maxDeaths: 3 });
    });
    afterAll(async () => {
      await sidecar?.close();
      await receiver?.close();
    });

    let next = 0;
    function subscribe(eventName: string, rules: SubscriptionRules = {}): Promise<Subscription> {
      next++;
      return sidecar.app.store.subscriptions.create({ eventName, recipientUrl: `${receiver.url}?s=${next}`, verificationToken: TOKEN, metadata: 'http', rules });
    }
    const received = (subscription: Subscription): ReceivedRequest[] =>
      receiver.requests.filter((request) => String(request.headers['x-sub']) === subscription.recipientUrl.split('?s=')[1]);

    /** Every subscription here sends `X-Sub: <n>`, so the receiver can tell them apart (the path is the same). */
    async function subscribeTagged(eventName: string, rules: SubscriptionRules = {}): Promise<Subscription> {
      const created = await subscribe(eventName, rules);
      const tag = created.recipientUrl.split('?s=')[1] ?? '';
      return sidecar.app.store.subscriptions.update(created.id, { rules: { headers: { ...rules.headers, 'X-Sub': tag } } });
    }

    it('a wildcard subscription receives every event its pattern covers, and no other', async () => {
      const created = await subscribeTagged('sales.*.created');
      await sidecar.app.publish('sales.order.updated', { id: 1 }, 0);
      await sidecar.app.publish('sales.order.created', { id: 2 }, 0);
      await sidecar.app.publish('sales.invoice.created', { id: 3 }, 0);
      await waitFor('two deliveries', () => received(created).length >= 2);
      // The updated event went first; once the later ones are in, it had its chance.
      await new Promise((resolve) => setTimeout(resolve, 300));
      const types = received(created).map((request) => (JSON.parse(request.body) as { type: string }).type).sort();
      expect(types).toEqual(['sales.invoice.created', 'sales.order.created']);
    });

    it('a filter lets matching events through and counts the others, per subscription, in the metric too', async () => {
      // The stand-in's order: status "pending", grand_total 165, store_id 1.
      const matching = await subscribeTagged('sales.order.*', { filter: 'data.status: pending AND data.grand_total:>100 AND event_name:sales.order.created' });
      const refusing = await subscribeTagged('sales.order.*', { filter: 'data.grand_total:>1000 OR store_id:7' });
      const unfiltered = await subscribeTagged('sales.order.created');
      await sidecar.app.publish('sales.order.created', { id: 10 }, 1);
      await sidecar.app.publish('sales.order.updated', { id: 11 }, 1);
      await waitFor('the unfiltered deliveries', () => received(unfiltered).length >= 1);
      await waitFor('both filtered out by one, one by the other', () => sidecar.app.attempts.rules?.stats.filteredOut(refusing.id) === 2 && sidecar.app.attempts.rules.stats.filteredOut(matching.id) === 1);
      expect(received(matching)).toHaveLength(1);
      expect(received(refusing)).toHaveLength(0);
      expect(await sidecar.app.store.log.count({ subscriptionId: refusing.id })).toBe(0);
      expect(sidecar.app.attempts.rules?.stats.filteredOut(unfiltered.id)).toBe(0);
      const metrics = await sidecar.app.metrics.registry.metrics();
      expect(metrics).toContain(`async_events_filtered_out_total{subscription_id="${refusing.id}"} 2`);
      expect(metrics).toContain(`async_events_filtered_out_total{subscription_id="${matching.id}"} 1`);
      // Health shows the same counts, through the one subscription service.
      const health = await servicesOf(sidecar.app.deps).subscriptions.healthOf([refusing, matching, unfiltered]);
      expect([refusing, matching, unfiltered].map((s) => health.get(s.id)?.filteredOut)).toEqual([2, 1, 0]);

      sidecar.app.attempts.rules?.stats.clear(refusing.id);
      expect(sidecar.app.attempts.rules?.stats.filteredOut(refusing.id)).toBe(0);
      expect(sidecar.app.attempts.rules?.stats.filteredOut(matching.id)).toBe(1);
    });

    it('a replay ignores the filter: it resends the stored payload even when the filter now refuses it', async () => {
      const subscription = await subscribeTagged('sales.order.created', { filter: 'data.status: pending' });
      await sidecar.app.publish('sales.order.created', { id: 20 }, 0);
      const first = await waitFor('the delivery', () => received(subscription)[0]);
      const uuid = String(first.headers['webhook-id']);
      await waitFor('its log row', async () => (await sidecar.app.store.log.attempts(uuid)).length > 0);
      await sidecar.app.store.subscriptions.update(subscription.id, { rules: { filter: 'data.status: complete' } });
      await sidecar.app.deps.replay(uuid);
      const again = await waitFor('the replayed delivery', () => received(subscription)[1]);
      expect(again.headers['webhook-id']).toBe(uuid);
      expect(rawMember(again.body, 'data')).toBe(rawMember(first.body, 'data'));
      // A new event of the same order is filtered now.
      await sidecar.app.publish('sales.order.created', { id: 21 }, 0);
      await waitFor('the new event filtered out', () => sidecar.app.attempts.rules?.stats.filteredOut(subscription.id) === 1);
      expect(received(subscription)).toHaveLength(2);
    });

    it('fields: the data is what Magento\'s REST answers for ?fields=, bytes kept, keys in response order; signatures sign it', async () => {
      const subscription = await subscribeTagged('sales.order.created', { fields: 'items[sku,qty_ordered,name],increment_id,entity_id,no_such_field' });
      const whole = await subscribeTagged('sales.order.created');
      await sidecar.app.publish('sales.order.created', { id: 42 }, 0);
      const request = await waitFor('the selected delivery', () => received(subscription)[0]);
      await waitFor('the whole delivery', () => received(whole)[0]);
      // Written by hand from examples/magento-standin/responses/order.json under Magento's FieldsFilter rules.
      expect(rawMember(request.body, 'data')).toBe(
        '{"entity_id":42,"increment_id":"CK000000042","items":[{"name":"Didi Sport Watch","qty_ordered":1,"sku":"24-WG02"},{"name":"Fusion Backpack \\u2013 Blue\\/Black","qty_ordered":2,"sku":"24-MB02"}]}',
      );
      expect(request.headers['x-magento-signature']).toBe(createHmac('sha256', TOKEN).update(request.body).digest('hex'));
      // The other subscription of the same event got the whole response from the same one callback.
      const callbacks = sidecar.standin.requests.filter((r) => r.url.endsWith('/V1/orders/42'));
      expect(callbacks).toHaveLength(1);
      expect(rawMember(received(whole)[0]?.body ?? '', 'data')).toContain('"base_currency_code":"USD"');
      // Retries and replays carry what was delivered: the log keeps the selected payload.
      const rows = await waitFor('the log row', async () => {
        const found = await sidecar.app.store.log.attempts(String(request.headers['webhook-id']));
        return found.length > 0 ? found : undefined;
      });
      expect(rows[0]?.serializedData).toBe(request.body);
    });

    it('headers: the http sink sends the extra headers on every attempt, beside its own', async () => {
      const subscription = await subscribeTagged('sales.order.created', { headers: { 'X-Api-Key': 'key-123', 'X-Tenant': 'eu-1' } });
      const tag = subscription.rules?.headers?.['X-Sub'];
      let calls = 0;
      receiver.setReply((request) => (request.headers['x-sub'] === tag && ++calls === 1 ? { status: 503 } : { status: 200, body: '{}' }));
      try {
        await sidecar.app.publish('sales.order.created', { id: 50 }, 0);
        const [first, retry] = await waitFor('the failed attempt and its retry', () => (received(subscription).length >= 2 ? received(subscription) : undefined), 20_000);
        for (const request of [first, retry]) {
          expect(request?.headers['x-api-key']).toBe('key-123');
          expect(request?.headers['x-tenant']).toBe('eu-1');
          expect(request?.headers['content-type']).toMatch(/json/);
          expect(request?.headers['x-magento-signature']).toBe(createHmac('sha256', TOKEN).update(request?.body ?? '').digest('hex'));
        }
      } finally {
        receiver.setReply(() => ({ status: 200, body: '{"ok":true}' }));
      }
    });
  });
}
