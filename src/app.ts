import { randomBytes } from 'node:crypto';
import { EventEmitter, setMaxListeners } from 'node:events';
import type { ApiDependencies, AttemptEvent, Authenticator, ServiceHealth } from './api/dependencies.ts';
import type { Metrics } from './api/metrics.ts';
import type { Registry } from 'prom-client';
import { createAdminConfig, type AdminConfig } from './config/admin-config.ts';
import { readMagentoInstall, type MagentoInstall } from './config/magento-root.ts';
import type { MagentoModule } from './config/modules.ts';
import { loadEventRegistry, type LoadedRegistry } from './config/registry.ts';
import type { Settings } from './config/settings.ts';
import type { AlertSender } from './delivery/alerts.ts';
import type { AttemptContext, AttemptReport } from './delivery/attempt.ts';
import type { HealthTracker } from './delivery/health.ts';
import type { ConsumerName } from './delivery/consumers.ts';
import { createDeliveryLimiter } from './delivery/limiter.ts';
import { createRuleRuntime, type RuleRuntime } from './delivery/subscription-rules.ts';
import { AsyncEventsError, coerceError } from './errors.ts';
import type { Logger } from './logger.ts';
import type { MagentoCallback } from './magento/callback.ts';
import type { WebapiRoute, WebapiRouteIndex } from './magento/webapi-routes.ts';
import { encodeTriggerMessage } from './queue/publish.ts';
import type { QueueConsumer, QueueTransport } from './queue/transport.ts';
import type { SearchEngine } from './search/engine.ts';
import { MagentoCallbackError } from './magento/callback-error.ts';
import { describeAvailability, guardAgainstOutages, type GuardedCallback, type MagentoAvailability } from './magento/outage-breaker.ts';
import type { PreviousTokenCache } from './sinks/previous-token-cache.ts';
import { createSinkRegistry, type SinkRegistry } from './sinks/registry.ts';
import { ensureEmbeddedCryptKey, readEmbeddedCryptKey } from './store/crypt-key.ts';
import { createEncryptor, type Encryptor } from './store/encryptor.ts';
import type { Store } from './store/store.ts';
import type { SinkState, SubscriptionService } from './store/subscription-service/index.ts';
import type { EventRegistry, StoreId } from './types.ts';

/*
 * The one place that wires the stages together, in pipeline order:
 * config → store → queue → Magento callback → sinks → delivery (consumers) → search → API.
 * Commands build the parts they need (createAppParts); `start` runs all of it (createApp). Modules only some
 * parts use are imported when that part is built, so a one-shot command loads little more than its own code.
 */

export interface AppOptions {
  readonly settings: Settings;
  readonly logger: Logger;
  /** Deliveries in flight at once, across subscriptions and per subscription. */
  readonly concurrency?: { readonly global?: number; readonly perSubscription?: number };
  /** Messages each consumer takes at once (AMQP prefetch, claimed rows). */
  readonly prefetch?: number;
  /** Message body bytes each consumer handles at once (see queue/intake-budget.ts). */
  readonly prefetchBytes?: number;
  /** Database-queue polling and lease, shortened by tests. */
  readonly databaseQueue?: { readonly pollIntervalMs?: number; readonly leaseSeconds?: number };
  /** Backoff of the Magento outage breaker (tests shorten it; production doubles from 1 s up to 60 s). */
  readonly magentoBackoff?: { readonly initialDelayMs?: number; readonly maxDelayMs?: number };
  /** Seconds past due before a chain's retry message counts as lost (overdue-chains.ts); tests shorten it. */
  readonly overdueGraceSeconds?: number;
  /** Test hook passed to every attempt (crash injection). */
  readonly crashPoint?: AttemptContext['crashPoint'];
  /** Extra sinks (tests); added after the built-in ones. */
  readonly extraSinks?: SinkRegistryInput;
  /**
   * The clock of token rotation (when a token was replaced, whether its grace period has ended) and of subscription
   * health (auto-disable hours, alert limits, hour buckets); tests move it.
   */
  readonly clock?: () => Date;
  /** Operator alert delivery bounds (tests shorten them). */
  readonly alerts?: { readonly timeoutMs?: number; readonly queueLimit?: number };
  /** Subscription rules at delivery time (rate schedules, filter counts); one is made when not given. */
  readonly rules?: RuleRuntime;
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
  readonly callback: GuardedCallback;
  readonly sinks: SinkRegistry;
  readonly search: SearchEngine;
  readonly adminConfig: AdminConfig;
  readonly metrics: Metrics;
  readonly attempts: AttemptContext;
  /** Subscription health, kept from every attempt (auto-disable, operator alerts). */
  readonly health: HealthTracker;
  readonly alerts: AlertSender;
  readonly deps: ApiDependencies;
  events(): EventRegistry;
  publish(eventName: string, args: Record<string, unknown>, storeId?: StoreId): Promise<void>;
  startConsumers(names: readonly ConsumerName[]): Promise<void>;
  /** What Magento's callbacks look like now (/readyz, the gauge). */
  magentoAvailability(): MagentoAvailability;
  /**
   * Stops consumers and lets in-flight deliveries finish until `deadline` (epoch ms; default now + the shutdown
   * timeout setting), then aborts what still runs, so its messages go back to their queues; then closes every
   * connection.
   */
  close(deadline?: number): Promise<void>;
}

