/*
 * The setting variables alone, so that `--help` can list them as flags without loading the settings reader
 * (env.php parsing) or anything else.
 */

/** Every variable the sidecar reads, with what `doctor` and the README say about it. */
export const SETTING_VARIABLES = {
  ASYNC_EVENTS_MAGENTO_ROOT: 'Magento install to read (app/etc/config.php, app/etc/env.php, modules)',
  ASYNC_EVENTS_MAGENTO_URL: 'Magento base URL for REST callbacks',
  ASYNC_EVENTS_MAGENTO_TOKEN: 'integration access token used for callbacks',
  ASYNC_EVENTS_DB: 'mysql://user:pass@host:port/db or sqlite:PATH',
  ASYNC_EVENTS_AMQP: 'amqp://user:pass@host:port/vhost; empty = database queue',
  ASYNC_EVENTS_ELASTICSEARCH: 'Elasticsearch URL; empty = built-in search',
  ASYNC_EVENTS_PORT: 'HTTP port',
  ASYNC_EVENTS_HOST: 'HTTP bind address (0.0.0.0 or :: for every interface, e.g. in a container)',
  ASYNC_EVENTS_METRICS_PUBLIC: '1 = serve /metrics without the API token',
  ASYNC_EVENTS_METRICS_PER_SUBSCRIPTION: '1 = per-subscription health series on /metrics (one label value per subscription)',
  ASYNC_EVENTS_API_TOKEN: 'bearer token accepted by the API when no Magento database is used',
  ASYNC_EVENTS_ALLOWED_TARGETS: 'hosts or CIDRs recipients may reach despite the private-address guard',
  ASYNC_EVENTS_PAYLOAD_FORMAT: 'HTTP body format: cloudevents or legacy',
  ASYNC_EVENTS_DATA_DIR: 'where the embedded mode keeps its SQLite file, key and API token',
  ASYNC_EVENTS_HTTP_CONNECT_TIMEOUT_MS: 'connect timeout of deliveries and callbacks (ms)',
  ASYNC_EVENTS_HTTP_TIMEOUT_MS: 'total timeout of deliveries and callbacks (ms)',
  ASYNC_EVENTS_SHUTDOWN_TIMEOUT_MS: 'how long SIGTERM/SIGINT lets in-flight deliveries finish before handing them back (ms)',
} as const;


/** Settings read as whole numbers; their flags refuse anything else before a command runs. */
export const NUMERIC_SETTINGS: ReadonlySet<string> = new Set(['ASYNC_EVENTS_PORT', 'ASYNC_EVENTS_HTTP_CONNECT_TIMEOUT_MS', 'ASYNC_EVENTS_HTTP_TIMEOUT_MS', 'ASYNC_EVENTS_SHUTDOWN_TIMEOUT_MS']);

/** Read by the command line itself rather than the settings; flags too, for every command. */
export const PROCESS_VARIABLES = {
  ASYNC_EVENTS_LOG_LEVEL: 'pino level: debug, info, warn… (info; warn for one-shot commands)',
  ASYNC_EVENTS_LOG_FORMAT: '"json" forces JSON logs on a terminal',
} as const;

/** pino's levels, what ASYNC_EVENTS_LOG_LEVEL / --log-level accept. */
export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

/** ASYNC_EVENTS_LOG_FORMAT / --log-format: only `json` changes anything (JSON even on a terminal). */
export const LOG_FORMATS = ['json'] as const;

/** Tuning of the consumers (README, "Tuning"): positive whole numbers, flags of `start` and `consumer:start`. */
export const TUNING_VARIABLES = {
  ASYNC_EVENTS_PREFETCH: 'messages each consumer takes at once (512)',
  ASYNC_EVENTS_PREFETCH_BYTES: 'message body bytes each consumer handles at once; more wait unstarted (8388608)',
  ASYNC_EVENTS_CONCURRENCY: 'deliveries in flight (1024)',
  ASYNC_EVENTS_CONCURRENCY_PER_SUBSCRIPTION: 'deliveries in flight per subscription (128)',
  ASYNC_EVENTS_QUEUE_POLL_MS: 'database queue idle poll in ms (200)',
  ASYNC_EVENTS_QUEUE_LEASE_SECONDS: 'seconds before a database-queue row claimed by a dead consumer is taken again (300)',
} as const;

/** ASYNC_EVENTS_MAGENTO_ROOT → magento-root. */
export function flagOf(variable: string): string {
  return variable.replace(/^ASYNC_EVENTS_/, '').toLowerCase().replaceAll('_', '-');
}
