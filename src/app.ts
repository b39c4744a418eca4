import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import type { ApiDependencies, AttemptEvent, Authenticator, ServiceHealth } from './api/dependencies.ts';
import { createApiTokenAuth, createCompositeAuth, createIntegrationAuth } from './api/auth.ts';
import { createMetrics, type Metrics } from './api/metrics.ts';
import { collectBridgeRoutes, serviceKey } from './bridge/routes.ts';
import { createAdminConfig, type AdminConfig } from './config/admin-config.ts';
import { readMagentoInstall, type MagentoInstall } from './config/magento-root.ts';
import type { MagentoModule } from './config/modules.ts';
import { loadEventRegistry, type LoadedRegistry } from './config/registry.ts';
import type { Settings } from './config/settings.ts';
import type { AttemptContext, AttemptReport } from './delivery/attempt.ts';
import { startConsumer, type ConsumerName } from './delivery/consumers.ts';
import { createDeliveryLimiter } from './delivery/limiter.ts';
import { createDeliveryTimings } from './delivery/timings.ts';
import { replayChain } from './delivery/replay.ts';
import { createRetryHandler } from './delivery/retry-handler.ts';
import { createTriggerHandler } from './delivery/trigger-handler.ts';
import { AsyncEventsError, coerceError } from './errors.ts';
import type { Logger } from './logger.ts';
import type { MagentoCallback } from './magento/callback.ts';
import { createRestCallback } from './magento/rest-callback.ts';
import { indexWebapiRoutes, loadWebapiRoutes, type WebapiRoute, type WebapiRouteIndex } from './magento/webapi-routes.ts';
import { createAmqpTransport } from './queue/amqp/transport.ts';
import { createDatabaseQueue } from './queue/database/transport.ts';
import { encodeTriggerMessage } from './queue/publish.ts';
import type { QueueConsumer, QueueTransport } from './queue/transport.ts';
import { createElasticsearchSearch } from './search/elasticsearch.ts';
import { createBuiltinSearch, type SearchEngine } from './search/engine.ts';
import { createAmqpSink } from './sinks/amqp.ts';
import { createEventBridgeSink } from './sinks/eventbridge.ts';
import { createEventGridSink } from './sinks/eventgrid.ts';
import { createPubSubSink } from './sinks/pubsub.ts';
import { createHttpSink } from './sinks/http.ts';
import { createSqsSink } from './sinks/sqs.ts';
import { createSinkRegistry, type SinkRegistry } from './sinks/registry.ts';
import { ensureEmbeddedCryptKey } from './store/crypt-key.ts';
import { createEncryptor, type Encryptor } from './store/encryptor.ts';
import { readActivity } from './store/activity.ts';
import { createStore } from './store/index.ts';
import { cleanDeliveryLog } from './store/log-cleanup.ts';
import type { Store } from './store/store.ts';
import type { EventRegistry, StoreId } from './types.ts';

/*
 * The one place that wires the stages together, in pipeline order:
 * config → store → queue → Magento callback → sinks → delivery (consumers) → search → API.
 * Commands build the app once and use the parts they need; `start` runs all of it.
 */

export interface AppOptions {
  readonly settings: Settings;
  readonly logger: Logger;
  /** Deliveries in flight at once, across subscriptions and per subscription. */
  readonly concurrency?: { readonly global?: number; readonly perSubscription?: number };
  /** Messages each consumer takes at once (AMQP prefetch, claimed rows). */
  readonly prefetch?: number;
  /** Database-queue polling and lease, shortened by tests. */
  readonly databaseQueue?: { readonly pollIntervalMs?: number; readonly leaseSeconds?: number };
  /** Extra sinks (tests); added after the built-in ones. */
  readonly extraSinks?: SinkRegistryInput;
}

type SinkRegistryInput = Parameters<typeof createSinkRegistry>[0];

