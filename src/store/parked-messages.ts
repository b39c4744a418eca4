import type { Kysely } from 'kysely';
import type { Logger } from '../logger.ts';
import { nowDbDateTime, requiredDbDateTime } from './datetime.ts';
import type { Database } from './schema.ts';
import type { ParkedMessage, ParkedMessages } from './store.ts';

const DEFAULT_LIMIT = 100;
/** Ids per `IN (…)` list, well below every driver's bound-parameter limit. */
const ID_BATCH = 500;

type ParkedRow = { parked_id: number; queue_name: string; body: string; reason: string; created: unknown };

function toParked(row: ParkedRow): ParkedMessage {
  return {
    id: Number(row.parked_id),
    queue: row.queue_name,
    body: row.body,
    reason: row.reason,
    created: requiredDbDateTime(row.created, 'async_event_parked_message.created'),
  };
}

function batches(ids: readonly number[]): number[][] {
  const unique = [...new Set(ids)];
  return Array.from({ length: Math.ceil(unique.length / ID_BATCH) }, (_, i) => unique.slice(i * ID_BATCH, (i + 1) * ID_BATCH));
}

/** Queue messages that can never be handled, kept with the reason instead of being dropped. */
export function createParkedMessages(db: Kysely<Database>, logger: Logger): ParkedMessages {
  return {
    async park(message) {
      const result = await db
        .insertInto('async_event_parked_message')
        .values({ queue_name: message.queue, body: message.body, reason: message.reason, created: nowDbDateTime() })
        .executeTakeFirstOrThrow();
      const id = Number(result.insertId);
      logger.warn({ parkedId: id, queue: message.queue, reason: message.reason }, 'queue message parked');
      return id;
    },

    async list(limit = DEFAULT_LIMIT) {
      const rows = await db.selectFrom('async_event_parked_message').selectAll().orderBy('parked_id', 'desc').limit(limit).execute();
      return rows.map(toParked);
    },

    async get(ids) {
      const found: ParkedMessage[] = [];
      for (const batch of batches(ids)) {
        const rows = await db.selectFrom('async_event_parked_message').selectAll().where('parked_id', 'in', batch).execute();
        found.push(...rows.map(toParked));
      }
      return found.sort((a, b) => a.id - b.id);
    },

    async page({ afterId, throughId, limit }) {
      const rows = await db
        .selectFrom('async_event_parked_message')
        .selectAll()
        .where('parked_id', '>', afterId)
        .where('parked_id', '<=', throughId)
        .orderBy('parked_id', 'asc')
        .limit(limit)
        .execute();
      return rows.map(toParked);
    },

    async remove(ids) {
      let removed = 0;
      for (const batch of batches(ids)) {
        const result = await db.deleteFrom('async_event_parked_message').where('parked_id', 'in', batch).executeTakeFirst();
        removed += Number(result.numDeletedRows);
      }
      return removed;
    },

    async count() {
      const row = await db
        .selectFrom('async_event_parked_message')
        .select((eb) => eb.fn.countAll<number | string>().as('n'))
        .executeTakeFirstOrThrow();
      return Number(row.n);
    },
  };
}
