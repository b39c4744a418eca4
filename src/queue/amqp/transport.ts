import { connect, type Channel, type ChannelModel, type ConfirmChannel, type ConsumeMessage, type Options, type RecoveringChannelModel } from 'amqplib';
import { AsyncEventsError, coerceError } from '../../errors.ts';
import type { Logger } from '../../logger.ts';
import type { RetryMessage } from '../../types.ts';
import { createIntakeBudget, DEFAULT_PREFETCH_BYTES, type IntakeBudget } from '../intake-budget.ts';
import { amqpMessageId, newMessageId } from '../message-id.ts';
import { DEAD_LETTER_ROUTING_KEY, DEFAULT_EXCHANGE, FAILOVER_EXCHANGE, PUBLISH_ORDER_QUEUE, RETRY_ROUTING_KEY, TRIGGER_TOPIC, delayRoute } from '../names.ts';
import { DEFAULT_PUBLISH_ORDER_CHECK_MS, checkPublishOrderOptions } from '../publish-order.ts';
import { encodeRetryMessage, parseRetryMessage } from '../publish.ts';
import type { ConsumeOptions, MessageHandler, PublishOrderHandler, PublishOrderOptions, QueueConsumer, QueueDelivery, QueueName, QueueTransport } from '../transport.ts';
import { createAckBatcher, type AckBatcher } from './ack-batcher.ts';
import type { ConsumerState } from './consumer-state.ts';
import { startOrderedReader } from './publish-order.ts';
import { amqpInt, declareDelayQueue, declarePublishOrderQueue, declareUpstreamTopology } from './topology.ts';

export interface AmqpTransportOptions {
  /** `amqp://user:pass@host:port/vhost` */
  readonly url: string;
  readonly logger: Logger;
  /** Exchange Magento's publisher uses for `event.trigger` (env.php connection `exchange`), `magento` by default. */
  readonly exchange?: string;
  /** How long a publish (or `depth`) waits for the broker during an outage before QUEUE_UNAVAILABLE. */
  readonly unavailableTimeoutMs?: number;
  /** Reconnect backoff: doubles from the first delay up to the cap (with jitter). */
  readonly reconnect?: { readonly initialDelayMs?: number; readonly maxDelayMs?: number };
  /** How often a publish-order reader checks whether publish order was enabled, while it waits for that. */
  readonly publishOrderCheckMs?: number;
}

/** One live connection with its publishing channel; replaced after every reconnect. */
interface Session {
  readonly model: ChannelModel;
  readonly publisher: ConfirmChannel;
  alive: boolean;
  /** Resolves when the publisher's write buffer has drained; set while it is full. */
  drained: Promise<void> | undefined;
  /** Message ids of publishes in flight, flagged when the broker returned them as unroutable. */
  readonly returned: Map<string, boolean>;
  /** Delay queue → when it was last declared (its `x-expires` lease runs from there). */
  readonly delayDeclaredAt: Map<string, number>;
}

class Unroutable extends Error {}

/** How long past its last message's delay a delay queue is still kept declared. */
const DELAY_QUEUE_KEEP_ALIVE_MARGIN_MS = 30_000;

type PublishProperties = Pick<Options.Publish, 'headers'>;

