import { sql } from 'kysely';
import { expect } from 'vitest';
import { PUBLISH_ORDER_QUEUE } from '../../src/queue/names.ts';
import { QueueMessageStatus } from '../../src/store/schema.ts';
import type { QueueTransport } from '../../src/queue/transport.ts';
import type { ServiceName } from '../support/services.ts';
import { openAmqpEnv } from './amqp-env.ts';
import { openDbEnv } from './db-env.ts';

/** What the conformance suite needs from one transport kind, plus a look at the raw storage underneath. */
export interface Harness {
  /** A transport with a connection of its own (a separate consumer process), already set up. */
  transport(): Promise<QueueTransport>;
  /** Empties every queue, and undoes enablePublishOrder (deletes the publish-order queue, or the cursor row). */
  reset(): Promise<void>;
  /** Publishes a trigger the way Magento's own publisher does, bypassing our transport. */
  publishAsMagento(body: string): Promise<void>;
  /** Takes the oldest waiting trigger off the raw storage, asserting it is stored as Magento's publisher stores it. */
  takeRawTrigger(): Promise<string>;
  /**
   * How far from its due time a retry may arrive, in seconds. ±0.5 s, except on a MySQL `due_at` column without
   * fractional seconds, where due times are rounded up: never early, up to a second (plus a poll) late.
   */
  retryTolerance(): Promise<{ early: number; late: number }>;
  /** Bodies of the dead letters kept, asserting how they are kept. */
  deadLetters(): Promise<string[]>;
  dispose(): Promise<void>;
}

export interface QueueCase {
  readonly name: string;
  readonly services: ServiceName[];
  open(): Promise<Harness>;
}

const MAGENTO_MESSAGE_ID = /^[0-9a-f]{32}$/;

async function openAmqpHarness(): Promise<Harness> {
  const env = await openAmqpEnv('ae_queue_conf');
  const setUp = env.transport();
  await setUp.setup();
  return {
    async transport() {
      const transport = env.transport();
      await transport.setup();
      return transport;
    },
    async reset() {
      await env.purge('event.trigger', 'event.failover.retry', 'event.failover.deadletter');
      await env.deleteQueue(PUBLISH_ORDER_QUEUE);
    },
    retryTolerance: async () => ({ early: 0.5, late: 0.5 }),
    async publishAsMagento(body) {
      const { connect } = await import('amqplib');
      const connection = await connect(env.url);
      const channel = await connection.createConfirmChannel();
      channel.publish('magento', 'event.trigger', Buffer.from(body), { deliveryMode: 2, messageId: 'a'.repeat(32) });
      await channel.waitForConfirms();
      await connection.close();
    },
    async takeRawTrigger() {
      const message = await env.rawGet('event.trigger');
      if (!message) throw new Error('no message in event.trigger');
      expect(message.fields.exchange).toBe('magento');
      expect(message.fields.routingKey).toBe('event.trigger');
      const { deliveryMode, messageId, headers, ...others } = message.properties;
      expect(deliveryMode).toBe(2);
      expect(messageId).toMatch(MAGENTO_MESSAGE_ID);
      // Magento sets no other property (no content type, timestamp…). amqplib always writes a headers table; it
      // stays empty, which reads the same as none for Magento's consumers.
      expect(headers ?? {}).toEqual({});
      expect(Object.entries(others).filter(([, value]) => value !== undefined)).toEqual([]);
      return message.content.toString('utf8');
    },
    async deadLetters() {
      const bodies: string[] = [];
      for (;;) {
        const message = await env.rawGet('event.failover.deadletter');
        if (!message) return bodies;
        expect(message.fields.exchange).toBe('event.failover');
        expect(message.fields.routingKey).toBe('event.retry.kill');
        expect(message.properties.deliveryMode).toBe(2);
        expect(message.properties.messageId).toMatch(MAGENTO_MESSAGE_ID);
        bodies.push(message.content.toString('utf8'));
      }
    },
    dispose: () => env.dispose(),
  };
}