export interface App {
  readonly settings: Settings;
  readonly logger: Logger;
  readonly install: MagentoInstall;
  readonly config: LoadedRegistry;
  readonly store: Store;
  readonly encryptor: Encryptor;
  readonly transport: QueueTransport;
  readonly routes: WebapiRouteIndex;
  readonly callback: MagentoCallback;
  readonly sinks: SinkRegistry;
  readonly search: SearchEngine;
  readonly adminConfig: AdminConfig;
  readonly metrics: Metrics;
  readonly attempts: AttemptContext;
  readonly deps: ApiDependencies;
  events(): EventRegistry;
  publish(eventName: string, args: Record<string, unknown>, storeId?: StoreId): Promise<void>;
  startConsumers(names: readonly ConsumerName[]): Promise<void>;
  /** Stops consumers (in-flight deliveries finish), then closes every connection. */
  close(): Promise<void>;
}

export async function createApp(options: AppOptions): Promise<App> {
  const { settings } = options;
  const logger = options.logger;
  const closers: (() => Promise<void>)[] = [];
  const closeAll = async () => {
    for (const close of closers.splice(0).reverse()) {
      await close().catch((error: unknown) => logger.warn({ err: coerceError(error) }, 'error while closing'));
    }
  };

  try {
    // config: the Magento root and its merged async_events.xml
    const install = await readMagentoInstall(settings.magentoRoot);
    const config = await loadEventRegistry(install, logger.child({ stage: 'config' }));
    for (const error of config.errors) logger.error({ file: error.file, line: error.line }, `async_events.xml: ${error.file}:${error.line}:${error.column ?? 1} ${error.message}`);
    for (const missing of config.missing) logger.warn({ module: missing }, `module ${missing} is enabled in app/etc/config.php but not found on disk`);

    // store: upstream's tables on Magento's database, or the embedded SQLite file
    const cryptKeys = settings.cryptKeys && settings.cryptKeys.length > 0 ? settings.cryptKeys : [await ensureEmbeddedCryptKey(settings.dataDir)];
    const store = await createStore({ database: settings.database, tablePrefix: settings.tablePrefix, cryptKeys, logger: logger.child({ stage: 'store' }) });
    closers.push(() => store.close());
    // Creating what is missing is idempotent and never touches data, so every start may do it.
    await store.migrate();
    const encryptor = createEncryptor(cryptKeys);
    const chainSalt = await installationSalt(store);
    const adminConfig = createAdminConfig(store.configValues, settings.systemOverrides, { logger });

    // queue: RabbitMQ when configured, else Magento's database queue on the same database
    const transport = settings.amqpUrl
      ? createAmqpTransport({ url: settings.amqpUrl, logger: logger.child({ stage: 'queue' }) })
      : createDatabaseQueue({ db: store.db, dialect: store.dialect, logger: logger.child({ stage: 'queue' }), ...options.databaseQueue });
    closers.push(() => transport.close());
    await transport.setup();

    // magento: REST routes of the enabled modules, plus the bridge's routes for services Magento does not expose
    const routes = await loadRoutes(config.modules, config.registry);
    const callback = settings.magentoUrl
      ? createRestCallback({ baseUrl: settings.magentoUrl, token: settings.magentoToken ?? '', routes, logger, timeoutMs: settings.http.totalTimeoutMs, connections: 32 })
      : unconfiguredCallback();
    closers.push(() => callback.close());

    // sinks
    const sinks = createSinkRegistry([
      createHttpSink({
        logger: logger.child({ stage: 'sink', sink: 'http' }),
        allowedTargets: settings.allowedTargets,
        connectTimeoutMs: settings.http.connectTimeoutMs,
        totalTimeoutMs: settings.http.totalTimeoutMs,
      }),
      // AWS sinks read credentials live from `async_events_aws/*` (secrets decrypted like Magento's Encrypted backend).
      createEventBridgeSink({ logger, config: adminConfig, decrypt: (value) => encryptor.decrypt(value), requestTimeoutMs: settings.http.totalTimeoutMs, ...(settings.magentoUrl ? { magentoUrl: settings.magentoUrl } : {}) }),
      createSqsSink({ logger, config: adminConfig, decrypt: (value) => encryptor.decrypt(value), requestTimeoutMs: settings.http.totalTimeoutMs }),
      createPubSubSink({ logger, config: adminConfig, requestTimeoutMs: settings.http.totalTimeoutMs }),
      createEventGridSink({
        logger,
        config: adminConfig,
        decrypt: (value) => encryptor.decrypt(value),
        allowedTargets: settings.allowedTargets,
        connectTimeoutMs: settings.http.connectTimeoutMs,
        totalTimeoutMs: settings.http.totalTimeoutMs,
      }),
      createAmqpSink({ logger, allowedTargets: settings.allowedTargets, connectTimeoutMs: settings.http.connectTimeoutMs, confirmTimeoutMs: settings.http.totalTimeoutMs }),
      ...(options.extraSinks ?? []),
    ]);
    closers.push(() => sinks.close());

    // search: Elasticsearch when configured and indexing is on, else SQL over the log
    const builtinSearch = createBuiltinSearch({ db: store.db, dialect: store.dialect });
    const elasticsearch = settings.elasticsearchUrl
      ? createElasticsearchSearch({ url: settings.elasticsearchUrl, indexPrefix: 'magento2', logger: logger.child({ stage: 'search' }), store })
      : undefined;
    if (elasticsearch) closers.push(() => elasticsearch.close());
    const search: SearchEngine = elasticsearch ? withIndexingSwitch(elasticsearch, builtinSearch, adminConfig) : builtinSearch;

    // delivery
    const metrics = createMetrics();
    const timings = createDeliveryTimings();
    const attemptFeed = new EventEmitter();
    attemptFeed.setMaxListeners(0);
    const attempts: AttemptContext = {
      store,
      transport,
      sinks,
      maxDeaths: () => adminConfig.maxDeaths(),
      format: settings.payloadFormat,
      limiter: createDeliveryLimiter({ global: options.concurrency?.global ?? 1024, perSubscription: options.concurrency?.perSubscription ?? 128 }),
      logger: logger.child({ stage: 'delivery' }),
      onAttempt: (report) => {
        recordMetrics(metrics, report);
        timings.record(report.subscription.id, report.subscription.recipientUrl, report.durationMs);
        attemptFeed.emit('attempt', toAttemptEvent(report));
      },
    };
    const events = () => config.registry;
    const consumers: QueueConsumer[] = [];

    const publish = async (eventName: string, args: Record<string, unknown>, storeId: StoreId = '0') => {
      await transport.publishTrigger(encodeTriggerMessage(eventName, args, storeId));
    };

    const auth = await createAuthenticator(settings, store, logger);
    const deps: ApiDependencies = {
      logger,
      store,
      events,
      sinks: async () => (await sinks.usable()).map((s) => ({ key: s.key, usable: s.reason === undefined, ...(s.reason ? { reason: s.reason } : {}) })),
      replay: async (uuid) => {
        const report = await replayChain(attempts, uuid);
        return { uuid, subscriptionId: report.subscription.id };
      },
      publish,
      search: async (query, page) => {
        const result = await search.search(query, page);
        return {
          total: result.total,
          hits: result.hits.map((row) => ({
            logId: row.logId,
            uuid: row.uuid,
            eventName: row.eventName,
            success: row.success,
            created: row.created,
            subscriptionId: row.subscriptionId,
            recipientUrl: row.recipientUrl,
            responseData: row.responseData,
          })),
        };
      },
      health: () => checkHealth({ store, transport, settings, search }),
      overview: async () => {
        const [activity, trigger, retry, services] = await Promise.all([
          readActivity(store.db, new Date(Date.now() - 3_600_000)),
          transport.depth('event.trigger').catch(() => -1),
          transport.depth('event.failover.retry').catch(() => -1),
          checkHealth({ store, transport, settings, search }),
        ]);
        return { ...activity, queueDepth: { trigger, retry }, slowest: timings.slowest(5), services };
      },
      onAttempt: (listener) => {
        attemptFeed.on('attempt', listener);
        return () => attemptFeed.off('attempt', listener);
      },
      auth,
    };

    const timers: NodeJS.Timeout[] = [];
    const every = (ms: number, job: () => Promise<void>, what: string) => {
      let running = false;
      const timer = setInterval(() => {
        if (running) return;
        running = true;
        job()
          .catch((error: unknown) => logger.warn({ err: coerceError(error) }, `${what} failed`))
          .finally(() => (running = false));
      }, ms);
      timer.unref();
      timers.push(timer);
    };

    return {
      settings,
      logger,
      install,
      config,
      store,
      encryptor,
      transport,
      routes,
      callback,
      sinks,
      search,
      adminConfig,
      metrics,
      attempts,
      deps,
      events,
      publish,
      async startConsumers(names) {
        const prefetch = options.prefetch ?? 512;
        for (const name of names) {
          const handler =
            name === 'event.trigger.consumer'
              ? createTriggerHandler({ ...attempts, events, callback, chainSalt })
              : createRetryHandler(attempts);
          consumers.push(await startConsumer(name, { transport, handler, prefetch, logger }));
        }
        every(5000, async () => {
          metrics.queueDepth.set({ queue: 'event.trigger' }, await transport.depth('event.trigger'));
          metrics.queueDepth.set({ queue: 'event.failover.retry' }, await transport.depth('event.failover.retry'));
        }, 'queue depth probe');
        every(60_000, async () => void (await cleanDeliveryLog(adminConfig, store, logger)), 'delivery log cleanup');
        const indexer = elasticsearch;
        if (indexer?.index) {
          every(2000, async () => {
            if (await adminConfig.indexingEnabled()) await indexer.index?.();
          }, 'search indexing');
        }
      },
      async close() {
        for (const timer of timers) clearInterval(timer);
        await Promise.all(consumers.splice(0).map((c) => c.stop()));
        await closeAll();
      },
    };
  } catch (error) {
    await closeAll();
    throw error;
  }
}

