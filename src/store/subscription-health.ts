import { sql, type Kysely, type Selectable } from 'kysely';
import { fromDbDateTime, requiredDbDateTime, toDbDateTime } from './datetime.ts';
import type { AsyncEventSubscriptionHealthTable, Database } from './schema.ts';

/*
 * Storage of subscription health (ours): one row per subscription with the running figures, and per-hour buckets
 * of attempts and failed chains. Written by the health tracker (src/delivery/health.ts) as attempts are logged,
 * never computed by scanning the delivery log; read through the subscription service.
 *
 * Every change is a relative update (`x = x + n`) or a compare-and-set, so several sidecar replicas writing the
 * same subscription neither lose counts nor send the same alert twice.
 */

/** The stored state of one subscription. */
export interface HealthRecord {
  readonly subscriptionId: number;
  readonly consecutiveFailures: number;
  readonly lastSuccessAt: Date | null;
  readonly lastFailureAt: Date | null;
  readonly lastFailureStatus: number | null;
  readonly lastFailureResponse: string | null;
  readonly trackedSince: Date;
  readonly alertLevel: number;
  readonly deadAlertedAt: Date | null;
  readonly deadUnalerted: number;
  readonly disabledReason: string | null;
  readonly disabledAt: Date | null;
}

export interface HourBucket {
  readonly hourStart: Date;
  readonly succeeded: number;
  readonly failed: number;
  readonly chainsFailed: number;
}

/** What a group of attempts of one subscription within one clock hour changes. */
export interface HealthDelta {
  readonly subscriptionId: number;
  /** Start of the clock hour (UTC) the attempts fall in. */
  readonly hourStart: Date;
  /** The time of the last attempt of the group. */
  readonly at: Date;
  readonly succeeded: number;
  readonly failed: number;
  /** Chains that ended without a delivery (dead or failed). */
  readonly chainsFailed: number;
  readonly lastSuccessAt?: Date;
  readonly lastFailure?: { readonly at: Date; readonly status: number | null; readonly response: string };
  /**
   * Set when a chain was delivered in the group: the failed chains that ended after it, which become the new
   * consecutive count (and the failing-alert level starts over). Unset: chainsFailed adds to the count.
   */
  readonly consecutiveAfterSuccess?: number;
}

export interface SubscriptionHealthStore {
  /** Adds the deltas, in order, in one transaction. */
  apply(deltas: readonly HealthDelta[]): Promise<void>;
  get(ids: readonly number[]): Promise<Map<number, HealthRecord>>;
  /** Buckets from `since` (the hour containing it) on, oldest first. */
  buckets(ids: readonly number[], since: Date): Promise<Map<number, HourBucket[]>>;
  /** Failed chains in the buckets from the hour containing `since` on. */
  failedChainsSince(id: number, since: Date): Promise<number>;
  /** Sets the failing-alert level if it is higher than the stored one; true when this call raised it. */
  raiseAlertLevel(id: number, level: number): Promise<boolean>;
  /**
   * Takes the `expected` untold deaths for an alert when none was sent since `notAlertedSince`; true when this call
   * took them (another replica or an earlier call did not).
   */
  takeDeadAlert(id: number, expected: number, notAlertedSince: Date, now: Date): Promise<boolean>;
  /** Rows with untold deaths whose last `chain.dead` alert is older than `notAlertedSince` (or never sent). */
  pendingDeadAlerts(notAlertedSince: Date): Promise<HealthRecord[]>;
  markDisabled(id: number, reason: string, at: Date): Promise<void>;
  /** Re-enabled: the reason goes and the auto-disable count starts over at `at`. */
  clearDisabled(id: number, at: Date): Promise<void>;
  /** Drops every figure of a deleted subscription. */
  forget(id: number): Promise<void>;
  /** Deletes buckets of hours before `before`; returns how many went. */
  pruneBuckets(before: Date): Promise<number>;
}

/** The longest response kept as the last failure (the log keeps the full text). */
export const MAX_FAILURE_RESPONSE = 2000;

/** Start of the UTC clock hour containing the time. */
export function hourStart(at: Date): Date {
  return new Date(Math.floor(at.getTime() / 3_600_000) * 3_600_000);
}

