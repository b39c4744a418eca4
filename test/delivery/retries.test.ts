import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeWith, type ServiceName } from '../support/services.ts';
import { startReceiver, startSidecar, waitFor, type QueueMode, type TestSidecar } from '../support/sidecar.ts';

const modes: { mode: QueueMode; services: ServiceName[] }[] = [
  { mode: 'sqlite', services: [] },
  { mode: 'amqp', services: ['mariadb', 'rabbitmq'] },
];

for (const { mode, services } of modes) {
  describeWith(services, `retries on ${mode}`, () => {
    let sidecar: TestSidecar;
    const receivers: Awaited<ReturnType<typeof startReceiver>>[] = [];
    const receiver = async (...args: Parameters<typeof startReceiver>) => {
      const r = await startReceiver(...args);
      receivers.push(r);
      return r;
    };

    beforeAll(async () => {
      sidecar = await startSidecar({ mode, maxDeaths: 3, env: { ASYNC_EVENTS_HTTP_TIMEOUT_MS: '800', ASYNC_EVENTS_HTTP_CONNECT_TIMEOUT_MS: '500' } });
    });
    afterAll(async () => {
      await sidecar?.close();
      for (const r of receivers) await r.close();
    });

    const subscribe = (url: string, eventName = 'sales.order.created') =>
      sidecar.app.store.subscriptions.create({ eventName, recipientUrl: url, verificationToken: 'secret', metadata: 'http', storeId: 0 });

    it('503: 1 + max_deaths attempts at 1, 4, 9 s under one UUID, dead-lettered, then replay delivers', async () => {
      const failing = await receiver(() => ({ status: 503, body: 'down for maintenance' }));
      const subscription = await subscribe(failing.url, 'sales.invoice.created');
      await sidecar.app.publish('sales.invoice.created', { id: 7 }, 0);

      const uuid = await waitFor('first attempt', () => failing.requests[0]?.headers['webhook-id'] as string | undefined);
      const chain = await waitFor('the chain to die', async () => {
        const c = await sidecar.app.store.log.chain(uuid);
        return c?.status === 'dead' ? c : undefined;
      }, 25_000);
      expect(chain.attempts).toBe(4);
      expect(failing.requests).toHaveLength(4);
      expect(new Set(failing.requests.map((r) => r.headers['webhook-id']))).toEqual(new Set([uuid]));
      const gaps = failing.requests.slice(1).map((r, i) => (r.at - (failing.requests[i]?.at ?? 0)) / 1000);
      expect(gaps).toHaveLength(3);
      [1, 4, 9].forEach((expected, i) => expect(Math.abs((gaps[i] ?? 0) - expected)).toBeLessThanOrEqual(0.5));
      const rows = await sidecar.app.store.log.attempts(uuid);
      expect(rows.map((r) => r.success)).toEqual([false, false, false, false]);
      expect(rows.every((r) => r.responseData.includes('down for maintenance') && r.subscriptionId === subscription.id)).toBe(true);

      failing.setReply(() => ({ status: 200, body: 'back' }));
      await sidecar.app.deps.replay(uuid);
      const replayed = await sidecar.app.store.log.attempts(uuid);
      expect(replayed).toHaveLength(5);
      expect(replayed[4]).toMatchObject({ success: true, responseData: 'back' });
      expect(await sidecar.app.store.log.chain(uuid)).toMatchObject({ status: 'delivered' });
    }, 40_000);

    it('network errors, timeouts, 429 with Retry-After, 410 and 400 follow the contract', async () => {
      const refused = await receiver();
      const refusedUrl = refused.url;
      await refused.close(); // nothing listens there any more: connection refused
      const hanging = await receiver(() => 'hang');
      const throttled = await receiver((_req, i) => (i === 0 ? { status: 429, body: 'slow down', headers: { 'retry-after': '3' } } : { status: 200, body: 'ok' }));
      const gone = await receiver(() => ({ status: 410, body: 'gone' }));
      const bad = await receiver(() => ({ status: 400, body: 'bad payload' }));
      const subs = {
        refused: await subscribe(refusedUrl, 'sales.shipment.created'),
        hanging: await subscribe(hanging.url, 'sales.shipment.created'),
        throttled: await subscribe(throttled.url, 'sales.shipment.created'),
        gone: await subscribe(gone.url, 'sales.shipment.created'),
        bad: await subscribe(bad.url, 'sales.shipment.created'),
      };
      await sidecar.app.publish('sales.shipment.created', { id: 9 }, 0);

      const chainOf = async (subscriptionId: number) => {
        const chains = await sidecar.app.store.log.chains({ limit: 1000 });
        return chains.find((c) => c.subscriptionId === subscriptionId);
      };
      // 429 + Retry-After: 3 → the retry waits 3 s (more than the 1 s backoff), then succeeds.
      await waitFor('throttled delivery', () => throttled.requests.length >= 2, 10_000);
      const wait = ((throttled.requests[1]?.at ?? 0) - (throttled.requests[0]?.at ?? 0)) / 1000;
      expect(wait).toBeGreaterThanOrEqual(2.5);
      expect(wait).toBeLessThanOrEqual(3.6);
      await waitFor('throttled chain delivered', async () => (await chainOf(subs.throttled.id))?.status === 'delivered');

      // 410: final, and the subscription is disabled.
      await waitFor('410 chain failed', async () => (await chainOf(subs.gone.id))?.status === 'failed');
      expect((await sidecar.app.store.subscriptions.get(subs.gone.id))?.active).toBe(false);
      expect(gone.requests).toHaveLength(1);

      // 400: final, no retry, subscription stays active.
      await waitFor('400 chain failed', async () => (await chainOf(subs.bad.id))?.status === 'failed');
      expect((await sidecar.app.store.subscriptions.get(subs.bad.id))?.active).toBe(true);

      // Connection refused and a timeout are retried.
      const refusedChain = await waitFor('refused chain retried', async () => {
        const c = await chainOf(subs.refused.id);
        return c && c.attempts >= 2 ? c : undefined;
      }, 10_000);
      expect(['retrying', 'dead']).toContain(refusedChain.status);
      const hangingChain = await waitFor('hanging chain retried', async () => {
        const c = await chainOf(subs.hanging.id);
        return c && c.attempts >= 2 ? c : undefined;
      }, 10_000);
      expect(['retrying', 'dead']).toContain(hangingChain.status);
      const rows = await sidecar.app.store.log.attempts(hangingChain.uuid);
      expect(rows[0]?.success).toBe(false);
      expect(bad.requests).toHaveLength(1);
    }, 30_000);

    it('max_deaths = 0 means no retry, read live without restart', async () => {
      await sidecar.app.store.configValues.set('system/async_events/max_deaths', '0');
      await new Promise((r) => setTimeout(r, 2200)); // the admin config cache lives 2 s
      const failing = await receiver(() => ({ status: 500, body: 'boom' }));
      const subscription = await subscribe(failing.url, 'customer.created');
      await sidecar.app.publish('customer.created', { customerId: 1 }, 0);
      const chain = await waitFor('dead chain', async () => {
        const chains = await sidecar.app.store.log.chains({ limit: 1000 });
        const c = chains.find((x) => x.subscriptionId === subscription.id);
        return c?.status === 'dead' ? c : undefined;
      });
      expect(chain.attempts).toBe(1);
      await new Promise((r) => setTimeout(r, 1500));
      expect(failing.requests).toHaveLength(1);
      await sidecar.app.store.configValues.set('system/async_events/max_deaths', '3');
    }, 20_000);
  });
}
