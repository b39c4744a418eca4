import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isAsyncEventsError } from '../../src/errors.ts';
import { silentLogger } from '../../src/logger.ts';
import { createAmqpTransport } from '../../src/queue/amqp/index.ts';
import { encodeTriggerMessage, parseRetryMessage } from '../../src/queue/publish.ts';
import type { QueueDelivery } from '../../src/queue/transport.ts';
import type { RetryMessage } from '../../src/types.ts';
import { describeWith, freePort, missingReason, rabbitmqctl } from '../support/services.ts';
import { openAmqpEnv, type AmqpEnv } from './amqp-env.ts';
import { waitUntil } from './harness.ts';

const MAGENTO_AMQP_PHP = path.join(path.dirname(fileURLToPath(import.meta.url)), 'magento-amqp.php');
const INTEGER_TYPES = ['byte', 'short', 'signedint', 'long'];

function magentoAmqp(vhost: string, ...args: string[]): string {
  return execFileSync('php', [MAGENTO_AMQP_PHP, vhost, ...args], { encoding: 'utf8' });
}

interface QueueInfo {
  name: string;
  durable: boolean;
  auto_delete: boolean;
  exclusive: boolean;
  arguments: [string, string, string | number | boolean][];
}

/** Queues of the vhost as RabbitMQ itself reports them, arguments as name → value with integer types checked. */
function listQueues(vhost: string): Record<string, { durable: boolean; autoDelete: boolean; exclusive: boolean; arguments: Record<string, string | number | boolean> }> {
  const json = execFileSync('rabbitmqctl', rabbitmqctl('-q', 'list_queues', '-p', vhost, 'name', 'durable', 'auto_delete', 'exclusive', 'arguments', '--formatter', 'json'), { encoding: 'utf8' });
  const queues = JSON.parse(json) as QueueInfo[];
  return Object.fromEntries(
    queues.map((q) => {
      for (const [, type, value] of q.arguments) expect(typeof value === 'number' ? INTEGER_TYPES : typeof value === 'boolean' ? ['bool'] : ['longstr']).toContain(type);
      return [q.name, { durable: q.durable, autoDelete: q.auto_delete, exclusive: q.exclusive, arguments: Object.fromEntries(q.arguments.map(([k, , v]) => [k, v])) }];
    }),
  );
}

const delayArguments = (seconds: number) => ({
  'x-dead-letter-exchange': 'event.failover',
  'x-dead-letter-routing-key': 'event.retry',
  'x-message-ttl': seconds * 1000,
  'x-expires': seconds * 2000,
});
const plain = { durable: true, autoDelete: false, exclusive: false, arguments: {} };
const UPSTREAM_QUEUES = {
  'event.trigger': plain,
  'event.failover.retry': plain,
  'event.failover.deadletter': plain,
  'event.retry.init': { durable: true, autoDelete: true, exclusive: false, arguments: delayArguments(1) },
  'event.delay.4': { durable: true, autoDelete: true, exclusive: false, arguments: delayArguments(4) },
};

const retry = (n: number, deathCount: number): RetryMessage => ({
  subscription_id: n,
  death_count: deathCount,
  content: `{"entity_id":${n}}`,
  uuid: `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`,
});

