import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { subscriptionDisplaySchema, type SubscriptionDisplay } from '../../src/api/display.ts';
import { defineRoute } from '../../src/api/route.ts';
import { AsyncEventsError } from '../../src/errors.ts';
import { createRoutes } from '../../src/api/routes.ts';
import { openApiPath } from '../../src/api/openapi.ts';
import { createMetrics } from '../../src/api/metrics.ts';
import { Registry } from 'prom-client';
import { pageOfHits } from '../support/search-pages.ts';
import { startHarness, type Harness } from './harness.ts';

describe('HTTP server: health, readiness, metrics, OpenAPI, mounts', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({
      server: {
        extraRoutes: [
          (req, res) => {
            if (req.url !== '/extra') return false;
            res.end('extra route');
            return true;
          },
        ],
      },
    });
    h.server.mount('/graphql', (_req, res) => {
      res.end('graphql here');
    });
    h.server.mount('/', (req, res) => {
      res.end(`console: ${req.url}`);
    });
  });
  afterAll(async () => {
    await h.close();
  });

  it('/healthz answers while the process is alive, without a token', async () => {
    const res = await h.request('GET', '/healthz', { token: null });
    expect(res.status).toBe(200);
    expect(res.json).toEqual({ status: 'ok' });
  });

  it('/readyz is 200 when every service is up and 503 listing the ones down', async () => {
    expect((await h.request('GET', '/readyz', { token: null })).status).toBe(200);
    h.health = [
      { name: 'database', up: true, detail: 'ok' },
      { name: 'rabbitmq', up: false, detail: 'ECONNREFUSED 127.0.0.1:5672' },
    ];
    const res = await h.request('GET', '/readyz', { token: null });
    expect(res.status).toBe(503);
    expect(res.json).toMatchObject({ status: 'not ready', down: ['rabbitmq'] });
    h.health = [{ name: 'database', up: true, detail: 'ok' }];
    const original = h.deps.health;
    (h.deps as { health: typeof original }).health = async () => {
      throw new Error('probe crashed');
    };
    const crashed = await h.request('GET', '/readyz', { token: null });
    (h.deps as { health: typeof original }).health = original;
    expect(crashed.status).toBe(503);
    expect(crashed.json).toMatchObject({ down: ['health check'] });
  });

  it('/metrics serves the registry in Prometheus text with the pipeline metrics', async () => {
    const metrics = createMetrics({ registry: h.registry });
    metrics.deliveriesTotal.inc({ event: 'sales.order.created', sink: 'http', outcome: 'success' });
    metrics.queueDepth.set({ queue: 'event.trigger' }, 7);
    await h.request('GET', '/rest/V1/async_events/sinks');
    const refused = await h.request('GET', '/metrics', { token: null });
    expect(refused.status).toBe(401);
    expect(refused.headers.get('www-authenticate')).toBe('Bearer');
    expect(refused.text).not.toContain('async_events_');
    const res = await h.request('GET', '/metrics');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/plain');
    expect(res.text).toContain('async_events_deliveries_total{event="sales.order.created",sink="http",outcome="success"} 1');
    expect(res.text).toContain('async_events_queue_depth{queue="event.trigger"} 7');
    for (const name of ['delivery_duration_seconds', 'retries_scheduled_total', 'dead_letters_total', 'messages_parked_total']) {
      expect(res.text).toContain(`# TYPE async_events_${name}`);
    }
    expect(res.text).toMatch(/async_events_http_request_duration_seconds_count\{method="GET",route="\/V1\/async_events\/sinks",status="200"\} 1/);
  });

  it('createMetrics returns the same metrics for the same registry and separate ones for another', () => {
    expect(createMetrics({ registry: h.registry })).toBe(createMetrics({ registry: h.registry }));
    expect(createMetrics({ registry: new Registry() })).not.toBe(createMetrics({ registry: h.registry }));
  });

  it('mounted handlers get their prefix; `/` catches the rest; extraRoutes are tried after mounts', async () => {
    expect((await h.request('POST', '/graphql', { token: null })).text).toBe('graphql here');
    expect((await h.request('GET', '/graphql/x', { token: null })).text).toBe('graphql here');
    expect((await h.request('GET', '/graphqlx', { token: null })).text).toBe('console: /graphqlx');
    expect((await h.request('GET', '/', { token: null })).text).toBe('console: /');
  });

  describe('/openapi.json stays in step with the route table', () => {
    let doc: { openapi: string; paths: Record<string, Record<string, { parameters: { name: string; in: string }[]; requestBody?: { content: Record<string, { schema: unknown }> }; responses: Record<string, { content?: Record<string, { schema: Record<string, unknown> }> }> }>> };
    beforeAll(async () => {
      const res = await h.request('GET', '/openapi.json', { token: null });
      expect(res.status).toBe(200);
      doc = res.json as typeof doc;
    });

    it('documents every route with its parameters, body and response schema', () => {
      expect(doc.openapi).toBe('3.1.0');
      for (const route of createRoutes()) {
        const operation = doc.paths[openApiPath(route.path)]?.[route.method.toLowerCase()];
        expect(operation, `${route.method} ${route.path}`).toBeDefined();
        const pathParams = [...route.path.matchAll(/:(\w+)/g)].map((m) => m[1]);
        expect(operation?.parameters.filter((p) => p.in === 'path').map((p) => p.name)).toEqual(pathParams);
        expect(Boolean(operation?.requestBody), `${route.method} ${route.path} body`).toBe(route.body !== undefined);
        expect(operation?.responses['200']?.content).toBeDefined();
        expect(operation?.responses['401']).toBeDefined();
      }
    });

    it('routes every documented path and method, under /rest/V1 and /rest/<store_code>/V1', async () => {
      let count = 0;
      for (const [path, operations] of Object.entries(doc.paths)) {
        for (const method of Object.keys(operations)) {
          const concrete = path.replace(/\{subscriptionId\}/g, '12').replace(/\{uuid\}/g, '0b6c3f1e-6d5a-4a8e-9a57-2f1f2d3c4b5a');
          for (const prefix of ['/rest', '/rest/default']) {
            // Without a token every matched route answers 401 before it reads anything; an unmatched one 404.
            const res = await h.request(method.toUpperCase(), `${prefix}${concrete}`, { token: null });
            expect(res.status, `${method} ${prefix}${concrete}`).toBe(401);
          }
          count += 1;
        }
      }
      expect(count).toBe(createRoutes().length);
      expect((await h.request('GET', '/rest/V1/no_such_route', { token: null })).status).toBe(404);
    });

    it('documents the searchCriteria structure and never the verification token in a response', () => {
      const list = doc.paths['/V1/async_events']?.get;
      expect(list?.parameters.find((p) => p.name === 'searchCriteria')).toMatchObject({ in: 'query', style: 'deepObject' });
      const create = doc.paths['/V1/async_event']?.post;
      expect(JSON.stringify(create?.requestBody)).toContain('verification_token');
      for (const operations of Object.values(doc.paths)) {
        for (const operation of Object.values(operations)) {
          expect(JSON.stringify(operation.responses['200'])).not.toContain('verification_token');
        }
      }
    });
  });
});

