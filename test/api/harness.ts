import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Registry } from 'prom-client';
import { createApiTokenAuth } from '../../src/api/auth.ts';
import type { ApiDependencies, Authenticator, SearchHit, SearchPage, ServiceHealth } from '../../src/api/dependencies.ts';
import { createHttpServer, type HttpServer, type HttpServerOptions } from '../../src/api/http-server.ts';
import { createMetrics } from '../../src/api/metrics.ts';
import { createRoutes } from '../../src/api/routes.ts';
import { redriveParked } from '../../src/delivery/redrive.ts';
import { AsyncEventsError } from '../../src/errors.ts';
import { silentLogger } from '../../src/logger.ts';
import { readActivity } from '../../src/store/activity.ts';
import { createStore } from '../../src/store/index.ts';
import type { Store } from '../../src/store/store.ts';
import type { EventDefinition, EventRegistry, StoreId } from '../../src/types.ts';
import { pageOfHits } from '../support/search-pages.ts';

/*
 * A real SQLite store behind a real HTTP server on a free port. The pipeline functions (search, replay, publish,
 * health) are fakes that record their calls: they belong to other stages and are tested there.
 */

export const API_TOKEN = 'test-api-token-0123456789';
export const SECRET_TOKEN = 'sEcReT-verification-token-7f3a9c';

function definition(name: string, resources: readonly string[] = []): EventDefinition {
  return { name, serviceClass: 'Magento\\Sales\\Api\\OrderRepositoryInterface', serviceMethod: 'get', resources, source: { file: 'app/code/Test/Module/etc/async_events.xml', line: 1 }, module: 'Test_Module' };
}

export interface Harness {
  readonly store: Store;
  readonly server: HttpServer;
  readonly deps: ApiDependencies;
  readonly registry: Registry;
  readonly calls: { replay: string[]; requeue: { queue: string; body: string }[]; publish: { eventName: string; args: Record<string, unknown>; storeId: StoreId }[]; search: { query: string; size: number; from?: number; beforeLogId?: number }[]; publishOrderEnabled: Date[] };
  /** Rows the fake search answers from (set by a test). */
  hits: SearchHit[];
  health: ServiceHealth[];
  /** Every response body text the harness's request helpers saw. */
  readonly bodies: string[];
  request(method: string, url: string, init?: { body?: unknown; raw?: string; headers?: Record<string, string>; token?: string | null }): Promise<{ status: number; json: unknown; text: string; headers: Headers }>;
  close(): Promise<void>;
}

/** A small stand-in for the Lucene search stage: `''`, `uuid:X`, `success:true|false`, `event_name:X`; anything else is a syntax error. */
function fakeSearch(harness: { hits: SearchHit[] }) {
  return async (query: string, page: { size: number; from?: number; beforeLogId?: number }): Promise<SearchPage> => {
    let hits = harness.hits;
    const match = /^(uuid|success|event_name):(\S+)$/.exec(query);
    if (query !== '' && !match) {
      throw new AsyncEventsError('QUERY_SYNTAX', `Expected field:value at position 0 of "${query}"`, { position: 0 });
    }
    if (match) {
      const [, field, value] = match;
      hits = hits.filter((h) => (field === 'uuid' ? h.uuid === value : field === 'success' ? String(h.success) === value : h.eventName === value));
    }
    return pageOfHits(hits, page);
  };
}


