import type { Channel } from 'amqplib';
import {
  DEAD_LETTER_QUEUE,
  DEAD_LETTER_ROUTING_KEY,
  FAILOVER_EXCHANGE,
  PUBLISH_ORDER_QUEUE,
  RETRY_QUEUE,
  RETRY_ROUTING_KEY,
  TRIGGER_QUEUE,
  TRIGGER_TOPIC,
} from '../names.ts';

/*
 * Declarations with exactly the flags and arguments Magento's TopologyInstaller (from upstream's
 * etc/queue_topology.xml) and upstream's RetryManager::assertDelayQueue use. RabbitMQ refuses a redeclaration that
 * differs (PRECONDITION_FAILED), and Magento's installer then skips the rest of the topology, so "close enough"
 * would break `bin/magento setup:upgrade`.
 */

/** Magento's ExchangeInstaller defaults: topic, durable, not auto-delete, not internal, no arguments. */
const EXCHANGE_FLAGS = { durable: true, autoDelete: false, internal: false } as const;
/** Magento's QueueInstaller for a `<binding destination="…">`: durable, not exclusive, not auto-delete, no arguments. */
const QUEUE_FLAGS = { durable: true, exclusive: false, autoDelete: false } as const;

/** A 32-bit signed integer field (`I`), the type Magento's ArgumentProcessor and php-amqplib give PHP ints. */
export function amqpInt(value: number): { '!': 'int'; value: number } {
  return { '!': 'int', value };
}

export async function declareUpstreamTopology(channel: Channel, triggerExchange: string): Promise<void> {
  await channel.assertExchange(triggerExchange, 'topic', EXCHANGE_FLAGS);
  await channel.assertQueue(TRIGGER_QUEUE, QUEUE_FLAGS);
  await channel.bindQueue(TRIGGER_QUEUE, triggerExchange, TRIGGER_TOPIC, {});

  await channel.assertExchange(FAILOVER_EXCHANGE, 'topic', EXCHANGE_FLAGS);
  await channel.assertQueue(RETRY_QUEUE, QUEUE_FLAGS);
  await channel.bindQueue(RETRY_QUEUE, FAILOVER_EXCHANGE, RETRY_ROUTING_KEY, {});
  await channel.assertQueue(DEAD_LETTER_QUEUE, QUEUE_FLAGS);
  await channel.bindQueue(DEAD_LETTER_QUEUE, FAILOVER_EXCHANGE, DEAD_LETTER_ROUTING_KEY, {});
}

/**
 * Arguments of a delay queue as RetryManager::assertDelayQueue declares it: messages wait `seconds`, then are
 * dead-lettered to `event.failover` with routing key `event.retry`; the queue itself expires after twice that
 * unused.
 */
export function delayQueueArguments(seconds: number): Record<string, unknown> {
  return {
    'x-dead-letter-exchange': FAILOVER_EXCHANGE,
    'x-dead-letter-routing-key': RETRY_ROUTING_KEY,
    'x-message-ttl': amqpInt(seconds * 1000),
    'x-expires': amqpInt(seconds * 2000),
  };
}

/** Upstream's delay queue: durable and auto-delete (QueueConfigItem `autoDelete => true`), bound to event.failover. */
export async function declareDelayQueue(channel: Channel, queue: string, routingKey: string, seconds: number): Promise<void> {
  await channel.assertQueue(queue, { durable: true, exclusive: false, autoDelete: true, arguments: delayQueueArguments(seconds) });
  await channel.bindQueue(queue, FAILOVER_EXCHANGE, routingKey, {});
}

/**
 * Our publish-order queue: durable like Magento's, bound exactly as `event.trigger` is, so the broker copies every
 * trigger into it; one consumer at a time (`x-single-active-consumer`) keeps its order across replicas.
 */
export async function declarePublishOrderQueue(channel: Channel, triggerExchange: string): Promise<void> {
  await channel.assertExchange(triggerExchange, 'topic', EXCHANGE_FLAGS);
  await channel.assertQueue(PUBLISH_ORDER_QUEUE, { ...QUEUE_FLAGS, arguments: { 'x-single-active-consumer': true } });
  await channel.bindQueue(PUBLISH_ORDER_QUEUE, triggerExchange, TRIGGER_TOPIC, {});
}
