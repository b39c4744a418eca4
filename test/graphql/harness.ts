import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import http from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { ApiDependencies, AttemptEvent, Principal } from '../../src/api/dependencies.ts';
import { createGraphqlHandler } from '../../src/api/graphql/index.ts';
import { redriveParked } from '../../src/delivery/redrive.ts';
import { AsyncEventsError } from '../../src/errors.ts';
import { silentLogger } from '../../src/logger.ts';
import { createBuiltinSearch } from '../../src/search/index.ts';
import { createStore } from '../../src/store/index.ts';
import type { DatabaseSettings } from '../../src/config/settings.ts';
import type { Store } from '../../src/store/store.ts';
import type { EventDefinition } from '../../src/types.ts';
import { MARIADB, createDatabase, dropDatabase, freePort } from '../support/services.ts';

export const API_TOKEN = 'api-token-for-graphql-tests';
/** Authenticates but lacks MageOS_AsyncEvents::manage. */
export const NO_ACL_TOKEN = 'integration-without-acl';

export const EVENTS: readonly EventDefinition[] = [
  { name: 'sales.order.created', serviceClass: 'Magento\\Sales\\Api\\OrderRepositoryInterface', serviceMethod: 'get', resources: [], module: 'MageOS_CommonAsyncEvents', source: { file: 'vendor/mage-os/common/etc/async_events.xml', line: 4 } },
  { name: 'customer.created', serviceClass: 'Magento\\Customer\\Api\\CustomerRepositoryInterface', serviceMethod: 'getById', resources: [], module: 'MageOS_CommonAsyncEvents', source: { file: 'vendor/mage-os/common/etc/async_events.xml', line: 10 } },
  { name: 'catalog.product.saved', serviceClass: 'Magento\\Catalog\\Api\\ProductRepositoryInterface', serviceMethod: 'getById', resources: [], module: 'Acme_Catalog', source: { file: 'app/code/Acme/Catalog/etc/async_events.xml', line: 3 } },
];

/** A real store on a fresh MariaDB database, migrated with Magento's `mg_` table prefix; `close` drops it. */
export async function openMariadbStore(): Promise<{ store: Store; close(): Promise<void> }> {
  const database = await createDatabase('ae_graphql');
  return openStore({ kind: 'mysql', ...MARIADB, database }, 'mg_', () => dropDatabase(database));
}

/** A real store on a fresh SQLite file, migrated; `close` removes the file. */
export async function openTestStore(): Promise<{ store: Store; close(): Promise<void> }> {
  const dir = await mkdtemp(path.join(tmpdir(), 'ae-graphql-'));
  return openStore({ kind: 'sqlite', path: path.join(dir, 'async-events.sqlite') }, '', () => rm(dir, { recursive: true, force: true }));
}

async function openStore(database: DatabaseSettings, tablePrefix: string, remove: () => Promise<void>): Promise<{ store: Store; close(): Promise<void> }> {
  const store = await createStore({ database, tablePrefix, cryptKeys: [randomBytes(16).toString('hex')], logger: silentLogger() });
  await store.migrate();
  return {
    store,
    async close() {
      await store.close();
      await remove();
    },
  };
}

/** A GraphQL server over a real SQLite store (seeded by `prepare` when given) and the recording pipeline fake. */
export async function startGraphqlFixture<T>(prepare?: (store: Store) => Promise<T>) {
  const { store, close: closeStore } = await openTestStore();
  const prepared = prepare ? await prepare(store) : undefined;
  const { deps, pipeline } = makeDeps(store);
  const server = await startGraphqlServer(deps);
  return {
    server,
    store,
    pipeline,
    prepared: prepared as T,
    async close() {
      await server.close();
      await closeStore();
    },
  };
}

export interface Pipeline {
  readonly replayed: string[];
  readonly requeued: { queue: string; body: string }[];
  readonly listeners: Set<(attempt: AttemptEvent) => void>;
  emit(attempt: AttemptEvent): void;
  failHealth?: Error;
}

/**
 * Dependencies around a real store and the real built-in (SQL) search over it; the pipeline functions record what
 * they were asked to do, and replay opens a new chain like the real one does.
 */
