import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { servicesOf } from '../../src/api/services.ts';
import { LOCAL_OPERATOR } from '../../src/types.ts';
import { startReceiver, startSidecar, waitFor, type ReceivedRequest, type TestSidecar } from '../support/sidecar.ts';

/*
 * The fault model (CONTRACT.md) on the ordered path (ordering: "entity"), through a whole sidecar (SQLite, database
 * queue): an ordered chain's Magento callback is made when its turn comes, so Magento down, slow, resetting or
 * erroring must hold it (nothing parked, nothing out of order) and a permanent answer must park it and let the
 * entity's next event go; a hanging recipient of the ordering subscription must not hold another subscription.
 */

describe('ordering by entity under faults', () => {
  let sidecar: TestSidecar;
  let ordered: Awaited<ReturnType<typeof startReceiver>>;
  let plain: Awaited<ReturnType<typeof startReceiver>>;
  let nextOrder = 2000;

  beforeAll(async () => {
    ordered = await startReceiver(() => ({ status: 200, body: 'ok' }));
    plain = await startReceiver(() => ({ status: 200, body: 'ok' }));
    sidecar = await startSidecar({ mode: 'sqlite', env: { ASYNC_EVENTS_HTTP_TIMEOUT_MS: '1500' }, app: { magentoBackoff: { initialDelayMs: 20, maxDelayMs: 100 } } });
    const service = servicesOf(sidecar.app.deps).subscriptions;
    await service.create(LOCAL_OPERATOR, { eventName: 'sales.order.*', recipientUrl: ordered.url, verificationToken: 'tok-o', ordering: 'entity' });
    await service.create(LOCAL_OPERATOR, { eventName: 'sales.order.created', recipientUrl: plain.url, verificationToken: 'tok-p' });
  });
  afterAll(async () => {
    await sidecar?.close();
    await ordered?.close();
    await plain?.close();
  });

  const typeAndOrder = (request: ReceivedRequest) => {
    const body = JSON.parse(request.body) as { type: string; data: { entity_id: number } };
    return { type: body.type, order: body.data.entity_id };
  };

  /** Publishes created then updated for `count` new orders; returns their ids. */
  async function publishOrders(count: number): Promise<number[]> {
    const orders = Array.from({ length: count }, () => nextOrder++);
    for (const order of orders) await sidecar.app.publish('sales.order.created', { id: order }, 0);
    for (const order of orders) await sidecar.app.publish('sales.order.updated', { id: order }, 0);
    return orders;
  }

  function expectInOrder(orders: readonly number[]): void {
    for (const order of orders) {
      const types = ordered.requests.map(typeAndOrder).filter((r) => r.order === order).map((r) => r.type);
      expect(types, `order ${order}`).toEqual(['sales.order.created', 'sales.order.updated']);
    }
  }

  it.each([
    ['maintenance mode (503)', () => void (sidecar.standin.fault = { status: 503 }), () => void (sidecar.standin.fault = undefined)],
    ['a 500', () => void (sidecar.standin.fault = { status: 500 }), () => void (sidecar.standin.fault = undefined)],
    ['reset connections', () => void (sidecar.standin.fault = 'reset'), () => void (sidecar.standin.fault = undefined)],
    ['Magento slower than the timeout', () => void (sidecar.standin.delayMs = 3000), () => void (sidecar.standin.delayMs = 0)],
  ])('holds ordered chains through %s, then delivers each order in order, parking nothing', async (_name, start, clear) => {
    const before = ordered.requests.length;
    const parked = await sidecar.app.store.parked.count();
    start();
    const orders = await publishOrders(3);
    await waitFor('the breaker to open', () => !sidecar.app.magentoAvailability().reachable);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(ordered.requests.length).toBe(before);
    clear();
    await waitFor('every held event delivered', () => ordered.requests.length >= before + 6, 30_000);
    expectInOrder(orders);
    expect(await sidecar.app.store.parked.count()).toBe(parked);
  });

  it('parks an event Magento answers 404 for, naming the subscription, and the entity\'s next event goes on', async () => {
    const parked = await sidecar.app.store.parked.count();
    const [other] = await publishOrders(1);
    await sidecar.app.publish('sales.order.created', { id: 'missing' }, 0);
    await sidecar.app.publish('sales.order.updated', { id: 'missing' }, 0);
    // Both of the missing order's events are parked in turn (the second only once the first is done), one each.
    const reasons = await waitFor('both parked for the ordered subscription', async () => {
      const list = (await sidecar.app.store.parked.list()).filter((p) => /ordered subscription/.test(p.reason));
      return list.length >= 2 ? list : undefined;
    }, 30_000);
    expect(reasons.every((p) => /HTTP 404/.test(p.reason))).toBe(true);
    await waitFor('the other order delivered', () => ordered.requests.map(typeAndOrder).filter((r) => r.order === other).length >= 2);
    expectInOrder([other!]);
    // The plain subscription parks its own copy of the missing created event.
    expect(await sidecar.app.store.parked.count()).toBe(parked + 3);
  });

  it('a hanging recipient of the ordering subscription holds only its own deliveries', async () => {
    ordered.setReply(() => 'hang');
    const plainBefore = plain.requests.length;
    const orderedBefore = ordered.requests.length;
    const orders = await publishOrders(4);
    await waitFor('the plain subscription served', () => plain.requests.length >= plainBefore + 4, 15_000);
    // Only each order's first event has been tried: the updates wait behind it.
    const tried = ordered.requests.slice(orderedBefore).map(typeAndOrder);
    expect(tried.every((r) => r.type === 'sales.order.created')).toBe(true);
    ordered.setReply(() => ({ status: 200, body: 'ok' }));
    await waitFor('the ordering subscription caught up', () => orders.every((order) => ordered.requests.some((r) => typeAndOrder(r).order === order && typeAndOrder(r).type === 'sales.order.updated')), 60_000);
    for (const order of orders) {
      const seen = ordered.requests.map(typeAndOrder).filter((r) => r.order === order);
      // The created event may have been tried more than once (its tries hung); never the updated before it.
      expect(seen.findIndex((r) => r.type === 'sales.order.updated')).toBeGreaterThan(seen.findIndex((r) => r.type === 'sales.order.created'));
    }
  }, 90_000);
});
