import { isAsyncEventsError } from '../errors.ts';
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

/**
 * A handler that fails (the database or a sink's infrastructure is down) hands its message back; waiting a little
 * first, longer while failures go on, keeps a broken dependency from turning redelivery into a busy loop.
 */
export function withFailureBackoff(handler: MessageHandler, logger: Logger, maxDelayMs = 5000): MessageHandler {
  let consecutiveFailures = 0;
  return async (delivery) => {
    try {
      await handler(delivery);
      consecutiveFailures = 0;
    } catch (error) {
      // Cut off by the shutdown deadline: hand it back at once, the process is about to exit.
      if (isAsyncEventsError(error, 'SHUTTING_DOWN')) throw error;
      consecutiveFailures++;
      const delayMs = Math.min(maxDelayMs, 100 * 2 ** Math.min(consecutiveFailures, 10));
      logger.warn({ err: error, queue: delivery.queue, messageId: delivery.messageId, retryInMs: delayMs }, 'message handling failed; handing it back');
      await new Promise((resolve) => setTimeout(resolve, delayMs));
      throw error;
    }
  };
}

/** Starts one consumer; `stop()` stops taking messages and resolves when the in-flight ones are done. */
export async function startConsumer(
  name: ConsumerName,
  options: { transport: QueueTransport; handler: MessageHandler; prefetch: number; prefetchBytes?: number; logger: Logger },
): Promise<QueueConsumer> {
  const queue = CONSUMERS[name];
  const consumer = await options.transport.consume(queue, withFailureBackoff(options.handler, options.logger), { prefetch: options.prefetch, ...(options.prefetchBytes !== undefined ? { prefetchBytes: options.prefetchBytes } : {}) });
  options.logger.info({ consumer: name, queue, transport: options.transport.kind, prefetch: options.prefetch }, 'consumer started');
  return {
    stop: async () => {
      await consumer.stop();
      options.logger.info({ consumer: name }, 'consumer stopped');
    },
  };
}
