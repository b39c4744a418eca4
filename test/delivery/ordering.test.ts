import { afterEach, expect, it } from 'vitest';
import { servicesOf } from '../../src/api/services.ts';
import { createApp, type App } from '../../src/app.ts';
import { loadSettings } from '../../src/config/settings.ts';
import { silentLogger } from '../../src/logger.ts';
import { DEFAULT_EXCHANGE, TRIGGER_TOPIC } from '../../src/queue/names.ts';
import { encodeTriggerMessage } from '../../src/queue/publish.ts';
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
 * The receiver refuses by chain UUID alone; afterwards each UUID is traced to its trigger's message id (and so its
 * place in the publish order) through the ordered chains' rows, and the receiver's log is checked against that.
 */

const modes: { mode: QueueMode; services: ('mariadb' | 'rabbitmq')[] }[] = [
  // The embedded default: two processes on one SQLite file and its database queue.
  { mode: 'sqlite', services: [] },
  { mode: 'mariadb', services: ['mariadb'] },
  { mode: 'amqp', services: ['mariadb', 'rabbitmq'] },
];

const ORDERS = 8;
const EVENTS_PER_ORDER = 6;

interface Delivery {
  readonly index: number;
  readonly order: number;
  readonly accepted: boolean;
  readonly webhookId: string;
}

/**
 * A chain's fate by the rank of its UUID among the chains the receiver has met, so the receiver needs no knowledge
 * of the publish order it checks: the 5th and 20th chains die, every 4th other one is refused once.
 */
function createFates() {
  const rank = new Map<string, number>();
  const rankOf = (uuid: string) => {
    if (!rank.has(uuid)) rank.set(uuid, rank.size + 1);
    return rank.get(uuid)!;
  };
  const dies = (uuid: string) => [5, 20].includes(rankOf(uuid));
  return { dies, refusedOnce: (uuid: string) => !dies(uuid) && rankOf(uuid) % 4 === 1 };
}

/**
 * Publishes as Magento does and says the message id each trigger got, in publish order: on RabbitMQ with a message id
 * of its own (Magento's publisher sets one), on the database queue the `queue_message` row's id.
 */
async function magentoPublisher(app: App, env: Record<string, string>): Promise<{ publish(eventName: string, order: number): Promise<string>; close(): Promise<void> }> {
  let n = 0;
  if (app.transport.kind === 'amqp') {
    const { connect } = await import('amqplib');
    const connection = await connect(env.ASYNC_EVENTS_AMQP ?? '');
    const channel = await connection.createConfirmChannel();
    return {
      async publish(eventName, order) {
        const messageId = `magento-${++n}`;
        channel.publish(DEFAULT_EXCHANGE, TRIGGER_TOPIC, Buffer.from(encodeTriggerMessage(eventName, { id: order }, 0)), { messageId, deliveryMode: 2 });
        await channel.waitForConfirms();
        return messageId;
      },
      close: () => connection.close(),
    };
  }
  return {
    async publish(eventName, order) {
      await app.publish(eventName, { id: order }, 0);
      const row = await app.store.db.selectFrom('queue_message').select('id').where('topic_name', '=', TRIGGER_TOPIC).orderBy('id', 'desc').limit(1).executeTakeFirstOrThrow();
      return String(row.id);
    },
    close: async () => undefined,
  };
}

