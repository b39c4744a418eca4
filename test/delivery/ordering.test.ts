import { afterEach, expect, it } from 'vitest';
import { servicesOf } from '../../src/api/services.ts';
import { createApp, type App } from '../../src/app.ts';
import { loadSettings } from '../../src/config/settings.ts';
import { silentLogger } from '../../src/logger.ts';
import { LOCAL_OPERATOR } from '../../src/types.ts';
import { startMagentoStandin, type MagentoStandin } from '../../examples/magento-standin/server.ts';
import { describeWith } from '../support/services.ts';
import { sidecarEnvironment, startReceiver, waitFor, type QueueMode, type ReceivedRequest } from '../support/sidecar.ts';

/*
 * ordering: "entity" (issue 16) end to end: two replicas on one database and one queue, a receiver that refuses
 * some deliveries (retried) and one for good (dead), one replica shut down halfway. Every entity's events must
 * reach the receiver in publish order: no event of an order is tried before the previous event of that order was
 * delivered or died, while other orders go on meanwhile.
 *
 * The publish order is written into each trigger as its store id (the CloudEvent's `source`), so the receiver
 * can tell which publish a delivery is without asking the sidecar.
 */

const modes: { mode: QueueMode; services: ('mariadb' | 'rabbitmq')[] }[] = [
  { mode: 'mariadb', services: ['mariadb'] },
  { mode: 'amqp', services: ['mariadb', 'rabbitmq'] },
];

const ORDERS = 8;
const EVENTS_PER_ORDER = 6;

interface Delivery {
  readonly index: number;
  readonly order: number;
  readonly publish: number;
  readonly accepted: boolean;
  readonly webhookId: string;
}

