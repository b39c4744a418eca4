import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer } from '../../src/commands/start.ts';
import { loadSettings } from '../../src/config/settings.ts';
import { silentLogger } from '../../src/logger.ts';
import { startMagentoStandin, type MagentoStandin } from '../../examples/magento-standin/server.ts';
import { randomQueries } from '../search/support/random-queries.ts';
import { freePort } from '../support/services.ts';
import { API_TOKEN, MAGENTO_TOKEN, sidecarEnvironment, startReceiver, waitFor } from '../support/sidecar.ts';

/* `async-events start` as wired in src/cli.ts + src/app.ts: one port for REST, GraphQL, console, metrics, health. */

describe('the started sidecar', () => {
  let standin: MagentoStandin;
  let receiver: Awaited<ReturnType<typeof startReceiver>>;
  let running: Awaited<ReturnType<typeof startServer>>;
  let base: string;
  let cleanup: () => Promise<void>;
  const auth = { authorization: `Bearer ${API_TOKEN}` };

  beforeAll(async () => {
    standin = await startMagentoStandin({ token: MAGENTO_TOKEN });
    receiver = await startReceiver();
    const environment = await sidecarEnvironment('sqlite', standin.url);
    cleanup = environment.cleanup;
    const port = await freePort();
    // No AWS credentials in this environment: the AWS sinks must say they are not usable.
    const env = { ...environment.env, ASYNC_EVENTS_PORT: String(port), AWS_ACCESS_KEY_ID: '', AWS_SECRET_ACCESS_KEY: '', AWS_REGION: '', AWS_PROFILE: 'none-such-profile' };
    running = await startServer(await loadSettings({ env, cwd: environment.dataDir }), silentLogger(), ['event.trigger.consumer', 'event.retry.consumer']);
    base = `http://127.0.0.1:${port}`;
  });
  afterAll(async () => {
    await running?.stop();
    await receiver?.close();
    await standin?.close();
    await cleanup?.();
  });

  it('answers health and readiness', async () => {
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
    const ready = await fetch(`${base}/readyz`);
    expect(ready.status).toBe(200);
  });

  it('lists the sinks, offering the cloud sinks only as unusable until configured', async () => {
    const offered = (await (await fetch(`${base}/rest/V1/async_events/sinks`, { headers: auth })).json()) as { key: string }[];
    // http and amqp need no configuration of the sidecar: their recipient URL says where to go.
    expect(offered.map((s) => s.key).sort()).toEqual(['amqp', 'http']);
    const response = await fetch(`${base}/rest/V1/async_events/sinks?all=1`, { headers: auth });
    expect(response.status).toBe(200);
    const sinks = (await response.json()) as { key: string; usable: boolean; reason?: string }[];
    expect(sinks.find((s) => s.key === 'http')).toMatchObject({ usable: true });
    const eventbridge = sinks.find((s) => s.key === 'eventbridge');
    expect(eventbridge?.usable).toBe(false);
    expect(eventbridge?.reason).toMatch(/async_events_aws\/eventbridge/);
    expect(sinks.find((s) => s.key === 'sqs')?.usable).toBe(false);
  });

  it('creates a subscription over REST, delivers a published event, and counts it in /metrics', async () => {
    const created = await fetch(`${base}/rest/all/V1/async_event`, {
      method: 'POST',
      headers: { ...auth, 'content-type': 'application/json' },
      body: JSON.stringify({ asyncEvent: { event_name: 'sales.order.created', recipient_url: receiver.url, verification_token: 'tok-123', metadata: 'http' } }),
    });
    expect(created.status).toBe(200);
    const subscription = (await created.json()) as Record<string, unknown>;
    expect(subscription).not.toHaveProperty('verification_token');
    const published = await fetch(`${base}/rest/V1/async_events/publish`, {
      method: 'POST',
      headers: { ...auth, 'content-type': 'application/json' },
      body: JSON.stringify({ event_name: 'sales.order.created', arguments: { id: 31 }, store_id: 0 }),
    });
    expect(published.status).toBeLessThan(300);
    const request = await waitFor('delivery', () => receiver.requests[0]);
    const uuid = String(request.headers['webhook-id']);
    const trace = await waitFor('trace', async () => {
      const response = await fetch(`${base}/rest/V1/async_events/logs/${uuid}`, { headers: auth });
      return response.status === 200 ? ((await response.json()) as Record<string, unknown>) : undefined;
    });
    expect(JSON.stringify(trace)).toContain(uuid);
    const overview = (await (await fetch(`${base}/rest/V1/async_events/overview`, { headers: auth })).json()) as {
      perMinute: { delivered: number }[];
      slowest: { subscriptionId: number }[];
      services: { name: string; up: boolean }[];
      queueDepth: { trigger: number };
    };
    expect(overview.perMinute.reduce((sum, m) => sum + m.delivered, 0)).toBe(1);
    expect(overview.slowest.map((s) => s.subscriptionId)).toEqual([subscription.subscription_id]);
    expect(overview.services.every((s) => s.up)).toBe(true);
    const metrics = await (await fetch(`${base}/metrics`, { headers: auth })).text();
    expect(metrics).toMatch(/async_events_deliveries_total\{[^}]*outcome="success"[^}]*\} 1/);
  });

  it('answers 2,000 random queries over REST with 200 or a 400 naming the position, never a 500, and changes nothing', async () => {
    const before = await (await fetch(`${base}/rest/V1/async_events?searchCriteria[pageSize]=1`, { headers: auth })).json();
    const statuses = new Map<number, number>();
    for (const query of randomQueries(2000, 7)) {
      const response = await fetch(`${base}/rest/V1/async_events/logs?query=${encodeURIComponent(query)}&pageSize=5`, { headers: auth });
      statuses.set(response.status, (statuses.get(response.status) ?? 0) + 1);
      if (response.status === 400) expect(((await response.json()) as { message: string }).message.length).toBeGreaterThan(5);
      else await response.arrayBuffer();
    }
    expect([...statuses.keys()].sort()).toEqual([200, 400]);
    const after = await (await fetch(`${base}/rest/V1/async_events?searchCriteria[pageSize]=1`, { headers: auth })).json();
    expect(after).toEqual(before);
  });

  it('serves GraphQL and the console on the same port', async () => {
    const graphql = await fetch(`${base}/graphql`, { method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body: JSON.stringify({ query: '{ events { name } }' }) });
    expect(graphql.status).toBe(200);
    const body = (await graphql.json()) as { data: { events: { name: string }[] } };
    expect(body.data.events.map((e) => e.name)).toContain('sales.order.created');
    const page = await fetch(`${base}/`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/text\/html/);
    expect((await fetch(`${base}/rest/V1/async_events`)).status).toBe(401);
  });
});
