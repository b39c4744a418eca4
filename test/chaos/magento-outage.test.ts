import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeWith, type ServiceName } from '../support/services.ts';
import { startReceiver, startSidecar, waitFor, type QueueMode, type TestSidecar } from '../support/sidecar.ts';

/*
 * A Magento outage in the middle of 2,000 events: the stand-in answers 503 (maintenance mode), then resets every
 * connection, then recovers. Trigger messages are held behind the breaker, never parked, and every chain ends
 * delivered once Magento is back. It restarts no shared server, so it may run beside other suites.
 */

const EVENTS = 2000;

const modes: { mode: QueueMode; services: ServiceName[]; name: string }[] = [
  { mode: 'amqp', services: ['mariadb', 'rabbitmq'], name: 'RabbitMQ' },
  { mode: 'mariadb', services: ['mariadb'], name: 'the database queue on MariaDB' },
];

for (const { mode, services, name } of modes) {
  describeWith(services, `Magento outage with ${name}`, () => {
    let sidecar: TestSidecar;
    let receiver: Awaited<ReturnType<typeof startReceiver>>;

    beforeAll(async () => {
      receiver = await startReceiver(() => ({ status: 200, body: 'ok' }));
      // Short breaker backoff so the test is quick; production doubles from 1 s up to 60 s.
      sidecar = await startSidecar({ mode, startConsumers: false, app: { magentoBackoff: { initialDelayMs: 50, maxDelayMs: 400 }, databaseQueue: { pollIntervalMs: 25, leaseSeconds: 5 } } });
    });
    afterAll(async () => {
      await sidecar?.close();
      await receiver?.close();
    });

    it(`holds all ${EVENTS} events through 503s and resets and delivers them once Magento is back`, async () => {
      const { app, standin } = sidecar;
      await app.store.subscriptions.create({ eventName: 'sales.order.created', recipientUrl: receiver.url, verificationToken: 't', metadata: 'http', storeId: 0 });
      standin.fault = { status: 503 };
      for (let i = 0; i < EVENTS; i += 200) {
        await Promise.all(Array.from({ length: 200 }, (_, j) => app.publish('sales.order.created', { id: 10_000 + i + j }, 0)));
      }
      await app.startConsumers(['event.trigger.consumer', 'event.retry.consumer']);

      // Maintenance mode: the breaker opens, readiness and the gauge say so, nothing is parked or delivered.
      await waitFor('the breaker to open', () => !app.magentoAvailability().reachable, 30_000);
      const magento = (await app.deps.health()).find((service) => service.name === 'magento');
      expect(magento).toMatchObject({ up: false, detail: expect.stringMatching(/^Magento unreachable since \d{4}-\d\d-\d\dT/) as unknown });
      expect(await app.metrics.registry.getSingleMetricAsString('async_events_magento_reachable')).toMatch(/async_events_magento_reachable 0/);
      const probesBefore = standin.requests.length;
      await waitFor('more probes during the 503s', () => standin.requests.length >= probesBefore + 3, 30_000);

      // Connections reset.
      standin.fault = 'reset';
      const resetsFrom = standin.requests.length;
      await waitFor('probes against resetting connections', () => standin.requests.length >= resetsFrom + 3, 30_000);
      expect(await app.store.parked.count()).toBe(0);
      expect(receiver.requests).toHaveLength(0);
      // One probe at a time: the outage did not turn into a storm of callbacks.
      expect(standin.requests.length).toBeLessThan(EVENTS);

      // Magento is back: everything held goes through.
      standin.fault = undefined;
      const chains = await waitFor(
        'every chain delivered',
        async () => {
          const all = await app.store.log.chains({ limit: EVENTS * 2 });
          return all.length >= EVENTS && all.every((c) => c.status === 'delivered') ? all : undefined;
        },
        180_000,
        250,
      );
      expect(chains).toHaveLength(EVENTS);
      expect(await app.store.parked.count()).toBe(0);
      expect(new Set(receiver.requests.map((r) => r.headers['webhook-id'])).size).toBe(EVENTS);
      expect(app.magentoAvailability().reachable).toBe(true);
      expect((await app.deps.health()).find((service) => service.name === 'magento')).toMatchObject({ up: true });
    });
  });
}
