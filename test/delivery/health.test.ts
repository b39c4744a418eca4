import { randomBytes } from 'node:crypto';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startServer } from '../../src/commands/start.ts';
import { loadSettings } from '../../src/config/settings.ts';
import { silentLogger } from '../../src/logger.ts';
import { startMagentoStandin, type MagentoStandin } from '../../examples/magento-standin/server.ts';
import { describeWith, freePort, type ServiceName } from '../support/services.ts';
import { API_TOKEN, MAGENTO_TOKEN, sidecarEnvironment, startReceiver, waitFor, type QueueMode, type ReceivedRequest } from '../support/sidecar.ts';

/*
 * Subscription health end to end: a real sidecar (store, database queue, consumers, REST, GraphQL, /metrics),
 * real receivers that fail as scripted, a clock the test moves for the auto-disable hours, and a real alert
 * receiver whose signatures the `standardwebhooks` library verifies.
 */

const modes: { mode: QueueMode; services: ServiceName[] }[] = [
  { mode: 'sqlite', services: [] },
  { mode: 'mariadb', services: ['mariadb'] },
];

const MINUTE = 60_000;

interface HealthBody {
  subscription_id: number;
  status: string;
  consecutive_failures: number;
  last_success_at: string | null;
  last_failure: { at: string; status_code: number | null; response: string } | null;
  success_rate: { last_hour: number | null; last_day: number | null };
  attempts: { last_hour: { succeeded: number; failed: number }; last_day: { succeeded: number; failed: number } };
  in_flight: number;
  filtered_out: number;
  disabled_reason: string | null;
  hourly: { hour: string; succeeded: number; failed: number; chains_failed: number }[];
}

interface Alert {
  type: string;
  timestamp: string;
  data: Record<string, unknown> & { subscription: { id: number } };
}

