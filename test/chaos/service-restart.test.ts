import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeWith, restartMariadb, restartRabbitmq } from '../support/services.ts';
import { startReceiver, startSidecar, waitFor, type QueueMode, type TestSidecar } from '../support/sidecar.ts';

/*
 * At-least-once across a restart of the broker or the database in the middle of 2,000 events: every chain ends
 * with a success row, none is lost. Runs alone (vitest.chaos.config.ts): it stops the shared servers, or private ones
 * (ASYNC_EVENTS_TEST_RABBITMQ_PORT/_NODE, ASYNC_EVENTS_TEST_MARIADB_PORT/_DAEMON_ARGS in test/support/services.ts).
 *
 * Retry messages RabbitMQ loses in its delay queues across the restart are sent again by the overdue sweep (a short
 * grace here); test/delivery/overdue-chains.test.ts covers the sweep itself.
 */

const EVENTS = 2000;

const scenarios: { name: string; mode: QueueMode; restart: () => Promise<void> }[] = [
  { name: 'RabbitMQ restart (RabbitMQ + MariaDB)', mode: 'amqp', restart: () => restartRabbitmq() },
  { name: 'MariaDB restart (RabbitMQ + MariaDB)', mode: 'amqp', restart: () => restartMariadb() },
  { name: 'MariaDB restart (database queue on MariaDB)', mode: 'mariadb', restart: () => restartMariadb() },
];

for (const scenario of scenarios) {
  describeWith(['mariadb', 'rabbitmq'], scenario.name, () => {
    let sidecar: TestSidecar;
    let receiver: Awaited<ReturnType<typeof startReceiver>>;

    beforeAll(async () => {
      // A little slow, so 2,000 deliveries outlast the restart.
      receiver = await startReceiver(() => ({ status: 200, body: 'ok', delayMs: 20 }));
      sidecar = await startSidecar({ mode: scenario.mode, startConsumers: false, app: { overdueGraceSeconds: 10, databaseQueue: { pollIntervalMs: 25, leaseSeconds: 3 }, concurrency: { perSubscription: 8 } } });
    });
    afterAll(async () => {
      await sidecar?.close();
      await receiver?.close();
    });

    it(`every one of ${EVENTS} chains ends delivered`, async () => {
      await sidecar.app.store.subscriptions.create({ eventName: 'sales.order.created', recipientUrl: receiver.url, verificationToken: 't', metadata: 'http', storeId: 0 });
      for (let i = 0; i < EVENTS; i += 200) {
        await Promise.all(Array.from({ length: 200 }, (_, j) => sidecar.app.publish('sales.order.created', { id: 10_000 + i + j }, 0)));
      }
      await sidecar.app.startConsumers(['event.trigger.consumer', 'event.retry.consumer']);
      await waitFor('some deliveries', () => receiver.requests.length >= 300, 60_000);
      await scenario.restart();
      // The outage really fell in the middle of the run: deliveries were still to come when the server came back.
      const deliveredThroughOutage = new Set(receiver.requests.map((r) => r.headers['webhook-id'])).size;
      expect(deliveredThroughOutage).toBeLessThan(EVENTS);

      const chains = await waitFor(
        'every chain delivered',
        async () => {
          const all = await sidecar.app.store.log.chains({ limit: EVENTS * 2 }).catch(() => undefined);
          if (!all) return undefined;
          return all.length >= EVENTS && all.every((c) => c.status === 'delivered') ? all : undefined;
        },
        180_000,
        500,
      );
      expect(chains).toHaveLength(EVENTS);
      expect(await sidecar.app.store.log.count({ success: true })).toBeGreaterThanOrEqual(EVENTS);
      expect(new Set(receiver.requests.map((r) => r.headers['webhook-id'])).size).toBe(EVENTS);
    });
  });
}
