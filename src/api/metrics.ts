import { Counter, Gauge, Histogram, register as defaultRegistry, type Registry } from 'prom-client';

/**
 * The sidecar's Prometheus metrics, created once per registry and handed to the pipeline, which records into them;
 * `/metrics` serves the registry. Names carry the `async_events_` namespace by default.
 */
export interface Metrics {
  readonly registry: Registry;
  /** One per delivery attempt; outcome = success | retry | dead | failed. */
  readonly deliveriesTotal: Counter<'event' | 'sink' | 'outcome'>;
  readonly deliveryDuration: Histogram<'event' | 'sink'>;
  readonly retriesScheduledTotal: Counter<'event'>;
  readonly deadLettersTotal: Counter<'event'>;
  readonly messagesParkedTotal: Counter<'queue'>;
  readonly overdueChainsRequeuedTotal: Counter;
  readonly queueDepth: Gauge<'queue'>;
  /** 1 while Magento answers callbacks, 0 while trigger messages are held because it does not. */
  readonly magentoReachable: Gauge;
  /** The REST API's own requests, by route pattern (never the raw path, which would explode cardinality). */
  readonly httpRequestDuration: Histogram<'method' | 'route' | 'status'>;
}

export interface MetricsOptions {
  readonly registry?: Registry;
  readonly prefix?: string;
}

const created = new WeakMap<Registry, Metrics>();

export function createMetrics(options: MetricsOptions = {}): Metrics {
  const registry = options.registry ?? defaultRegistry;
  const existing = created.get(registry);
  if (existing) return existing;
  const prefix = options.prefix ?? 'async_events_';
  const registers = [registry];
  const metrics: Metrics = {
    registry,
    deliveriesTotal: new Counter({
      name: `${prefix}deliveries_total`,
      help: 'Delivery attempts by event, sink and outcome (success, retry, dead, failed).',
      labelNames: ['event', 'sink', 'outcome'],
      registers,
    }),
    deliveryDuration: new Histogram({
      name: `${prefix}delivery_duration_seconds`,
      help: 'Time from sending a delivery to its outcome.',
      labelNames: ['event', 'sink'],
      buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers,
    }),
    retriesScheduledTotal: new Counter({
      name: `${prefix}retries_scheduled_total`,
      help: 'Retries scheduled after a failed attempt.',
      labelNames: ['event'],
      registers,
    }),
    deadLettersTotal: new Counter({
      name: `${prefix}dead_letters_total`,
      help: 'Chains dead-lettered after reaching max_deaths.',
      labelNames: ['event'],
      registers,
    }),
    messagesParkedTotal: new Counter({
      name: `${prefix}messages_parked_total`,
      help: 'Queue messages that could never be handled and were parked with their reason.',
      labelNames: ['queue'],
      registers,
    }),
    overdueChainsRequeuedTotal: new Counter({
      name: `${prefix}overdue_chains_requeued_total`,
      help: 'Chains sent to the retry queue again because their retry message was lost (overdue past the grace period).',
      registers,
    }),
    queueDepth: new Gauge({
      name: `${prefix}queue_depth`,
      help: 'Messages waiting in each queue, as last observed.',
      labelNames: ['queue'],
      registers,
    }),
    magentoReachable: new Gauge({
      name: `${prefix}magento_reachable`,
      help: 'Whether Magento answers REST callbacks (1) or trigger messages are held until it does (0).',
      registers,
    }),
    httpRequestDuration: new Histogram({
      name: `${prefix}http_request_duration_seconds`,
      help: 'REST API requests by method, route pattern and status.',
      labelNames: ['method', 'route', 'status'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers,
    }),
  };
  created.set(registry, metrics);
  return metrics;
}
