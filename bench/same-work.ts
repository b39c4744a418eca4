import { createHmac } from 'node:crypto';
import amqp, { type ConsumeMessage } from 'amqplib';
import mysql from 'mysql2/promise';
import { Pool } from 'undici';

/*
 * The same-work baseline: per event exactly what the sidecar must do and nothing more, written as plainly as the
 * libraries allow: consume a trigger message, GET the event's data from the Magento stand-in, build the CloudEvent,
 * HMAC-sign it (x-magento-signature and webhook-signature), POST it, write the attempt with one prepared multi-row
 * INSERT per group of finished attempts, then ack (one multiple-ack for every contiguous finished message). The
 * sidecar ÷ this is how much of the sidecar's cost is its own overhead. Its AMQP socket has Nagle's algorithm off, as the
 * sidecar's has: small frames (acks) leave at once.
 */

export interface SameWorkOptions {
  readonly amqpUrl: string;
  readonly magentoUrl: string;
  readonly magentoToken: string;
  readonly receiverUrl: string;
  readonly mysql: { readonly host: string; readonly port: number; readonly user: string; readonly database: string };
  readonly count: number;
  readonly idOffset: number;
  /** Resolves once the receiver has seen this many events in all. */
  readonly waitForReceiver: (total: number) => Promise<void>;
  readonly receiverSeen: () => number;
}

const QUEUE = 'bench.same-work';
const TOKEN = 'bench';
const TOKEN_KEY = Buffer.from(TOKEN);

/** Events per second, from the first message consumed to the last event received. */
export async function sameWorkBaseline(options: SameWorkOptions): Promise<number> {
  const connection = await amqp.connect(options.amqpUrl, { noDelay: true });
  const publisher = await connection.createConfirmChannel();
  await publisher.assertQueue(QUEUE, { durable: true });
  for (let i = 0; i < options.count; i++) {
    const body = JSON.stringify(['sales.order.created', JSON.stringify({ id: options.idOffset + i }), 0]);
    if (!publisher.sendToQueue(QUEUE, Buffer.from(body), { deliveryMode: 2, messageId: String(options.idOffset + i) })) {
      await new Promise((resolve) => publisher.once('drain', resolve));
    }
  }
  await publisher.waitForConfirms();

  const db = mysql.createPool({ ...options.mysql, connectionLimit: 8 });
  await db.query(
    'CREATE TABLE IF NOT EXISTS bench_same_work_log (log_id INT UNSIGNED AUTO_INCREMENT PRIMARY KEY, uuid VARCHAR(255), subscription_id INT UNSIGNED, success TINYINT(1), created TIMESTAMP DEFAULT CURRENT_TIMESTAMP, response_data TEXT, serialized_data TEXT)',
  );
  const magento = new Pool(options.magentoUrl, { connections: 128 });
  const receiverUrl = new URL(options.receiverUrl);
  const receiver = new Pool(receiverUrl.origin, { connections: 128 });

  const consumer = await connection.createChannel();
  await consumer.prefetch(512);
  const seenBefore = options.receiverSeen();

  // Finished messages are acknowledged in delivery-tag order, several at a time.
  const finished = new Set<number>();
  let ackedUpTo = 0;
  let lastMessage: ConsumeMessage | undefined;
  const messages = new Map<number, ConsumeMessage>();
  const acknowledge = (): void => {
    let next = ackedUpTo + 1;
    while (finished.has(next)) {
      finished.delete(next);
      lastMessage = messages.get(next);
      messages.delete(next);
      next++;
    }
    if (next - 1 > ackedUpTo && lastMessage) {
      consumer.ack(lastMessage, true);
      ackedUpTo = next - 1;
    }
  };

  // Attempts finished together go to the database in one INSERT.
  let pending: { tag: number; row: (string | number)[] }[] = [];
  let writing = false;
  const flush = async (): Promise<void> => {
    if (writing || pending.length === 0) return;
    writing = true;
    const batch = pending;
    pending = [];
    const placeholders = batch.map(() => '(?, ?, ?, ?, ?)').join(',');
    await db.execute(`INSERT INTO bench_same_work_log (uuid, subscription_id, success, response_data, serialized_data) VALUES ${placeholders}`, batch.flatMap((item) => item.row));
    for (const item of batch) finished.add(item.tag);
    acknowledge();
    writing = false;
    void flush();
  };

  const handle = async (message: ConsumeMessage): Promise<void> => {
    const [eventName, args, storeId] = JSON.parse(message.content.toString('utf8')) as [string, string, number];
    const { id } = JSON.parse(args) as { id: number };
    const callback = await magento.request({ method: 'GET', path: `/rest/all/V1/orders/${id}`, headers: { authorization: `Bearer ${options.magentoToken}` } });
    const data = await callback.body.text();
    const uuid = `00000000-0000-4000-8000-${String(id).padStart(12, '0')}`;
    const body = `{"specversion":"1.0","id":"${uuid}","source":"${storeId}","type":"${eventName}","datacontenttype":"application\\/json","data":${data}}`;
    const timestamp = Math.floor(Date.now() / 1000);
    const response = await receiver.request({
      method: 'POST',
      path: receiverUrl.pathname,
      body,
      headers: {
        'content-type': 'application/cloudevents+json; charset=utf-8',
        'x-magento-signature': createHmac('sha256', TOKEN).update(body).digest('hex'),
        'webhook-id': uuid,
        'webhook-timestamp': String(timestamp),
        'webhook-signature': `v1,${createHmac('sha256', TOKEN_KEY).update(`${uuid}.${timestamp}.${body}`).digest('base64')}`,
      },
    });
    const responseData = await response.body.text();
    pending.push({ tag: message.fields.deliveryTag, row: [uuid, 1, response.statusCode < 300 ? 1 : 0, responseData, body] });
    void flush();
  };

  const start = performance.now();
  await consumer.consume(QUEUE, (message) => {
    if (!message) return;
    messages.set(message.fields.deliveryTag, message);
    handle(message).catch(() => consumer.nack(message));
  });
  await options.waitForReceiver(seenBefore + options.count);
  const elapsed = performance.now() - start;
  // The last rows may still be on their way to the database; the rate counts deliveries, as the sidecar's does.
  while (ackedUpTo < options.count) await new Promise((resolve) => setTimeout(resolve, 50));
  await consumer.close();
  await publisher.close();
  await connection.close();
  await Promise.all([magento.close(), receiver.close(), db.end()]);
  return (options.count / elapsed) * 1000;
}
