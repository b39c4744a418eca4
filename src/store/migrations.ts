import { sql, type Kysely } from 'kysely';
import type { Logger } from '../logger.ts';
import { ADDED_COLUMNS, MANAGED_TABLES, RECIPIENT_URL_LENGTH, mysqlCreateTable, mysqlWidenRecipientUrl, sqliteCreateTable } from './ddl.ts';
import type { Database, TableNames } from './schema.ts';
import type { MigrationReport } from './store.ts';

/** Queues the sidecar consumes from Magento's database queue; Magento's setup inserts one row per queue. */
export const DB_QUEUE_NAMES = ['event.trigger', 'event.failover.retry'] as const;

/**
 * Creates every missing table, index and queue row; never drops or rewrites data. The one alteration is widening
 * `recipient_url` from upstream 3.x's varchar(255) to 4.x's varchar(1024) (MySQL only: SQLite does not enforce a
 * declared length). Safe to run from several processes at once: every statement is idempotent.
 */
export async function migrate(
  db: Kysely<Database>,
  dialect: 'mysql' | 'sqlite',
  tables: TableNames,
  logger: Logger,
): Promise<MigrationReport> {
  const created: string[] = [];
  const altered: string[] = [];
  const unchanged: string[] = [];

  for (const table of MANAGED_TABLES) {
    const name = tables[table];
    const existed = await tableExists(db, dialect, name);
    if (dialect === 'mysql') {
      if (!existed) await sql.raw(mysqlCreateTable(table, tables)).execute(db);
    } else {
      // Indexes are re-asserted on existing tables too (all IF NOT EXISTS).
      for (const statement of sqliteCreateTable(table, tables)) await sql.raw(statement).execute(db);
    }
    if (!existed) {
      created.push(name);
      continue;
    }
    const added = await addMissingColumns(db, dialect, table, name);
    if (added.length > 0) {
      altered.push(...added);
      continue;
    }
    if (dialect === 'mysql' && table === 'async_event_subscriber') {
      const length = await mysqlColumnLength(db, name, 'recipient_url');
      if (length !== undefined && length < RECIPIENT_URL_LENGTH) {
        await sql.raw(mysqlWidenRecipientUrl(tables)).execute(db);
        altered.push(`${name}.recipient_url varchar(${length}) -> varchar(${RECIPIENT_URL_LENGTH})`);
        continue;
      }
    }
    unchanged.push(name);
  }

  for (const queueName of DB_QUEUE_NAMES) {
    const label = `${tables.queue} row '${queueName}'`;
    const row = await db.selectFrom('queue').select('id').where('name', '=', queueName).executeTakeFirst();
    if (row) {
      unchanged.push(label);
      continue;
    }
    const insert = db.insertInto('queue').values({ name: queueName });
    const result = await (dialect === 'mysql' ? insert.ignore() : insert.onConflict((oc) => oc.doNothing())).executeTakeFirst();
    (Number(result.numInsertedOrUpdatedRows ?? 0n) > 0 ? created : unchanged).push(label);
  }

  const report = { created, altered, unchanged };
  if (created.length > 0 || altered.length > 0) logger.info({ created, altered }, 'database schema migrated');
  else logger.debug('database schema up to date');
  return report;
}

/** Adds the columns of ADDED_COLUMNS an existing table lacks; returns what it added. */
async function addMissingColumns(db: Kysely<Database>, dialect: 'mysql' | 'sqlite', table: string, name: string): Promise<string[]> {
  const added: string[] = [];
  for (const column of ADDED_COLUMNS.filter((c) => c.table === table)) {
    if (await columnExists(db, dialect, name, column.column)) continue;
    const definition = dialect === 'mysql' ? column.mysql : column.sqlite;
    const quote = dialect === 'mysql' ? (id: string) => `\`${id}\`` : (id: string) => `"${id}"`;
    try {
      await sql.raw(`ALTER TABLE ${quote(name)} ADD COLUMN ${quote(column.column)} ${definition}`).execute(db);
    } catch (error) {
      // Another process added it first (migrations may run from several at once).
      if (!(await columnExists(db, dialect, name, column.column))) throw error;
      continue;
    }
    added.push(`${name}.${column.column} added`);
  }
  return added;
}

async function columnExists(db: Kysely<Database>, dialect: 'mysql' | 'sqlite', table: string, column: string): Promise<boolean> {
  if (dialect === 'mysql') {
    const { rows } = await sql<{ n: number }>`SELECT COUNT(*) AS n FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ${table} AND COLUMN_NAME = ${column}`.execute(db);
    return Number(rows[0]?.n ?? 0) > 0;
  }
  const { rows } = await sql<{ name: string }>`SELECT name FROM pragma_table_info(${table})`.execute(db);
  return rows.some((row) => row.name === column);
}

async function tableExists(db: Kysely<Database>, dialect: 'mysql' | 'sqlite', name: string): Promise<boolean> {
  const query =
    dialect === 'mysql'
      ? sql<{ n: number }>`SELECT COUNT(*) AS n FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ${name}`
      : sql<{ n: number }>`SELECT COUNT(*) AS n FROM sqlite_master WHERE type = 'table' AND name = ${name}`;
  const { rows } = await query.execute(db);
  return Number(rows[0]?.n ?? 0) > 0;
}

async function mysqlColumnLength(db: Kysely<Database>, table: string, column: string): Promise<number | undefined> {
  const { rows } = await sql<{ len: number | string | null }>`
    SELECT CHARACTER_MAXIMUM_LENGTH AS len FROM information_schema.COLUMNS
    WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ${table} AND COLUMN_NAME = ${column}`.execute(db);
  const len = rows[0]?.len;
  return len === null || len === undefined ? undefined : Number(len);
}
