import type { Channel, ConsumeMessage } from 'amqplib';

/*
 * The acknowledgements of one consuming channel, sent together: every ack is a frame the broker must process and
 * a socket write here, and a draining consumer finishes messages in groups (the delivery log commits its rows
 * together). Messages handled in one turn of the event loop are acknowledged at its end: those that are the
 * channel's oldest outstanding deliveries in one multiple ack, the rest each on its own, so a slow message never
 * holds back the acks of the messages after it. An ack is still sent only once its message was handled.
 */

export interface AckBatcher {
  /** A message delivered on the channel: outstanding until it is acknowledged or handed back. */
  delivered(message: ConsumeMessage): void;
  /** The message was handled: acknowledged at the end of this turn; resolves once its ack was written. */
  ack(message: ConsumeMessage): Promise<void>;
  /** The message goes back to the queue, at once. */
  requeue(message: ConsumeMessage): void;
}

/** `failed` hears of an ack or nack the channel refused (it closed): the broker hands those messages out again. */
export function createAckBatcher(channel: Channel, failed: (error: unknown, message: ConsumeMessage) => void): AckBatcher {
  /** Delivery tag → message, in delivery order (tags only grow on a channel). */
  const outstanding = new Map<number, ConsumeMessage>();
  /** Handled, not yet acknowledged. */
  const handled = new Map<number, ConsumeMessage>();
  let turn: { written: Promise<void>; resolve: () => void } | undefined;

  const settle = (message: ConsumeMessage, action: () => void): void => {
    try {
      action();
    } catch (error) {
      failed(error, message);
    }
  };
  const send = (message: ConsumeMessage, multiple: boolean): void => settle(message, () => channel.ack(message, multiple));

  function flush(): void {
    const ending = turn;
    turn = undefined;
    // The oldest outstanding deliveries that were all handled go in one multiple ack up to the last of them.
    let upTo: ConsumeMessage | undefined;
    for (const [tag, message] of outstanding) {
      if (!handled.has(tag)) break;
      upTo = message;
      outstanding.delete(tag);
      handled.delete(tag);
    }
    if (upTo) send(upTo, true);
    for (const [tag, message] of handled) {
      outstanding.delete(tag);
      send(message, false);
    }
    handled.clear();
    ending?.resolve();
  }

  return {
    delivered(message) {
      outstanding.set(message.fields.deliveryTag, message);
    },
    ack(message) {
      handled.set(message.fields.deliveryTag, message);
      if (!turn) {
        let resolve = () => {};
        const written = new Promise<void>((r) => (resolve = r));
        turn = { written, resolve };
        setImmediate(flush);
      }
      return turn.written;
    },
    requeue(message) {
      outstanding.delete(message.fields.deliveryTag);
      settle(message, () => channel.nack(message, false, true));
    },
  };
}