export interface PartsOptions extends AppOptions {
  /** Create missing tables as the store opens (`start`, `migrate`, `publish --setup`). */
  readonly migrate?: boolean;
  /** Declare the RabbitMQ exchanges and queues as the queue opens (`start`, `publish --setup`). */
  readonly declareTopology?: boolean;
  /** Read-only commands: never create a database, a folder or a key; a missing SQLite file is an error. */
  readonly mustExist?: boolean;
  /** Called after each attempt is durable (metrics, the live feed). */
  readonly onAttempt?: (report: AttemptReport) => void;
  /** Called when Magento's callbacks become reachable or not (the gauge). */
  readonly onMagentoAvailability?: (availability: MagentoAvailability) => void;
  /** Skip the XSD check of async_events.xml when only event names are looked up (`publish`). */
  readonly schemaCheck?: boolean;
  /** Registry of the alert and per-subscription health series (`start` passes its /metrics registry). */
  readonly metricsRegistry?: Registry;
  /** RabbitMQ outage handling; `doctor` gives up quickly instead of waiting for the broker. */
  readonly amqp?: { readonly unavailableTimeoutMs?: number; readonly reconnect?: { readonly initialDelayMs?: number; readonly maxDelayMs?: number } };
}

/**
 * The app's parts, each built on first use (with what it needs) and closed by `close()` in reverse order. A
 * command asks only for the parts it uses, so `publish` opens the store or RabbitMQ and nothing else, and the
 * drivers and SDKs of parts not used are never imported.
 */
export interface AppParts {
  readonly settings: Settings;
  readonly logger: Logger;
  config(): Promise<{ readonly install: MagentoInstall; readonly loaded: LoadedRegistry }>;
  store(): Promise<Store>;
  encryptor(): Promise<Encryptor>;
  adminConfig(): Promise<AdminConfig>;
  transport(): Promise<QueueTransport>;
  routes(): Promise<WebapiRouteIndex>;
  callback(): Promise<GuardedCallback>;
  sinks(): Promise<SinkRegistry>;
  /** Previous verification tokens the http sink co-signs with during their grace period, from memory. */
  previousTokenCache(): Promise<PreviousTokenCache>;
  /** The configured engine, and Elasticsearch's own (for indexing) when configured. */
  search(): Promise<{ readonly engine: SearchEngine; readonly elasticsearch: SearchEngine | undefined }>;
  attempts(): Promise<AttemptContext>;
  /** Subscription health, fed by every attempt of `attempts()` (auto-disable, operator alerts). */
  health(): Promise<{ readonly tracker: HealthTracker; readonly alerts: AlertSender }>;
  /**
   * The subscription service for the local operator (`LOCAL_OPERATOR`, who holds every resource; any other
   * principal is refused): the same rules REST and GraphQL apply (they build theirs from the API's dependencies,
   * api/services.ts). Health is the stored figures: a running sidecar's in-flight counts are its own.
   */
  subscriptions(): Promise<SubscriptionService>;
  /** Cuts off running deliveries and held messages so they go back to their queues (the shutdown deadline). */
  abortInFlight(): void;
  close(): Promise<void>;
}