/** Magento's REST routes of the enabled modules, plus the generated bridge's routes for services without one. */
export async function loadRoutes(modules: readonly MagentoModule[], registry: EventRegistry): Promise<WebapiRouteIndex> {
  const magentoRoutes = await loadWebapiRoutes(modules);
  const routed = new Set(magentoRoutes.all().map((r) => serviceKey(r.serviceClass, r.serviceMethod)));
  // Services without a REST route are reached through the route the generated bridge module adds for them.
  const bridgeRoutes: WebapiRoute[] = collectBridgeRoutes(registry, routed).map((route) => ({
    serviceClass: route.serviceClass,
    serviceMethod: route.serviceMethod,
    httpMethod: 'GET',
    url: route.url,
    params: [],
    resources: route.resources,
    parameters: [],
    secure: false,
    module: 'MageOS_AsyncEvents',
    file: '(generated bridge module)/etc/webapi.xml',
  }));
  return bridgeRoutes.length === 0 ? magentoRoutes : indexWebapiRoutes([...magentoRoutes.all(), ...bridgeRoutes]);
}

const SALT_PATH = 'async_events/sidecar/chain_salt';

/** A random value per installation, kept in core_config_data so every replica and restart shares it. */
async function installationSalt(store: Store): Promise<string> {
  const existing = await store.configValues.get(SALT_PATH);
  if (existing) return existing;
  await store.configValues.set(SALT_PATH, randomBytes(16).toString('hex'));
  // Replicas starting together may both write: read back so all use the value that stayed.
  return (await store.configValues.get(SALT_PATH)) ?? '';
}