export function createAmqpTransport(options: AmqpTransportOptions): QueueTransport {
  const logger = options.logger.child({ stage: 'queue', transport: 'amqp' });
  const triggerExchange = options.exchange ?? DEFAULT_EXCHANGE;
  const unavailableTimeoutMs = options.unavailableTimeoutMs ?? 15_000;
  const consumers = new Set<ConsumerState>();
  const orderedReaders = new Set<QueueConsumer>();
  const closedChannels = new WeakSet<Channel>();
  let recovering: RecoveringChannelModel | undefined;
  let starting: Promise<void> | undefined;
  let session: Session | undefined;
  let closed = false;
  let lastProblem: Error | undefined;
  const waiters = new Set<{ resolve: (s: Session) => void; reject: (e: Error) => void }>();

  function unavailable(reason: string): AsyncEventsError {
    const why = lastProblem ? ` (last error: ${lastProblem.message})` : '';
    return new AsyncEventsError('QUEUE_UNAVAILABLE', `RabbitMQ ${reason}${why}`, { url: redact(options.url) }, { cause: lastProblem });
  }

  /** Ends the session after a channel it owns died on its own: a fresh connection re-declares and re-subscribes. */
  function recycle(current: Session, why: string): void {
    if (!current.alive || closed) return;
    current.alive = false;
    if (session === current) session = undefined;
    logger.warn({ why }, 'AMQP channel lost; reconnecting');
    current.model.close().catch(() => undefined);
  }

  async function openSession(model: ChannelModel): Promise<void> {
    // amqplib's recovery listens to the model only once this setup has finished; until then an error is ours.
    model.on('error', (error: Error) => {
      lastProblem = error;
    });
    const publisher = await model.createConfirmChannel();
    const current: Session = { model, publisher, alive: true, drained: undefined, returned: new Map(), delayDeclaredAt: new Map() };
    publisher.on('error', (error: Error) => {
      lastProblem = error;
      logger.error({ err: error }, 'AMQP publishing channel error');
    });
    publisher.on('close', () => recycle(current, 'publishing channel closed'));
    publisher.on('return', (message: ConsumeMessage) => {
      const id = message.properties.messageId as string | undefined;
      if (id !== undefined && current.returned.has(id)) current.returned.set(id, true);
    });
    await declareUpstreamTopology(publisher, triggerExchange);
    for (const consumer of consumers) {
      try {
        await attachConsumer(current, consumer);
      } catch (error) {
        if (!consumer.refused) throw error;
        consumers.delete(consumer);
        consumer.refused(coerceError(error));
      }
    }
    session = current;
    lastProblem = undefined;
    for (const waiter of waiters) waiter.resolve(current);
    waiters.clear();
    logger.info('AMQP connected, topology declared');
  }

  function start(): Promise<void> {
    if (closed) return Promise.reject(new AsyncEventsError('SHUTTING_DOWN', 'the AMQP transport is closed'));
    starting ??= (async () => {
      recovering = await connect(options.url, {
        // Acks, confirms' publishes and retry publishes are small frames: with Nagle's algorithm on (Node's and
        // amqplib's default) each can wait for the broker's delayed ACK, tens of ms, before it leaves.
        noDelay: true,
        recovery: {
          initialDelay: options.reconnect?.initialDelayMs ?? 200,
          maxDelay: options.reconnect?.maxDelayMs ?? 10_000,
          factor: 2,
          jitter: 0.2,
          waitForConnect: false,
          setup: (model: ChannelModel) => openSession(model),
        },
      });
      recovering.on('error', (error: Error) => {
        lastProblem = error;
        logger.warn({ err: error }, 'AMQP connection error');
      });
      recovering.on('disconnect', (error: Error) => {
        lastProblem = error;
        if (session) session.alive = false;
        session = undefined;
        logger.warn({ err: error }, 'AMQP connection lost; reconnecting');
      });
      recovering.on('connect-failed', (error: Error) => {
        lastProblem = error;
      });
      recovering.on('reconnect-scheduled', (info: { attempt: number; delay: number; error: Error }) => {
        logger.warn({ attempt: info.attempt, delayMs: info.delay, err: info.error }, 'AMQP reconnect scheduled');
      });
      recovering.on('blocked', (reason: string) => logger.warn({ reason }, 'RabbitMQ blocked the connection'));
    })();
    return starting;
  }

  /** The live session, waiting for a reconnect until `deadline`. */
  async function liveSession(deadline: number): Promise<Session> {
    await start();
    if (session?.alive) return session;
    if (closed) throw new AsyncEventsError('SHUTTING_DOWN', 'the AMQP transport is closed');
    return new Promise<Session>((resolve, reject) => {
      const waiter = {
        resolve: (s: Session) => {
          clearTimeout(timer);
          resolve(s);
        },
        reject: (e: Error) => {
          clearTimeout(timer);
          reject(e);
        },
      };
      const timer = setTimeout(
        () => {
          waiters.delete(waiter);
          reject(unavailable(`is unreachable (waited ${unavailableTimeoutMs} ms)`));
        },
        Math.max(0, deadline - Date.now()),
      );
      waiters.add(waiter);
    });
  }

  async function publishOnce(current: Session, exchange: string, routingKey: string, body: string, properties: PublishProperties, deadline: number): Promise<void> {
    if (current.drained) await current.drained;
    const messageId = newMessageId();
    current.returned.set(messageId, false);
    try {
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(unavailable(`did not confirm the publish within ${unavailableTimeoutMs} ms`)), Math.max(0, deadline - Date.now()));
        const fits = current.publisher.publish(
          exchange,
          routingKey,
          Buffer.from(body, 'utf8'),
          // Magento sets exactly these two properties (plus upstream's retry header); `mandatory` is a publish flag,
          // not a property, so unroutable messages come back instead of vanishing.
          { deliveryMode: 2, messageId, mandatory: true, ...properties },
          (error: unknown) => {
            clearTimeout(timer);
            if (error) reject(coerceError(error));
            else if (current.returned.get(messageId)) reject(new Unroutable(`no queue is bound to ${exchange} with routing key ${routingKey}`));
            else resolve();
          },
        );
        if (!fits && !current.drained) {
          current.drained = new Promise<void>((done) => {
            const finish = (): void => {
              current.drained = undefined;
              current.publisher.removeListener('drain', finish);
              current.publisher.removeListener('close', finish);
              done();
            };
            current.publisher.on('drain', finish);
            current.publisher.on('close', finish);
          });
        }
      });
    } finally {
      current.returned.delete(messageId);
    }
  }

  /**
   * Publishes with confirms, each publish resolving on its own confirm (many are in flight at once). A publish cut off
   * by a lost connection is sent again on the next one; an unroutable one once more after re-declaring its route.
   */
  async function publish(exchange: string, routingKey: string, body: string, properties: PublishProperties, declare: (s: Session) => Promise<void>): Promise<void> {
    const deadline = Date.now() + unavailableTimeoutMs;
    let redeclared = false;
    for (;;) {
      const current = await liveSession(deadline);
      try {
        await declare(current);
        await publishOnce(current, exchange, routingKey, body, properties, deadline);
        return;
      } catch (error) {
        if (error instanceof AsyncEventsError) throw error;
        if (error instanceof Unroutable) {
          if (redeclared) throw new AsyncEventsError('QUEUE_UNAVAILABLE', `RabbitMQ could not route the message: ${error.message}`, { exchange, routingKey });
          redeclared = true;
          current.delayDeclaredAt.clear();
          await declareUpstreamTopology(current.publisher, triggerExchange);
          continue;
        }
        if (current.alive && error instanceof Error && error.message === 'message nacked') {
          throw new AsyncEventsError('QUEUE_UNAVAILABLE', `RabbitMQ refused the message (nack) for ${exchange}/${routingKey}`, { exchange, routingKey });
        }
        lastProblem = coerceError(error);
        if (Date.now() >= deadline) throw unavailable('connection was lost while publishing');
        // The channel died under the publish: wait for the next session and send it again.
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    }
  }

  /*
   * A delay queue expires 2×seconds after its last declaration whether or not it still holds messages, and
   * RabbitMQ dead-letters a burst of expired messages one by one: under load the queue could expire, and take the
   * rest of the burst with it, before they were all moved to event.failover.retry. So a delay queue that was
   * published to recently is declared again while its messages may still be in it.
   */
  const delayQueuesInUse = new Map<string, { routingKey: string; seconds: number; lastPublishAt: number }>();
  const keepAlive = setInterval(() => {
    const current = session;
    if (!current?.alive || closed) return;
    const now = Date.now();
    for (const [queue, use] of delayQueuesInUse) {
      if (now - use.lastPublishAt > use.seconds * 1000 + DELAY_QUEUE_KEEP_ALIVE_MARGIN_MS) {
        delayQueuesInUse.delete(queue);
        continue;
      }
      const declaredAt = current.delayDeclaredAt.get(queue) ?? 0;
      if (now - declaredAt < use.seconds * 500) continue;
      current.delayDeclaredAt.set(queue, now);
      declareDelayQueue(current.publisher, queue, use.routingKey, use.seconds).catch((error: unknown) => {
        current.delayDeclaredAt.delete(queue);
        logger.debug({ err: coerceError(error), queue }, 'could not declare a delay queue again to keep it');
      });
    }
  }, 250);
  keepAlive.unref();

  async function ensureDelayQueue(current: Session, queue: string, routingKey: string, seconds: number): Promise<void> {
    delayQueuesInUse.set(queue, { routingKey, seconds, lastPublishAt: Date.now() });
    const declaredAt = current.delayDeclaredAt.get(queue);
    // The queue expires 2×seconds after its last declaration; re-declaring within a quarter of that keeps every
    // message's TTL (seconds) well inside the lease, as upstream's declare-before-every-publish does.
    if (declaredAt !== undefined && Date.now() - declaredAt < seconds * 250) return;
    await declareDelayQueue(current.publisher, queue, routingKey, seconds);
    current.delayDeclaredAt.set(queue, Date.now());
  }

  async function attachConsumer(current: Session, consumer: ConsumerState): Promise<void> {
    const channel = await current.model.createChannel();
    channel.on('error', (error: Error) => {
      lastProblem = error;
      logger.error({ err: error, queue: consumer.source }, 'AMQP consuming channel error');
    });
    channel.on('close', () => {
      closedChannels.add(channel);
      if (consumer.channel === channel && !consumer.stopped) recycle(current, `consuming channel of ${consumer.source} closed`);
    });
    await channel.prefetch(consumer.prefetch);
    const { consumerTag } = await channel.consume(
      consumer.source,
      (message) => {
        // The broker cancelled the consumer (its queue was deleted): start over, which re-declares and re-subscribes.
        if (message === null) recycle(current, `broker cancelled the consumer of ${consumer.source}`);
        else consumer.take(channel, message);
      },
      { noAck: false },
    );
    if (consumer.stopped) {
      // stop() ran while this (re)subscription was on its way: undo it once its handlers are done.
      await channel.cancel(consumerTag).catch(() => undefined);
      while (consumer.inFlight.size > 0) await Promise.allSettled([...consumer.inFlight]);
      await channel.close().catch(() => undefined);
      return;
    }
    consumer.channel = channel;
    consumer.consumerTag = consumerTag;
  }

  const ackBatchers = new WeakMap<Channel, AckBatcher>();
  /** The acks of a consuming channel; a channel consumes one queue. */
  function acksOf(channel: Channel, queue: QueueName): AckBatcher {
    let acks = ackBatchers.get(channel);
    if (!acks) {
      acks = createAckBatcher(channel, (error, message) =>
        // The channel is gone: the broker hands the message out again after the reconnect.
        logger.warn({ err: error, queue, messageId: amqpMessageId(message) }, 'could not settle message; it will be redelivered'),
      );
      ackBatchers.set(channel, acks);
    }
    return acks;
  }

  /** A subscription of `consume`: each message handled on its own, within the byte budget; acks sent together. */
  function plainConsumer(queue: QueueName, handler: MessageHandler, prefetch: number, budget: IntakeBudget): ConsumerState {
    const consumer: ConsumerState = {
      source: queue,
      prefetch,
      stopped: false,
      channel: undefined,
      consumerTag: undefined,
      inFlight: new Set(),
      take(channel, message) {
        acksOf(channel, queue).delivered(message);
        const bytes = message.content.length;
        budget.admit(bytes, () => {
          // Its channel closed while it waited: the broker hands it out again, so it is neither run nor settled here.
          if (closedChannels.has(channel)) budget.release(bytes);
          else handleMessage(consumer, queue, handler, budget, channel, message, bytes);
        });
      },
    };
    return consumer;
  }

  function handleMessage(consumer: ConsumerState, queue: QueueName, handler: MessageHandler, budget: IntakeBudget, channel: Channel, message: ConsumeMessage, bytes: number): void {
    const body = message.content.toString('utf8');
    const delivery: QueueDelivery = {
      queue,
      body,
      // Magento's publisher always sets message_id; for a message without one the body's hash stays stable.
      messageId: amqpMessageId(message),
      redelivered: message.fields.redelivered,
    };
    const acks = acksOf(channel, queue);
    // Through a promise even if the handler throws synchronously, so every message is settled one way or the other.
    const handled = Promise.resolve(delivery)
      .then(handler)
      .then(
        () => acks.ack(message),
        (error: unknown) => {
          logger.warn({ err: error, queue, messageId: delivery.messageId }, 'handler rejected message; handing it back');
          acks.requeue(message);
        },
      )
      .finally(() => budget.release(bytes));
    consumer.inFlight.add(handled);
    void handled.finally(() => consumer.inFlight.delete(handled));
  }

  async function stopConsumer(consumer: ConsumerState): Promise<void> {
    if (consumer.stopped) return;
    consumer.stopped = true;
    consumers.delete(consumer);
    const { channel, consumerTag } = consumer;
    if (channel && consumerTag) await channel.cancel(consumerTag).catch(() => undefined);
    while (consumer.inFlight.size > 0) await Promise.allSettled([...consumer.inFlight]);
    if (channel) await channel.close().catch(() => undefined);
    consumer.channel = undefined;
  }

  /** Runs `use` on a channel of its own: a failed check or declaration closes its channel, and only that one. */
  async function withOwnChannel<T>(use: (channel: Channel) => Promise<T>): Promise<T> {
    const current = await liveSession(Date.now() + unavailableTimeoutMs);
    const channel = await current.model.createChannel();
    channel.on('error', () => undefined);
    try {
      return await use(channel);
    } finally {
      await channel.close().catch(() => undefined);
    }
  }

  async function publishOrderEnabled(): Promise<boolean> {
    try {
      await withOwnChannel((channel) => channel.checkQueue(PUBLISH_ORDER_QUEUE));
      return true;
    } catch (error) {
      if (error instanceof AsyncEventsError) throw error;
      if ((error as { code?: unknown }).code === 404) return false;
      throw new AsyncEventsError('QUEUE_UNAVAILABLE', `cannot check queue ${PUBLISH_ORDER_QUEUE}: ${coerceError(error).message}`, { queue: PUBLISH_ORDER_QUEUE });
    }
  }

  /** Keeps a consumer attached from now on, across reconnects; rejects when the broker refuses it now. */
  async function addConsumer(consumer: ConsumerState): Promise<void> {
    const current = await liveSession(Date.now() + unavailableTimeoutMs);
    consumers.add(consumer);
    try {
      await attachConsumer(current, consumer);
    } catch (error) {
      // A reconnect in between attaches it anyway (or hands it to `refused`); anything else is the caller's to see.
      if (current.alive) {
        consumers.delete(consumer);
        throw error;
      }
    }
  }

  return {
    kind: 'amqp',
    keepsScheduledRetries: false,

    async setup() {
      await liveSession(Date.now() + unavailableTimeoutMs);
    },

    publishTrigger(body: string) {
      return publish(triggerExchange, TRIGGER_TOPIC, body, {}, async () => undefined);
    },

    scheduleRetry(message: RetryMessage, delaySeconds: number) {
      if (!Number.isInteger(delaySeconds) || delaySeconds < 1) {
        return Promise.reject(new AsyncEventsError('VALIDATION_FAILED', `retry delay must be a whole number of seconds ≥ 1, got ${delaySeconds}`));
      }
      const { queue, routingKey } = delayRoute(message.death_count, delaySeconds);
      return publish(FAILOVER_EXCHANGE, routingKey, encodeRetryMessage(message), { headers: { 'x-retry-count': amqpInt(message.death_count) } }, (current) =>
        ensureDelayQueue(current, queue, routingKey, delaySeconds),
      );
    },

    deadLetter(message: RetryMessage) {
      return publish(FAILOVER_EXCHANGE, DEAD_LETTER_ROUTING_KEY, encodeRetryMessage(message), { headers: { 'x-retry-count': amqpInt(message.death_count) } }, async () => undefined);
    },

    async requeue(queue: QueueName, body: string) {
      if (queue === 'event.trigger') return publish(triggerExchange, TRIGGER_TOPIC, body, {}, async () => undefined);
      const message = parseRetryMessage(body);
      // Straight to event.failover.retry, the way a delay queue's dead-lettering delivers it once its TTL ran out.
      return publish(FAILOVER_EXCHANGE, RETRY_ROUTING_KEY, body, { headers: { 'x-retry-count': amqpInt(message.death_count) } }, async () => undefined);
    },

    async consume(queue: QueueName, handler: MessageHandler, consumeOptions: ConsumeOptions): Promise<QueueConsumer> {
      if (!Number.isInteger(consumeOptions.prefetch) || consumeOptions.prefetch < 1) {
        throw new AsyncEventsError('VALIDATION_FAILED', `prefetch must be a whole number ≥ 1, got ${consumeOptions.prefetch}`);
      }
      const budget = createIntakeBudget(consumeOptions.prefetchBytes ?? DEFAULT_PREFETCH_BYTES);
      const consumer = plainConsumer(queue, handler, consumeOptions.prefetch, budget);
      try {
        await addConsumer(consumer);
      } catch (error) {
        if (error instanceof AsyncEventsError) throw error;
        throw unavailable(`refused a consumer on ${queue}: ${coerceError(error).message}`);
      }
      return { stop: () => stopConsumer(consumer) };
    },

    async enablePublishOrder() {
      try {
        await withOwnChannel((channel) => declarePublishOrderQueue(channel, triggerExchange));
      } catch (error) {
        if (error instanceof AsyncEventsError) throw error;
        throw new AsyncEventsError('QUEUE_UNAVAILABLE', `cannot declare queue ${PUBLISH_ORDER_QUEUE}: ${coerceError(error).message}`, { queue: PUBLISH_ORDER_QUEUE });
      }
    },

    publishOrderEnabled,

    async consumeInPublishOrder(handler: PublishOrderHandler, orderOptions: PublishOrderOptions): Promise<QueueConsumer> {
      checkPublishOrderOptions(orderOptions);
      await start();
      const reader = startOrderedReader(handler, orderOptions.maxBatch, {
        attach: addConsumer,
        detach: stopConsumer,
        isClosed: (channel) => closedChannels.has(channel),
        enabled: publishOrderEnabled,
        checkMs: options.publishOrderCheckMs ?? DEFAULT_PUBLISH_ORDER_CHECK_MS,
        logger,
      });
      orderedReaders.add(reader);
      return {
        async stop() {
          orderedReaders.delete(reader);
          await reader.stop();
        },
      };
    },

    // RabbitMQ copies every trigger into the publish-order queue; the reader never skips one.
    publishOrderPassed: async () => false,

    async depth(queue: QueueName): Promise<number> {
      try {
        // checkQueue closes its channel when the queue is missing, so it gets a channel of its own.
        const { messageCount } = await withOwnChannel((channel) => channel.checkQueue(queue));
        return messageCount;
      } catch (error) {
        if (error instanceof AsyncEventsError) throw error;
        throw new AsyncEventsError('QUEUE_UNAVAILABLE', `cannot read the depth of queue ${queue}: ${coerceError(error).message}`, { queue });
      }
    },

    async close() {
      if (closed) return;
      clearInterval(keepAlive);
      await Promise.all([...orderedReaders].map((reader) => reader.stop()));
      await Promise.all([...consumers].map(stopConsumer));
      closed = true;
      for (const waiter of waiters) waiter.reject(new AsyncEventsError('SHUTTING_DOWN', 'the AMQP transport is closed'));
      waiters.clear();
      if (session) session.alive = false;
      session = undefined;
      if (starting) await starting.catch(() => undefined);
      await recovering?.close();
    },
  };
}

function redact(url: string): string {
  return url.replace(/\/\/([^:@/]+):[^@/]*@/, '//$1:***@');
}