describeWith(['rabbitmq'], 'AMQP transport', () => {
  let env: AmqpEnv;
  beforeAll(async () => {
    env = await openAmqpEnv('ae_queue_amqp');
  });
  afterAll(async () => {
    await env?.dispose();
  });

  it('keeps a delay queue declared while its messages may be in it, past its own expiry; it expires once let go', async () => {
    const transport = env.transport();
    await transport.setup();
    // event.delay.1 expires 2 s after its last declaration, messages in it or not.
    await transport.scheduleRetry(retry(3, 3), 1);
    await new Promise((resolve) => setTimeout(resolve, 3500));
    expect(Object.keys(listQueues(env.vhost))).toContain('event.delay.1');
    // Its message went on to event.failover.retry as usual (taken here, so later tests do not see it).
    const bodies: string[] = [];
    const consumer = await transport.consume('event.failover.retry', async (delivery) => void bodies.push(delivery.body), { prefetch: 1 });
    await waitUntil(() => bodies.length === 1, 'the kept delay queue’s message', 10_000);
    await consumer.stop();
    expect(parseRetryMessage(bodies[0] ?? '')).toEqual(retry(3, 3));
    await transport.close();
    // Nobody declares it now: it goes, as upstream's queue does (so the check above could have failed).
    await waitUntil(() => !Object.keys(listQueues(env.vhost)).includes('event.delay.1'), 'event.delay.1 to expire', 15_000);
  });

  it('publishes retries through upstream delay queues with its routing keys, properties and x-retry-count header', async () => {
    const transport = env.transport();
    await transport.setup();
    await transport.scheduleRetry(retry(1, 1), 1);
    await transport.scheduleRetry(retry(2, 2), 4);
    const first = await env.rawGet('event.retry.init');
    const second = await env.rawGet('event.delay.4');
    if (!first || !second) throw new Error('retries are not waiting in their delay queues');
    expect([first.fields.exchange, first.fields.routingKey, second.fields.exchange, second.fields.routingKey]).toEqual([
      'event.failover',
      'event.retry.init',
      'event.failover',
      'event.retry.4',
    ]);
    for (const [message, deaths] of [
      [first, 1],
      [second, 2],
    ] as const) {
      expect(message.properties.deliveryMode).toBe(2);
      expect(message.properties.messageId).toMatch(/^[0-9a-f]{32}$/);
      expect(message.properties.headers).toEqual({ 'x-retry-count': deaths });
    }
    expect(parseRetryMessage(second.content.toString())).toEqual(retry(2, 2));
    const queues = listQueues(env.vhost);
    expect(queues['event.retry.init']).toEqual(UPSTREAM_QUEUES['event.retry.init']);
    expect(queues['event.delay.4']).toEqual(UPSTREAM_QUEUES['event.delay.4']);
    await transport.close();
  });

  it('reconnects after the broker closes the connection: no message lost, consuming resumes', async () => {
    const logLines: string[] = [];
    const transport = env.transport({ logger: pino({ level: 'info' }, { write: (line: string) => void logLines.push(line) }) });
    await transport.setup();
    await env.purge('event.trigger');
    const handled = new Set<string>();
    const consumer = await transport.consume(
      'event.trigger',
      async (delivery) => {
        await new Promise((resolve) => setTimeout(resolve, 2));
        handled.add(delivery.body);
      },
      { prefetch: 10 },
    );
    const bodies = Array.from({ length: 300 }, (_, i) => encodeTriggerMessage('e', { i }));
    const published: Promise<void>[] = [];
    for (const [i, body] of bodies.entries()) {
      if (i === 100) {
        await waitUntil(() => handled.size >= 20, 'the first deliveries');
        env.closeConnectionsFromBroker();
      }
      published.push(transport.publishTrigger(body));
      if (i % 10 === 9) await Promise.all(published.slice(-10));
    }
    await Promise.all(published);
    await waitUntil(() => handled.size === bodies.length, 'every message after the reconnect', 20_000);
    await consumer.stop();
    const messages = logLines.map((line) => (JSON.parse(line) as { msg: string }).msg);
    expect(messages.filter((m) => m === 'AMQP connected, topology declared')).toHaveLength(2);
    expect(messages).toContain('AMQP connection lost; reconnecting');
    expect(await transport.depth('event.trigger')).toBe(0);
    await transport.close();
  });

  it('acknowledges no message still in hand with the acks of those after it: a broker reset brings back that one only', async () => {
    const transport = env.transport();
    await transport.setup();
    await env.purge('event.trigger');
    const bodies = Array.from({ length: 20 }, (_, i) => encodeTriggerMessage('e', { i }));
    const seen: QueueDelivery[] = [];
    let release = () => {};
    const held = new Promise<void>((resolve) => (release = resolve));
    const consumer = await transport.consume(
      'event.trigger',
      async (delivery) => {
        seen.push(delivery);
        if (delivery.body === bodies[0] && !delivery.redelivered) await held;
      },
      { prefetch: 50 },
    );
    for (const body of bodies) await transport.publishTrigger(body);
    // Every later message was acknowledged while the first is still in hand.
    const unacknowledged = () => {
      const rows = JSON.parse(execFileSync('rabbitmqctl', rabbitmqctl('-q', 'list_queues', '-p', env.vhost, 'name', 'messages_unacknowledged', '--formatter', 'json'), { encoding: 'utf8' })) as { name: string; messages_unacknowledged: number }[];
      return rows.find((row) => row.name === 'event.trigger')?.messages_unacknowledged;
    };
    await waitUntil(() => seen.length === bodies.length && unacknowledged() === 1, 'the later messages acknowledged', 10_000);
    env.closeConnectionsFromBroker();
    release();
    await waitUntil(() => seen.length === bodies.length + 1, 'the message in hand redelivered', 20_000);
    await consumer.stop();
    expect(seen.at(-1)).toMatchObject({ body: bodies[0], redelivered: true });
    expect(seen.filter((d) => d.body !== bodies[0]).map((d) => d.body)).toEqual(bodies.slice(1));
    expect(await transport.depth('event.trigger')).toBe(0);
    await transport.close();
  });

  it('pipelines publishes through backpressure: 2000 × 16 KB at once, each resolved by its own confirm', async () => {
    const transport = env.transport();
    await transport.setup();
    await env.purge('event.trigger');
    const padding = 'x'.repeat(16 * 1024);
    const started = Date.now();
    await Promise.all(Array.from({ length: 2000 }, (_, i) => transport.publishTrigger(encodeTriggerMessage('e', { i, padding }))));
    const elapsed = Date.now() - started;
    expect(await transport.depth('event.trigger')).toBe(2000);
    // Serial confirms manage ~1.6k small messages/s here (reference/deps.md §5); pipelined, 32 MB take far less.
    expect(elapsed).toBeLessThan(10_000);
    await env.purge('event.trigger');
    await transport.close();
  });

  it('re-declares a delay queue that expired between two retries instead of losing the message', async () => {
    const transport = env.transport();
    await transport.setup();
    await transport.scheduleRetry(retry(7, 2), 4);
    await env.deleteQueue('event.delay.4'); // as x-expires would
    await transport.scheduleRetry(retry(8, 2), 4);
    const message = await env.rawGet('event.delay.4');
    expect(message && parseRetryMessage(message.content.toString())).toEqual(retry(8, 2));
    await transport.close();
  });

  it('rejects a publish with QUEUE_UNAVAILABLE when the broker stays away past the bound', async () => {
    const port = await freePort();
    const transport = createAmqpTransport({ url: `amqp://guest:guest@127.0.0.1:${port}/`, logger: silentLogger(), unavailableTimeoutMs: 400 });
    const started = Date.now();
    const error = await transport.publishTrigger('["e","{}",0]').catch((e: unknown) => e);
    expect(isAsyncEventsError(error, 'QUEUE_UNAVAILABLE')).toBe(true);
    expect(Date.now() - started).toBeLessThan(2000);
    expect((error as Error).message).toMatch(/RabbitMQ is unreachable \(waited 400 ms\)/);
    await transport.close();
  });

  it('says why when the broker refuses the topology (a queue declared with other arguments)', async () => {
    const own = await openAmqpEnv('ae_queue_bad');
    try {
      const { connect } = await import('amqplib');
      const connection = await connect(own.url);
      const channel = await connection.createChannel();
      await channel.assertQueue('event.trigger', { durable: true, arguments: { 'x-max-length': 10 } });
      await connection.close();
      const transport = own.transport({ unavailableTimeoutMs: 1500 });
      const error = await transport.setup().catch((e: unknown) => e);
      expect(isAsyncEventsError(error, 'QUEUE_UNAVAILABLE')).toBe(true);
      expect((error as Error).message).toMatch(/PRECONDITION_FAILED - inequivalent arg 'x-max-length' for queue 'event.trigger'/);
    } finally {
      await own.dispose();
    }
  });

  describe('publish-order queue', () => {
    let own: AmqpEnv;
    beforeAll(async () => {
      own = await openAmqpEnv('ae_queue_order');
    });
    afterAll(async () => {
      await own?.dispose();
    });
    const ids = (batches: QueueDelivery[][]) => [...new Map(batches.flat().map((d) => [d.messageId, d.body])).values()];

    it('is declared only by enablePublishOrder: durable, single active consumer, bound like event.trigger', async () => {
      const transport = own.transport();
      await transport.setup();
      expect(Object.keys(listQueues(own.vhost))).not.toContain('async_events.trigger.ordered');
      expect(await transport.publishOrderEnabled()).toBe(false);
      await transport.enablePublishOrder();
      expect(listQueues(own.vhost)['async_events.trigger.ordered']).toEqual({ durable: true, autoDelete: false, exclusive: false, arguments: { 'x-single-active-consumer': true } });
      // A trigger reaches both queues; the normal one is left as Magento's.
      await transport.publishTrigger(encodeTriggerMessage('e', { copied: true }));
      const copy = await own.rawGet('async_events.trigger.ordered');
      const original = await own.rawGet('event.trigger');
      expect(copy && copy.content.toString()).toBe(encodeTriggerMessage('e', { copied: true }));
      expect(copy && copy.properties.messageId).toBe(original && original.properties.messageId);
      expect(listQueues(own.vhost)['event.trigger']).toEqual(plain);
      await transport.close();
      await own.deleteQueue('async_events.trigger.ordered');
      await own.purge('event.trigger');
    });

    it('re-subscribes after the broker closes the connection, order kept (the batch in hand comes back redelivered)', async () => {
      const transport = own.transport();
      await transport.setup();
      await transport.enablePublishOrder();
      const batches: QueueDelivery[][] = [];
      const reader = await transport.consumeInPublishOrder(
        async (batch) => {
          await new Promise((resolve) => setTimeout(resolve, 3));
          batches.push([...batch]);
        },
        { maxBatch: 10 },
      );
      const bodies = Array.from({ length: 200 }, (_, i) => encodeTriggerMessage('e', { i }));
      for (const [i, body] of bodies.entries()) {
        if (i === 100) {
          await waitUntil(() => batches.flat().length >= 30, 'the first batches');
          own.closeConnectionsFromBroker();
        }
        await transport.publishTrigger(body);
      }
      await waitUntil(() => ids(batches).length === bodies.length, 'every trigger after the reconnect', 20_000);
      await reader.stop();
      // Deduped by message id (a batch cut off before its ack is handed again), the sequence is publish order.
      expect(ids(batches)).toEqual(bodies);
      const flat = batches.flat().map((d) => d.body);
      for (let i = 1; i < flat.length; i++) expect(bodies.indexOf(flat[i]!) <= bodies.indexOf(flat[i - 1]!) ? batches.flat()[i]!.redelivered : true).toBe(true);
      await transport.close();
      await own.deleteQueue('async_events.trigger.ordered');
      await own.purge('event.trigger');
    });

    it('goes back to waiting when the queue is deleted, and resumes once publish order is enabled again', async () => {
      const transport = own.transport();
      await transport.setup();
      await transport.enablePublishOrder();
      const batches: QueueDelivery[][] = [];
      const reader = await transport.consumeInPublishOrder(async (batch) => void batches.push([...batch]), { maxBatch: 5 });
      await transport.publishTrigger(encodeTriggerMessage('e', { n: 1 }));
      await waitUntil(() => batches.length === 1, 'the first batch');
      await own.deleteQueue('async_events.trigger.ordered');
      await new Promise((resolve) => setTimeout(resolve, 500));
      expect(await transport.publishOrderEnabled()).toBe(false);
      // The rest of the transport still works after the reader lost its queue.
      await transport.publishTrigger(encodeTriggerMessage('e', { n: 'unordered' }));
      await transport.enablePublishOrder();
      await transport.publishTrigger(encodeTriggerMessage('e', { n: 2 }));
      await waitUntil(() => batches.length === 2, 'the batch after enabling again', 10_000);
      await reader.stop();
      expect(batches.map((b) => b.map((d) => d.body))).toEqual([[encodeTriggerMessage('e', { n: 1 })], [encodeTriggerMessage('e', { n: 2 })]]);
      await transport.close();
      await own.deleteQueue('async_events.trigger.ordered');
      await own.purge('event.trigger');
    });
  });

  describe.skipIf(missingReason('php') !== undefined)('side by side with Magento and upstream PHP', () => {
    it('declares what PHP already declared without a PRECONDITION_FAILED', async () => {
      const own = await openAmqpEnv('ae_queue_php1');
      try {
        expect(magentoAmqp(own.vhost, 'declare')).toBe('ok\n');
        const transport = own.transport();
        await transport.setup();
        await transport.scheduleRetry(retry(1, 1), 1);
        await transport.scheduleRetry(retry(2, 2), 4);
        expect(listQueues(own.vhost)).toEqual(UPSTREAM_QUEUES);
      } finally {
        await own.dispose();
      }
    });

    it('lets PHP declare after us (a later setup:upgrade) without a PRECONDITION_FAILED', async () => {
      const own = await openAmqpEnv('ae_queue_php2');
      try {
        const transport = own.transport();
        await transport.setup();
        await transport.scheduleRetry(retry(1, 1), 1);
        await transport.scheduleRetry(retry(2, 2), 4);
        expect(listQueues(own.vhost)).toEqual(UPSTREAM_QUEUES);
        expect(magentoAmqp(own.vhost, 'declare')).toBe('ok\n');
      } finally {
        await own.dispose();
      }
    });

    it("consumes a retry that upstream's PHP RetryManager placed, after its delay", async () => {
      const transport = env.transport();
      await transport.setup();
      const bodies: string[] = [];
      const consumer = await transport.consume('event.failover.retry', async (delivery) => void bodies.push(delivery.body), { prefetch: 1 });
      const body = '{"subscription_id":9,"death_count":1,"content":"{\\"entity_id\\":5}","uuid":"00000000-0000-4000-8000-000000000009"}';
      const started = Date.now();
      expect(magentoAmqp(env.vhost, 'retry', '1', '1', body)).toBe('ok\n');
      await waitUntil(() => bodies.length === 1, 'the PHP retry', 5000);
      const elapsed = Date.now() - started;
      await consumer.stop();
      expect(bodies).toEqual([body]);
      expect(elapsed).toBeGreaterThanOrEqual(700);
      expect(parseRetryMessage(body)).toEqual({ subscription_id: 9, death_count: 1, content: '{"entity_id":5}', uuid: '00000000-0000-4000-8000-000000000009' });
      await transport.close();
    });
  });
});