function unconfiguredCallback(): MagentoCallback {
  return {
    async fetchEventData(event) {
      throw new AsyncEventsError(
        'CALLBACK_FAILED',
        `cannot call ${event.serviceClass}::${event.serviceMethod}: no Magento URL is configured (set ASYNC_EVENTS_MAGENTO_URL, or the base URL in env.php)`,
      );
    },
    async close() {},
  };
}

async function createAuthenticator(settings: Settings, store: Store, logger: Logger): Promise<Authenticator> {
  const authenticators: Authenticator[] = [];
  if (settings.apiToken) authenticators.push(createApiTokenAuth(settings.apiToken));
  // With Magento's own database, Magento integration tokens authorize too (ACL MageOS_AsyncEvents::manage).
  if (store.dialect === 'mysql') authenticators.push(createIntegrationAuth({ db: store.db, logger, tablePrefix: settings.tablePrefix }));
  if (authenticators.length === 0) {
    return {
      authenticate: async () => {
        throw new AsyncEventsError('UNAUTHORIZED', 'No API token is configured: set ASYNC_EVENTS_API_TOKEN');
      },
    };
  }
  return authenticators.length === 1 && authenticators[0] ? authenticators[0] : createCompositeAuth(authenticators);
}

/** Elasticsearch answers while `indexing_enabled` is on; when an admin turns it off, the built-in engine does. */
function withIndexingSwitch(elasticsearch: SearchEngine, builtin: SearchEngine, adminConfig: AdminConfig): SearchEngine {
  return {
    kind: 'elasticsearch',
    search: async (query, page) => ((await adminConfig.indexingEnabled()) ? elasticsearch.search(query, page) : builtin.search(query, page)),
    ...(elasticsearch.index ? { index: elasticsearch.index.bind(elasticsearch) } : {}),
    ...(elasticsearch.reindex ? { reindex: elasticsearch.reindex.bind(elasticsearch) } : {}),
    close: async () => {
      await elasticsearch.close();
      await builtin.close();
    },
  };
}

