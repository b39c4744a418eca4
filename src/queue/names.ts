/*
 * Names of upstream's queue topology (MageOS\AsyncEvents\Helper\QueueMetadataInterface and etc/queue_topology.xml).
 * They are shared with the PHP module, so a deployment can switch between the PHP consumers and ours mid-stream.
 */

export const TRIGGER_TOPIC = 'event.trigger';
export const TRIGGER_QUEUE = 'event.trigger';
export const DEFAULT_EXCHANGE = 'magento';

export const FAILOVER_EXCHANGE = 'event.failover';
export const RETRY_QUEUE = 'event.failover.retry';
export const DEAD_LETTER_QUEUE = 'event.failover.deadletter';
/** Routing key a delay queue dead-letters with when its TTL runs out; bound to `event.failover.retry`. */
export const RETRY_ROUTING_KEY = 'event.retry';
export const DEAD_LETTER_ROUTING_KEY = 'event.retry.kill';
/** Upstream's first retry (`RetryManager::init`) goes through a delay queue named like its routing key. */
export const RETRY_INIT_ROUTING_KEY = 'event.retry.init';

/** Where a retry of `deathCount` waiting `delaySeconds` goes: upstream's queue and routing key for that step. */
export function delayRoute(deathCount: number, delaySeconds: number): { queue: string; routingKey: string } {
  if (deathCount === 1 && delaySeconds === 1) return { queue: RETRY_INIT_ROUTING_KEY, routingKey: RETRY_INIT_ROUTING_KEY };
  return { queue: `event.delay.${delaySeconds}`, routingKey: `event.retry.${delaySeconds}` };
}

/**
 * Ours: a copy of every trigger for the publish-order reader, bound like `event.trigger`, with a single active
 * consumer so one replica at a time reads it in order. Declared only once publish order is enabled.
 */
export const PUBLISH_ORDER_QUEUE = 'async_events.trigger.ordered';
