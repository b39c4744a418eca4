import { randomBytes } from 'node:crypto';

/** A unique AMQP `message_id` shaped like Magento's (32 lower-case hex digits, as its md5 produces). */
export function newMessageId(): string {
  return randomBytes(16).toString('hex');
}
