import { sql, type Kysely, type Transaction } from 'kysely';
import { AsyncEventsError } from '../../errors.ts';
import type { Logger } from '../../logger.ts';
import { QueueMessageStatus, type Database } from '../../store/schema.ts';
import type { RetryMessage } from '../../types.ts';
import { DEAD_LETTER_QUEUE, DEAD_LETTER_ROUTING_KEY, RETRY_QUEUE, TRIGGER_QUEUE, TRIGGER_TOPIC } from '../names.ts';
import { encodeRetryMessage, parseRetryMessage } from '../publish.ts';
import { DEFAULT_PUBLISH_ORDER_CHECK_MS, checkPublishOrderOptions } from '../publish-order.ts';
import type { ConsumeOptions, MessageHandler, PublishOrderHandler, PublishOrderOptions, QueueConsumer, QueueName, QueueTransport } from '../transport.ts';
import { DEFAULT_PREFETCH_BYTES } from '../intake-budget.ts';
import { createDbClock } from './clock.ts';
import { startPollLoop, type ClaimSource } from './poll-loop.ts';
import { createPublishOrderCursor } from './publish-order.ts';

export interface DatabaseQueueOptions {
  /** Kysely on Magento's database or the embedded SQLite file, already applying `db.table_prefix`. */
  readonly db: Kysely<Database>;
  readonly dialect: 'mysql' | 'sqlite';
  readonly logger: Logger;
  /** Pause between polls of an idle queue. */
  readonly pollIntervalMs?: number;
  /** A row claimed longer ago than this (its consumer died) is handed out again. */
  readonly leaseSeconds?: number;
  /** How often a publish-order reader checks whether publish order was enabled, while it waits for that. */
  readonly publishOrderCheckMs?: number;
}

/*
 * Magento's database queue (Magento_MysqlMq): a trigger is a `queue_message` row plus a `queue_message_status` row
 * per queue, claimed by moving status NEW/RETRY_REQUIRED → IN_PROGRESS with a conditional update, so competing
 * consumers (ours or Magento's `queue:consumers:start`) never take the same row. Retries wait as rows of our
 * `async_event_retry` with a due time; dead letters become `queue_message` rows of `event.failover.deadletter`
 * (the queue row Magento's MysqlMq setup creates from upstream's topology), which nobody consumes, as upstream's
 * RabbitMQ dead letters are not consumed either.
 */
