import { randomBytes } from 'node:crypto';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAlertSender } from '../../src/delivery/alerts.ts';
import { failingLevel } from '../../src/delivery/health.ts';
import { startReceiver, startSidecar, waitFor, type TestSidecar } from '../support/sidecar.ts';

/* Operator alerts over real HTTP: signed per Standard Webhooks, bounded, and never in the way of deliveries. */

function capturingLogger() {
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString('utf8').split('\n')) if (line.trim() !== '') lines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  return { logger: pino({ level: 'info' }, stream), lines };
}

async function counterValues(registry: Registry): Promise<Record<string, number>> {
  const metric = registry.getSingleMetric('async_events_alerts_total');
  const values: Record<string, number> = {};
  for (const v of (await metric?.get())?.values ?? []) values[`${String(v.labels.type)}/${String(v.labels.result)}`] = v.value;
  return values;
}

describe('alert sender', () => {
  it('signs with the Standard Webhooks scheme, for whsec_ and plain secrets, logs and counts every alert', async () => {
    const received = await startReceiver(() => ({ status: 200 }));
    const registry = new Registry();
    const { logger, lines } = capturingLogger();
    try {
      for (const secret of [`whsec_${randomBytes(32).toString('base64')}`, 'a plain shared secret ✓']) {
        const sender = createAlertSender({ target: async () => ({ url: received.url, secret }), logger, registry });
        sender.send('chain.dead', { subscription: { id: 7 }, count: 3 });
        await sender.idle();
        const last = received.requests.at(-1);
        expect(last?.headers['content-type']).toBe('application/json');
        // The libraries take a plain secret as 'whsec_' + base64 of its UTF-8 bytes.
        const libSecret = secret.startsWith('whsec_') ? secret : `whsec_${Buffer.from(secret, 'utf8').toString('base64')}`;
        const verified = new Webhook(libSecret).verify(last?.body ?? '', last?.headers as Record<string, string>);
        expect(verified).toMatchObject({ type: 'chain.dead', data: { subscription: { id: 7 }, count: 3 } });
        expect(() => new Webhook(`whsec_${randomBytes(32).toString('base64')}`).verify(last?.body ?? '', last?.headers as Record<string, string>)).toThrow();
      }
      expect(await counterValues(registry)).toEqual({ 'chain.dead/sent': 2 });
      expect(lines.filter((l) => l.msg === 'alert chain.dead')).toHaveLength(2);
    } finally {
      await received.close();
    }
  });

  it('a hanging alert URL holds its two slots and a bounded queue; further alerts are dropped and counted; refused ones count as failed', async () => {
    const hanging = await startReceiver(() => 'hang');
    const registry = new Registry();
    const { logger, lines } = capturingLogger();
    let url = hanging.url;
    const sender = createAlertSender({ target: async () => ({ url, secret: 's' }), logger, registry, queueLimit: 3, concurrency: 2, timeoutMs: 60_000 });
    for (let i = 0; i < 10; i++) sender.send('subscription.failing', { subscription: { id: i }, level: 50 });
    await waitFor('the two alert requests', () => hanging.requests.length === 2);
    expect(await counterValues(registry)).toEqual({ 'subscription.failing/dropped': 5 });
    expect(lines.filter((l) => l.msg === 'alert subscription.failing')).toHaveLength(10);
    expect(lines.filter((l) => String(l.msg).startsWith('alert queue full'))).toHaveLength(5);
    // Nothing listens at the URL any more: the held and the queued alerts fail, none is retried.
    url = `http://127.0.0.1:${hanging.port}/gone`;
    await hanging.close();
    await sender.idle();
    expect(await counterValues(registry)).toEqual({ 'subscription.failing/dropped': 5, 'subscription.failing/failed': 5 });
    expect(hanging.requests).toHaveLength(2);
  });

  it('close() gives queued alerts a moment, then cuts off a hanging URL and drops the rest', async () => {
    const hanging = await startReceiver(() => 'hang');
    const registry = new Registry();
    const sender = createAlertSender({ target: async () => ({ url: hanging.url, secret: 's' }), logger: pino({ level: 'silent' }), registry, concurrency: 1, timeoutMs: 600_000 });
    try {
      sender.send('chain.dead', { subscription: { id: 1 }, count: 1 });
      sender.send('chain.dead', { subscription: { id: 2 }, count: 1 });
      await waitFor('the first alert request', () => hanging.requests.length === 1);
      await sender.close(50);
      expect(await counterValues(registry)).toEqual({ 'chain.dead/dropped': 1, 'chain.dead/failed': 1 });
      sender.send('chain.dead', { subscription: { id: 3 }, count: 1 });
      expect(await counterValues(registry)).toEqual({ 'chain.dead/dropped': 2, 'chain.dead/failed': 1 });
      expect(hanging.requests).toHaveLength(1);
    } finally {
      await hanging.close();
    }
  });

  it('an alert with no URL configured is logged and counted as unconfigured', async () => {
    const registry = new Registry();
    const sender = createAlertSender({ target: async () => undefined, logger: pino({ level: 'silent' }), registry });
    sender.send('subscription.disabled', { subscription: { id: 1 } });
    await sender.idle();
    expect(await counterValues(registry)).toEqual({ 'subscription.disabled/unconfigured': 1 });
  });

  it('failing levels: 50/70/90/100 % of the threshold, rounded up', () => {
    expect([0, 4, 5, 6, 7, 8, 9, 10, 30].map((n) => failingLevel(n, 10))).toEqual([0, 0, 50, 50, 70, 70, 90, 100, 100]);
    expect([1, 2].map((n) => failingLevel(n, 2))).toEqual([50, 100]);
  });
});