for (const { mode, services } of modes) {
  describeWith(services, `ordering by entity with two replicas (${mode})`, () => {
    const closers: (() => Promise<void>)[] = [];
    afterEach(async () => {
      for (const close of closers.splice(0).reverse()) await close().catch(() => undefined);
    });

    async function replicas(): Promise<{ apps: App[]; standin: MagentoStandin; env: Record<string, string> }> {
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
      return { apps, standin, env };
    }

    it('delivers every order\'s events in publish order across retries, a dead one releasing the next, while other orders flow', async () => {
      const { apps, env } = await replicas();
      const [first, second] = apps as [App, App];
      // The receiver decides by the chain (webhook-id) alone: some chains are refused once, some always (they die).
      const { dies, refusedOnce } = createFates();
      const tries = new Map<string, number>();
      const deliveries: Delivery[] = [];
      const receiver = await startReceiver((request: ReceivedRequest, index) => {
        const webhookId = String(request.headers['webhook-id']);
        const body = JSON.parse(request.body) as { data: { entity_id: number } };
        const n = (tries.get(webhookId) ?? 0) + 1;
        tries.set(webhookId, n);
        const accepted = !dies(webhookId) && !(refusedOnce(webhookId) && n === 1);
        deliveries.push({ index, order: body.data.entity_id, webhookId, accepted });
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
      const published: { order: number; messageId: string }[] = [];
      const publisher = await magentoPublisher(first, env);
      closers.push(() => publisher.close());
      for (let round = 0; round < EVENTS_PER_ORDER; round++) {
        for (let o = 0; o < ORDERS; o++) {
          const order = 100 + ((o * 3 + round) % ORDERS);
          const messageId = await publisher.publish(round === 0 ? 'sales.order.created' : 'sales.order.updated', order);
          published.push({ order, messageId });
        }
      }
      // Halfway, one replica shuts down; the other carries on with what it held.
      await waitFor('half of the events delivered', () => deliveries.filter((d) => d.accepted).length >= published.length / 2, 60_000);
      await first.close();

      // Every ordered chain ended (delivered or dead) and was marked done.
      const rows = await waitFor('every ordered chain done', async () => {
        const found = await second.store.db.selectFrom('async_event_chain_order').select(['uuid', 'message_id', 'done']).execute();
        return found.length === published.length && found.every((row) => Number(row.done) === 1) ? found : undefined;
      }, 120_000, 200);
      const publishOf = new Map(published.map((p, i) => [p.messageId, i]));
      const publishOfChain = new Map(rows.map((row) => [row.uuid, publishOf.get(row.message_id) ?? -1]));
      expect([...publishOfChain.values()].sort((a, b) => a - b)).toEqual(published.map((_, i) => i));
      const uuidOf = new Map([...publishOfChain].map(([uuid, i]) => [i, uuid]));
      const dead = [...publishOfChain.keys()].filter(dies);
      const refused = [...publishOfChain.keys()].filter(refusedOnce);
      // The scenario exercised both kinds of failure.
      expect(dead).toHaveLength(2);
      expect(refused.length).toBeGreaterThan(5);
      for (const [uuid] of publishOfChain) {
        const seen = deliveries.filter((d) => d.webhookId === uuid);
        if (dies(uuid)) expect(seen.map((d) => d.accepted), `dead chain ${uuid}`).toEqual([false, false, false]);
        else expect(seen.filter((d) => d.accepted), `chain ${uuid} delivered once`).toHaveLength(1);
      }

      for (let o = 0; o < ORDERS; o++) {
        const order = 100 + o;
        const sequence = published.map((p, i) => ({ ...p, i })).filter((p) => p.order === order).map((p) => uuidOf.get(p.i) ?? '');
        for (let k = 1; k < sequence.length; k++) {
          const previous = sequence[k - 1]!;
          const current = sequence[k]!;
          // The previous event's last try (its success, or its death) comes before the first try of this one.
          const previousEnd = Math.max(...deliveries.filter((d) => d.webhookId === previous).map((d) => d.index));
          const currentStart = Math.min(...deliveries.filter((d) => d.webhookId === current).map((d) => d.index));
          expect(currentStart, `order ${order}: event ${k + 1} tried before event ${k} ended`).toBeGreaterThan(previousEnd);
        }
      }
      // While a dead chain's order waited through its retries, other orders were delivered.
      const deadTries = deliveries.filter((d) => d.webhookId === dead[0]).map((d) => d.index);
      const deadOrder = deliveries.find((d) => d.webhookId === dead[0])?.order;
      const meanwhile = deliveries.filter((d) => d.index > deadTries[0]! && d.index < deadTries.at(-1)! && d.order !== deadOrder && d.accepted);
      expect(meanwhile.length).toBeGreaterThan(0);
    }, 200_000);

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
