import { randomUUID } from 'node:crypto';
import { afterEach, expect, it } from 'vitest';
import { sweepOverdueChains } from '../../src/delivery/overdue-chains.ts';
import { serializedData } from '../../src/delivery/retry-content.ts';
import { describeWith } from '../support/services.ts';
import { startReceiver, startSidecar, waitFor, type QueueMode, type TestSidecar } from '../support/sidecar.ts';

/*
 * A chain whose retry message was lost (RabbitMQ's delay queues lose them across a restart) is owed by its row: the
 * overdue sweep sends it again, once between all replicas, under its own UUID; chains merely waiting are left alone.
 */

const GRACE_SECONDS = 60;
const modes: { mode: QueueMode; services: ('mariadb' | 'rabbitmq')[] }[] = [
  { mode: 'sqlite', services: [] },
  { mode: 'mariadb', services: ['mariadb'] },
];

for (const { mode, services } of modes) {
  describeWith(services, `overdue sweep (${mode})`, () => {
    let sidecar: TestSidecar | undefined;
    let receiver: Awaited<ReturnType<typeof startReceiver>> | undefined;
    afterEach(async () => {
      await sidecar?.close();
      await receiver?.close();
    });

    async function setup() {
      receiver = await startReceiver(() => ({ status: 200, body: 'ok' }));
      sidecar = await startSidecar({ mode });
      const subscription = await sidecar.app.store.subscriptions.create({ eventName: 'sales.order.created', recipientUrl: receiver.url, verificationToken: 't', metadata: 'http', storeId: 0 });
      return { app: sidecar.app, subscription };
    }

    function secondsAgo(seconds: number): Date {
      return new Date(Date.now() - seconds * 1000);
    }

    it('sends a retrying chain whose message was lost again, once across concurrent sweeps, and it is delivered under its UUID', async () => {
      const { app, subscription } = await setup();
      const uuid = randomUUID();
      const payload = { uuid, eventName: 'sales.order.created', storeId: '0', data: '{"entity_id":7}' };
      // A failed first attempt whose retry was due long ago; no retry message exists.
      await app.store.log.recordAttempt({
        uuid, subscriptionId: subscription.id, eventName: payload.eventName, storeId: '0', success: false, responseData: '503',
        serializedData: serializedData(payload, 'cloudevents'), chainStatus: 'retrying', deathCount: 1, nextAttemptAt: secondsAgo(GRACE_SECONDS * 3),
      });
      // Another one, due only a moment ago: its message may simply be on its way.
      const waiting = randomUUID();
      await app.store.log.recordAttempt({
        uuid: waiting, subscriptionId: subscription.id, eventName: payload.eventName, storeId: '0', success: false, responseData: '503',
        serializedData: serializedData({ ...payload, uuid: waiting }, 'cloudevents'), chainStatus: 'retrying', deathCount: 1, nextAttemptAt: secondsAgo(5),
      });

      const counts = await Promise.all([sweepOverdueChains(app.attempts, { graceSeconds: GRACE_SECONDS }), sweepOverdueChains(app.attempts, { graceSeconds: GRACE_SECONDS })]);
      expect(counts[0] + counts[1]).toBe(1);

      await waitFor('the lost chain delivered', async () => (await app.store.log.chain(uuid))?.status === 'delivered');
      expect(receiver?.requests.map((r) => r.headers['webhook-id'])).toEqual([uuid]);
      expect(JSON.parse(receiver?.requests[0]?.body ?? '{}')).toMatchObject({ data: { entity_id: 7 } });
      expect((await app.store.log.attempts(uuid)).map((a) => a.success)).toEqual([false, true]);
      expect((await app.store.log.chain(waiting))?.status).toBe('retrying');
      // Delivered now: a later sweep finds nothing more.
      expect(await sweepOverdueChains(app.attempts, { graceSeconds: GRACE_SECONDS })).toBe(0);
    });

    it('sends a chain handed off before its first attempt from the content kept with it, then forgets that content', async () => {
      const { app, subscription } = await setup();
      const uuid = randomUUID();
      await app.store.log.holdChain({
        uuid, subscriptionId: subscription.id, eventName: 'sales.order.created', storeId: '0', nextAttemptAt: secondsAgo(GRACE_SECONDS * 2),
        content: serializedData({ uuid, eventName: 'sales.order.created', storeId: '0', data: '{"entity_id":8}' }, 'cloudevents'),
      });
      expect((await app.store.log.chain(uuid))?.status).toBe('pending');

      expect(await sweepOverdueChains(app.attempts, { graceSeconds: GRACE_SECONDS })).toBe(1);
      await waitFor('the held chain delivered', async () => (await app.store.log.chain(uuid))?.status === 'delivered');
      expect(JSON.parse(receiver?.requests[0]?.body ?? '{}')).toMatchObject({ id: uuid, data: { entity_id: 8 } });
      await sweepOverdueChains(app.attempts, { graceSeconds: GRACE_SECONDS });
      expect(await app.store.log.heldContent(uuid)).toBeUndefined();
    });

    it('a retry queue that refuses the message leaves the chain owed: the next sweep after the grace period sends it', async () => {
      const { app, subscription } = await setup();
      const uuid = randomUUID();
      await app.store.log.recordAttempt({
        uuid, subscriptionId: subscription.id, eventName: 'sales.order.created', storeId: '0', success: false, responseData: '503',
        serializedData: serializedData({ uuid, eventName: 'sales.order.created', storeId: '0', data: '{"entity_id":9}' }, 'cloudevents'), chainStatus: 'retrying', deathCount: 1, nextAttemptAt: secondsAgo(GRACE_SECONDS * 3),
      });
      const refusing = { ...app.attempts, transport: { ...app.attempts.transport, requeue: () => Promise.reject(new Error('broker down')) } };
      expect(await sweepOverdueChains(refusing, { graceSeconds: GRACE_SECONDS })).toBe(0);
      // Claimed (due from now) but not sent: not overdue again until the grace period has passed.
      expect(await sweepOverdueChains(app.attempts, { graceSeconds: GRACE_SECONDS })).toBe(0);
      expect(await sweepOverdueChains(app.attempts, { graceSeconds: GRACE_SECONDS }, new Date(Date.now() + (GRACE_SECONDS + 5) * 1000))).toBe(1);
      await waitFor('the refused chain delivered', async () => (await app.store.log.chain(uuid))?.status === 'delivered');
      expect(receiver?.requests.map((r) => r.headers['webhook-id'])).toEqual([uuid]);
    });

    it('leaves the chains of a disabled subscription alone and stops looking at them', async () => {
      const { app, subscription } = await setup();
      const uuid = randomUUID();
      await app.store.log.recordAttempt({
        uuid, subscriptionId: subscription.id, eventName: 'sales.order.created', storeId: '0', success: false, responseData: '503',
        serializedData: '{"data":{}}', chainStatus: 'retrying', deathCount: 2, nextAttemptAt: secondsAgo(GRACE_SECONDS * 3),
      });
      await app.store.subscriptions.update(subscription.id, { active: false });
      expect(await sweepOverdueChains(app.attempts, { graceSeconds: GRACE_SECONDS })).toBe(0);
      const chain = await app.store.log.chain(uuid);
      expect(chain?.status).toBe('retrying');
      expect(chain?.nextAttemptAt).toBeNull();
      expect(await app.store.log.overdueChains({ dueBefore: new Date(), limit: 10 })).toEqual([]);
      expect(receiver?.requests).toHaveLength(0);
    });
  });
}