describe('an alert URL that never answers does not slow deliveries', () => {
  let sidecar: TestSidecar;
  let alertUrl: Awaited<ReturnType<typeof startReceiver>>;
  const receivers: Awaited<ReturnType<typeof startReceiver>>[] = [];

  beforeAll(async () => {
    alertUrl = await startReceiver(() => 'hang');
    // The alert timeout is far longer than the test: the URL holds both sender slots throughout.
    sidecar = await startSidecar({ mode: 'sqlite', maxDeaths: 0, startConsumers: false, app: { alerts: { timeoutMs: 120_000, queueLimit: 2 } } });
    await sidecar.app.store.configValues.set('system/async_events/alert_url', alertUrl.url);
    await sidecar.app.store.configValues.set('system/async_events/alert_secret', sidecar.app.encryptor.encrypt('operator-secret'));
    await sidecar.app.store.configValues.set('system/async_events/auto_disable_min_failures', '2');
    await sidecar.app.store.configValues.set('system/async_events/auto_disable_hours', '0');
    await sidecar.app.startConsumers(['event.trigger.consumer', 'event.retry.consumer']);
  }, 60_000);
  afterAll(async () => {
    await sidecar?.close();
    await alertUrl?.close();
    for (const r of receivers) await r.close();
  });

  it('every delivery is made while the alert requests hang, and the alerts beyond the queue are dropped', async () => {
    const healthy = await startReceiver(() => ({ status: 200 }));
    receivers.push(healthy);
    const failing = [];
    for (let i = 0; i < 3; i++) {
      const r = await startReceiver(() => ({ status: 503, body: 'down' }));
      receivers.push(r);
      failing.push(await sidecar.app.store.subscriptions.create({ eventName: 'sales.order.created', recipientUrl: r.url, verificationToken: 't', metadata: 'http' }));
    }
    await sidecar.app.store.subscriptions.create({ eventName: 'sales.order.created', recipientUrl: healthy.url, verificationToken: 't', metadata: 'http' });

    for (let i = 0; i < 10; i++) await sidecar.app.publish('sales.order.created', { id: 500 + i }, 0);
    await waitFor('all ten deliveries to the healthy receiver', () => healthy.requests.length === 10, 30_000);
    await waitFor('forty ended chains', async () => (await sidecar.app.store.log.chains({ limit: 1000 })).filter((c) => c.status === 'delivered' || c.status === 'dead').length === 40, 30_000);
    await sidecar.app.health.settle();

    // Per failing subscription at least chain.dead (then held for the hour) and failing 100 % (2 of 2), with 50 % too
    // when its failures were written in two groups: two alerts are in flight, two queued, the rest dropped.
    const alerts = await counterValues(sidecar.app.metrics.registry);
    const dropped = Object.entries(alerts).filter(([key]) => key.endsWith('/dropped')).reduce((n, [, v]) => n + v, 0);
    expect(dropped).toBeGreaterThanOrEqual(3 * 2 - 2 - 2);
    expect(dropped).toBeLessThanOrEqual(3 * 3 - 2 - 2);
    // The alert URL got its two requests and has answered none, yet every delivery was made and logged.
    await waitFor('the alert URL to get its two requests', () => alertUrl.requests.length === 2, 10_000);
    expect(alertUrl.requests).toHaveLength(2);
    expect(Object.keys(alerts).some((key) => key.endsWith('/sent') || key.endsWith('/failed'))).toBe(false);
    for (const subscription of failing) {
      const health = await sidecar.app.deps.store.health.get([subscription.id]);
      expect(health.get(subscription.id)).toMatchObject({ consecutiveFailures: 10, alertLevel: 100 });
    }
  }, 60_000);
});
