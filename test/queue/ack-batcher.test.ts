import type { Channel, ConsumeMessage } from 'amqplib';
import { describe, expect, it } from 'vitest';
import { createAckBatcher } from '../../src/queue/amqp/ack-batcher.ts';

/* The acks of a consuming channel, against a channel that records what it was told (the AMQP suites run the real one). */

type Settled = [kind: 'ack' | 'nack', tag: number, multiple: boolean];

function recordingChannel(options: { closed?: boolean } = {}) {
  const settled: Settled[] = [];
  const channel = {
    ack(message: ConsumeMessage, multiple = false) {
      if (options.closed) throw new Error('Channel closed');
      settled.push(['ack', message.fields.deliveryTag, multiple]);
    },
    nack(message: ConsumeMessage, multiple = false) {
      if (options.closed) throw new Error('Channel closed');
      settled.push(['nack', message.fields.deliveryTag, multiple]);
    },
  } as unknown as Channel;
  return { channel, settled };
}

const message = (deliveryTag: number) => ({ fields: { deliveryTag }, content: Buffer.from(''), properties: {} }) as unknown as ConsumeMessage;

function delivered(batcher: ReturnType<typeof createAckBatcher>, count: number): ConsumeMessage[] {
  const messages = Array.from({ length: count }, (_, i) => message(i + 1));
  for (const m of messages) batcher.delivered(m);
  return messages;
}

describe('AMQP ack batcher', () => {
  it('acknowledges the oldest outstanding messages handled in one turn with one multiple ack', async () => {
    const { channel, settled } = recordingChannel();
    const batcher = createAckBatcher(channel, () => undefined);
    const messages = delivered(batcher, 5);
    const written = messages.slice(0, 4).map((m) => batcher.ack(m));
    expect(settled).toEqual([]);
    await Promise.all(written);
    expect(settled).toEqual([['ack', 4, true]]);
    await batcher.ack(messages[4]!);
    expect(settled).toEqual([['ack', 4, true], ['ack', 5, true]]);
  });

  it('never covers a message still being handled: those after it are acknowledged one by one, and not held back', async () => {
    const { channel, settled } = recordingChannel();
    const batcher = createAckBatcher(channel, () => undefined);
    const [first, second, third, fourth] = delivered(batcher, 4);
    await Promise.all([batcher.ack(first!), batcher.ack(third!), batcher.ack(fourth!)]);
    expect(settled).toEqual([['ack', 1, true], ['ack', 3, false], ['ack', 4, false]]);
    await batcher.ack(second!);
    expect(settled.at(-1)).toEqual(['ack', 2, true]);
  });

  it('hands a message back at once, and a later multiple ack passes over it', async () => {
    const { channel, settled } = recordingChannel();
    const batcher = createAckBatcher(channel, () => undefined);
    const [first, second, third] = delivered(batcher, 3);
    batcher.requeue(second!);
    expect(settled).toEqual([['nack', 2, false]]);
    await Promise.all([batcher.ack(first!), batcher.ack(third!)]);
    expect(settled).toEqual([['nack', 2, false], ['ack', 3, true]]);
  });

  it('reports the acks a closed channel refused, and still resolves', async () => {
    const { channel } = recordingChannel({ closed: true });
    const refused: number[] = [];
    const batcher = createAckBatcher(channel, (_error, m) => refused.push(m.fields.deliveryTag));
    const [first, second] = delivered(batcher, 2);
    await batcher.ack(second!);
    await batcher.ack(first!);
    batcher.requeue(message(3));
    expect(refused).toEqual([2, 1, 3]);
  });
});