for (const { mode, services } of modes) {
  describeWith(services, `subscription health on ${mode}`, () => {
    let standin: MagentoStandin;
    let running: Awaited<ReturnType<typeof startServer>>;
    let cleanup: () => Promise<void>;
    let base: string;
    let offsetMs = 0;
    const secret = `whsec_${randomBytes(24).toString('base64')}`;
    const receivers: Awaited<ReturnType<typeof startReceiver>>[] = [];
    let alertReceiver: Awaited<ReturnType<typeof startReceiver>>;
    const auth = { authorization: `Bearer ${API_TOKEN}`, 'content-type': 'application/json' };

    const receiver = async (...args: Parameters<typeof startReceiver>) => {
      const r = await startReceiver(...args);
      receivers.push(r);
      return r;
    };

    beforeAll(async () => {
      standin = await startMagentoStandin({ token: MAGENTO_TOKEN });
      alertReceiver = await startReceiver(() => ({ status: 204 }));
      const environment = await sidecarEnvironment(mode, standin.url);
      cleanup = environment.cleanup;
      const port = await freePort();
      const env = { ...environment.env, ASYNC_EVENTS_PORT: String(port), ASYNC_EVENTS_METRICS_PER_SUBSCRIPTION: '1', ASYNC_EVENTS_HTTP_TIMEOUT_MS: '2000' };
      running = await startServer(await loadSettings({ env, cwd: environment.dataDir }), silentLogger(), [], { clock: () => new Date(Date.now() + offsetMs) });
      const { app } = running;
      // Set before the first delivery reads them (the admin config caches values for 2 s).
      await app.store.configValues.set('system/async_events/max_deaths', '0');
      await app.store.configValues.set('system/async_events/auto_disable_hours', '1');
      await app.store.configValues.set('system/async_events/auto_disable_min_failures', '4');
      await app.store.configValues.set('system/async_events/alert_url', alertReceiver.url);
      // Stored as Magento's Encrypted backend model stores it.
      await app.store.configValues.set('system/async_events/alert_secret', app.encryptor.encrypt(secret));
      await app.startConsumers(['event.trigger.consumer', 'event.retry.consumer']);
      base = `http://127.0.0.1:${port}`;
    }, 60_000);
    afterAll(async () => {
      await running?.stop();
      for (const r of receivers) await r.close();
      await alertReceiver?.close();
      await standin?.close();
      await cleanup?.();
    });

    const subscribe = (url: string, eventName: string) =>
      running.app.store.subscriptions.create({ eventName, recipientUrl: url, verificationToken: 'secret', metadata: 'http', storeId: 0 });

    /** With max_deaths 0 every chain is one attempt; the tracker hears of it just after its log row is written. */
    async function chainsEnded(subscriptionId: number, count: number): Promise<void> {
      await waitFor(`${count} ended chains of subscription ${subscriptionId}`, async () => {
        const chains = await running.app.store.log.chains({ limit: 1000 });
        return chains.filter((c) => c.subscriptionId === subscriptionId && ['delivered', 'dead', 'failed'].includes(c.status)).length >= count;
      });
      await waitFor(`${count} attempts counted in the health of subscription ${subscriptionId}`, async () => {
        const { last_day } = (await health(subscriptionId)).attempts;
        return last_day.succeeded + last_day.failed >= count;
      });
    }

    async function health(id: number): Promise<HealthBody> {
      const res = await fetch(`${base}/rest/V1/async_events/subscriptions/${id}/health`, { headers: auth });
      expect(res.status).toBe(200);
      return (await res.json()) as HealthBody;
    }

    /** Every alert received so far, each verified with the standardwebhooks library. */
    function verifiedAlerts(forSubscription: number): Alert[] {
      const webhook = new Webhook(secret);
      return alertReceiver.requests
        .map((request: ReceivedRequest) => webhook.verify(request.body, request.headers as Record<string, string>) as Alert)
        .filter((alert) => alert.data.subscription.id === forSubscription);
    }

    it('keeps the figures of a mix of successes and failures, on REST, GraphQL and /metrics', async () => {
      const mixed = await receiver((_req, i) => (i === 2 ? { status: 503, body: 'busy right now' } : { status: 200, body: 'ok' }));
      const subscription = await subscribe(mixed.url, 'customer.created');
      // Both modes run in one process and share prom-client's registry (and subscription ids): compare differences.
      const successes = async () => {
        const text = await (await fetch(`${base}/metrics`, { headers: auth })).text();
        const line = new RegExp(`^async_events_subscription_attempts_total\\{subscription_id="${subscription.id}",outcome="success"\\} (\\d+)$`, 'm').exec(text);
        return { text, count: Number(line?.[1] ?? 0) };
      };
      const before = await successes();
      for (let i = 0; i < 3; i++) {
        await running.app.publish('customer.created', { customerId: i + 1 }, 0);
        await chainsEnded(subscription.id, i + 1);
      }
      const body = await health(subscription.id);
      expect(body).toMatchObject({
        subscription_id: subscription.id,
        status: 'failing',
        consecutive_failures: 1,
        last_failure: { status_code: 503, response: expect.stringContaining('busy right now') },
        attempts: { last_hour: { succeeded: 2, failed: 1 }, last_day: { succeeded: 2, failed: 1 } },
        success_rate: { last_hour: 0.6667, last_day: 0.6667 },
        in_flight: 0,
        filtered_out: 0,
        disabled_reason: null,
      });
      expect(body.last_success_at).toMatch(/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/);
      expect(body.hourly.reduce((n, b) => n + b.succeeded + b.failed, 0)).toBe(3);

      const batch = await fetch(`${base}/rest/V1/async_events/subscriptions/health?ids=${subscription.id},999999`, { headers: auth });
      expect(((await batch.json()) as { items: HealthBody[] }).items.map((h) => [h.subscription_id, h.consecutive_failures])).toEqual([[subscription.id, 1]]);
      expect((await fetch(`${base}/rest/V1/async_events/subscriptions/999999/health`, { headers: auth })).status).toBe(404);

      const query = `{ subscription(id: "${subscription.id}") { health { status consecutiveFailures successRateLastHour attemptsLastDay { succeeded failed } lastFailure { statusCode } inFlight filteredOut disabledReason } } }`;
      const graphql = await fetch(`${base}/graphql`, { method: 'POST', headers: auth, body: JSON.stringify({ query }) });
      expect(await graphql.json()).toEqual({
        data: {
          subscription: {
            health: { status: 'failing', consecutiveFailures: 1, successRateLastHour: 0.6667, attemptsLastDay: { succeeded: 2, failed: 1 }, lastFailure: { statusCode: 503 }, inFlight: 0, filteredOut: 0, disabledReason: null },
          },
        },
      });

      // A page of subscriptions reads every health in one go (and each the same as alone).
      const page = await fetch(`${base}/graphql`, { method: 'POST', headers: auth, body: JSON.stringify({ query: '{ subscriptions(eventName: "customer.created") { nodes { id health { status consecutiveFailures } } } }' }) });
      expect(await page.json()).toEqual({ data: { subscriptions: { nodes: [{ id: String(subscription.id), health: { status: 'failing', consecutiveFailures: 1 } }] } } });

      const after = await successes();
      expect(after.text).toContain(`async_events_subscription_consecutive_failures{subscription_id="${subscription.id}"} 1`);
      expect(after.count - before.count).toBe(2);
    }, 60_000);

    it('alerts at 50/70/100 % of the threshold, at most one chain.dead an hour, auto-disables after the hours, and re-enabling clears it', async () => {
      // Failed chains are counted per clock hour (from the hour of "now - auto_disable_hours"): the four below and
      // the one 61 minutes later fall into consecutive hours only if this starts early in an hour, so it does.
      const intoHour = (Date.now() + offsetMs) % (60 * MINUTE);
      offsetMs += 65 * MINUTE - intoHour;
      const failing = await receiver(() => ({ status: 503, body: 'still down' }));
      const subscription = await subscribe(failing.url, 'sales.invoice.created');
      for (let i = 1; i <= 4; i++) {
        await running.app.publish('sales.invoice.created', { id: 100 + i }, 0);
        await chainsEnded(subscription.id, i);
      }
      // Four failed chains, but within the first hour: still active.
      expect((await running.app.store.subscriptions.get(subscription.id))?.active).toBe(true);
      await running.app.alerts.idle();
      let alerts = verifiedAlerts(subscription.id);
      expect(alerts.filter((a) => a.type === 'subscription.failing').map((a) => a.data.level).sort()).toEqual([100, 50, 70]);
      expect(alerts.filter((a) => a.type === 'chain.dead').map((a) => a.data.count)).toEqual([1]);
      expect(alerts.find((a) => a.data.level === 100)?.data).toMatchObject({ consecutiveFailures: 4, threshold: 4, lastFailure: { statusCode: 503 } });

      offsetMs += 61 * MINUTE;
      await running.app.publish('sales.invoice.created', { id: 105 }, 0);
      await chainsEnded(subscription.id, 5);
      await waitFor('the auto-disable', async () => (await running.app.store.subscriptions.get(subscription.id))?.active === false);
      const disabled = await health(subscription.id);
      expect(disabled.status).toBe('disabled');
      expect(disabled.disabled_reason).toMatch(/^Auto-disabled at .*: no successful delivery for 1 h and 5 failed chains in that time/);
      await running.app.alerts.idle();
      alerts = verifiedAlerts(subscription.id);
      // The chains of the hour come in one chain.dead with their count; the level alerts are not repeated.
      expect(alerts.filter((a) => a.type === 'chain.dead').map((a) => a.data.count)).toEqual([1, 4]);
      expect(alerts.filter((a) => a.type === 'subscription.failing')).toHaveLength(3);
      expect(alerts.filter((a) => a.type === 'subscription.disabled').map((a) => a.data)).toEqual([expect.objectContaining({ cause: 'auto-disable', failedChains: 5, reason: disabled.disabled_reason })]);
      const graphql = await fetch(`${base}/graphql`, { method: 'POST', headers: auth, body: JSON.stringify({ query: `{ subscription(id: "${subscription.id}") { active health { status disabledReason } } }` }) });
      expect(await graphql.json()).toEqual({ data: { subscription: { active: false, health: { status: 'disabled', disabledReason: disabled.disabled_reason } } } });

      // Re-enabling (through the subscription service) clears the reason and starts the count over.
      const put = await fetch(`${base}/rest/V1/async_event/${subscription.id}`, { method: 'PUT', headers: auth, body: JSON.stringify({ asyncEvent: { status: true } }) });
      expect(put.status).toBe(200);
      expect(await health(subscription.id)).toMatchObject({ status: 'failing', disabled_reason: null, consecutive_failures: 0 });
      await running.app.publish('sales.invoice.created', { id: 106 }, 0);
      await chainsEnded(subscription.id, 6);
      expect((await running.app.store.subscriptions.get(subscription.id))?.active).toBe(true);
      await running.app.alerts.idle();
      expect(verifiedAlerts(subscription.id).filter((a) => a.type === 'subscription.disabled')).toHaveLength(1);
      expect(alertReceiver.requests.every((r) => typeof r.headers['webhook-id'] === 'string' && /^\d+$/.test(String(r.headers['webhook-timestamp'])))).toBe(true);
    }, 90_000);

    it('a 410 disables at once, with the reason kept and alerted', async () => {
      const gone = await receiver(() => ({ status: 410, body: 'this hook is gone' }));
      const subscription = await subscribe(gone.url, 'sales.shipment.created');
      await running.app.publish('sales.shipment.created', { id: 9 }, 0);
      await chainsEnded(subscription.id, 1);
      expect((await running.app.store.subscriptions.get(subscription.id))?.active).toBe(false);
      const body = await health(subscription.id);
      expect(body.status).toBe('disabled');
      expect(body.disabled_reason).toMatch(/410 Gone.*this hook is gone/);
      await running.app.alerts.idle();
      expect(verifiedAlerts(subscription.id).filter((a) => a.type === 'subscription.disabled').map((a) => a.data.cause)).toEqual(['gone']);
    }, 60_000);
  });
}
