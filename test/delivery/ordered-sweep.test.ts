import { randomUUID } from 'node:crypto';
import { afterEach, expect, it } from 'vitest';
import { HEAD_STALE_SECONDS, createOrderedChains } from '../../src/delivery/ordered-chains.ts';
import { entityKey } from '../../src/delivery/entity-order.ts';
import { encodeTriggerMessage } from '../../src/queue/publish.ts';
import type { Subscription } from '../../src/types.ts';
import { describeWith } from '../support/services.ts';
import { startReceiver, startSidecar, waitFor, type QueueMode, type TestSidecar } from '../support/sidecar.ts';

/*
 * What the ordered sweep finds after a crash (ordering: "entity"): a head a process took but never started, a head
 * whose chain ended without being marked done, and the rows of a subscription switched off. Each is a state a
 * crash between two writes leaves; the sweep must carry the entity on, in order, and drop nothing it owes.
 */

const modes: { mode: QueueMode; services: ('mariadb' | 'rabbitmq')[] }[] = [
  { mode: 'sqlite', services: [] },
  { mode: 'mariadb', services: ['mariadb'] },
];

for (const { mode, services } of modes) {
  describeWith(services, `ordered chain sweep (${mode})`, () => {
    let sidecar: TestSidecar | undefined;
    let receiver: Awaited<ReturnType<typeof startReceiver>> | undefined;
    afterEach(async () => {
      await sidecar?.close();
      await receiver?.close();
    });

    async function setup() {
      receiver = await startReceiver(() => ({ status: 200, body: 'ok' }));
      // No consumers: the sweep alone must move the entity on.
      sidecar = await startSidecar({ mode, startConsumers: false });
      const app = sidecar.app;
      const subscription = await app.store.subscriptions.create({ eventName: 'sales.order.*', recipientUrl: receiver.url, verificationToken: 't', metadata: 'http', rules: { ordering: 'entity' } });
      const ordered = createOrderedChains({ ...app.attempts, events: () => app.events(), callback: app.callback, chainSalt: 'test-salt' });
      return { app, subscription, ordered };
    }

    function chainOf(subscription: Subscription, order: number, eventName: string) {
      const body = encodeTriggerMessage(eventName, { id: order }, 0);
      return { uuid: randomUUID(), subscriptionId: subscription.id, entityKey: entityKey({ id: order }), messageId: randomUUID(), triggerBody: body };
    }

    const longAgo = () => new Date(Date.now() - (HEAD_STALE_SECONDS + 60) * 1000);

    it('starts a head taken long ago by a process that never started it, then the next one, in order', async () => {
      const { app, subscription, ordered } = await setup();
      const created = chainOf(subscription, 7, 'sales.order.created');
      const updated = chainOf(subscription, 7, 'sales.order.updated');
      await app.store.chainOrder.takeIn([created, updated]);
      expect(await app.store.chainOrder.claimHead(subscription.id, created.entityKey, longAgo())).toBeDefined();

      await ordered.sweep();
      await waitFor('both delivered', () => (receiver?.requests.length ?? 0) >= 2);
      await ordered.drain();
      expect(receiver?.requests.map((r) => r.headers['webhook-id'])).toEqual([created.uuid, updated.uuid]);
      expect((await app.store.chainOrder.get(created.uuid))?.done).toBe(true);
      await waitFor('the last one done', async () => (await app.store.chainOrder.get(updated.uuid))?.done === true);
    });

    it('leaves a fresh claim alone: its process may still be starting it', async () => {
      const { app, subscription, ordered } = await setup();
      const created = chainOf(subscription, 8, 'sales.order.created');
      await app.store.chainOrder.takeIn([created]);
      await app.store.chainOrder.claimHead(subscription.id, created.entityKey, new Date());
      await ordered.sweep();
      await ordered.drain();
      expect(receiver?.requests).toHaveLength(0);
      expect((await app.store.chainOrder.get(created.uuid))?.done).toBe(false);
    });

    it('finishes a head whose chain was delivered but not marked done, and starts the next', async () => {
      const { app, subscription, ordered } = await setup();
      const created = chainOf(subscription, 9, 'sales.order.created');
      const updated = chainOf(subscription, 9, 'sales.order.updated');
      await app.store.chainOrder.takeIn([created, updated]);
      await app.store.chainOrder.claimHead(subscription.id, created.entityKey, longAgo());
      await app.store.log.recordAttempt({
        uuid: created.uuid, subscriptionId: subscription.id, eventName: 'sales.order.created', storeId: '0', success: true, responseData: 'ok',
        serializedData: '{}', chainStatus: 'delivered', deathCount: 0, nextAttemptAt: null,
      });

      await ordered.sweep();
      await waitFor('the next one delivered', () => (receiver?.requests.length ?? 0) >= 1);
      await ordered.drain();
      // The delivered one is not sent again.
      expect(receiver?.requests.map((r) => r.headers['webhook-id'])).toEqual([updated.uuid]);
      expect((await app.store.chainOrder.get(created.uuid))?.done).toBe(true);
    });

    it('drops the waiting chains of a subscription switched off, so nothing stays held', async () => {
      const { app, subscription, ordered } = await setup();
      const rows = [chainOf(subscription, 10, 'sales.order.created'), chainOf(subscription, 10, 'sales.order.updated')];
      await app.store.chainOrder.takeIn(rows);
      await app.store.subscriptions.update(subscription.id, { active: false });

      await ordered.sweep();
      await waitFor('both done', async () => (await Promise.all(rows.map((r) => app.store.chainOrder.get(r.uuid)))).every((r) => r?.done === true));
      await ordered.drain();
      expect(receiver?.requests).toHaveLength(0);
    });
  });
}
