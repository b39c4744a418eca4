import { sql, type Kysely } from 'kysely';
import { toDbDateTime } from './datetime.ts';
import type { Database } from './schema.ts';

/** Per-minute delivery counts and the most failing subscriptions since a time: the console's overview. */
export interface Activity {
  readonly perMinute: readonly { minute: string; delivered: number; failed: number; retried: number }[];
  readonly mostFailing: readonly { subscriptionId: number; recipientUrl: string; failures: number }[];
  readonly deadLettered: number;
}

export async function readActivity(db: Kysely<Database>, since: Date, limit = 5): Promise<Activity> {
  const from = toDbDateTime(since);
  // `created` is DATETIME in MySQL and 'YYYY-MM-DD HH:MM:SS' text in SQLite: its first 16 characters are the minute.
  const minute = sql<string>`substr(cast(${sql.ref('l.created')} as char), 1, 16)`;
  const [perMinute, mostFailing, dead] = await Promise.all([
    db
      .selectFrom('async_event_subscriber_log as l')
      .select([
        minute.as('minute'),
        sql<number>`sum(case when ${sql.ref('l.success')} = 1 then 1 else 0 end)`.as('delivered'),
        sql<number>`sum(case when ${sql.ref('l.success')} = 1 then 0 else 1 end)`.as('failed'),
        // An attempt that is not its chain's first is a retry (or a replay).
        sql<number>`sum(case when exists (select 1 from ${sql.table('async_event_subscriber_log')} as p where p.uuid = l.uuid and p.log_id < l.log_id) then 1 else 0 end)`.as('retried'),
      ])
      .where('l.created', '>=', from)
      .groupBy(minute)
      .orderBy(minute)
      .execute(),
    db
      .selectFrom('async_event_subscriber_log as l')
      .innerJoin('async_event_subscriber as s', 's.subscription_id', 'l.subscription_id')
      .select(['l.subscription_id', 's.recipient_url', sql<number>`count(*)`.as('failures')])
      .where('l.created', '>=', from)
      .where('l.success', '=', 0)
      .groupBy(['l.subscription_id', 's.recipient_url'])
      .orderBy(sql`count(*)`, 'desc')
      .limit(limit)
      .execute(),
    db.selectFrom('async_event_chain').select(sql<number>`count(*)`.as('n')).where('status', '=', 'dead').executeTakeFirstOrThrow(),
  ]);
  return {
    perMinute: perMinute.map((r) => ({ minute: String(r.minute), delivered: Number(r.delivered), failed: Number(r.failed), retried: Number(r.retried) })),
    mostFailing: mostFailing.map((r) => ({ subscriptionId: Number(r.subscription_id), recipientUrl: r.recipient_url, failures: Number(r.failures) })),
    deadLettered: Number(dead.n),
  };
}
