import { sql } from 'kysely';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { encodeTriggerMessage, parseRetryMessage } from '../../src/queue/publish.ts';
import type { QueueDelivery } from '../../src/queue/transport.ts';
import { QueueMessageStatus } from '../../src/store/schema.ts';
import { describeWith, type ServiceName } from '../support/services.ts';
import { TABLE_PREFIX, openDbEnv, type DbEnv } from './db-env.ts';
import { waitUntil } from './harness.ts';

/*
 * What only the database queue has: Magento's status codes and trial counter, leases that bring back the rows of a
 * consumer that died, the retry table, and the table prefix.
 */

const DIALECTS: { name: string; dialect: 'mysql' | 'sqlite'; services: ServiceName[] }[] = [
  { name: 'MariaDB', dialect: 'mysql', services: ['mariadb'] },
  { name: 'SQLite', dialect: 'sqlite', services: [] },
];

describe.each(DIALECTS)('database queue specifics on $name', ({ name, dialect, services }) => {
  describeWith(services, name, () => {
    let env: DbEnv;
    beforeAll(async () => {
      env = await openDbEnv(dialect);
      await (await env.transport()).setup();
    });
    afterAll(async () => {
      await env?.dispose();
    });
    beforeEach(async () => {
      const { db } = env.store;
      await db.deleteFrom('queue_message_status').execute();
      await db.deleteFrom('queue_message').execute();
      await db.deleteFrom('async_event_retry').execute();
      await db.deleteFrom('async_event_publish_order').execute();
    });

    const statusRows = () =>
      env.store.db
        .selectFrom('queue_message_status')
        .select(['id', 'status', 'number_of_trials'])
        .orderBy('id')
        .execute()
        .then((rows) => rows.map((r) => ({ id: Number(r.id), status: Number(r.status), trials: Number(r.number_of_trials) })));

    it('writes Magento’s prefixed tables and creates the queue rows of upstream’s topology', async () => {
      const transport = await env.transport();
      await transport.publishTrigger(encodeTriggerMessage('e', { id: 1 }));
      const table = `${TABLE_PREFIX}queue_message`;
      const { rows } = await sql<{ n: number | string }>`SELECT COUNT(*) AS n FROM ${sql.id(table)}`.execute(env.store.db);
      expect(Number(rows[0]?.n)).toBe(1);
      const queues = await env.store.db.selectFrom('queue').select('name').orderBy('name').execute();
      expect(queues.map((q) => q.name)).toEqual(['event.failover.deadletter', 'event.failover.retry', 'event.trigger']);
    });

    it('marks a handled message COMPLETE, and a rejected one RETRY_REQUIRED with one more trial', async () => {
      const transport = await env.transport();
      await transport.publishTrigger(encodeTriggerMessage('e', { id: 1 }));
      let calls = 0;
      const consumer = await transport.consume(
        'event.trigger',
        async () => {
          calls++;
          if (calls === 1) throw new Error('callback failed');
        },
        { prefetch: 1 },
      );
      await waitUntil(async () => (await statusRows())[0]?.status === QueueMessageStatus.COMPLETE, 'COMPLETE');
      await consumer.stop();
      expect(calls).toBe(2);
      expect((await statusRows()).map(({ status, trials }) => ({ status, trials }))).toEqual([{ status: QueueMessageStatus.COMPLETE, trials: 1 }]);
    });

    it('takes back rows a dead consumer left IN_PROGRESS once their lease ran out, and not before', async () => {
      const transport = await env.transport({ leaseSeconds: 2 });
      await transport.publishTrigger(encodeTriggerMessage('e', { id: 'stale' }));
      await transport.publishTrigger(encodeTriggerMessage('e', { id: 'fresh' }));
      const [stale, fresh] = await statusRows();
      // One consumer died 10 s into a message; another claimed its message just now and is still working.
      await env.store.db
        .updateTable('queue_message_status')
        .set({ status: QueueMessageStatus.IN_PROGRESS, updated_at: sql<string>`${dialect === 'mysql' ? sql`NOW() - INTERVAL 10 SECOND` : sql`datetime('now', '-10 seconds')`}` })
        .where('id', '=', stale!.id)
        .execute();
      await env.store.db.updateTable('queue_message_status').set({ status: QueueMessageStatus.IN_PROGRESS }).where('id', '=', fresh!.id).execute();

      const deliveries: { delivery: QueueDelivery; at: number }[] = [];
      const started = Date.now();
      const consumer = await transport.consume('event.trigger', async (delivery) => void deliveries.push({ delivery, at: Date.now() - started }), { prefetch: 5 });
      await waitUntil(() => deliveries.length === 2, 'both rows to come back', 8000);
      await consumer.stop();
      expect(deliveries.map((d) => JSON.parse(JSON.parse(d.delivery.body)[1]).id)).toEqual(['stale', 'fresh']);
      expect(deliveries.every((d) => d.delivery.redelivered)).toBe(true);
      expect(deliveries[0]!.at).toBeLessThan(1000);
      // The fresh one waits out its 2 s lease (whole-second timestamps: between 2 and 3 s).
      expect(deliveries[1]!.at).toBeGreaterThanOrEqual(1900);
      expect(deliveries[1]!.at).toBeLessThan(3600);
    });

    it('keeps the lease of a slow handler renewed, so no other consumer takes its row', async () => {
      const slow = await env.transport({ leaseSeconds: 1 });
      const other = await env.transport({ leaseSeconds: 1 });
      await slow.publishTrigger(encodeTriggerMessage('e', { id: 1 }));
      let slowCalls = 0;
      let otherCalls = 0;
      const first = await slow.consume(
        'event.trigger',
        async () => {
          slowCalls++;
          await new Promise((resolve) => setTimeout(resolve, 3000));
        },
        { prefetch: 1 },
      );
      await waitUntil(() => slowCalls === 1, 'the slow handler');
      const second = await other.consume('event.trigger', async () => void otherCalls++, { prefetch: 1 });
      await first.stop();
      await second.stop();
      expect([slowCalls, otherCalls]).toEqual([1, 0]);
    });

    it('takes back a retry row whose consumer died holding it', async () => {
      const transport = await env.transport();
      await transport.scheduleRetry({ subscription_id: 5, death_count: 2, content: '{}', uuid: 'u-5' }, 1);
      await env.store.db
        .updateTable('async_event_retry')
        .set({
          due_at: sql<string>`${dialect === 'mysql' ? sql`NOW() - INTERVAL 5 SECOND` : sql`datetime('now', '-5 seconds')`}`,
          locked_until: sql<string>`${dialect === 'mysql' ? sql`NOW() - INTERVAL 1 SECOND` : sql`datetime('now', '-1 seconds')`}`,
        })
        .execute();
      const deliveries: QueueDelivery[] = [];
      const consumer = await transport.consume('event.failover.retry', async (d) => void deliveries.push(d), { prefetch: 1 });
      await waitUntil(() => deliveries.length === 1, 'the retry');
      await consumer.stop();
      expect(deliveries[0]?.redelivered).toBe(true);
      expect(parseRetryMessage(deliveries[0]?.body ?? '')).toEqual({ subscription_id: 5, death_count: 2, content: '{}', uuid: 'u-5' });
      expect(await env.store.db.selectFrom('async_event_retry').select('retry_id').execute()).toEqual([]);
    });

    it('logs instead of failing when there is no event.failover.deadletter queue row', async () => {
      const own = await openDbEnv(dialect);
      try {
        const transport = await own.transport();
        await own.store.db.deleteFrom('queue').where('name', '=', 'event.failover.deadletter').execute();
        await transport.deadLetter({ subscription_id: 1, death_count: 5, content: '{}', uuid: 'u' });
        expect(await own.store.db.selectFrom('queue_message').select('id').execute()).toEqual([]);
      } finally {
        await own.dispose();
      }
    });
    /**
     * A trigger whose id is taken now and whose row appears only on commit(): on MariaDB a real transaction held open
     * (a later publish commits first), on SQLite, which has one writer at a time, an id reserved by an insert and a
     * delete and filled in later with that id, which is what a reader sees of a late commit.
     */
    async function lateTrigger(body: string): Promise<{ id: number; commit(): Promise<void> }> {
      const { db } = env.store;
      const queueId = Number((await db.selectFrom('queue').select('id').where('name', '=', 'event.trigger').executeTakeFirstOrThrow()).id);
      const insert = async (on: typeof db, id?: number) => {
        const row = await on.insertInto('queue_message').values(id === undefined ? { topic_name: 'event.trigger', body } : { id, topic_name: 'event.trigger', body }).executeTakeFirstOrThrow();
        const messageId = id ?? Number(row.insertId);
        await on.insertInto('queue_message_status').values({ queue_id: queueId, message_id: messageId, status: QueueMessageStatus.NEW }).execute();
        return messageId;
      };
      if (dialect === 'sqlite') {
        const reserved = Number((await db.insertInto('queue_message').values({ topic_name: 'event.trigger', body }).executeTakeFirstOrThrow()).insertId);
        await db.deleteFrom('queue_message').where('id', '=', reserved).execute();
        return { id: reserved, commit: async () => void (await insert(db, reserved)) };
      }
      let release: () => void = () => undefined;
      const released = new Promise<void>((resolve) => (release = resolve));
      let committed: Promise<void> = Promise.resolve();
      const id = await new Promise<number>((resolve, reject) => {
        committed = db.transaction().execute(async (trx) => {
          resolve(await insert(trx));
          await released;
        });
        committed.catch(reject);
      });
      return {
        id,
        async commit() {
          release();
          await committed;
        },
      };
    }

    it('waits at a gap in queue_message ids, passes it after settleMs, and says which ids it passed', async () => {
      const transport = await env.transport();
      expect(await transport.publishOrderPassed('1')).toBe(false); // not enabled
      await transport.enablePublishOrder();
      const handed: QueueDelivery[] = [];
      let lostPassedWhenNextHanded: boolean | undefined;
      let lostId = 0;
      const reader = await transport.consumeInPublishOrder(
        async (batch) => {
          for (const delivery of batch) {
            if (delivery.body === encodeTriggerMessage('e', { n: 'after-lost' })) lostPassedWhenNextHanded = await transport.publishOrderPassed(String(lostId));
          }
          handed.push(...batch);
        },
        { maxBatch: 10, settleMs: 1500 },
      );
      const body = (n: string) => encodeTriggerMessage('e', { n });
      await transport.publishTrigger(body('first'));
      await waitUntil(() => handed.length === 1, 'the first trigger');
      // Enabling again takes no id, so it leaves no gap to wait at.
      await transport.enablePublishOrder();
      const secondAt = Date.now();
      await transport.publishTrigger(body('second'));
      await waitUntil(() => handed.length === 2, 'the trigger after enabling again');
      expect(Date.now() - secondAt).toBeLessThan(1000);

      // A trigger committed after a later one is waited for, and handed in its place.
      const late = await lateTrigger(body('late'));
      await transport.publishTrigger(body('after-late'));
      await new Promise((resolve) => setTimeout(resolve, 600));
      expect(handed.map((d) => d.body)).toEqual([body('first'), body('second')]);
      expect(await transport.publishOrderPassed(String(late.id))).toBe(false);
      await late.commit();
      await waitUntil(() => handed.length === 4, 'the late trigger and the one after it');
      expect(handed.map((d) => d.body)).toEqual([body('first'), body('second'), body('late'), body('after-late')]);
      expect(handed[2]?.messageId).toBe(String(late.id));
      expect(await transport.publishOrderPassed(String(late.id))).toBe(true);

      // A gap open longer than settleMs is passed, the cursor past it before anything after it is handed out.
      const lost = await lateTrigger(body('lost'));
      lostId = lost.id;
      const openedAt = Date.now();
      await transport.publishTrigger(body('after-lost'));
      await waitUntil(() => handed.length === 5, 'the trigger after the gap', 6000);
      expect(Date.now() - openedAt).toBeGreaterThanOrEqual(1400);
      expect(handed[4]?.body).toBe(body('after-lost'));
      expect(lostPassedWhenNextHanded).toBe(true);
      expect(await transport.publishOrderPassed(String(lost.id))).toBe(true);
      const lastId = Number(handed[4]?.messageId);
      expect(lastId).toBeGreaterThan(lost.id);
      expect(await transport.publishOrderPassed(String(lastId))).toBe(true);
      expect(await transport.publishOrderPassed(String(lastId + 1))).toBe(false);

      // Committed after all, the passed trigger is never handed out by the reader; the competing consumers get it.
      await lost.commit();
      await new Promise((resolve) => setTimeout(resolve, 500));
      await reader.stop();
      expect(handed).toHaveLength(5);
      const consumed: string[] = [];
      const consumer = await transport.consume('event.trigger', async (d) => void consumed.push(d.body), { prefetch: 10 });
      await waitUntil(() => consumed.length === 6, 'every trigger consumed');
      await consumer.stop();
      expect([...consumed].sort()).toEqual([body('first'), body('second'), body('late'), body('after-late'), body('lost'), body('after-lost')].sort());
    });
  });
});
