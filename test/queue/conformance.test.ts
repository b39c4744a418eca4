import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { isAsyncEventsError } from '../../src/errors.ts';
import { encodeRetryMessage, encodeTriggerMessage, parseRetryMessage } from '../../src/queue/publish.ts';
import type { QueueDelivery, QueueTransport } from '../../src/queue/transport.ts';
import type { RetryMessage } from '../../src/types.ts';
import { describeWith } from '../support/services.ts';
import { QUEUE_CASES, waitUntil, type Harness } from './harness.ts';

/*
 * One suite, three transports: RabbitMQ, and Magento's database queue on MariaDB and on SQLite. Every promise of
 * QueueTransport is checked against each, with the raw storage underneath inspected where the format matters.
 */

const retry = (n: number, deathCount: number): RetryMessage => ({
  subscription_id: n,
  death_count: deathCount,
  content: JSON.stringify({ specversion: '1.0', id: `uuid-${n}`, source: '1', type: 'sales.order.created', data: { n } }),
  uuid: `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`,
});

describe.each(QUEUE_CASES)('queue conformance: $name', (queueCase) => {
  describeWith(queueCase.services, queueCase.name, () => {
    let harness: Harness;
    let transport: QueueTransport;

    beforeAll(async () => {
      harness = await queueCase.open();
      transport = await harness.transport();
    });
    afterAll(async () => {
      await harness?.dispose();
    });
    beforeEach(async () => {
      await harness.reset();
    });

    it('stores a trigger exactly as Magento publishes it and delivers the same bytes', async () => {
      const body = encodeTriggerMessage('sales.order.created', { id: 'a/é' }, 1);
      await transport.publishTrigger(body);
      expect(await harness.takeRawTrigger()).toBe(body);

      await transport.publishTrigger(body);
      const seen: QueueDelivery[] = [];
      const consumer = await transport.consume('event.trigger', async (delivery) => void seen.push(delivery), { prefetch: 1 });
      await waitUntil(() => seen.length === 1, 'the delivery');
      await consumer.stop();
      expect(seen[0]).toMatchObject({ queue: 'event.trigger', body, redelivered: false });
      expect(seen[0]?.messageId).toMatch(/^\S+$/);
      expect(await transport.depth('event.trigger')).toBe(0);
    });

    it('consumes a trigger that Magento itself published', async () => {
      const body = '["customer.created","{\\"customerId\\":\\"7\\"}","1"]';
      await harness.publishAsMagento(body);
      const bodies: string[] = [];
      const consumer = await transport.consume('event.trigger', async (delivery) => void bodies.push(delivery.body), { prefetch: 5 });
      await waitUntil(() => bodies.length === 1, 'the delivery');
      await consumer.stop();
      expect(bodies).toEqual([body]);
    });

    it('handles no more body bytes at once than prefetchBytes, one message at least', async () => {
      const bodies = Array.from({ length: 6 }, (_, i) => encodeTriggerMessage('sales.order.created', { id: i, pad: 'x'.repeat(1000) }, 1));
      for (const body of bodies) await transport.publishTrigger(body);
      const size = bodies[0]?.length ?? 0;
      let running = 0;
      let most = 0;
      const seen: string[] = [];
      const handler = async (delivery: QueueDelivery) => {
        running++;
        most = Math.max(most, running);
        await new Promise((resolve) => setTimeout(resolve, 100));
        running--;
        seen.push(delivery.body);
      };
      // Room for two bodies: the third waits although the count prefetch would take all six.
      const consumer = await transport.consume('event.trigger', handler, { prefetch: 10, prefetchBytes: size * 2 + 10 });
      await waitUntil(() => seen.length === 6, 'all six');
      await consumer.stop();
      expect(most).toBe(2);
      expect([...seen].sort()).toEqual([...bodies].sort());

      // A budget smaller than one message still lets that message through, one at a time.
      seen.length = 0;
      most = 0;
      for (const body of bodies.slice(0, 3)) await transport.publishTrigger(body);
      const small = await transport.consume('event.trigger', handler, { prefetch: 10, prefetchBytes: 10 });
      await waitUntil(() => seen.length === 3, 'all three');
      await small.stop();
      expect(most).toBe(1);
    });

    it('delivers in publish order to one consumer with prefetch 1', async () => {
      const bodies = Array.from({ length: 40 }, (_, i) => encodeTriggerMessage('e', { i }));
      await Promise.all(bodies.map((body) => transport.publishTrigger(body)));
      // Concurrent publishes may be stored in any order; what is promised is that the consumer sees storage order.
      const stored: string[] = [];
      const order: string[] = [];
      const consumer = await transport.consume(
        'event.trigger',
        async (delivery) => {
          order.push(delivery.body);
          await new Promise((resolve) => setTimeout(resolve, 1));
        },
        { prefetch: 1 },
      );
      await waitUntil(() => order.length === bodies.length, 'all deliveries');
      await consumer.stop();
      expect([...order].sort()).toEqual([...bodies].sort());

      // Published one after the other, storage order is publish order.
      for (const body of bodies) await transport.publishTrigger(body);
      const second = await transport.consume('event.trigger', async (delivery) => void stored.push(delivery.body), { prefetch: 1 });
      await waitUntil(() => stored.length === bodies.length, 'all deliveries');
      await second.stop();
      expect(stored).toEqual(bodies);
    });

    it('lets two competing consumers handle 500 messages, each exactly once', async () => {
      const bodies = Array.from({ length: 500 }, (_, i) => encodeTriggerMessage('e', { i }));
      await Promise.all(bodies.map((body) => transport.publishTrigger(body)));
      const other = await harness.transport();
      const handled = new Map<string, number>();
      const perConsumer = [0, 0];
      const handlerOf = (index: number) => async (delivery: QueueDelivery) => {
        await new Promise((resolve) => setImmediate(resolve));
        handled.set(delivery.body, (handled.get(delivery.body) ?? 0) + 1);
        perConsumer[index] = (perConsumer[index] ?? 0) + 1;
      };
      const consumers = [await transport.consume('event.trigger', handlerOf(0), { prefetch: 10 }), await other.consume('event.trigger', handlerOf(1), { prefetch: 10 })];
      await waitUntil(() => handled.size === bodies.length, '500 handled messages', 20_000);
      await Promise.all(consumers.map((c) => c.stop()));
      await other.close();
      expect([...handled.values()].every((count) => count === 1)).toBe(true);
      expect(perConsumer[0]! + perConsumer[1]!).toBe(500);
      expect(perConsumer[0]).toBeGreaterThan(0);
      expect(perConsumer[1]).toBeGreaterThan(0);
      expect(await transport.depth('event.trigger')).toBe(0);
    });

    it('hands a rejected message back and delivers it again', async () => {
      const body = encodeTriggerMessage('e', { id: 1 });
      await transport.publishTrigger(body);
      const deliveries: QueueDelivery[] = [];
      const consumer = await transport.consume(
        'event.trigger',
        async (delivery) => {
          deliveries.push(delivery);
          if (deliveries.length === 1) throw new Error('callback failed');
        },
        { prefetch: 1 },
      );
      await waitUntil(() => deliveries.length === 2, 'the redelivery');
      await consumer.stop();
      expect(deliveries.map((d) => [d.body, d.redelivered])).toEqual([
        [body, false],
        [body, true],
      ]);
      expect(deliveries[1]?.messageId).toBe(deliveries[0]?.messageId);
      expect(await transport.depth('event.trigger')).toBe(0);
    });

    it('makes retries due after their delay (1 s and 4 s, measured)', async () => {
      const arrivals = new Map<number, number>();
      const messages = new Map<number, RetryMessage>();
      const consumer = await transport.consume(
        'event.failover.retry',
        async (delivery) => {
          const message = parseRetryMessage(delivery.body);
          arrivals.set(message.subscription_id, Date.now());
          messages.set(message.subscription_id, message);
        },
        { prefetch: 5 },
      );
      const start = Date.now();
      await Promise.all([transport.scheduleRetry(retry(1, 1), 1), transport.scheduleRetry(retry(2, 2), 4)]);
      await waitUntil(() => arrivals.size === 2, 'both retries', 9000);
      await consumer.stop();
      const after = (n: number) => ((arrivals.get(n) ?? 0) - start) / 1000;
      const { early, late } = await harness.retryTolerance();
      expect(after(1)).toBeGreaterThanOrEqual(1 - early);
      expect(after(1)).toBeLessThanOrEqual(1 + late);
      expect(after(2)).toBeGreaterThanOrEqual(4 - early);
      expect(after(2)).toBeLessThanOrEqual(4 + late);
      expect(messages.get(1)).toEqual(retry(1, 1));
      expect(messages.get(2)).toEqual(retry(2, 2));
    });

    it('hands a rejected retry back and delivers it again', async () => {
      await transport.scheduleRetry(retry(3, 2), 1);
      const bodies: string[] = [];
      const consumer = await transport.consume(
        'event.failover.retry',
        async (delivery) => {
          bodies.push(delivery.body);
          if (bodies.length === 1) throw new Error('sink down');
        },
        { prefetch: 1 },
      );
      await waitUntil(() => bodies.length === 2, 'the redelivered retry', 6000);
      await consumer.stop();
      expect(parseRetryMessage(bodies[1] ?? '')).toEqual(retry(3, 2));
      expect(await transport.depth('event.failover.retry')).toBe(0);
    });

    it('keeps dead letters in event.failover.deadletter', async () => {
      await transport.deadLetter(retry(4, 5));
      const bodies = await harness.deadLetters();
      expect(bodies.map((body) => parseRetryMessage(body))).toEqual([retry(4, 5)]);
      expect(bodies[0]).toBe(
        `{"subscription_id":4,"death_count":5,"content":${JSON.stringify(retry(4, 5).content).replaceAll('/', '\\/')},"uuid":"${retry(4, 5).uuid}"}`,
      );
    });

    it('counts waiting messages, not those being handled', async () => {
      for (let i = 0; i < 3; i++) await transport.publishTrigger(encodeTriggerMessage('e', { i }));
      expect(await transport.depth('event.trigger')).toBe(3);
      let release: () => void = () => undefined;
      const held = new Promise<void>((resolve) => (release = resolve));
      let started = 0;
      const consumer = await transport.consume(
        'event.trigger',
        async () => {
          started++;
          await held;
        },
        { prefetch: 1 },
      );
      await waitUntil(() => started === 1, 'the first handler');
      await waitUntil(async () => (await transport.depth('event.trigger')) === 2, 'depth 2 while one is in flight', 3000);
      release();
      await waitUntil(async () => (await transport.depth('event.trigger')) === 0, 'depth 0', 5000);
      await consumer.stop();
      expect(started).toBe(3);
    });

    it('requeues a trigger, even one that cannot be handled, exactly as Magento publishes it', async () => {
      const body = encodeTriggerMessage('sales.order.created', { id: 'redriven/é' }, '1');
      await transport.requeue('event.trigger', body);
      expect(await harness.takeRawTrigger()).toBe(body);

      const bodies = [body, 'not json at all'];
      for (const b of bodies) await transport.requeue('event.trigger', b);
      const seen: QueueDelivery[] = [];
      const consumer = await transport.consume('event.trigger', async (delivery) => void seen.push(delivery), { prefetch: 1 });
      await waitUntil(() => seen.length === 2, 'both requeued triggers');
      await consumer.stop();
      expect(seen.map((d) => [d.queue, d.body, d.redelivered])).toEqual(bodies.map((b) => ['event.trigger', b, false]));
      // A requeued message is a new message: chains derived from its id do not collide with the parked original's.
      expect(seen[0]?.messageId).not.toBe(seen[1]?.messageId);
    });

    it('requeues a retry message due at once, and refuses a body that is not one', async () => {
      const body = encodeRetryMessage(retry(5, 3));
      await transport.requeue('event.failover.retry', body);
      const seen: QueueDelivery[] = [];
      const consumer = await transport.consume('event.failover.retry', async (delivery) => void seen.push(delivery), { prefetch: 1 });
      await waitUntil(() => seen.length === 1, 'the requeued retry', 3000);
      await consumer.stop();
      expect(seen[0]).toMatchObject({ queue: 'event.failover.retry', body });
      expect(parseRetryMessage(seen[0]?.body ?? '')).toEqual(retry(5, 3));

      const refused = await transport.requeue('event.failover.retry', '{"subscription_id":5}').then(
        () => undefined,
        (error: unknown) => error,
      );
      expect(isAsyncEventsError(refused, 'MESSAGE_MALFORMED')).toBe(true);
      expect(await transport.depth('event.failover.retry')).toBe(0);
    });

    describe('publish-order reader', () => {
      const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
      /** Published one after the other, so publish order is this order. */
      const publishInOrder = async (on: QueueTransport, tag: string, count: number) => {
        const bodies = Array.from({ length: count }, (_, i) => encodeTriggerMessage('sales.order.created', { tag, i }, 1));
        for (const body of bodies) await on.publishTrigger(body);
        return bodies;
      };

      it('hands nothing before it is enabled, then every trigger in publish order, in batches of at most maxBatch', async () => {
        expect(await transport.publishOrderEnabled()).toBe(false);
        const batches: QueueDelivery[][] = [];
        const reader = await transport.consumeInPublishOrder(
          async (batch) => {
            batches.push([...batch]);
            await sleep(2);
          },
          { maxBatch: 16 },
        );
        const before = await publishInOrder(transport, 'before', 3);
        await sleep(400); // several checks of the reader, which waits for publish order to be enabled
        expect(batches).toEqual([]);

        const other = await harness.transport();
        await Promise.all([transport.enablePublishOrder(), other.enablePublishOrder()]);
        await transport.enablePublishOrder();
        expect(await transport.publishOrderEnabled()).toBe(true);
        expect(await other.publishOrderEnabled()).toBe(true);
        await other.close();

        const bodies = await publishInOrder(transport, 'after', 300);
        await waitUntil(() => batches.flat().length >= bodies.length, 'every trigger handed in publish order', 20_000);
        await sleep(200);
        await reader.stop();
        const handed = batches.flat();
        expect(handed.map((d) => d.body)).toEqual(bodies);
        expect(handed.every((d) => d.queue === 'event.trigger' && d.redelivered === false)).toBe(true);
        expect(Math.max(...batches.map((b) => b.length))).toBeLessThanOrEqual(16);
        expect(batches.every((b) => b.length >= 1)).toBe(true);

        // The competing consumers still get every trigger, under the same message ids.
        const consumed = new Map<string, string>();
        const consumer = await transport.consume('event.trigger', async (d) => void consumed.set(d.body, d.messageId), { prefetch: 20 });
        await waitUntil(() => consumed.size === before.length + bodies.length, 'every trigger consumed', 20_000);
        await consumer.stop();
        expect(new Set(handed.map((d) => d.messageId)).size).toBe(bodies.length);
        for (const d of handed) expect(consumed.get(d.body)).toBe(d.messageId);
        for (const d of handed) expect(await transport.publishOrderPassed(d.messageId)).toBe(transport.kind === 'database');
      });

      it('hands a rejected batch again after a backoff, order intact', async () => {
        await transport.enablePublishOrder();
        const bodies = await publishInOrder(transport, 'rejected', 12);
        const calls: { at: number; batch: QueueDelivery[] }[] = [];
        const reader = await transport.consumeInPublishOrder(
          async (batch) => {
            calls.push({ at: Date.now(), batch: [...batch] });
            if (calls.length <= 2) throw new Error('sink down');
          },
          { maxBatch: 5 },
        );
        await waitUntil(() => new Set(calls.flatMap((c) => c.batch.map((d) => d.body))).size === bodies.length, 'every trigger handed', 10_000);
        await reader.stop();
        const [first, second, third] = calls;
        expect(second?.batch.map((d) => [d.body, d.messageId])).toEqual(first?.batch.map((d) => [d.body, d.messageId]));
        expect(third?.batch.map((d) => d.body)).toEqual(first?.batch.map((d) => d.body));
        expect(first?.batch[0]?.body).toBe(bodies[0]);
        expect(second?.batch.every((d) => d.redelivered)).toBe(true);
        // 100 ms, then 200 ms.
        expect((second?.at ?? 0) - (first?.at ?? 0)).toBeGreaterThanOrEqual(90);
        expect((third?.at ?? 0) - (second?.at ?? 0)).toBeGreaterThanOrEqual(190);
        // After the failures, each message once more in order: the accepted batches are publish order.
        expect(calls.slice(2).flatMap((c) => c.batch.map((d) => d.body))).toEqual(bodies);
      });

      it('lets two readers run at once: together they hand every trigger, each in publish order', async () => {
        await transport.enablePublishOrder();
        const other = await harness.transport();
        const seen: string[][] = [[], []];
        const handlerOf = (index: number) => async (batch: readonly QueueDelivery[]) => {
          await sleep(2);
          seen[index]!.push(...batch.map((d) => d.messageId + ' ' + d.body));
        };
        const readers = [await transport.consumeInPublishOrder(handlerOf(0), { maxBatch: 10 }), await other.consumeInPublishOrder(handlerOf(1), { maxBatch: 10 })];
        await sleep(300); // both subscribed
        const bodies = await publishInOrder(transport, 'two', 200);
        const union = () => new Set([...seen[0]!, ...seen[1]!].map((entry) => entry.slice(entry.indexOf(' ') + 1)));
        await waitUntil(() => union().size === bodies.length, 'every trigger handed by one reader or the other', 20_000);
        const inPublishOrder = (entries: string[], expected: string[]) => {
          const positions = entries.map((entry) => expected.indexOf(entry.slice(entry.indexOf(' ') + 1)));
          expect(positions.every((p) => p >= 0)).toBe(true);
          expect(positions.every((p, i) => i === 0 || p > positions[i - 1]!)).toBe(true);
        };
        inPublishOrder(seen[0]!, bodies);
        inPublishOrder(seen[1]!, bodies);
        // One message id per message, whichever reader handed it.
        const ids = new Map<string, string>();
        for (const entry of [...seen[0]!, ...seen[1]!]) {
          const [id, body] = [entry.slice(0, entry.indexOf(' ')), entry.slice(entry.indexOf(' ') + 1)];
          expect(ids.get(body) ?? id).toBe(id);
          ids.set(body, id);
        }
        if (transport.kind === 'amqp') {
          // A single active consumer: the first reader subscribed gets everything, the other waits its turn…
          const active = seen[0]!.length > 0 ? 0 : 1;
          expect(seen[active]!.length).toBe(bodies.length);
          expect(seen[1 - active]!).toEqual([]);
          // …and takes over when the active one stops.
          await readers[active]!.stop();
          const more = await publishInOrder(transport, 'takeover', 20);
          await waitUntil(() => seen[1 - active]!.length === more.length, 'the other reader taking over', 10_000);
          inPublishOrder(seen[1 - active]!, more);
        }
        await Promise.all(readers.map((r) => r.stop()));
        await other.close();
      });

      it('resumes after stop() right after the last resolved batch, nothing lost or handed again', async () => {
        await transport.enablePublishOrder();
        const bodies = await publishInOrder(transport, 'resume', 60);
        const first: string[] = [];
        let release: () => void = () => undefined;
        const held = new Promise<void>((resolve) => (release = resolve));
        let holding = false;
        const reader = await transport.consumeInPublishOrder(
          async (batch) => {
            if (first.length >= 20) {
              holding = true;
              await held;
            }
            first.push(...batch.map((d) => d.body));
          },
          { maxBatch: 10 },
        );
        await waitUntil(() => holding, 'a batch in hand past the twentieth message');
        let stopped = false;
        const stopping = reader.stop().then(() => (stopped = true));
        await sleep(200);
        expect(stopped).toBe(false); // waits for the batch in hand
        release();
        await stopping;
        expect(first.length).toBeGreaterThan(20);
        expect(first.length).toBeLessThan(bodies.length);

        const later = await harness.transport();
        const second: string[] = [];
        const resumed = await later.consumeInPublishOrder(async (batch) => void second.push(...batch.map((d) => d.body)), { maxBatch: 10 });
        await waitUntil(() => first.length + second.length >= bodies.length, 'the rest', 10_000);
        await sleep(200);
        await resumed.stop();
        await later.close();
        expect([...first, ...second]).toEqual(bodies);
      });
    });

    it('stop() waits for in-flight handlers and leaves their messages acknowledged', async () => {
      for (let i = 0; i < 3; i++) await transport.publishTrigger(encodeTriggerMessage('e', { i }));
      let finished = 0;
      let started = 0;
      const consumer = await transport.consume(
        'event.trigger',
        async () => {
          started++;
          await new Promise((resolve) => setTimeout(resolve, 300));
          finished++;
        },
        { prefetch: 3 },
      );
      await waitUntil(() => started === 3, 'three handlers in flight');
      await consumer.stop();
      expect(finished).toBe(3);
      // Nothing comes back to a later consumer: all three were acknowledged.
      const again: string[] = [];
      const later = await transport.consume('event.trigger', async (d) => void again.push(d.body), { prefetch: 1 });
      await new Promise((resolve) => setTimeout(resolve, 300));
      await later.stop();
      expect(again).toEqual([]);
      expect(await transport.depth('event.trigger')).toBe(0);
    });
  });
});