function once<T>(build: () => Promise<T>): () => Promise<T> {
  let built: Promise<T> | undefined;
  return () => (built ??= build());
}

export function createAppParts(options: PartsOptions): AppParts {
  const { settings, logger } = options;
  const closers: (() => Promise<void>)[] = [];
  const closing = (close: () => Promise<void>) => closers.push(close);
  // Aborted at the shutdown deadline: every held message and running delivery listens to it.
  const shutdown = new AbortController();
  setMaxListeners(0, shutdown.signal);

  const config = once(async () => {
    // config: the Magento root and its merged async_events.xml
    const install = await readMagentoInstall(settings.magentoRoot);
    const loaded = await loadEventRegistry(install, logger.child({ stage: 'config' }), options.schemaCheck === false ? { schemaCheck: false } : {});
    for (const error of loaded.errors) logger.error({ file: error.file, line: error.line }, `async_events.xml: ${error.file}:${error.line}:${error.column ?? 1} ${error.message}`);
    for (const missing of loaded.missing) logger.warn({ module: missing }, `module ${missing} is enabled in app/etc/config.php but not found on disk`);
    return { install, loaded };
  });

  const cryptKeys = once(async (): Promise<string[]> => {
    if (settings.cryptKeys && settings.cryptKeys.length > 0) return [...settings.cryptKeys];
    if (!options.mustExist) return [await ensureEmbeddedCryptKey(settings.dataDir)];
    // Reading needs no key; decrypting without one says which file is missing.
    const existing = await readEmbeddedCryptKey(settings.dataDir);
    return existing === undefined ? [] : [existing];
  });

  // store: upstream's tables on Magento's database, or the embedded SQLite file
  const store = once(async () => {
    // Imported here: Kysely is hundreds of modules, and `publish` on RabbitMQ needs no database at all.
    const { createStore } = await import('./store/index.ts');
    const opened = await createStore({
      database: settings.database,
      tablePrefix: settings.tablePrefix,
      cryptKeys: await cryptKeys(),
      // Each part binds its own `stage` (and the like): binding it here too would print the key twice per line.
      logger,
      ...(options.mustExist ? { mustExist: true } : {}),
    });
    closing(() => opened.close());
    // Creating what is missing is idempotent and never touches data, so every start may do it.
    if (options.migrate) await opened.migrate();
    return opened;
  });

  const encryptor = once(async () => createEncryptor(await cryptKeys()));
  const adminConfig = once(async () => createAdminConfig((await store()).configValues, settings.systemOverrides, { logger }));

  // queue: RabbitMQ when configured, else Magento's database queue on the same database
  const transport = once(async () => {
    let queue: QueueTransport;
    if (settings.amqpUrl) {
      const { createAmqpTransport } = await import('./queue/amqp/transport.ts');
      queue = createAmqpTransport({ url: settings.amqpUrl, logger, ...options.amqp });
    } else {
      const [{ createDatabaseQueue }, opened] = await Promise.all([import('./queue/database/transport.ts'), store()]);
      queue = createDatabaseQueue({ db: opened.db, dialect: opened.dialect, logger, ...options.databaseQueue });
    }
    closing(() => queue.close());
    if (options.declareTopology) await queue.setup();
    return queue;
  });

  // magento: REST routes of the enabled modules, plus the bridge's routes for services Magento does not expose
  const routes = once(async () => {
    const { loaded } = await config();
    return loadRoutes(loaded.modules, loaded.registry);
  });
  const callback = once(async () => {
    const { createRestCallback } = await import('./magento/rest-callback.ts');
    // Magento faults that clear by themselves hold trigger messages behind a breaker instead of parking them.
    const built = guardAgainstOutages(
      settings.magentoUrl
        ? createRestCallback({ baseUrl: settings.magentoUrl, token: settings.magentoToken ?? '', routes: await routes(), logger, timeoutMs: settings.http.totalTimeoutMs, connections: 32 })
        : unconfiguredCallback(),
      { logger, url: settings.magentoUrl, ...options.magentoBackoff, ...(options.onMagentoAvailability ? { onChange: options.onMagentoAvailability } : {}) },
    );
    closing(() => built.close());
    return built;
  });

  const previousTokenCache = once(async () => {
    const [{ createPreviousTokenCache }, opened, config] = await Promise.all([import('./sinks/previous-token-cache.ts'), store(), adminConfig()]);
    return createPreviousTokenCache({
      repository: opened.previousTokens,
      graceHours: () => config.tokenRotationGraceHours(),
      logger: logger.child({ stage: 'sink', sink: 'http' }),
      ...(options.clock ? { now: options.clock } : {}),
    });
  });

  // sinks: the AWS SDKs load only when a command delivers
  const sinks = once(async () => {
    const [{ createHttpSink }, { createEventBridgeSink }, { createSqsSink }, { createPubSubSink }, { createEventGridSink }, { createAmqpSink }, config, crypto] = await Promise.all([
      import('./sinks/http.ts'),
      import('./sinks/eventbridge.ts'),
      import('./sinks/sqs.ts'),
      import('./sinks/pubsub.ts'),
      import('./sinks/eventgrid.ts'),
      import('./sinks/amqp.ts'),
      adminConfig(),
      encryptor(),
    ]);
    const tokens = await previousTokenCache();
    // Every sink binds its own `sink` name; the stage is theirs in common.
    const sinkLogger = logger.child({ stage: 'sink' });
    const registry = createSinkRegistry([
      createHttpSink({
        logger: sinkLogger,
        allowedTargets: settings.allowedTargets,
        connectTimeoutMs: settings.http.connectTimeoutMs,
        totalTimeoutMs: settings.http.totalTimeoutMs,
        previousTokens: (subscription) => tokens.tokensFor(subscription),
      }),
      // AWS sinks read credentials live from `async_events_aws/*` (secrets decrypted like Magento's Encrypted backend).
      createEventBridgeSink({ logger: sinkLogger, config, decrypt: (value) => crypto.decrypt(value), requestTimeoutMs: settings.http.totalTimeoutMs, ...(settings.magentoUrl ? { magentoUrl: settings.magentoUrl } : {}) }),
      createSqsSink({ logger: sinkLogger, config, decrypt: (value) => crypto.decrypt(value), requestTimeoutMs: settings.http.totalTimeoutMs }),
      createPubSubSink({ logger: sinkLogger, config, requestTimeoutMs: settings.http.totalTimeoutMs }),
      createEventGridSink({
        logger: sinkLogger,
        config,
        decrypt: (value) => crypto.decrypt(value),
        allowedTargets: settings.allowedTargets,
        connectTimeoutMs: settings.http.connectTimeoutMs,
        totalTimeoutMs: settings.http.totalTimeoutMs,
      }),
      createAmqpSink({ logger: sinkLogger, allowedTargets: settings.allowedTargets, connectTimeoutMs: settings.http.connectTimeoutMs, confirmTimeoutMs: settings.http.totalTimeoutMs }),
      ...(options.extraSinks ?? []),
    ]);
    closing(() => registry.close());
    return registry;
  });

  // search: Elasticsearch when configured and indexing is on, else SQL over the log
  const search = once(async () => {
    const [opened, { createBuiltinSearch }] = await Promise.all([store(), import('./search/engine.ts')]);
    const builtin = createBuiltinSearch({ db: opened.db, dialect: opened.dialect });
    if (!settings.elasticsearchUrl) return { engine: builtin, elasticsearch: undefined };
    const { createElasticsearchSearch, magentoIndexPrefix } = await import('./search/index.ts');
    const elasticsearch = createElasticsearchSearch({
      url: settings.elasticsearchUrl,
      indexPrefix: await magentoIndexPrefix(opened, settings.systemOverrides),
      logger,
      store: opened,
    });
    closing(() => elasticsearch.close());
    return { engine: withIndexingSwitch(elasticsearch, builtin, await adminConfig()), elasticsearch };
  });

  const limiter = createDeliveryLimiter({ global: options.concurrency?.global ?? 1024, perSubscription: options.concurrency?.perSubscription ?? 128 });
  // Subscription rules at delivery time; health and /metrics read its counts.
  const rules = options.rules ?? createRuleRuntime();

  // subscription health: every attempt counted as it is logged, whichever command delivers (start, replay)
  const health = once(async () => {
    const [opened, config, crypto, { createHealthTracker }, { createAlertSender }, { createHealthConfig }] = await Promise.all([
      store(),
      adminConfig(),
      encryptor(),
      import('./delivery/health.ts'),
      import('./delivery/alerts.ts'),
      import('./config/health-config.ts'),
    ]);
    const healthConfig = createHealthConfig(config, (stored) => crypto.decrypt(stored), logger);
    const alerts = createAlertSender({ target: () => healthConfig.alertTarget(), logger, ...(options.metricsRegistry ? { registry: options.metricsRegistry } : {}), ...options.alerts });
    const tracker = createHealthTracker({
      filteredOut: (id) => rules.stats.filteredOut(id),
      store: opened,
      config: healthConfig,
      alerts,
      logger,
      inFlight: (id) => limiter.inFlight(id),
      perSubscriptionMetrics: settings.metricsPerSubscription ? options.metricsRegistry : undefined,
      ...(options.clock ? { now: options.clock } : {}),
    });
    // Closed before the store (closers run in reverse): the last figures go in, alerts get a moment.
    closing(async () => {
      await tracker.settle();
      // An alert URL that hangs does not hold up the exit.
      await alerts.close();
    });
    return { tracker, alerts };
  });

  const attempts = once(async (): Promise<AttemptContext> => {
    const [opened, queue, registry, config, { tracker }] = await Promise.all([store(), transport(), sinks(), adminConfig(), health()]);
    const onAttempt = options.onAttempt;
    return {
      store: opened,
      transport: queue,
      sinks: registry,
      maxDeaths: () => config.maxDeaths(),
      format: settings.payloadFormat,
      limiter,
      logger: logger.child({ stage: 'delivery' }),
      signal: shutdown.signal,
      rules,
      ...(options.crashPoint ? { crashPoint: options.crashPoint } : {}),
      onAttempt: (report) => {
        onAttempt?.(report);
        tracker.record(report);
      },
    };
  });

  // subscriptions: the CLI's, acting as the local operator
  const subscriptions = once(async () => {
    const [opened, { loaded }, registry, admin, { createSubscriptionService }, { createEventAccess }, { createAddressGuard }] = await Promise.all([
      store(),
      config(),
      sinks(),
      adminConfig(),
      import('./store/subscription-service/index.ts'),
      import('./config/event-access.ts'),
      import('./sinks/address-guard.ts'),
    ]);
    const events = () => loaded.registry;
    return createSubscriptionService({
      store: opened,
      events,
      sinks: () => sinkStates(registry),
      access: createEventAccess({ events, isAllowed: async (principal) => principal.kind === 'operator' }),
      recipientRefusal: createAddressGuard({ allowedTargets: settings.allowedTargets }).recipientRefusal,
      // A running sidecar notices the new token by itself (previous-token-cache.ts reloads on a token change).
      tokenRotation: { graceHours: () => admin.tokenRotationGraceHours(), ...(options.clock ? { now: options.clock } : {}) },
      // The one queue declaration a one-shot command makes: the copy of the trigger queue an ordering subscription reads.
      publishOrder: { enable: async () => (await transport()).enablePublishOrder() },
    });
  });

  return {
    settings,
    logger,
    config,
    store,
    encryptor,
    adminConfig,
    transport,
    routes,
    callback,
    sinks,
    previousTokenCache,
    search,
    attempts,
    health,
    subscriptions,
    abortInFlight: () => shutdown.abort(),
    async close() {
      for (const close of closers.splice(0).reverse()) {
        await close().catch((error: unknown) => logger.warn({ err: coerceError(error) }, 'error while closing'));
      }
    },
  };
}