async function checkHealth(parts: { store: Store; transport: QueueTransport; settings: Settings; search: SearchEngine }): Promise<ServiceHealth[]> {
  const probe = async (name: string, check: () => Promise<string>): Promise<ServiceHealth> => {
    try {
      return { name, up: true, detail: await check() };
    } catch (error) {
      return { name, up: false, detail: coerceError(error).message };
    }
  };
  return Promise.all([
    probe('database', async () => {
      await parts.store.ping();
      return parts.store.dialect === 'mysql' ? 'MySQL/MariaDB reachable' : 'embedded SQLite';
    }),
    probe('queue', async () => {
      const depth = await parts.transport.depth('event.trigger');
      return `${parts.transport.kind === 'amqp' ? 'RabbitMQ' : 'database queue'}, ${depth} trigger message(s) waiting`;
    }),
    probe('search', async () => (parts.search.kind === 'elasticsearch' ? 'Elasticsearch' : 'built-in (SQL over the log)')),
  ]);
}

function recordMetrics(metrics: Metrics, report: AttemptReport): void {
  const event = report.payload.eventName;
  const sink = report.subscription.metadata;
  const outcome = report.outcome.success ? 'success' : report.chainStatus === 'retrying' ? 'retry' : report.chainStatus === 'dead' ? 'dead' : 'failed';
  metrics.deliveriesTotal.inc({ event, sink, outcome });
  metrics.deliveryDuration.observe({ event, sink }, report.durationMs / 1000);
  if (report.chainStatus === 'retrying') metrics.retriesScheduledTotal.inc({ event });
  if (report.chainStatus === 'dead') metrics.deadLettersTotal.inc({ event });
}

function toAttemptEvent(report: AttemptReport): AttemptEvent {
  return {
    logId: report.logId,
    uuid: report.payload.uuid,
    subscriptionId: report.subscription.id,
    eventName: report.payload.eventName,
    success: report.outcome.success,
    deathCount: report.deathCount,
    chainStatus: report.chainStatus,
    created: new Date(),
  };
}
