import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startMagentoStandin, type MagentoStandin } from '../../examples/magento-standin/server.ts';
import { startServer } from '../../src/commands/start.ts';
import { loadSettings } from '../../src/config/settings.ts';
import { silentLogger } from '../../src/logger.ts';
import { freePort } from '../support/services.ts';
import { API_TOKEN, MAGENTO_TOKEN, sidecarEnvironment, startReceiver, waitFor } from '../support/sidecar.ts';

/*
 * No recipient stalls another: one subscription's receiver never answers, another subscription of the same event
 * must still get every one of 1,000 events published over REST. Before, each trigger waited for every recipient,
 * so the hanging one filled its lane, then the prefetch, and the fast one stopped getting anything.
 */

const EVENTS = 1000;

describe('a hanging recipient beside a fast one', () => {
  let standin: MagentoStandin;
  let hanging: Awaited<ReturnType<typeof startReceiver>>;
  let fast: Awaited<ReturnType<typeof startReceiver>>;
  let running: Awaited<ReturnType<typeof startServer>>;
  let cleanup: () => Promise<void>;
  let base: string;

  beforeAll(async () => {
    standin = await startMagentoStandin({ token: MAGENTO_TOKEN });
    hanging = await startReceiver(() => 'hang');
    fast = await startReceiver(() => ({ status: 200, body: 'ok' }));
    const environment = await sidecarEnvironment('sqlite', standin.url);
    cleanup = environment.cleanup;
    const port = await freePort();
    // The hanging receiver outlasts the test; the shutdown deadline then cuts its deliveries off.
    const env = { ...environment.env, ASYNC_EVENTS_PORT: String(port), ASYNC_EVENTS_HTTP_TIMEOUT_MS: '120000', ASYNC_EVENTS_SHUTDOWN_TIMEOUT_MS: '1000' };
    running = await startServer(await loadSettings({ env, cwd: environment.dataDir }), silentLogger(), ['event.trigger.consumer', 'event.retry.consumer'], {
      databaseQueue: { pollIntervalMs: 25, leaseSeconds: 30 },
    });
    base = `http://127.0.0.1:${port}`;
    for (const receiver of [hanging, fast]) {
      await running.app.store.subscriptions.create({ eventName: 'sales.order.created', recipientUrl: receiver.url, verificationToken: 't', metadata: 'http', storeId: 0 });
    }
  });
  afterAll(async () => {
    await running?.stop();
    await hanging?.close();
    await fast?.close();
    await standin?.close();
    await cleanup?.();
  });

  it(`delivers all ${EVENTS} events to the fast one`, async () => {
    const publishOne = async (id: number) => {
      const response = await fetch(`${base}/rest/V1/async_events/publish`, {
        method: 'POST',
        headers: { authorization: `Bearer ${API_TOKEN}`, 'content-type': 'application/json' },
        body: JSON.stringify({ event_name: 'sales.order.created', arguments: { id }, store_id: '0' }),
      });
      expect(response.status).toBe(200);
    };
    for (let i = 0; i < EVENTS; i += 20) await Promise.all(Array.from({ length: 20 }, (_, j) => publishOne(5000 + i + j)));

    // Far less than the 120 s the hanging deliveries wait: the fast subscription never waits behind them.
    await waitFor('every event at the fast receiver', () => new Set(fast.requests.map((r) => r.headers['webhook-id'])).size >= EVENTS, 60_000, 100);
    expect(new Set(fast.requests.map((r) => r.headers['webhook-id'])).size).toBe(EVENTS);
    // The hanging one got its share of attempts, each still open.
    expect(hanging.requests.length).toBeGreaterThan(0);
    // …and every fast delivery is logged as a success (the receiver sees it a moment before its log row is written).
    await waitFor('every fast delivery logged', async () => (await running.app.store.log.count({ success: true })) >= EVENTS, 30_000, 100);
  }, 120_000);
});
