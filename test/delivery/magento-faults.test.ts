import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startMagentoStandin, type MagentoStandin } from '../../examples/magento-standin/server.ts';
import { MAGENTO_TOKEN, startReceiver, startSidecar, waitFor, type TestSidecar } from '../support/sidecar.ts';

/*
 * Each way Magento fails, seen through a whole sidecar (SQLite, database queue): faults that clear by themselves
 * or by fixing a setting hold the trigger messages and deliver them once Magento answers; only a permanent answer
 * parks, with Magento's reason.
 */

describe('Magento faults', () => {
  let sidecar: TestSidecar;
  let receiver: Awaited<ReturnType<typeof startReceiver>>;
  let nextId = 1000;

  beforeAll(async () => {
    receiver = await startReceiver(() => ({ status: 200, body: 'ok' }));
    sidecar = await startSidecar({ mode: 'sqlite', env: { ASYNC_EVENTS_HTTP_TIMEOUT_MS: '1500' }, app: { magentoBackoff: { initialDelayMs: 20, maxDelayMs: 100 } } });
    await sidecar.app.store.subscriptions.create({ eventName: 'sales.order.created', recipientUrl: receiver.url, verificationToken: 't', metadata: 'http', storeId: 0 });
  });
  afterAll(async () => {
    await sidecar?.close();
    await receiver?.close();
  });

  const publish = async (count: number): Promise<void> => {
    for (let i = 0; i < count; i++) await sidecar.app.publish('sales.order.created', { id: nextId++ }, 0);
  };
  const magentoHealth = async () => (await sidecar.app.deps.health()).find((service) => service.name === 'magento');

  /** Publishes during the fault, checks the messages are held (not parked, not delivered), clears it, sees them delivered. */
  async function heldThrough(start: () => void | Promise<void>, clear: () => void | Promise<void>, detail: RegExp, probesReachStandin = true): Promise<void> {
    const delivered = receiver.requests.length;
    const parked = await sidecar.app.store.parked.count();
    await start();
    await publish(5);
    await waitFor('the breaker to open', () => !sidecar.app.magentoAvailability().reachable);
    expect(await magentoHealth()).toMatchObject({ up: false, detail: expect.stringMatching(detail) as unknown });
    const requestsSoFar = sidecar.standin.requests.length;
    if (probesReachStandin) await waitFor('a probe', () => sidecar.standin.requests.length > requestsSoFar);
    else await new Promise((resolve) => setTimeout(resolve, 200));
    expect(receiver.requests.length).toBe(delivered);
    await clear();
    await waitFor('the held events delivered', () => receiver.requests.length >= delivered + 5);
    expect(await sidecar.app.store.parked.count()).toBe(parked);
    expect(await magentoHealth()).toMatchObject({ up: true });
  }

  it('holds through maintenance mode (503)', async () => {
    await heldThrough(
      () => void (sidecar.standin.fault = { status: 503 }),
      () => void (sidecar.standin.fault = undefined),
      /^Magento unreachable since /,
    );
  });

  it('holds through 429 and 500', async () => {
    for (const status of [429, 500]) {
      await heldThrough(
        () => void (sidecar.standin.fault = { status }),
        () => void (sidecar.standin.fault = undefined),
        /^Magento unreachable since /,
      );
    }
  });

  it('holds through reset connections', async () => {
    await heldThrough(
      () => void (sidecar.standin.fault = 'reset'),
      () => void (sidecar.standin.fault = undefined),
      /^Magento unreachable since /,
    );
  });

  it('holds while Magento is slower than the timeout', async () => {
    await heldThrough(
      () => void (sidecar.standin.delayMs = 3000),
      () => void (sidecar.standin.delayMs = 0),
      /^Magento unreachable since /,
    );
  });

  it('holds while the integration token is refused (401) and resumes once it is fixed', async () => {
    await heldThrough(
      () => void (sidecar.standin.token = 'rotated-token'),
      () => void (sidecar.standin.token = MAGENTO_TOKEN),
      /^Magento refuses the integration token since /,
    );
  });

  it('holds while Magento is down (connection refused) and resumes when it is back on its port', async () => {
    const port = Number(new URL(sidecar.standin.url).port);
    let replacement: MagentoStandin | undefined;
    await heldThrough(
      () => sidecar.standin.close(),
      async () => {
        replacement = await startMagentoStandin({ port, token: MAGENTO_TOKEN });
      },
      /^Magento unreachable since /,
      false,
    );
    await replacement?.close();
  });
});

describe('a permanent Magento answer', () => {
  let sidecar: TestSidecar;
  let receiver: Awaited<ReturnType<typeof startReceiver>>;

  beforeAll(async () => {
    receiver = await startReceiver(() => ({ status: 200, body: 'ok' }));
    sidecar = await startSidecar({ mode: 'sqlite' });
    await sidecar.app.store.subscriptions.create({ eventName: 'sales.order.created', recipientUrl: receiver.url, verificationToken: 't', metadata: 'http', storeId: 0 });
  });
  afterAll(async () => {
    await sidecar?.close();
    await receiver?.close();
  });

  it('parks the message with Magento’s reason (404 for the entity) and keeps Magento marked as answering', async () => {
    await sidecar.app.publish('sales.order.created', { id: 'missing' }, 0);
    const parked = await waitFor('the message parked', async () => (await sidecar.app.store.parked.list())[0]);
    expect(parked.reason).toMatch(/HTTP 404 .*The entity that was requested doesn't exist/);
    expect(sidecar.app.magentoAvailability()).toEqual({ reachable: true });
    expect(receiver.requests).toHaveLength(0);
  });
});