/** Everything, as `start` runs it: tables created, queues declared, every part built. */
export async function createApp(options: AppOptions): Promise<App> {
  const { settings, logger } = options;
  const [
    { createMetrics },
    { createDeliveryTimings },
    { replayChain },
    { redriveParked },
    { startConsumer },
    { createTriggerHandler },
    { createRetryHandler },
    { readActivity },
    { cleanDeliveryLog },
    overdue,
    { cleanPreviousTokens },
    { createOrderedChains, ORDERED_INTAKE_BATCH, ORDERED_SWEEP_INTERVAL_MS },
  ] = await Promise.all([
    import('./api/metrics.ts'),
    import('./delivery/timings.ts'),
    import('./delivery/replay.ts'),
    import('./delivery/redrive.ts'),
    import('./delivery/consumers.ts'),
    import('./delivery/trigger-handler.ts'),
    import('./delivery/retry-handler.ts'),
    import('./store/activity.ts'),
    import('./store/log-cleanup.ts'),
    import('./delivery/overdue-chains.ts'),
    import('./store/token-cleanup.ts'),
    import('./delivery/ordered-chains.ts'),
  ]);
  const metrics = createMetrics();
  metrics.magentoReachable.set(1);
  // The rules' counts (filtered out, rate waits) for /metrics; health reads the same stats (app.attempts.rules).
  const rules = options.rules ?? createRuleRuntime();
  const { registerRuleMetrics } = await import('./api/rule-metrics.ts');
  registerRuleMetrics(metrics.registry, rules.stats);
  const timings = createDeliveryTimings();
  const attemptFeed = new EventEmitter();
  attemptFeed.setMaxListeners(0);
  const parts = createAppParts({
    ...options,
    rules,
    migrate: true,
    declareTopology: true,
    metricsRegistry: metrics.registry,
    onMagentoAvailability: (availability) => metrics.magentoReachable.set(availability.reachable ? 1 : 0),
    onAttempt: (report) => {
      recordMetrics(metrics, report);
      timings.record(report.subscription.id, report.subscription.recipientUrl, report.durationMs);
      attemptFeed.emit('attempt', toAttemptEvent(report));
    },
  });
  const closeAll = () => parts.close();

  try {
    const { install, loaded: config } = await parts.config();
    const store = await parts.store();
    const encryptor = await parts.encryptor();
    const chainSalt = await installationSalt(store);
    const adminConfig = await parts.adminConfig();
    const transport = await parts.transport();
    const routes = await parts.routes();
    const callback = await parts.callback();
    const sinks = await parts.sinks();
    const { engine: search, elasticsearch } = await parts.search();
    const attempts = await parts.attempts();
    const tokenCache = await parts.previousTokenCache();
    const clock = options.clock ?? (() => new Date());

    const { tracker: health, alerts } = await parts.health();

    const events = () => config.registry;
    const consumers: QueueConsumer[] = [];
    // ordering=entity subscriptions: their chains come from the publish-order reader and report back when they end.
    const orderedChains = createOrderedChains({ ...attempts, events, callback, chainSalt });
    const delivery = { ...attempts, orderedChains };

    const publish = async (eventName: string, args: Record<string, unknown>, storeId: StoreId = '0') => {
      await transport.publishTrigger(encodeTriggerMessage(eventName, args, storeId));
    };

    const auth = await createAuthenticator(settings, store, logger, adminConfig);
    const deps: ApiDependencies = {
      logger,
      store,
      events,
      routes,
      sinks: () => sinkStates(sinks),
      replay: async (uuid) => {
        const report = await replayChain(attempts, uuid);
        return { uuid, subscriptionId: report.subscription.id };
      },
      redriveParked: (selection) => redriveParked({ store, transport, logger: logger.child({ stage: 'delivery' }) }, selection),
      publish,
      search: async (query, page) => {
        const result = await search.search(query, page);
        return {
          total: result.total,
          next: result.next,
          hits: result.hits.map((row) => ({
            logId: row.logId,
            uuid: row.uuid,
            eventName: row.eventName,
            success: row.success,
            created: row.created,
            subscriptionId: row.subscriptionId,
            recipientUrl: row.recipientUrl,
            responseData: row.responseData,
            sink: row.sink,
          })),
        };
      },
      health: () => checkHealth({ store, transport, settings, search, callback }),
      overview: async () => {
        const [activity, trigger, retry, services] = await Promise.all([
          readActivity(store.db, new Date(Date.now() - 3_600_000)),
          transport.depth('event.trigger').catch(() => -1),
          transport.depth('event.failover.retry').catch(() => -1),
          checkHealth({ store, transport, settings, search, callback }),
        ]);
        return { ...activity, queueDepth: { trigger, retry }, slowest: timings.slowest(5), services };
      },
      onAttempt: (listener) => {
        attemptFeed.on('attempt', listener);
        return () => attemptFeed.off('attempt', listener);
      },
      auth,
      subscriptionHealth: health,
      recipientRefusal: (await import('./sinks/address-guard.ts')).createAddressGuard({ allowedTargets: settings.allowedTargets }).recipientRefusal,
      publishOrder: { enable: () => transport.enablePublishOrder() },
      tokenRotation: {
        graceHours: () => adminConfig.tokenRotationGraceHours(),
        replaced: (subscriptionId, graceHours) => {
          tokenCache.invalidate(subscriptionId);
          logger.info({ subscriptionId, graceHours }, 'verification token replaced; the previous one co-signs deliveries for the grace period');
        },
        now: clock,
      },
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
      health,
      alerts,
      deps,
      events,
      publish,
      async startConsumers(names) {
        const prefetch = options.prefetch ?? 512;
        for (const name of names) {
          const handler =
            name === 'event.trigger.consumer'
              ? createTriggerHandler({ ...delivery, events, callback, chainSalt })
              : createRetryHandler(delivery);
          consumers.push(await startConsumer(name, { transport, handler, prefetch, ...(options.prefetchBytes !== undefined ? { prefetchBytes: options.prefetchBytes } : {}), logger }));
        }
        if (names.includes('event.trigger.consumer')) {
          // Waits until the first ordering subscription enables publish order (here or in another process).
          const reader = await transport.consumeInPublishOrder(orderedChains.intake, { maxBatch: ORDERED_INTAKE_BATCH });
          consumers.push({
            stop: async () => {
              await reader.stop();
              await orderedChains.drain();
            },
          });
          every(ORDERED_SWEEP_INTERVAL_MS, () => orderedChains.sweep(), 'ordered chain sweep');
          every(60_000, async () => void (await orderedChains.forgetDone()), 'ordered chain cleanup');
        }
        every(5000, async () => {
          metrics.queueDepth.set({ queue: 'event.trigger' }, await transport.depth('event.trigger'));
          metrics.queueDepth.set({ queue: 'event.failover.retry' }, await transport.depth('event.failover.retry'));
        }, 'queue depth probe');
        every(60_000, async () => {
          const forgetIndexed = search.forget && (await adminConfig.indexingEnabled()) ? search.forget : undefined;
          await cleanDeliveryLog(adminConfig, store, logger, new Date(), forgetIndexed ? { forgetIndexed } : {});
        }, 'delivery log cleanup');
        if (names.includes('event.retry.consumer') && !transport.keepsScheduledRetries) {
          const graceSeconds = options.overdueGraceSeconds ?? overdue.DEFAULT_OVERDUE_GRACE_SECONDS;
          every(Math.min(overdue.OVERDUE_SWEEP_INTERVAL_MS, graceSeconds * 250), async () => {
            await overdue.sweepOverdueChains(attempts, { graceSeconds, onRequeued: (n) => metrics.overdueChainsRequeuedTotal.inc(n) });
          }, 'overdue chain sweep');
        }
        every(60_000, async () => {
          await cleanPreviousTokens(adminConfig, store, logger, clock());
        }, 'previous token cleanup');
        every(60_000, () => health.sweep(), 'subscription health sweep');
        const indexer = elasticsearch;
        if (indexer?.index) {
          every(2000, async () => {
            if (await adminConfig.indexingEnabled()) await indexer.index?.();
          }, 'search indexing');
        }
      },
      magentoAvailability: () => callback.availability(),
      async close(deadline = Date.now() + settings.shutdownTimeoutMs) {
        for (const timer of timers) clearInterval(timer);
        // Intake stops at once; in-flight work finishes until the deadline, then is cut off and handed back.
        const stopping = Promise.all(consumers.splice(0).map((c) => c.stop()));
        let timer: NodeJS.Timeout | undefined;
        const timedOut = await Promise.race([
          stopping.then(() => false),
          new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(true), Math.max(0, deadline - Date.now())))),
        ]);
        clearTimeout(timer);
        if (timedOut) {
          logger.warn({ inFlight: attempts.limiter.active }, 'shutdown deadline reached: aborting in-flight deliveries; their messages go back to the queue');
          parts.abortInFlight();
          await stopping;
        }
        await closeAll();
      },
    };
  } catch (error) {
    await closeAll();
    throw error;
  }
}