describe('HTTP server: graceful close', () => {
  it('finishes in-flight requests, then refuses new connections', async () => {
    let release: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    let arrived: () => void = () => undefined;
    const inside = new Promise<void>((resolve) => {
      arrived = resolve;
    });
    const h = await startHarness();
    h.server.mount('/slow', async (_req, res) => {
      arrived();
      await gate;
      res.end('finished');
    });
    const url = h.server.url;
    const inFlight = fetch(`${url}/slow`).then((r) => r.text());
    await inside;
    // close() stops the listener before its first await, so a new connection is refused at once.
    const closing = h.close();
    await expect(fetch(`${url}/healthz`)).rejects.toThrow();
    release();
    expect(await inFlight).toBe('finished');
    await closing;
  });
});

describe('HTTP server: errors are Magento-shaped and never leak', () => {
  it('masks unexpected errors as 500 with a report id, and maps an unavailable store to 503', async () => {
    const h = await startHarness();
    try {
      const deps = h.deps as { sinks: typeof h.deps.sinks };
      deps.sinks = async () => {
        throw new Error('connect failed for user root password hunter2');
      };
      const res = await h.request('GET', '/rest/V1/async_events/sinks');
      expect(res.status).toBe(500);
      const body = res.json as { message: string; parameters: string[] };
      expect(body.message).toBe('Internal Error. Details are available in the async-events log. Report ID: %1');
      expect(body.parameters[0]).toMatch(/^webapi-[0-9a-f]{12}$/);
      expect(res.text).not.toContain('hunter2');
      deps.sinks = async () => {
        throw new AsyncEventsError('STORE_UNAVAILABLE', 'database does not answer');
      };
      expect((await h.request('GET', '/rest/V1/async_events/sinks')).status).toBe(503);
    } finally {
      await h.close();
    }
  });

  it('a handler whose answer does not match its response schema gives a masked 500, so a token cannot slip out', async () => {
    const leaky = defineRoute({
      method: 'GET',
      path: '/V1/leaky',
      summary: 'test',
      origin: 'async-events',
      params: z.strictObject({}),
      query: z.strictObject({}),
      response: subscriptionDisplaySchema,
      async handler() {
        return { subscription_id: 1, event_name: 'e', recipient_url: 'u', status: true, subscribed_at: null, store_id: 0, verification_token: 'leak-me' } as unknown as SubscriptionDisplay;
      },
    });
    const h = await startHarness({ server: { routes: [leaky] } });
    try {
      const res = await h.request('GET', '/rest/V1/leaky');
      expect(res.status).toBe(500);
      expect(res.text).not.toContain('leak-me');
    } finally {
      await h.close();
    }
  });
});

describe('HTTP server: CSV download streams', () => {
  it('sends the first page before the next page has been fetched', async () => {
    const h = await startHarness();
    let release: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const row = (n: number) => ({ logId: n, uuid: `u${n}`, eventName: 'e', success: true, created: new Date(0), subscriptionId: 1, recipientUrl: 'https://r', responseData: 'ok' });
    (h.deps as { search: typeof h.deps.search }).search = async (_query, page) => {
      if (page.beforeLogId !== undefined) await gate;
      return pageOfHits([row(4), row(3), row(2), row(1)], page);
    };
    try {
      const response = await fetch(`${h.server.url}/rest/V1/async_events/search.csv?query=`, { headers: { authorization: 'Bearer test-api-token-0123456789' } });
      expect(response.status).toBe(200);
      const reader = response.body!.getReader();
      let seen = '';
      while (!seen.includes('u3')) {
        const { value, done } = await reader.read();
        if (done) break;
        seen += new TextDecoder().decode(value);
      }
      expect(seen).toContain('4,u4,e,1,1970-01-01 00:00:00,1,https://r,ok,\r\n3,u3');
      expect(seen).not.toContain('u2');
      release();
      let rest = '';
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        rest += new TextDecoder().decode(value);
      }
      expect((seen + rest).trim().split('\r\n')).toHaveLength(5);
    } finally {
      release();
      await h.close();
    }
  });
});