for (const { mode, services } of modes) {
  describeWith(services, `ordering by entity with two replicas (${mode})`, () => {
    const closers: (() => Promise<void>)[] = [];
    afterEach(async () => {
      for (const close of closers.splice(0).reverse()) await close().catch(() => undefined);
    });

    async function replicas(): Promise<{ apps: App[]; standin: MagentoStandin }> {
      const standin = await startMagentoStandin({ token: 'test-integration-token' });
      closers.push(() => standin.close());
      const { env, cleanup, dataDir } = await sidecarEnvironment(mode, standin.url);
      closers.push(cleanup);
      const settings = await loadSettings({ env, cwd: dataDir });
      const apps: App[] = [];
      for (let i = 0; i < 2; i++) {
        const app = await createApp({ settings, logger: silentLogger(), databaseQueue: { pollIntervalMs: 25, leaseSeconds: 5 } });
        let closed = false;
        const close = async () => {
          if (closed) return;
          closed = true;
          await app.close();
        };
        closers.push(close);
        apps.push(Object.assign(app, { close }));
      }
      await apps[0]!.store.configValues.set('system/async_events/max_deaths', '2');
      return { apps, standin };
    }

    it('delivers every order\'s events in publish order across retries, a dead one releasing the next, while other orders flow', async () => {
      const { apps } = await replicas();
      const [first, second] = apps as [App, App];
      // Publish 1-based indices: event p of order o. Refused: p % 7 === 0 once; the 10th publish always (it dies).
      const refusedOnce = new Set<number>();
      const DEAD = 10;
      const deliveries: Delivery[] = [];
      const receiver = await startReceiver((request: ReceivedRequest, index) => {
        const body = JSON.parse(request.body) as { source: string; data: { entity_id: number } };
        const publish = Number(body.source);
        let accepted = true;
        if (publish === DEAD) accepted = false;
        else if (publish % 7 === 0 && !refusedOnce.has(publish)) {
          refusedOnce.add(publish);
          accepted = false;
        }
        deliveries.push({ index, order: body.data.entity_id, publish, accepted, webhookId: String(request.headers['webhook-id']) });
        return accepted ? { status: 200, body: 'ok' } : { status: 503, body: 'try later' };
      });
      closers.push(() => receiver.close());

      const ordered = await servicesOf(first.deps).subscriptions.create(LOCAL_OPERATOR, {
        eventName: 'sales.order.*',
        recipientUrl: receiver.url,
        verificationToken: 'tok-ordered',
        ordering: 'entity',
      });
      expect(ordered.rules).toEqual({ ordering: 'entity' });
      await first.startConsumers(['event.trigger.consumer', 'event.retry.consumer']);
      await second.startConsumers(['event.trigger.consumer', 'event.retry.consumer']);

      // Orders interleaved as a shop would publish them: created first, then updates, mixed across orders.
      const published: { publish: number; order: number }[] = [];
      let publish = 0;
      for (let round = 0; round < EVENTS_PER_ORDER; round++) {
        for (let o = 0; o < ORDERS; o++) {
          const order = 100 + ((o * 3 + round) % ORDERS);
          publish++;
          published.push({ publish, order });
          await first.publish(round === 0 ? 'sales.order.created' : 'sales.order.updated', { id: order }, publish);
        }
      }
      // Halfway, one replica shuts down; the other carries on with what it held.
      await waitFor('half of the events delivered', () => deliveries.filter((d) => d.accepted).length >= published.length / 2, 30_000);
      await first.close();

      const expected = published.filter((p) => p.publish !== DEAD);
      await waitFor('every event delivered, the refused one dead', async () => {
        const delivered = new Set(deliveries.filter((d) => d.accepted).map((d) => d.publish));
        if (!expected.every((p) => delivered.has(p.publish))) return false;
        return deliveries.filter((d) => d.publish === DEAD).length === 3;
      }, 90_000, 100);

      for (let o = 0; o < ORDERS; o++) {
        const order = 100 + o;
        const sequence = published.filter((p) => p.order === order).map((p) => p.publish);
        const seen = deliveries.filter((d) => d.order === order);
        for (let k = 1; k < sequence.length; k++) {
          const previous = sequence[k - 1]!;
          const current = sequence[k]!;
          // The previous event's last try (its success, or its death) comes before the first try of this one.
          const previousEnd = Math.max(...seen.filter((d) => d.publish === previous && (d.accepted || previous === DEAD)).map((d) => d.index));
          const currentStart = Math.min(...seen.filter((d) => d.publish === current).map((d) => d.index));
          expect(currentStart, `order ${order}: publish ${current} tried before ${previous} ended`).toBeGreaterThan(previousEnd);
        }
      }
      // While the dead event's order waited through its retries, other orders were delivered.
      const deadTries = deliveries.filter((d) => d.publish === DEAD).map((d) => d.index);
      const deadOrder = published.find((p) => p.publish === DEAD)!.order;
      const meanwhile = deliveries.filter((d) => d.index > deadTries[0]! && d.index < deadTries.at(-1)! && d.order !== deadOrder && d.accepted);
      expect(meanwhile.length).toBeGreaterThan(0);
      // Each chain is one UUID from the first try to the last.
      const idsOf = new Map<number, Set<string>>();
      for (const d of deliveries) idsOf.set(d.publish, new Set([...(idsOf.get(d.publish) ?? []), d.webhookId]));
      expect([...idsOf.values()].every((ids) => ids.size === 1)).toBe(true);
      // The surviving replica's store agrees: every ordered chain is done.
      await waitFor('every ordered chain done', async () => {
        const open = await second.store.db.selectFrom('async_event_chain_order').select('uuid').where('done', '=', 0).execute();
        return open.length === 0;
      }, 15_000, 100);
    }, 150_000);

    it('an unordered subscription of the same events is served as before, and a wildcard orders created before updated', async () => {
      const { apps } = await replicas();
      const [first, second] = apps as [App, App];
      const receiver = await startReceiver(() => ({ status: 200, body: 'ok' }));
      closers.push(() => receiver.close());
      const plainReceiver = await startReceiver(() => ({ status: 200, body: 'ok' }));
      closers.push(() => plainReceiver.close());
      const service = servicesOf(first.deps).subscriptions;
      await service.create(LOCAL_OPERATOR, { eventName: 'sales.order.*', recipientUrl: receiver.url, verificationToken: 'tok-o', ordering: 'entity' });
      await service.create(LOCAL_OPERATOR, { eventName: 'sales.order.updated', recipientUrl: plainReceiver.url, verificationToken: 'tok-p' });
      await first.startConsumers(['event.trigger.consumer', 'event.retry.consumer']);
      await second.startConsumers(['event.trigger.consumer', 'event.retry.consumer']);
      // A slow Magento for the created event would let an unordered updated overtake it; here order is kept anyway.
      for (let i = 0; i < 20; i++) {
        await first.publish('sales.order.created', { id: 500 + i }, 0);
        await first.publish('sales.order.updated', { id: 500 + i }, 0);
      }
      await waitFor('40 ordered deliveries', () => receiver.requests.length >= 40, 30_000);
      await waitFor('20 unordered deliveries', () => plainReceiver.requests.length >= 20, 30_000);
      const types = receiver.requests.map((r) => JSON.parse(r.body) as { type: string; data: { entity_id: number } });
      for (let i = 0; i < 20; i++) {
        const ofOrder = types.filter((t) => t.data.entity_id === 500 + i).map((t) => t.type);
        expect(ofOrder, `order ${500 + i}`).toEqual(['sales.order.created', 'sales.order.updated']);
      }
      // The unordered subscription got each updated event once, not also through the ordered path.
      await new Promise((resolve) => setTimeout(resolve, 500));
      expect(plainReceiver.requests).toHaveLength(20);
      expect(receiver.requests).toHaveLength(40);
    }, 60_000);
  });
}
