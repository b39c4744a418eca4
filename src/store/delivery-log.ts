import { CompiledQuery, type Kysely, type Selectable } from 'kysely';
import type { Logger } from '../logger.ts';
import type { Chain, ChainStatus } from '../types.ts';
import { fromDbDateTime, nowDbDateTime, requiredDbDateTime, toDbDateTime } from './datetime.ts';
import type { AsyncEventChainTable, Database } from './schema.ts';
import type { AttemptRecord, DeliveryLog, LogQuery, LogRowWithEvent } from './store.ts';

const DEFAULT_ROWS_LIMIT = 100;
const DEFAULT_CHAINS_LIMIT = 100;
const DEFAULT_DELETE_BATCH = 1000;
const TERMINAL_STATUSES: readonly ChainStatus[] = ['delivered', 'dead', 'failed'];

function toChain(row: Selectable<AsyncEventChainTable>): Chain {
  return {
    uuid: row.uuid,
    subscriptionId: Number(row.subscription_id),
    eventName: row.event_name,
    storeId: String(row.store_id),
    status: row.status as ChainStatus,
    attempts: Number(row.attempts),
    deathCount: Number(row.death_count),
    nextAttemptAt: fromDbDateTime(row.next_attempt_at),
    created: requiredDbDateTime(row.created, 'async_event_chain.created'),
    updated: requiredDbDateTime(row.updated, 'async_event_chain.updated'),
  };
}

/** The columns of a chain before its first attempt (a new event, a replay, a hand-off). */
function pendingChainRow(chain: { subscriptionId: number; eventName: string; storeId: string }, nextAttemptAt: string | null, now: string) {
  return {
    subscription_id: chain.subscriptionId,
    event_name: chain.eventName,
    store_id: chain.storeId,
    status: 'pending',
    attempts: 0,
    death_count: 0,
    next_attempt_at: nextAttemptAt,
    updated: now,
  };
}

interface JoinedLogRow {
  log_id: number;
  uuid: string | null;
  subscription_id: number;
  success: number;
  response_data: string;
  created: Date | string;
  serialized_data: string | Buffer | null;
  event_name: string | null;
  recipient_url: string | null;
  sink: string | null;
}

function toLogRow(row: JoinedLogRow): LogRowWithEvent {
  const data = row.serialized_data;
  return {
    logId: Number(row.log_id),
    uuid: row.uuid ?? '',
    subscriptionId: Number(row.subscription_id),
    success: Number(row.success) === 1,
    responseData: row.response_data,
    created: requiredDbDateTime(row.created, 'async_event_subscriber_log.created'),
    // MySQL's BLOB arrives as bytes; PHP wrote JSON text into it.
    serializedData: data === null ? null : Buffer.isBuffer(data) ? data.toString('utf8') : String(data),
    eventName: row.event_name ?? '',
    recipientUrl: row.recipient_url ?? '',
    sink: row.sink ?? '',
  };
}

interface QueuedAttempt {
  readonly record: AttemptRecord;
  resolve(logId: number): void;
  reject(error: unknown): void;
}

/** Grouped log writes in flight at once, and the most rows (and payload bytes) one group carries. */
const MAX_CONCURRENT_WRITES = 2;
const MAX_BATCH_ROWS = 200;
const MAX_BATCH_BYTES = 4 * 1024 * 1024;

/** The table a compiled `select * from <table>` reads, unquoted. */
function compiledTable(compiled: string): string {
  const match = /from\s+[`"]([^`"]+)[`"]/.exec(compiled);
  if (!match?.[1]) throw new Error(`cannot read the table name of: ${compiled}`);
  return match[1];
}

function takeBatch(queue: QueuedAttempt[]): QueuedAttempt[] {
  let bytes = 0;
  let count = 0;
  while (count < queue.length && count < MAX_BATCH_ROWS) {
    const item = queue[count];
    if (!item) break;
    bytes += item.record.serializedData.length + item.record.responseData.length;
    if (count > 0 && bytes > MAX_BATCH_BYTES) break;
    count++;
  }
  return queue.splice(0, count);
}

