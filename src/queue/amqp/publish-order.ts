import type { Channel, ConsumeMessage } from 'amqplib';
import { coerceError } from '../../errors.ts';
import type { Logger } from '../../logger.ts';
import { PUBLISH_ORDER_QUEUE, TRIGGER_QUEUE } from '../names.ts';
import { createPause, handUntilAccepted } from '../publish-order.ts';
import type { PublishOrderHandler, QueueConsumer, QueueDelivery } from '../transport.ts';
import { amqpMessageId } from '../message-id.ts';
import type { ConsumerState } from './consumer-state.ts';

/** How long the first message of a batch waits for more to arrive before the batch is handed out. */
const GATHER_MS = 20;

/** What the reader needs from the transport: its subscription machinery (reconnects included) and the enabled check. */
export interface OrderedReaderDeps {
  /** Subscribes `state` now and after every reconnect; rejects when the broker refuses it. */
  attach(state: ConsumerState): Promise<void>;
  /** Cancels the subscription, waits for `inFlight`, closes its channel. */
  detach(state: ConsumerState): Promise<void>;
  /** Whether a channel has closed (its unacknowledged messages come back redelivered). */
  isClosed(channel: Channel): boolean;
  enabled(): Promise<boolean>;
  readonly checkMs: number;
  readonly logger: Logger;
}

interface Held {
  readonly channel: Channel;
  readonly message: ConsumeMessage;
}

/**
 * Reads `async_events.trigger.ordered`, a queue with a single active consumer: whichever replica subscribed first
 * gets every message in order, the others wait their turn. The broker hands out at most maxBatch unacknowledged
 * messages (the prefetch); what has arrived is gathered into a batch, and one cumulative ack settles it. A batch
 * is never nacked: handed back (channel closed) its messages return in their order.
 */
export function startOrderedReader(handler: PublishOrderHandler, maxBatch: number, deps: OrderedReaderDeps): QueueConsumer {
  const { logger } = deps;
  const backoff = createPause();
  const recheck = createPause();
  const held: Held[] = [];
  let stopped = false;
  let busy = false;
  let gather: NodeJS.Timeout | undefined;

  const state: ConsumerState = {
    source: PUBLISH_ORDER_QUEUE,
    prefetch: maxBatch,
    stopped: false,
    channel: undefined,
    consumerTag: undefined,
    inFlight: new Set(),
    take(channel, message) {
      held.push({ channel, message });
      schedule();
    },
    refused(error) {
      logger.warn({ err: error, queue: PUBLISH_ORDER_QUEUE }, 'publish-order queue refused the reader; waiting for it to be enabled again');
      if (!stopped) waiting = waitAndAttach();
    },
  };

  function schedule(): void {
    if (busy || stopped) return;
    if (held.length >= maxBatch) next();
    else gather ??= setTimeout(next, GATHER_MS);
  }

  function next(): void {
    clearTimeout(gather);
    gather = undefined;
    if (busy || stopped) return;
    // Messages of a closed channel come back redelivered on the next one: the copies in hand are dropped.
    while (held.length > 0 && deps.isClosed(held[0]!.channel)) held.shift();
    const first = held[0];
    if (!first) return;
    let count = 1;
    while (count < held.length && count < maxBatch && held[count]!.channel === first.channel) count++;
    const batch = held.splice(0, count);
    busy = true;
    const work = handleBatch(batch).finally(() => {
      busy = false;
      state.inFlight.delete(work);
      schedule();
    });
    state.inFlight.add(work);
  }

  async function handleBatch(batch: readonly Held[]): Promise<void> {
    const { channel } = batch[0]!;
    const last = batch[batch.length - 1]!;
    if (deps.isClosed(channel)) return;
    const deliveriesOf = (failures: number): QueueDelivery[] =>
      batch.map(({ message }) => ({
        queue: TRIGGER_QUEUE,
        body: message.content.toString('utf8'),
        messageId: amqpMessageId(message),
        redelivered: message.fields.redelivered || failures > 0,
      }));
    // Given up (stopped, or the channel closed): the batch stays unacknowledged and returns to the queue, in order.
    if (!(await handUntilAccepted(handler, deliveriesOf, { pause: backoff, logger, givenUp: () => stopped || deps.isClosed(channel) }))) return;
    try {
      channel.ack(last.message, true);
    } catch (error) {
      logger.warn({ err: coerceError(error), first: amqpMessageId(batch[0]!.message) }, 'could not acknowledge a publish-order batch; it will be redelivered');
    }
  }

  async function waitAndAttach(): Promise<void> {
    while (!stopped) {
      let enabled = false;
      try {
        enabled = await deps.enabled();
      } catch (error) {
        logger.debug({ err: error }, 'could not check whether publish order is enabled');
      }
      if (enabled && !stopped) {
        try {
          state.stopped = false;
          await deps.attach(state);
          return;
        } catch (error) {
          logger.warn({ err: error }, 'could not subscribe the publish-order reader; trying again');
        }
      }
      if (!stopped) await recheck.sleep(deps.checkMs);
    }
  }

  let waiting = waitAndAttach();

  return {
    async stop() {
      stopped = true;
      clearTimeout(gather);
      backoff.interrupt();
      recheck.interrupt();
      await waiting;
      await deps.detach(state);
    },
  };
}
