import { sql, type Kysely } from 'kysely';
import { requiredDbDateTime } from '../store/datetime.ts';
import type { Database } from '../store/schema.ts';
import type { LogRowWithEvent } from '../store/store.ts';

/*
 * Log rows with the event name and recipient of their subscription, as both engines return them. A LEFT JOIN
 * keeps rows whose subscription is gone (SQLite without the foreign key, hand-edited tables): a search must not
 * hide a delivery attempt; such rows have an empty event name.
 */

export function selectLogRows(db: Kysely<Database>) {
  return db
    .selectFrom('async_event_subscriber_log as l')
    .leftJoin('async_event_subscriber as s', 's.subscription_id', 'l.subscription_id');
}

/** With where each attempt went (kept since the attempt), else the subscription's recipient and sink now. */
export function selectLogRowsWithTarget(db: Kysely<Database>) {
  return selectLogRows(db).leftJoin('async_event_attempt_target as t', 't.log_id', 'l.log_id');
}

export const LOG_ROW_COLUMNS = [
  'l.log_id',
  'l.uuid',
  'l.subscription_id',
  'l.success',
  'l.response_data',
  'l.created',
  'l.serialized_data',
  's.event_name',
  sql<string | null>`COALESCE(t.recipient_url, s.recipient_url)`.as('recipient_url'),
  sql<string | null>`COALESCE(t.sink, s.metadata)`.as('sink'),
] as const;

export interface RawLogRow {
  readonly log_id: number | string;
  readonly uuid: string | null;
  readonly subscription_id: number | string;
  readonly success: number | string | boolean;
  readonly response_data: string;
  readonly created: Date | string;
  readonly serialized_data: string | Buffer | null;
  readonly event_name: string | null;
  readonly recipient_url: string | null;
  readonly sink: string | null;
}

export function toLogRow(row: RawLogRow): LogRowWithEvent {
  return {
    logId: Number(row.log_id),
    uuid: row.uuid ?? '',
    subscriptionId: Number(row.subscription_id),
    success: Number(row.success) === 1 || row.success === true,
    responseData: row.response_data,
    created: requiredDbDateTime(row.created, 'created'),
    serializedData: row.serialized_data === null ? null : Buffer.isBuffer(row.serialized_data) ? row.serialized_data.toString('utf8') : row.serialized_data,
    eventName: row.event_name ?? '',
    recipientUrl: row.recipient_url ?? '',
    sink: row.sink ?? '',
  };
}