export function createDatabaseQueue(options: DatabaseQueueOptions): QueueTransport {
  const { db, dialect } = options;
  const logger = options.logger.child({ stage: 'queue', transport: 'database' });
  const pollIntervalMs = options.pollIntervalMs ?? 200;
  const leaseSeconds = options.leaseSeconds ?? 300;
  const clock = createDbClock(dialect);
  // `updated_at` keeps whole seconds (truncated): a row stamped T was last touched before T+1, so it is stale only
  // once T+1 is more than a lease ago.
  const staleAfterSeconds = leaseSeconds + 1;
  const queueIds = new Map<string, number>();
  const consumers = new Set<QueueConsumer>();
  let dueAtKeepsMilliseconds: Promise<boolean> | undefined;
  const publishOrder = createPublishOrderCursor({ db, dialect, logger, pollIntervalMs, checkMs: options.publishOrderCheckMs ?? DEFAULT_PUBLISH_ORDER_CHECK_MS });

  /** Whether `async_event_retry.due_at` keeps fractions of a second (SQLite text does; MySQL needs datetime(3)). */
  function dueAtPrecise(): Promise<boolean> {
    dueAtKeepsMilliseconds ??= (async () => {
      if (dialect === 'sqlite') return true;
      const { rows } = await sql<{ Type: string }>`SHOW COLUMNS FROM ${sql.table('async_event_retry')} LIKE 'due_at'`.execute(db);
      const precise = /\(\s*[1-6]\s*\)/.test(rows[0]?.Type ?? '');
      if (!precise) {
        logger.warn({ column: rows[0]?.Type }, 'async_event_retry.due_at keeps whole seconds only; retries may be up to a second late');
      }
      return precise;
    })();
    return dueAtKeepsMilliseconds;
  }

  async function queueId(name: string, create: boolean): Promise<number | undefined> {
    const known = queueIds.get(name);
    if (known !== undefined) return known;
    const find = async (): Promise<number | undefined> => (await db.selectFrom('queue').select('id').where('name', '=', name).executeTakeFirst())?.id;
    let id = await find();
    if (id === undefined && create) {
      try {
        await db.insertInto('queue').values({ name }).execute();
      } catch (error) {
        // Another process created it first (UNIQUE QUEUE_NAME); the select below finds theirs.
        logger.debug({ err: error, queue: name }, 'queue row appeared concurrently');
      }
      id = await find();
    }
    if (id !== undefined) queueIds.set(name, Number(id));
    return id === undefined ? undefined : Number(id);
  }

  /** A consumer close() stops, until it is stopped itself. */
  function tracked(stop: () => Promise<void>): QueueConsumer {
    const consumer: QueueConsumer = {
      async stop() {
        consumers.delete(consumer);
        await stop();
      },
    };
    consumers.add(consumer);
    return consumer;
  }

  async function requiredQueueId(name: string): Promise<number> {
    const id = await queueId(name, false);
    if (id === undefined) {
      throw new AsyncEventsError('QUEUE_UNAVAILABLE', `table queue has no row named ${name}; run \`async-events migrate\` or \`bin/magento setup:upgrade\``, { queue: name });
    }
    return id;
  }

  /** Magento's MysqlMq insert: the message, then its status NEW for the queue. */
  async function enqueue(trx: Transaction<Database>, topic: string, body: string, queue: number): Promise<void> {
    const inserted = await trx.insertInto('queue_message').values({ topic_name: topic, body }).executeTakeFirstOrThrow();
    if (inserted.insertId === undefined) throw new Error('database did not report the id of the new queue_message row');
    await trx
      .insertInto('queue_message_status')
      .values({ queue_id: queue, message_id: Number(inserted.insertId), status: QueueMessageStatus.NEW })
      .execute();
  }

  async function insertRetry(message: RetryMessage, dueAt: ReturnType<typeof clock.now>): Promise<void> {
    await db
      .insertInto('async_event_retry')
      .values({
        uuid: message.uuid,
        subscription_id: message.subscription_id,
        death_count: message.death_count,
        content: message.content,
        due_at: dueAt,
        locked_until: null,
        created: clock.timestamp(),
      })
      .execute();
  }

  function triggerSource(queue: number, queueName: QueueName): ClaimSource {
    return {
      async claim(limit) {
        const candidates = await db
          .selectFrom('queue_message_status as qms')
          .innerJoin('queue_message as qm', 'qm.id', 'qms.message_id')
          .select(['qms.id as relationId', 'qms.message_id as messageId', 'qms.status as status', 'qms.number_of_trials as trials', 'qm.body as body'])
          .where('qms.queue_id', '=', queue)
          .where((eb) =>
            eb.or([
              eb('qms.status', 'in', [QueueMessageStatus.NEW, QueueMessageStatus.RETRY_REQUIRED]),
              eb.and([eb('qms.status', '=', QueueMessageStatus.IN_PROGRESS), eb('qms.updated_at', '<', clock.offset(-staleAfterSeconds))]),
            ]),
          )
          .orderBy('qms.updated_at')
          .orderBy('qms.id')
          .limit(limit)
          .execute();
        const claimed = [];
        for (const row of candidates) {
          const relationId = Number(row.relationId);
          const result = await db
            .updateTable('queue_message_status')
            .set({ status: QueueMessageStatus.IN_PROGRESS, updated_at: clock.timestamp() })
            .where('id', '=', relationId)
            .where((eb) =>
              eb.or([
                eb('status', 'in', [QueueMessageStatus.NEW, QueueMessageStatus.RETRY_REQUIRED]),
                eb.and([eb('status', '=', QueueMessageStatus.IN_PROGRESS), eb('updated_at', '<', clock.offset(-staleAfterSeconds))]),
              ]),
            )
            .executeTakeFirst();
          if (result.numUpdatedRows === 0n) continue; // another consumer was quicker
          claimed.push({
            key: relationId,
            delivery: {
              queue: queueName,
              body: row.body ?? '',
              messageId: String(row.messageId),
              redelivered: Number(row.trials) > 0 || Number(row.status) !== QueueMessageStatus.NEW,
            },
          });
        }
        return { claimed, full: candidates.length >= limit };
      },
      async ack(key) {
        await db.updateTable('queue_message_status').set({ status: QueueMessageStatus.COMPLETE, updated_at: clock.timestamp() }).where('id', '=', key).execute();
      },
      async release(key) {
        await db
          .updateTable('queue_message_status')
          .set((eb) => ({ status: QueueMessageStatus.RETRY_REQUIRED, number_of_trials: eb('number_of_trials', '+', 1), updated_at: clock.timestamp() }))
          .where('id', '=', key)
          .execute();
      },
      async renew(keys) {
        await db
          .updateTable('queue_message_status')
          .set({ updated_at: clock.timestamp() })
          .where('id', 'in', keys)
          .where('status', '=', QueueMessageStatus.IN_PROGRESS)
          .execute();
      },
    };
  }

  const retrySource: ClaimSource = {
    async claim(limit) {
      const candidates = await db
        .selectFrom('async_event_retry')
        .select(['retry_id', 'uuid', 'subscription_id', 'death_count', 'content', 'locked_until'])
        .where('due_at', '<=', clock.now())
        .where((eb) => eb.or([eb('locked_until', 'is', null), eb('locked_until', '<', clock.now())]))
        .orderBy('due_at')
        .orderBy('retry_id')
        .limit(limit)
        .execute();
      const claimed = [];
      for (const row of candidates) {
        const retryId = Number(row.retry_id);
        const result = await db
          .updateTable('async_event_retry')
          .set({ locked_until: clock.offset(leaseSeconds) })
          .where('retry_id', '=', retryId)
          .where('due_at', '<=', clock.now())
          .where((eb) => eb.or([eb('locked_until', 'is', null), eb('locked_until', '<', clock.now())]))
          .executeTakeFirst();
        if (result.numUpdatedRows === 0n) continue;
        const message: RetryMessage = {
          subscription_id: Number(row.subscription_id),
          death_count: Number(row.death_count),
          content: row.content,
          uuid: row.uuid,
        };
        claimed.push({
          key: retryId,
          delivery: { queue: RETRY_QUEUE as QueueName, body: encodeRetryMessage(message), messageId: String(retryId), redelivered: row.locked_until !== null },
        });
      }
      return { claimed, full: candidates.length >= limit };
    },
    async ack(key) {
      await db.deleteFrom('async_event_retry').where('retry_id', '=', key).execute();
    },
    async release(key) {
      await db.updateTable('async_event_retry').set({ locked_until: null }).where('retry_id', '=', key).execute();
    },
    async renew(keys) {
      await db.updateTable('async_event_retry').set({ locked_until: clock.offset(leaseSeconds) }).where('retry_id', 'in', keys).execute();
    },
  };

  return {
    kind: 'database',
    keepsScheduledRetries: true,

    async setup() {
      // The queue rows Magento's MysqlMq setup creates from upstream's queue_topology.xml.
      for (const name of [TRIGGER_QUEUE, RETRY_QUEUE, DEAD_LETTER_QUEUE]) await queueId(name, true);
    },

    async publishTrigger(body: string) {
      const queue = await requiredQueueId(TRIGGER_QUEUE);
      await db.transaction().execute((trx) => enqueue(trx, TRIGGER_TOPIC, body, queue));
    },

    async scheduleRetry(message: RetryMessage, delaySeconds: number) {
      if (!Number.isInteger(delaySeconds) || delaySeconds < 1) {
        throw new AsyncEventsError('VALIDATION_FAILED', `retry delay must be a whole number of seconds ≥ 1, got ${delaySeconds}`);
      }
      await insertRetry(message, (await dueAtPrecise()) ? clock.offset(delaySeconds) : clock.dueInWholeSeconds(delaySeconds));
    },

    async requeue(queue: QueueName, body: string) {
      if (queue === TRIGGER_QUEUE) {
        const id = await requiredQueueId(TRIGGER_QUEUE);
        await db.transaction().execute((trx) => enqueue(trx, TRIGGER_TOPIC, body, id));
        return;
      }
      // A retry waits as a typed row, so only a well-formed retry message can go back; it is due at once.
      await insertRetry(parseRetryMessage(body), clock.now());
    },

    async deadLetter(message: RetryMessage) {
      const queue = await queueId(DEAD_LETTER_QUEUE, false);
      if (queue === undefined) {
        logger.warn({ uuid: message.uuid, subscriptionId: message.subscription_id }, `no queue row ${DEAD_LETTER_QUEUE}; dead letter kept only in the delivery log`);
        return;
      }
      await db.transaction().execute((trx) => enqueue(trx, DEAD_LETTER_ROUTING_KEY, encodeRetryMessage(message), queue));
    },

    async consume(queue: QueueName, handler: MessageHandler, consumeOptions: ConsumeOptions): Promise<QueueConsumer> {
      if (!Number.isInteger(consumeOptions.prefetch) || consumeOptions.prefetch < 1) {
        throw new AsyncEventsError('VALIDATION_FAILED', `prefetch must be a whole number ≥ 1, got ${consumeOptions.prefetch}`);
      }
      const source = queue === RETRY_QUEUE ? retrySource : triggerSource(await requiredQueueId(queue), queue);
      const loop = startPollLoop(source, handler, { prefetch: consumeOptions.prefetch, prefetchBytes: consumeOptions.prefetchBytes ?? DEFAULT_PREFETCH_BYTES, pollIntervalMs, leaseSeconds, logger });
      return tracked(() => loop.stop());
    },

    enablePublishOrder: () => publishOrder.enable(),
    publishOrderEnabled: () => publishOrder.enabled(),
    publishOrderPassed: (messageId: string) => publishOrder.passed(messageId),

    async consumeInPublishOrder(handler: PublishOrderHandler, orderOptions: PublishOrderOptions): Promise<QueueConsumer> {
      checkPublishOrderOptions(orderOptions);
      const reader = publishOrder.read(handler, orderOptions);
      return tracked(() => reader.stop());
    },

    async depth(queue: QueueName): Promise<number> {
      if (queue === RETRY_QUEUE) {
        const row = await db
          .selectFrom('async_event_retry')
          .select((eb) => eb.fn.countAll<number | string | bigint>().as('n'))
          .where('due_at', '<=', clock.now())
          .where((eb) => eb.or([eb('locked_until', 'is', null), eb('locked_until', '<', clock.now())]))
          .executeTakeFirstOrThrow();
        return Number(row.n);
      }
      const id = await requiredQueueId(queue);
      const row = await db
        .selectFrom('queue_message_status')
        .select((eb) => eb.fn.countAll<number | string | bigint>().as('n'))
        .where('queue_id', '=', id)
        .where('status', 'in', [QueueMessageStatus.NEW, QueueMessageStatus.RETRY_REQUIRED])
        .executeTakeFirstOrThrow();
      return Number(row.n);
    },

    async close() {
      // The Kysely instance belongs to the store, which closes it.
      await Promise.all([...consumers].map((consumer) => consumer.stop()));
    },
  };
}