function toRecord(row: Selectable<AsyncEventSubscriptionHealthTable>): HealthRecord {
  return {
    subscriptionId: Number(row.subscription_id),
    consecutiveFailures: Number(row.consecutive_failures),
    lastSuccessAt: fromDbDateTime(row.last_success_at),
    lastFailureAt: fromDbDateTime(row.last_failure_at),
    lastFailureStatus: row.last_failure_status === null ? null : Number(row.last_failure_status),
    lastFailureResponse: row.last_failure_response,
    trackedSince: requiredDbDateTime(row.tracked_since, 'async_event_subscription_health.tracked_since'),
    alertLevel: Number(row.alert_level),
    deadAlertedAt: fromDbDateTime(row.dead_alerted_at),
    deadUnalerted: Number(row.dead_unalerted),
    disabledReason: row.disabled_reason,
    disabledAt: fromDbDateTime(row.disabled_at),
  };
}

export function createSubscriptionHealthStore(db: Kysely<Database>, dialect: 'mysql' | 'sqlite'): SubscriptionHealthStore {
  type Executor = Kysely<Database>;

  /** The row exists from the first attempt on; `tracked_since` is that attempt's time. */
  async function ensureRow(trx: Executor, id: number, at: Date): Promise<void> {
    const stamp = toDbDateTime(at);
    const insert = trx.insertInto('async_event_subscription_health').values({ subscription_id: id, tracked_since: stamp, updated: stamp });
    await (dialect === 'mysql' ? insert.ignore() : insert.onConflict((oc) => oc.doNothing())).execute();
  }

  async function applyOne(trx: Executor, delta: HealthDelta): Promise<void> {
    await ensureRow(trx, delta.subscriptionId, delta.at);
    const consecutive =
      delta.consecutiveAfterSuccess !== undefined
        ? sql<number>`${delta.consecutiveAfterSuccess}`
        : sql<number>`${sql.ref('consecutive_failures')} + ${delta.chainsFailed}`;
    await trx
      .updateTable('async_event_subscription_health')
      .set({
        consecutive_failures: consecutive,
        // Failed chains wait here to be told in the next `chain.dead` alert.
        ...(delta.chainsFailed > 0 ? { dead_unalerted: sql<number>`${sql.ref('dead_unalerted')} + ${delta.chainsFailed}` } : {}),
        updated: toDbDateTime(delta.at),
        ...(delta.consecutiveAfterSuccess !== undefined ? { alert_level: 0 } : {}),
        ...(delta.lastSuccessAt ? { last_success_at: toDbDateTime(delta.lastSuccessAt) } : {}),
        ...(delta.lastFailure
          ? {
              last_failure_at: toDbDateTime(delta.lastFailure.at),
              last_failure_status: delta.lastFailure.status,
              last_failure_response: delta.lastFailure.response.slice(0, MAX_FAILURE_RESPONSE),
            }
          : {}),
      })
      .where('subscription_id', '=', delta.subscriptionId)
      .execute();
    const bucket = trx.insertInto('async_event_subscription_health_hour').values({
      subscription_id: delta.subscriptionId,
      hour_start: toDbDateTime(delta.hourStart),
      succeeded: delta.succeeded,
      failed: delta.failed,
      chains_failed: delta.chainsFailed,
    });
    const add = (column: 'succeeded' | 'failed' | 'chains_failed', n: number) => sql<number>`${sql.ref(`async_event_subscription_health_hour.${column}`)} + ${n}`;
    await (dialect === 'mysql'
      ? bucket.onDuplicateKeyUpdate({ succeeded: add('succeeded', delta.succeeded), failed: add('failed', delta.failed), chains_failed: add('chains_failed', delta.chainsFailed) })
      : bucket.onConflict((oc) =>
          oc.columns(['subscription_id', 'hour_start']).doUpdateSet({
            succeeded: add('succeeded', delta.succeeded),
            failed: add('failed', delta.failed),
            chains_failed: add('chains_failed', delta.chainsFailed),
          }),
        )
    ).execute();
  }

  return {
    async apply(deltas) {
      if (deltas.length === 0) return;
      await db.transaction().execute(async (trx) => {
        for (const delta of deltas) await applyOne(trx, delta);
      });
    },

    async get(ids) {
      const found = new Map<number, HealthRecord>();
      if (ids.length === 0) return found;
      const rows = await db.selectFrom('async_event_subscription_health').selectAll().where('subscription_id', 'in', [...ids]).execute();
      for (const row of rows) found.set(Number(row.subscription_id), toRecord(row));
      return found;
    },

    async buckets(ids, since) {
      const found = new Map<number, HourBucket[]>();
      if (ids.length === 0) return found;
      const rows = await db
        .selectFrom('async_event_subscription_health_hour')
        .selectAll()
        .where('subscription_id', 'in', [...ids])
        .where('hour_start', '>=', toDbDateTime(hourStart(since)))
        .orderBy('hour_start')
        .execute();
      for (const row of rows) {
        const id = Number(row.subscription_id);
        const list = found.get(id) ?? [];
        list.push({
          hourStart: requiredDbDateTime(row.hour_start, 'async_event_subscription_health_hour.hour_start'),
          succeeded: Number(row.succeeded),
          failed: Number(row.failed),
          chainsFailed: Number(row.chains_failed),
        });
        found.set(id, list);
      }
      return found;
    },

    async failedChainsSince(id, since) {
      const row = await db
        .selectFrom('async_event_subscription_health_hour')
        .select((eb) => eb.fn.sum<number | string | null>('chains_failed').as('n'))
        .where('subscription_id', '=', id)
        .where('hour_start', '>=', toDbDateTime(hourStart(since)))
        .executeTakeFirst();
      return Number(row?.n ?? 0);
    },

    async raiseAlertLevel(id, level) {
      const result = await db.updateTable('async_event_subscription_health').set({ alert_level: level }).where('subscription_id', '=', id).where('alert_level', '<', level).executeTakeFirst();
      return Number(result.numUpdatedRows) > 0;
    },

    async takeDeadAlert(id, expected, notAlertedSince, now) {
      const result = await db
        .updateTable('async_event_subscription_health')
        .set({ dead_unalerted: sql<number>`${sql.ref('dead_unalerted')} - ${expected}`, dead_alerted_at: toDbDateTime(now) })
        .where('subscription_id', '=', id)
        .where('dead_unalerted', '>=', expected)
        .where((eb) => eb.or([eb('dead_alerted_at', 'is', null), eb('dead_alerted_at', '<=', toDbDateTime(notAlertedSince))]))
        .executeTakeFirst();
      return Number(result.numUpdatedRows) > 0;
    },

    async pendingDeadAlerts(notAlertedSince) {
      const rows = await db
        .selectFrom('async_event_subscription_health')
        .selectAll()
        .where('dead_unalerted', '>', 0)
        .where((eb) => eb.or([eb('dead_alerted_at', 'is', null), eb('dead_alerted_at', '<=', toDbDateTime(notAlertedSince))]))
        .execute();
      return rows.map(toRecord);
    },

    async markDisabled(id, reason, at) {
      await ensureRow(db, id, at);
      await db.updateTable('async_event_subscription_health').set({ disabled_reason: reason.slice(0, MAX_FAILURE_RESPONSE), disabled_at: toDbDateTime(at) }).where('subscription_id', '=', id).execute();
    },

    async clearDisabled(id, at) {
      // Re-enabling starts the count over: the failures before it must not disable it again at the next death.
      await db
        .updateTable('async_event_subscription_health')
        .set({ disabled_reason: null, disabled_at: null, consecutive_failures: 0, alert_level: 0, tracked_since: toDbDateTime(at) })
        .where('subscription_id', '=', id)
        .execute();
    },

    async forget(id) {
      await db.deleteFrom('async_event_subscription_health').where('subscription_id', '=', id).execute();
      await db.deleteFrom('async_event_subscription_health_hour').where('subscription_id', '=', id).execute();
    },

    async pruneBuckets(before) {
      const result = await db.deleteFrom('async_event_subscription_health_hour').where('hour_start', '<', toDbDateTime(hourStart(before))).executeTakeFirst();
      return Number(result.numDeletedRows);
    },
  };
}