export function makeDeps(store: Store): { deps: ApiDependencies; pipeline: Pipeline } {
  const listeners = new Set<(attempt: AttemptEvent) => void>();
  const search = createBuiltinSearch({ db: store.db, dialect: store.dialect });
  const pipeline: Pipeline = {
    replayed: [],
    requeued: [],
    listeners,
    emit(attempt) {
      for (const listener of listeners) listener(attempt);
    },
  };
  const deps: ApiDependencies = {
    logger: silentLogger(),
    store,
    events: () => new Map(EVENTS.map((event) => [event.name, event])),
    overview: async () => ({ perMinute: [], queueDepth: { trigger: 0, retry: 0 }, deadLettered: 0, slowest: [], mostFailing: [], services: [] }),
    sinks: async () => [
      { key: 'http', usable: true },
      { key: 'eventbridge', usable: false, reason: 'async_events_aws/eventbridge/region is not set' },
    ],
    async replay(uuid) {
      const [first] = await store.log.attempts(uuid);
      if (!first) throw new AsyncEventsError('NOT_FOUND', `No delivery with UUID "${uuid}" exists in the log`, { uuid });
      await store.log.openChain({ uuid, subscriptionId: first.subscriptionId, eventName: first.eventName, storeId: '0' });
      pipeline.replayed.push(uuid);
      return { uuid, subscriptionId: first.subscriptionId };
    },
    redriveParked: (selection) =>
      redriveParked({ store, logger: silentLogger(), transport: { requeue: async (queue, body) => void pipeline.requeued.push({ queue, body }) } }, selection),
    publish: async () => {
      throw new Error('publish is not part of the GraphQL API');
    },
    search: (query, page) => search.search(query, page),
    async health() {
      if (pipeline.failHealth) throw pipeline.failHealth;
      return [
        { name: 'database', up: true, detail: 'sqlite' },
        { name: 'queue', up: false, detail: 'RabbitMQ refused the connection' },
      ];
    },
    onAttempt(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    auth: {
      async authenticate(header): Promise<Principal> {
        if (header === undefined) throw new AsyncEventsError('UNAUTHORIZED', 'The request has no "Authorization: Bearer <token>" header');
        if (header === `Bearer ${API_TOKEN}`) return { kind: 'api-token' };
        if (header === `Bearer ${NO_ACL_TOKEN}`) throw new AsyncEventsError('FORBIDDEN', "The consumer isn't authorized to access MageOS_AsyncEvents::manage.");
        throw new AsyncEventsError('UNAUTHORIZED', 'The bearer token is not valid');
      },
    },
  };
  return { deps, pipeline };
}

export interface GraphqlServer {
  readonly url: string;
  /** Every response body the server sent, to check that no verification token ever left it. */
  readonly bodies: string[];
  query<T = Record<string, unknown>>(query: string, variables?: Record<string, unknown>, token?: string | null): Promise<GraphqlReply<T>>;
  /** The handler's close(): ends open subscriptions. */
  closeFeeds(): void;
  close(): Promise<void>;
}

export interface GraphqlReply<T> {
  readonly status: number;
  readonly headers: Headers;
  readonly data: T | null | undefined;
  readonly errors: readonly { message: string; extensions?: Record<string, unknown>; path?: readonly (string | number)[] }[] | undefined;
}

export async function startGraphqlServer(deps: ApiDependencies): Promise<GraphqlServer> {
  const handler = createGraphqlHandler(deps);
  const server = http.createServer((req, res) => {
    if (req.url?.startsWith('/graphql')) {
      handler(req, res).catch((error: unknown) => {
        res.statusCode = 500;
        res.end(String(error));
      });
    } else {
      res.statusCode = 404;
      res.end();
    }
  });
  const port = await freePort();
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${port}/graphql`;
  const bodies: string[] = [];
  return {
    url,
    bodies,
    async query<T>(query: string, variables: Record<string, unknown> = {}, token: string | null = API_TOKEN) {
      const headers: Record<string, string> = { 'content-type': 'application/json', accept: 'application/graphql-response+json, application/json' };
      if (token !== null) headers.authorization = `Bearer ${token}`;
      const response = await fetch(url, { method: 'POST', headers, body: JSON.stringify({ query, variables }) });
      const text = await response.text();
      bodies.push(text);
      const body = JSON.parse(text) as { data?: T | null; errors?: GraphqlReply<T>['errors'] };
      return { status: response.status, headers: response.headers, data: body.data, errors: body.errors };
    },
    closeFeeds: () => handler.close(),
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** Reads `event: next` items of a GraphQL-over-SSE response one by one. */
export function sseReader(response: Response): { next(): Promise<Record<string, unknown>>; end(): Promise<string[]>; raw: string[] } {
  if (!response.body) throw new Error('SSE response has no body');
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  const raw: string[] = [];
  let buffer = '';
  return {
    raw,
    async next() {
      for (;;) {
        const end = buffer.indexOf('\n\n');
        if (end >= 0) {
          const message = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          raw.push(message);
          const lines = message.split('\n');
          const event = lines.find((line) => line.startsWith('event:'))?.slice(6).trim();
          const data = lines.filter((line) => line.startsWith('data:')).map((line) => line.slice(5).trim()).join('\n');
          if (event === 'next') return JSON.parse(data) as Record<string, unknown>;
          if (event === 'complete') throw new Error('SSE stream completed');
          continue; // keep-alive comments and other events
        }
        const chunk = await reader.read();
        if (chunk.done) throw new Error(`SSE stream ended; read so far: ${JSON.stringify(raw)}`);
        buffer += decoder.decode(chunk.value, { stream: true });
      }
    },
    /** Reads to the end of the stream; the event names that came, e.g. ['complete']. */
    async end() {
      for (;;) {
        const chunk = await reader.read();
        if (chunk.done) break;
        buffer += decoder.decode(chunk.value, { stream: true });
      }
      return buffer
        .split('\n\n')
        .map((message) => message.split('\n').find((line) => line.startsWith('event:'))?.slice(6).trim())
        .filter((event): event is string => event !== undefined);
    },
  };
}

/** Waits until the condition holds (polling), failing with the description after the timeout. */
export async function waitFor(description: string, condition: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${description}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
