import { execFileSync } from 'node:child_process';
import { connect, type ChannelModel, type GetMessage } from 'amqplib';
import { silentLogger } from '../../src/logger.ts';
import { createAmqpTransport, type AmqpTransportOptions } from '../../src/queue/amqp/index.ts';
import type { QueueTransport } from '../../src/queue/transport.ts';
import { createVhost, deleteVhost, rabbitmqctl } from '../support/services.ts';

/** A vhost of its own, transports on it, and a raw amqplib connection to look at what is really on the broker. */
export interface AmqpEnv {
  readonly vhost: string;
  readonly url: string;
  transport(extra?: Partial<AmqpTransportOptions>): QueueTransport;
  /** basic.get (no ack) on a queue through a raw connection. */
  rawGet(queue: string): Promise<GetMessage | false>;
  purge(...queues: string[]): Promise<void>;
  deleteQueue(queue: string): Promise<void>;
  /** Closes every client connection of this vhost from the broker's side. */
  closeConnectionsFromBroker(): void;
  dispose(): Promise<void>;
}

export async function openAmqpEnv(prefix: string): Promise<AmqpEnv> {
  const { name, url } = createVhost(prefix);
  const transports: QueueTransport[] = [];
  let raw: ChannelModel | undefined;
  const rawChannel = async () => {
    if (!raw) {
      raw = await connect(url);
      raw.on('error', () => undefined);
    }
    const channel = await raw.createChannel();
    channel.on('error', () => undefined);
    return channel;
  };
  return {
    vhost: name,
    url,
    transport(extra = {}) {
      const transport = createAmqpTransport({ url, logger: silentLogger(), reconnect: { initialDelayMs: 100, maxDelayMs: 1000 }, publishOrderCheckMs: 100, ...extra });
      transports.push(transport);
      return transport;
    },
    async rawGet(queue) {
      const channel = await rawChannel();
      try {
        return await channel.get(queue, { noAck: true });
      } finally {
        await channel.close();
      }
    },
    async purge(...queues) {
      const channel = await rawChannel();
      try {
        for (const queue of queues) await channel.purgeQueue(queue);
      } finally {
        await channel.close();
      }
    },
    async deleteQueue(queue) {
      const channel = await rawChannel();
      try {
        await channel.deleteQueue(queue);
      } finally {
        await channel.close();
      }
    },
    closeConnectionsFromBroker() {
      execFileSync('rabbitmqctl', rabbitmqctl('-q', 'close_all_connections', '--vhost', name, 'test: broker closes the connection'), { stdio: 'ignore' });
      raw = undefined;
    },
    async dispose() {
      await Promise.allSettled(transports.map((t) => t.close()));
      await raw?.close().catch(() => undefined);
      deleteVhost(name);
    },
  };
}
