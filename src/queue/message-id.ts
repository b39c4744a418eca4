import { createHash, randomBytes } from 'node:crypto';
import type { ConsumeMessage } from 'amqplib';

/** A unique AMQP `message_id` shaped like Magento's (32 lower-case hex digits, as its md5 produces). */
export function newMessageId(): string {
  return randomBytes(16).toString('hex');
}

/**
 * A consumed message's id, as every consumer of it must name it (chain UUIDs derive from it): its `message_id`
 * (Magento's publisher always sets one), else its body's hash, stable across redeliveries.
 */
export function amqpMessageId(message: ConsumeMessage): string {
  return (message.properties.messageId as string | undefined) ?? createHash('md5').update(message.content).digest('hex');
}