/** Which sinks can deliver now, as the subscription rules read them. */
async function sinkStates(registry: SinkRegistry): Promise<SinkState[]> {
  return (await registry.usable()).map((s) => ({ key: s.key, usable: s.reason === undefined, ...(s.reason ? { reason: s.reason } : {}) }));
}

/** Magento's REST routes of the enabled modules, plus the generated bridge's routes for services without one. */
export async function loadRoutes(modules: readonly MagentoModule[], registry: EventRegistry): Promise<WebapiRouteIndex> {
  const [{ indexWebapiRoutes, loadWebapiRoutes }, { collectBridgeRoutes, serviceKey }] = await Promise.all([import('./magento/webapi-routes.ts'), import('./bridge/routes.ts')]);
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
      throw new MagentoCallbackError(
        'unconfigured',
        `cannot call ${event.serviceClass}::${event.serviceMethod}: no Magento URL is configured (set ASYNC_EVENTS_MAGENTO_URL, or the base URL in env.php)`,
      );
    },
    async close() {},
  };
}

/** Magento's defaults (Magento_Integration and Magento_Analytics config.xml) for the bearer rule. */
const BEARER_PATH = 'oauth/consumer/enable_integration_as_bearer';
const ANALYTICS_INTEGRATION_PATH = 'analytics/integration_name';
const ANALYTICS_INTEGRATION_DEFAULT = 'Magento Analytics user';

