import { createHmac } from 'node:crypto';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { rawMember } from '../../src/delivery/retry-content.ts';
import { describeWith, type ServiceName } from '../support/services.ts';
import { MAGENTO_TOKEN, startReceiver, startSidecar, waitFor, type QueueMode, type TestSidecar } from '../support/sidecar.ts';

const TOKEN = 'whsec-ish token with ünïcode';

const modes: { mode: QueueMode; services: ServiceName[] }[] = [
  { mode: 'sqlite', services: [] },
  { mode: 'mariadb', services: ['mariadb'] },
  { mode: 'amqp', services: ['mariadb', 'rabbitmq'] },
];

for (const { mode, services } of modes) {
  describeWith(services, `pipeline on ${mode}: observer message → Magento callback → signed webhook → log`, () => {
    let sidecar: TestSidecar;
    let receiver: Awaited<ReturnType<typeof startReceiver>>;

    beforeAll(async () => {
      receiver = await startReceiver();
      sidecar = await startSidecar({ mode });
    });
    afterAll(async () => {
      await sidecar?.close();
      await receiver?.close();
    });

    it('delivers a published event with verifiable signatures and Magento bytes unchanged', async () => {
      const subscription = await sidecar.app.store.subscriptions.create({ eventName: 'sales.order.created', recipientUrl: receiver.url, verificationToken: TOKEN, metadata: 'http', storeId: 0 });
      await sidecar.app.publish('sales.order.created', { id: 42 }, '1');
      const request = await waitFor('the webhook', () => receiver.requests[0]);

      // Upstream's signature: lower-case hex HMAC-SHA256 of the raw body, keyed with the token.
      expect(request.headers['x-magento-signature']).toBe(createHmac('sha256', TOKEN).update(request.body).digest('hex'));
      // Standard Webhooks, verified by the reference library with the token's bytes as the secret.
      const verified = new Webhook(`whsec_${Buffer.from(TOKEN, 'utf8').toString('base64')}`).verify(request.body, {
        'webhook-id': String(request.headers['webhook-id']),
        'webhook-timestamp': String(request.headers['webhook-timestamp']),
        'webhook-signature': String(request.headers['webhook-signature']),
      });
      expect(verified).toMatchObject({ specversion: '1.0', type: 'sales.order.created', source: '1' });

      // The data is the stand-in's response as Magento's REST layer wrote it, byte for byte.
      const magento = await fetch(`${sidecar.standin.url}/rest/default/V1/orders/42`, { headers: { authorization: `Bearer ${MAGENTO_TOKEN}` } });
      const magentoBytes = await magento.text();
      expect(magentoBytes).toContain('\\/');
      expect(rawMember(request.body, 'data')).toBe(magentoBytes);
      expect(sidecar.standin.requests.some((r) => r.url === '/rest/default/V1/orders/42' && r.authorization === `Bearer ${MAGENTO_TOKEN}`)).toBe(true);

      const uuid = String(request.headers['webhook-id']);
      const attempts = await waitFor('the log row', async () => {
        const rows = await sidecar.app.store.log.attempts(uuid);
        return rows.length > 0 ? rows : undefined;
      });
      expect(attempts).toHaveLength(1);
      expect(attempts[0]).toMatchObject({ uuid, subscriptionId: subscription.id, success: true, eventName: 'sales.order.created' });
      expect(attempts[0]?.serializedData).toBe(request.body);
      expect(await sidecar.app.store.log.chain(uuid)).toMatchObject({ status: 'delivered', attempts: 1 });
    });

    it('parks malformed and unknown messages with a reason and keeps delivering', async () => {
      const before = receiver.requests.length;
      await sidecar.app.transport.publishTrigger('not json at all');
      await sidecar.app.transport.publishTrigger('["no.such.event","{}",0]');
      await sidecar.app.publish('sales.order.created', { id: 43 }, 0);
      await waitFor('the good message', () => receiver.requests.length > before);
      const parked = await waitFor('two parked messages', async () => {
        const rows = await sidecar.app.store.parked.list(10);
        return rows.length >= 2 ? rows : undefined;
      });
      expect(parked.map((p) => p.body).sort()).toEqual(['["no.such.event","{}",0]', 'not json at all']);
      for (const p of parked) expect(p.reason.length).toBeGreaterThan(10);
    });
  });
}
