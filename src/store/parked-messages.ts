import type { Kysely } from 'kysely';
import type { Logger } from '../logger.ts';
import { nowDbDateTime, requiredDbDateTime } from './datetime.ts';
import type { Database } from './schema.ts';
import type { ParkedMessages } from './store.ts';

const DEFAULT_LIMIT = 100;

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
      return rows.map((row) => ({
        id: Number(row.parked_id),
        queue: row.queue_name,
        body: row.body,
        reason: row.reason,
        created: requiredDbDateTime(row.created, 'async_event_parked_message.created'),
      }));
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
