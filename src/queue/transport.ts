import type { RetryMessage } from '../types.ts';

/*
 * A queue transport moves messages between the publisher and the two consumers. Two implementations exist,
 * RabbitMQ (`amqp/`) and Magento's database queue (`database/`, on MySQL or SQLite); one conformance suite
 * (`test/queue/conformance.test.ts`) runs against each.
 */

/** Magento's queue names: triggers, and retries whose delay has run out. */
export type QueueName = 'event.trigger' | 'event.failover.retry';

export interface QueueDelivery {
  readonly queue: QueueName;
  /** Raw message body (JSON text). */
  readonly body: string;
  /** AMQP `message_id`, or `queue_message.id` of the database queue; stable across redeliveries. */
  readonly messageId: string;
  /** True when the transport knows this message was handed out before. */
  readonly redelivered: boolean;
}

/**
 * Handles one message. Resolving acknowledges it (its outcome must be durable by then); rejecting hands it
 * back to the queue for another try. A handler never rejects for a message that can never succeed: it parks it.
 */
export type MessageHandler = (delivery: QueueDelivery) => Promise<void>;

export interface ConsumeOptions {
  /** Messages handled at once (AMQP prefetch; claimed rows for the database queue). */
  readonly prefetch: number;
  /**
   * Body bytes handled at once (default 8 MiB, see intake-budget.ts; 0 = no byte bound): past it, messages wait
   * unstarted until earlier ones finish. One message always runs, however large.
   */
  readonly prefetchBytes?: number;
}

/**
 * Handles one batch of the publish-order reader: trigger messages in the order Magento published them. Resolving
 * acknowledges the whole batch; rejecting has the same batch handed again after a backoff, so order is never broken.
 */
export type PublishOrderHandler = (batch: readonly QueueDelivery[]) => Promise<void>;

export interface PublishOrderOptions {
  /** Messages in one batch at most (AMQP prefetch). */
  readonly maxBatch: number;
  /**
   * Database queue: how long a gap in `queue_message` ids may stay open before it is passed (default 3000 ms). A gap
   * is an insert whose transaction commits after a later one's, or one rolled back; waiting keeps the late one in order.
   */
  readonly settleMs?: number;
}

export interface QueueConsumer {
  /** Stops taking messages, waits for the in-flight handlers, then resolves. */
  stop(): Promise<void>;
}

export interface QueueTransport {
  readonly kind: 'amqp' | 'database';
  /**
   * Whether a scheduled retry survives anything the transport's server goes through. The database queue keeps it as
   * a row; RabbitMQ has been seen to lose retry messages across a broker restart, so chains are
   * also kept owed in the store and sent again when overdue (delivery/overdue-chains.ts).
   */
  readonly keepsScheduledRetries: boolean;
  /** Declares what this transport needs (exchanges, queues, rows of `queue`) without breaking Magento's own. */
  setup(): Promise<void>;
  /** Publishes a trigger message exactly as Magento's publisher does; resolves once the broker/database has it. */
  publishTrigger(body: string): Promise<void>;
  /** Puts a retry message where it becomes due after `delaySeconds` and then reaches `event.failover.retry`. */
  scheduleRetry(message: RetryMessage, delaySeconds: number): Promise<void>;
  /** Keeps a chain's last message where upstream keeps it (`event.failover.deadletter`). */
  deadLetter(message: RetryMessage): Promise<void>;
  /**
   * Puts a message back on its queue unchanged (redriving a parked message): a trigger is consumed exactly as one
   * Magento published, a retry as a retry due at once. A body that is not a retry message is refused for
   * `event.failover.retry` with MESSAGE_MALFORMED (the database queue keeps retries as typed rows), storing nothing.
   */
  requeue(queue: QueueName, body: string): Promise<void>;
  consume(queue: QueueName, handler: MessageHandler, options: ConsumeOptions): Promise<QueueConsumer>;
  /*
   * The publish-order reader serves subscriptions with `ordering: "entity"`: they need every trigger in the order
   * Magento published it, one batch at a time, by one reader across replicas. The competing consumers of `consume`
   * cannot promise that (prefetch, redeliveries and several replicas reorder), so the reader has a copy of the
   * triggers of its own: a queue of ours on RabbitMQ, a cursor over `queue_message` ids on the database queue.
   */
  /**
   * Starts keeping trigger messages for the publish-order reader, from now on (idempotent, safe from several
   * processes). Not part of setup(): nobody would drain what it keeps unless a rule asks for publish order.
   */
  enablePublishOrder(): Promise<void>;
  /** Whether enablePublishOrder was ever called against this broker/database (by any process). */
  publishOrderEnabled(): Promise<boolean>;
  /**
   * Hands trigger messages to `handler` in publish order, in batches of at most maxBatch, the next batch only after
   * the previous one resolved. Until publish order is enabled, it waits (checks every few seconds) and then starts.
   * A rejecting handler is called again with the same batch after a backoff (100 ms doubling to 5 s), so order is
   * never broken; stop() resolves once the batch in hand is done or handed back.
   * Several processes may call it: RabbitMQ gives the messages to one of them at a time; the database queue may hand
   * the same batch to more than one (the handler must be idempotent: it dedupes by messageId). Each delivery carries
   * the messageId `consume('event.trigger', …)` gives the same message, which chain ids are derived from.
   */
  consumeInPublishOrder(handler: PublishOrderHandler, options: PublishOrderOptions): Promise<QueueConsumer>;
  /**
   * Database queue: whether the reader has moved past this message (so it will never hand it out), for the normal
   * consumer to take over a message the reader passed in a gap. RabbitMQ: always false (its copy is never skipped).
   */
  publishOrderPassed(messageId: string): Promise<boolean>;
  /** Messages waiting (ready, not yet handed out) in a queue. */
  depth(queue: QueueName): Promise<number>;
  close(): Promise<void>;
}