/**
 * Magento 2.4.4+'s BearerTokenValidator plus Magento_Analytics' plugin on it: an integration's access token is a
 * bearer token only while `oauth/consumer/enable_integration_as_bearer` is set (default 0), except for the
 * analytics integration. Read through the admin config (core_config_data, env.php overrides win).
 */
export function integrationAsBearer(adminConfig: AdminConfig): (integrationName: string) => Promise<boolean> {
  return async (integrationName) => {
    const flag = (await adminConfig.get(BEARER_PATH))?.trim() ?? '0';
    if (flag !== '' && flag !== '0') return true;
    return integrationName === ((await adminConfig.get(ANALYTICS_INTEGRATION_PATH)) ?? ANALYTICS_INTEGRATION_DEFAULT);
  };
}

async function createAuthenticator(settings: Settings, store: Store, logger: Logger, adminConfig: AdminConfig): Promise<Authenticator> {
  const { createApiTokenAuth, createCompositeAuth, createIntegrationAuth } = await import('./api/auth.ts');
  const authenticators: Authenticator[] = [];
  if (settings.apiToken) authenticators.push(createApiTokenAuth(settings.apiToken));
  // With Magento's own database, Magento integration tokens authorize too (ACL MageOS_AsyncEvents::manage).
  if (store.dialect === 'mysql') {
    authenticators.push(createIntegrationAuth({ db: store.db, logger, tablePrefix: settings.tablePrefix, integrationAsBearer: integrationAsBearer(adminConfig) }));
  }
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
    ...(elasticsearch.forget ? { forget: elasticsearch.forget.bind(elasticsearch) } : {}),
    ...(elasticsearch.health ? { health: elasticsearch.health.bind(elasticsearch) } : {}),
    close: async () => {
      await elasticsearch.close();
      await builtin.close();
    },
  };
}

async function checkHealth(parts: { store: Store; transport: QueueTransport; settings: Settings; search: SearchEngine; callback: { availability(): MagentoAvailability } }): Promise<ServiceHealth[]> {
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
    probe('search', async () => (parts.search.health ? parts.search.health() : 'built-in (SQL over the log)')),
    // What the callbacks saw, not a probe of our own: a short state string, no error text.
    (async (): Promise<ServiceHealth> => {
      const availability = parts.callback.availability();
      return { name: 'magento', up: availability.reachable, detail: describeAvailability(availability) };
    })(),
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