export function createDeliveryLog(db: Kysely<Database>, dialect: 'mysql' | 'sqlite', logger: Logger): DeliveryLog {
  function joinedRows() {
    return db
      .selectFrom('async_event_subscriber_log')
      .leftJoin('async_event_subscriber', 'async_event_subscriber.subscription_id', 'async_event_subscriber_log.subscription_id')
      .leftJoin('async_event_attempt_target', 'async_event_attempt_target.log_id', 'async_event_subscriber_log.log_id')
      .select((eb) => [
        'async_event_subscriber_log.log_id',
        'async_event_subscriber_log.uuid',
        'async_event_subscriber_log.subscription_id',
        'async_event_subscriber_log.success',
        'async_event_subscriber_log.response_data',
        'async_event_subscriber_log.created',
        'async_event_subscriber_log.serialized_data',
        'async_event_subscriber.event_name',
        eb.fn.coalesce('async_event_attempt_target.recipient_url', 'async_event_subscriber.recipient_url').as('recipient_url'),
        eb.fn.coalesce('async_event_attempt_target.sink', 'async_event_subscriber.metadata').as('sink'),
      ]);
  }

  async function deleteInBatches(
    selectIds: () => Promise<(string | number)[]>,
    remove: (ids: (string | number)[]) => Promise<number>,
    batchSize: number,
  ): Promise<number> {
    let total = 0;
    for (;;) {
      // One short statement per batch: MySQL never holds a long lock, SQLite other processes get turns.
      const ids = await selectIds();
      if (ids.length === 0) return total;
      total += await remove(ids);
      if (ids.length < batchSize) return total;
    }
  }

  /*
   * Attempts are written in groups: while a write is in flight the next attempts queue up and go together in one
   * transaction (one multi-row insert each for log rows and chains), so a busy sidecar commits once per group
   * instead of once per delivery. Each caller still resolves only once its own row is committed. An idle sidecar
   * writes at once, so nothing waits for a batch to fill.
   */
  const queued: QueuedAttempt[] = [];
  let writesInFlight = 0;

  function flushQueued(): void {
    while (writesInFlight < MAX_CONCURRENT_WRITES && queued.length > 0) {
      const batch = takeBatch(queued);
      writesInFlight++;
      writeBatch(batch)
        .catch(async (error: unknown) => {
          if (batch.length === 1) throw error;
          // One bad row (a subscription deleted meanwhile…) must not fail its neighbours: write them one by one.
          logger.warn({ err: error, rows: batch.length }, 'grouped log write failed; writing the rows one by one');
          const ids: number[] = [];
          for (const item of batch) ids.push(...(await writeBatch([item]).catch((e: unknown) => (item.reject(e), [NaN]))));
          return ids;
        })
        .then(
          (ids) => batch.forEach((item, i) => (Number.isNaN(ids[i]) ? undefined : item.resolve(ids[i] ?? 0))),
          (error: unknown) => batch.forEach((item) => item.reject(error)),
        )
        .finally(() => {
          writesInFlight--;
          flushQueued();
        });
    }
  }

  /*
   * The grouped write is the one statement set run for every delivery, so its SQL is written out here instead of
   * being built by the query builder for each group: the same statements Kysely produced (the prefix plugin's table
   * names included), with the driver binding the values exactly as before.
   */
  const q = dialect === 'mysql' ? (name: string) => `\`${name}\`` : (name: string) => `"${name}"`;
  let tables: { log: string; chain: string; target: string } | undefined;
  /** Table names as the plugins (env.php's table prefix) make them, read from one compiled query each. */
  const tableNames = () =>
    (tables ??= {
      log: compiledTable(db.selectFrom('async_event_subscriber_log').selectAll().compile().sql),
      chain: compiledTable(db.selectFrom('async_event_chain').selectAll().compile().sql),
      target: compiledTable(db.selectFrom('async_event_attempt_target').selectAll().compile().sql),
    });
  const rowsSql = (width: number, count: number): string => {
    const row = `(${new Array<string>(width).fill('?').join(', ')})`;
    return new Array<string>(count).fill(row).join(', ');
  };
  const LOG_COLUMNS = ['uuid', 'subscription_id', 'success', 'response_data', 'created', 'serialized_data'].map(q).join(', ');
  const CHAIN_COLUMNS = ['uuid', 'subscription_id', 'event_name', 'store_id', 'status', 'attempts', 'death_count', 'next_attempt_at', 'created', 'updated'].map(q).join(', ');
  const TARGET_COLUMNS = ['log_id', 'recipient_url', 'sink'].map(q).join(', ');
  const chainUpsert = (chain: string): string =>
    dialect === 'mysql'
      ? ` on duplicate key update \`status\` = VALUES(\`status\`), \`attempts\` = \`attempts\` + 1, \`death_count\` = VALUES(\`death_count\`), \`next_attempt_at\` = VALUES(\`next_attempt_at\`), \`updated\` = ?`
      : ` on conflict ("uuid") do update set "status" = "excluded"."status", "attempts" = ${q(chain)}."attempts" + 1, "death_count" = "excluded"."death_count", "next_attempt_at" = "excluded"."next_attempt_at", "updated" = ?`;

  async function writeBatch(batch: readonly QueuedAttempt[]): Promise<number[]> {
    const now = nowDbDateTime();
    const names = tableNames();
    const logValues: unknown[] = [];
    const chainValues: unknown[] = [];
    for (const { record } of batch) {
      logValues.push(record.uuid, record.subscriptionId, record.success ? 1 : 0, record.responseData, now, record.serializedData);
      chainValues.push(
        record.uuid,
        record.subscriptionId,
        record.eventName,
        record.storeId,
        record.chainStatus,
        1,
        record.deathCount,
        record.nextAttemptAt ? toDbDateTime(record.nextAttemptAt) : null,
        now,
        now,
      );
    }
    chainValues.push(now);
    return db.transaction().execute(async (trx) => {
      const inserted = await trx.executeQuery(CompiledQuery.raw(`insert into ${q(names.log)} (${LOG_COLUMNS}) values ${rowsSql(6, batch.length)}`, logValues));
      await trx.executeQuery(CompiledQuery.raw(`insert into ${q(names.chain)} (${CHAIN_COLUMNS}) values ${rowsSql(10, batch.length)}${chainUpsert(names.chain)}`, chainValues));
      const gone = batch.filter(({ record }) => record.disableSubscription).map(({ record }) => record.subscriptionId);
      if (gone.length > 0) {
        await trx.updateTable('async_event_subscriber').set({ status: 0, modified: now }).where('subscription_id', 'in', gone).execute();
        for (const { record } of batch.filter((item) => item.record.disableSubscription)) {
          logger.warn({ subscriptionId: record.subscriptionId, uuid: record.uuid }, 'subscription disabled: the recipient said it is gone');
        }
      }
      // A multi-row insert takes consecutive ids: MySQL reports the first, SQLite the last.
      const reported = Number(inserted.insertId);
      const first = dialect === 'mysql' ? reported : reported - batch.length + 1;
      const ids = batch.map((_, i) => first + i);
      // Where each attempt went, in the same transaction: one more multi-row statement per group, not per attempt.
      const targetValues: unknown[] = [];
      batch.forEach(({ record }, i) => {
        if (record.recipientUrl !== undefined) targetValues.push(ids[i] ?? 0, record.recipientUrl, record.sink ?? '');
      });
      if (targetValues.length > 0) {
        await trx.executeQuery(CompiledQuery.raw(`insert into ${q(names.target)} (${TARGET_COLUMNS}) values ${rowsSql(3, targetValues.length / 3)}`, targetValues));
      }
      return ids;
    });
  }

  return {
    recordAttempt(record: AttemptRecord) {
      return new Promise<number>((resolve, reject) => {
        queued.push({ record, resolve, reject });
        flushQueued();
      });
    },

    async openChain(chain) {
      const now = nowDbDateTime();
      const reset = pendingChainRow(chain, null, now);
      const insert = db.insertInto('async_event_chain').values({ uuid: chain.uuid, ...reset, created: now });
      await (dialect === 'mysql'
        ? insert.onDuplicateKeyUpdate(reset)
        : insert.onConflict((oc) => oc.column('uuid').doUpdateSet(reset))
      ).execute();
    },

    async holdChain(chain) {
      const now = nowDbDateTime();
      const due = toDbDateTime(chain.nextAttemptAt);
      await db.transaction().execute(async (trx) => {
        const insert = trx.insertInto('async_event_chain').values({ uuid: chain.uuid, ...pendingChainRow(chain, due, now), created: now });
        await (dialect === 'mysql' ? insert.ignore() : insert.onConflict((oc) => oc.column('uuid').doNothing())).execute();
        await trx.updateTable('async_event_chain').set({ next_attempt_at: due, updated: now }).where('uuid', '=', chain.uuid).where('status', '=', 'pending').execute();
        const held = trx.insertInto('async_event_held_payload').values({ uuid: chain.uuid, content: chain.content, created: now });
        await (dialect === 'mysql'
          ? held.onDuplicateKeyUpdate({ content: chain.content })
          : held.onConflict((oc) => oc.column('uuid').doUpdateSet({ content: chain.content }))
        ).execute();
      });
    },

    async heldContent(uuid) {
      const row = await db.selectFrom('async_event_held_payload').select('content').where('uuid', '=', uuid).executeTakeFirst();
      return row?.content;
    },

    async forgetHeldContents(limit = DEFAULT_DELETE_BATCH) {
      const rows = await db
        .selectFrom('async_event_held_payload as h')
        .leftJoin('async_event_chain as c', 'c.uuid', 'h.uuid')
        .select('h.uuid')
        .where((eb) => eb.or([eb('c.uuid', 'is', null), eb('c.status', '!=', 'pending')]))
        .limit(Math.max(1, Math.floor(limit)))
        .execute();
      if (rows.length === 0) return 0;
      const result = await db.deleteFrom('async_event_held_payload').where('uuid', 'in', rows.map((row) => row.uuid)).executeTakeFirst();
      return Number(result.numDeletedRows);
    },

    async postponeChain(uuid, nextAttemptAt) {
      await db
        .updateTable('async_event_chain')
        .set({ next_attempt_at: toDbDateTime(nextAttemptAt), updated: nowDbDateTime() })
        .where('uuid', '=', uuid)
        .where('status', 'in', ['pending', 'retrying'])
        .execute();
    },

    async overdueChains(query) {
      const rows = await db
        .selectFrom('async_event_chain')
        .selectAll()
        .where('status', 'in', ['pending', 'retrying'])
        .where('next_attempt_at', 'is not', null)
        .where('next_attempt_at', '<', toDbDateTime(query.dueBefore))
        .orderBy('next_attempt_at', 'asc')
        .limit(Math.max(1, Math.floor(query.limit)))
        .execute();
      return rows.map(toChain);
    },

    async claimOverdue(uuid, expected, nextAttemptAt) {
      const result = await db
        .updateTable('async_event_chain')
        .set({ next_attempt_at: nextAttemptAt === null ? null : toDbDateTime(nextAttemptAt), updated: nowDbDateTime() })
        .where('uuid', '=', uuid)
        .where('status', 'in', ['pending', 'retrying'])
        .where('next_attempt_at', '=', toDbDateTime(expected))
        .executeTakeFirst();
      return Number(result.numUpdatedRows) > 0;
    },

    async chain(uuid) {
      const row = await db.selectFrom('async_event_chain').selectAll().where('uuid', '=', uuid).executeTakeFirst();
      return row ? toChain(row) : undefined;
    },

    async chains(query) {
      let select = db.selectFrom('async_event_chain').selectAll();
      if (query.status) select = select.where('status', '=', query.status);
      if (query.afterUuid !== undefined) select = select.where('uuid', '>', query.afterUuid);
      const rows = await select.orderBy('uuid', 'asc').limit(query.limit ?? DEFAULT_CHAINS_LIMIT).execute();
      return rows.map(toChain);
    },

    async attempts(uuid) {
      const rows = await joinedRows().where('async_event_subscriber_log.uuid', '=', uuid).orderBy('async_event_subscriber_log.log_id', 'asc').execute();
      return rows.map(toLogRow);
    },

    async rows(query: LogQuery) {
      const order = query.order ?? 'asc';
      let select = joinedRows();
      if (query.uuid !== undefined) select = select.where('async_event_subscriber_log.uuid', '=', query.uuid);
      if (query.subscriptionId !== undefined) select = select.where('async_event_subscriber_log.subscription_id', '=', query.subscriptionId);
      if (query.success !== undefined) select = select.where('async_event_subscriber_log.success', '=', query.success ? 1 : 0);
      // "After" follows the reading order: higher ids when ascending, lower ids when descending.
      if (query.afterLogId !== undefined) {
        select = select.where('async_event_subscriber_log.log_id', order === 'asc' ? '>' : '<', query.afterLogId);
      }
      const rows = await select.orderBy('async_event_subscriber_log.log_id', order).limit(query.limit ?? DEFAULT_ROWS_LIMIT).execute();
      return rows.map(toLogRow);
    },

    async count(query = {}) {
      let select = db.selectFrom('async_event_subscriber_log').select((eb) => eb.fn.countAll<number | string>().as('n'));
      if (query.subscriptionId !== undefined) select = select.where('subscription_id', '=', query.subscriptionId);
      if (query.success !== undefined) select = select.where('success', '=', query.success ? 1 : 0);
      const row = await select.executeTakeFirstOrThrow();
      return Number(row.n);
    },

    /** Also forgets finished chains last touched before the cut-off; only log rows are counted. */
    async deleteOlderThan(cutoff, batchSize = DEFAULT_DELETE_BATCH, beforeBatch) {
      const before = toDbDateTime(cutoff);
      const size = Math.max(1, Math.floor(batchSize));
      const deleted = await deleteInBatches(
        async () =>
          (
            await db
              .selectFrom('async_event_subscriber_log')
              .select('log_id')
              .where('created', '<', before)
              .orderBy('log_id', 'asc')
              .limit(size)
              .execute()
          ).map((row) => Number(row.log_id)),
        async (ids) => {
          await beforeBatch?.(ids as number[]);
          return db.transaction().execute(async (trx) => {
            await trx.deleteFrom('async_event_attempt_target').where('log_id', 'in', ids as number[]).execute();
            return Number((await trx.deleteFrom('async_event_subscriber_log').where('log_id', 'in', ids as number[]).executeTakeFirst()).numDeletedRows);
          });
        },
        size,
      );
      await deleteInBatches(
        async () =>
          (
            await db
              .selectFrom('async_event_chain')
              .select('uuid')
              .where('updated', '<', before)
              .where('status', 'in', [...TERMINAL_STATUSES])
              .orderBy('uuid', 'asc')
              .limit(size)
              .execute()
          ).map((row) => row.uuid),
        async (ids) => Number((await db.deleteFrom('async_event_chain').where('uuid', 'in', ids as string[]).executeTakeFirst()).numDeletedRows),
        size,
      );
      if (deleted > 0) logger.info({ deleted, cutoff: before }, 'old delivery log rows deleted');
      return deleted;
    },
  };
}