export async function startHarness(
  options: {
    auth?: Authenticator;
    events?: string[];
    eventResources?: Record<string, readonly string[]>;
    server?: Partial<HttpServerOptions>;
    replayLimit?: number;
    recipientRefusal?: ApiDependencies['recipientRefusal'];
  } = {},
): Promise<Harness> {
  const dir = mkdtempSync(path.join(tmpdir(), 'ae-api-'));
  const logger = silentLogger();
  const store = await createStore({ database: { kind: 'sqlite', path: path.join(dir, 'db.sqlite') }, tablePrefix: '', cryptKeys: ['0123456789abcdef0123456789abcdef'], logger });
  await store.migrate();
  const events: EventRegistry = new Map((options.events ?? ['sales.order.created', 'customer.created', 'example.event']).map((n) => [n, definition(n, options.eventResources?.[n])]));
  const calls: Harness['calls'] = { replay: [], requeue: [], publish: [], search: [], publishOrderEnabled: [] };
  const registry = new Registry();
  const metrics = createMetrics({ registry });
  const state = { hits: [] as SearchHit[], health: [{ name: 'database', up: true, detail: 'sqlite' }] as ServiceHealth[] };
  const search = fakeSearch(state);
  const deps: ApiDependencies = {
    logger,
    store,
    events: () => events,
    sinks: async () => [{ key: 'http', usable: true }, { key: 'eventbridge', usable: false, reason: 'no AWS credentials' }],
    overview: async () => ({ ...(await readActivity(store.db, new Date(Date.now() - 3_600_000))), queueDepth: { trigger: 0, retry: 0 }, slowest: [], services: state.health }),
    async replay(uuid) {
      calls.replay.push(uuid);
      const chain = await store.log.chain(uuid);
      const attempts = chain ? [] : await store.log.attempts(uuid);
      const subscriptionId = chain?.subscriptionId ?? attempts[0]?.subscriptionId;
      if (subscriptionId === undefined) throw new AsyncEventsError('NOT_FOUND', `no chain with uuid ${uuid}`);
      return { uuid, subscriptionId };
    },
    // The real redrive rule over the real store; only the queue is a recording fake.
    redriveParked: (selection) => redriveParked({ store, logger, transport: { requeue: async (queue, body) => void calls.requeue.push({ queue, body }) } }, selection),
    async publish(eventName, args, storeId) {
      calls.publish.push({ eventName, args, storeId });
    },
    async search(query, page) {
      calls.search.push({ query, ...page });
      return search(query, page);
    },
    health: async () => state.health,
    onAttempt: () => () => undefined,
    // The queue's reader is the queue suite's subject; here it only counts that the service started it.
    publishOrder: { enable: async () => void calls.publishOrderEnabled.push(new Date()) },
    auth: options.auth ?? createApiTokenAuth(API_TOKEN),
    ...(options.recipientRefusal ? { recipientRefusal: options.recipientRefusal } : {}),
  };
  const server = createHttpServer({ deps, port: 0, host: '127.0.0.1', metrics, routes: createRoutes({ replayLimit: options.replayLimit ?? 10_000, searchPageSize: 2 }), ...options.server });
  await server.listen();
  const bodies: string[] = [];
  const harness: Harness = {
    store,
    server,
    deps,
    registry,
    calls,
    bodies,
    get hits() {
      return state.hits;
    },
    set hits(value) {
      state.hits = value;
    },
    get health() {
      return state.health;
    },
    set health(value) {
      state.health = value;
    },
    async request(method, url, init = {}) {
      const headers: Record<string, string> = { ...init.headers };
      const token = init.token === undefined ? API_TOKEN : init.token;
      if (token !== null) headers.authorization = `Bearer ${token}`;
      let body: string | undefined;
      if (init.raw !== undefined) body = init.raw;
      else if (init.body !== undefined) {
        body = JSON.stringify(init.body);
        headers['content-type'] ??= 'application/json';
      }
      const response = await fetch(`${server.url}${url}`, { method, headers, ...(body !== undefined ? { body } : {}) });
      const text = await response.text();
      bodies.push(text);
      let json: unknown;
      try {
        json = JSON.parse(text) as unknown;
      } catch {
        json = undefined;
      }
      return { status: response.status, json, text, headers: response.headers };
    },
    async close() {
      await server.close();
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return harness;
}

/** A valid create body, with overrides. */
export function newSubscription(overrides: Record<string, unknown> = {}): { asyncEvent: Record<string, unknown> } {
  return {
    asyncEvent: {
      event_name: 'sales.order.created',
      recipient_url: 'https://receiver.example.com/hook',
      verification_token: SECRET_TOKEN,
      metadata: 'http',
      ...overrides,
    },
  };
}