async function openDbHarness(dialect: 'mysql' | 'sqlite'): Promise<Harness> {
  const env = await openDbEnv(dialect);
  const { db } = env.store;
  const setUp = await env.transport();
  await setUp.setup();
  const queueId = async (name: string) => (await db.selectFrom('queue').select('id').where('name', '=', name).executeTakeFirstOrThrow()).id;
  return {
    async transport() {
      const transport = await env.transport();
      await transport.setup();
      return transport;
    },
    async retryTolerance() {
      if (dialect === 'sqlite') return { early: 0.5, late: 0.5 };
      const { rows } = await sql<{ Type: string }>`SHOW COLUMNS FROM ${sql.table('async_event_retry')} LIKE 'due_at'`.execute(db);
      return /\([1-6]\)/.test(rows[0]?.Type ?? '') ? { early: 0.5, late: 0.5 } : { early: 0, late: 1.2 };
    },
    async reset() {
      await db.deleteFrom('queue_message_status').execute();
      await db.deleteFrom('queue_message').execute();
      await db.deleteFrom('async_event_retry').execute();
      await db.deleteFrom('async_event_publish_order').execute();
    },
    async publishAsMagento(body) {
      // Magento\MysqlMq\Model\ResourceModel\Queue::saveMessage + linkQueues, statement for statement.
      const inserted = await db.insertInto('queue_message').values({ topic_name: 'event.trigger', body }).executeTakeFirstOrThrow();
      await db
        .insertInto('queue_message_status')
        .values({ queue_id: await queueId('event.trigger'), message_id: Number(inserted.insertId), status: QueueMessageStatus.NEW })
        .execute();
    },
    async takeRawTrigger() {
      const row = await db
        .selectFrom('queue_message_status as qms')
        .innerJoin('queue_message as qm', 'qm.id', 'qms.message_id')
        .innerJoin('queue as q', 'q.id', 'qms.queue_id')
        .select(['qms.id as relationId', 'qm.topic_name as topic', 'qm.body as body', 'q.name as queueName', 'qms.status as status', 'qms.number_of_trials as trials'])
        .where('qms.status', '=', QueueMessageStatus.NEW)
        .orderBy('qms.id')
        .executeTakeFirstOrThrow();
      expect({ topic: row.topic, queueName: row.queueName, status: Number(row.status), trials: Number(row.trials) }).toEqual({
        topic: 'event.trigger',
        queueName: 'event.trigger',
        status: QueueMessageStatus.NEW,
        trials: 0,
      });
      await db.updateTable('queue_message_status').set({ status: QueueMessageStatus.COMPLETE }).where('id', '=', row.relationId).execute();
      return row.body ?? '';
    },
    async deadLetters() {
      const rows = await db
        .selectFrom('queue_message_status as qms')
        .innerJoin('queue_message as qm', 'qm.id', 'qms.message_id')
        .innerJoin('queue as q', 'q.id', 'qms.queue_id')
        .select(['qm.topic_name as topic', 'qm.body as body', 'qms.status as status'])
        .where('q.name', '=', 'event.failover.deadletter')
        .orderBy('qms.id')
        .execute();
      for (const row of rows) expect({ topic: row.topic, status: Number(row.status) }).toEqual({ topic: 'event.retry.kill', status: QueueMessageStatus.NEW });
      return rows.map((row) => row.body ?? '');
    },
    dispose: () => env.dispose(),
  };
}

export const QUEUE_CASES: readonly QueueCase[] = [
  { name: 'RabbitMQ', services: ['rabbitmq'], open: openAmqpHarness },
  { name: 'database queue on MariaDB', services: ['mariadb'], open: () => openDbHarness('mysql') },
  { name: 'database queue on SQLite', services: [], open: () => openDbHarness('sqlite') },
];

/** Resolves once `check` holds, polling every 20 ms; fails with `what` after `timeoutMs`. */
export async function waitUntil(check: () => boolean | Promise<boolean>, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
