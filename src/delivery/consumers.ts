import type { Logger } from '../logger.ts';
import type { MessageHandler, QueueConsumer, QueueName, QueueTransport } from '../queue/transport.ts';

/** Magento's consumer names, and the queue each one reads. */
export const CONSUMERS = {
  'event.trigger.consumer': 'event.trigger',
  'event.retry.consumer': 'event.failover.retry',
} as const satisfies Record<string, QueueName>;

export type ConsumerName = keyof typeof CONSUMERS;

export function isConsumerName(name: string): name is ConsumerName {
  return Object.hasOwn(CONSUMERS, name);
}

/** Starts one consumer; `stop()` stops taking messages and resolves when the in-flight ones are done. */
export async function startConsumer(
  name: ConsumerName,
  options: { transport: QueueTransport; handler: MessageHandler; prefetch: number; logger: Logger },
): Promise<QueueConsumer> {
  const queue = CONSUMERS[name];
  const consumer = await options.transport.consume(queue, options.handler, { prefetch: options.prefetch });
  options.logger.info({ consumer: name, queue, transport: options.transport.kind, prefetch: options.prefetch }, 'consumer started');
  return {
    stop: async () => {
      await consumer.stop();
      options.logger.info({ consumer: name }, 'consumer stopped');
    },
  };
}
