import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import type SqliteDatabase from 'better-sqlite3';
import {
  CompiledQuery,
  Kysely,
  MysqlDialect,
  SqliteDialect,
  SqliteDriver,
  type DatabaseConnection,
  type Driver,
  type KyselyPlugin,
  type SqliteDialectConfig,
} from 'kysely';
import type { DatabaseSettings } from '../config/settings.ts';
import { AsyncEventsError } from '../errors.ts';
import type { Database } from './schema.ts';

/** How long a SQLite writer waits for another process's lock before giving up. */
const SQLITE_BUSY_TIMEOUT_MS = 5000;
// Deliveries run concurrently and each writes its attempt in a transaction; more connections let MariaDB group
// their commits (one fsync for many).
const MYSQL_POOL_SIZE = 24;

export interface Connection {
  readonly db: Kysely<Database>;
  readonly dialect: 'mysql' | 'sqlite';
  /** Where it points, for messages (never the password). */
  readonly location: string;
}

export function describeDatabase(settings: DatabaseSettings): string {
  return settings.kind === 'mysql'
    ? `mysql://${settings.user}@${settings.socketPath ?? `${settings.host}:${settings.port}`}/${settings.database}`
    : `sqlite:${settings.path}`;
}

/** Opens the pool or file; each driver is imported only when its kind of database is used. */
export async function openConnection(settings: DatabaseSettings, plugins: KyselyPlugin[], options: { readonly mustExist?: boolean } = {}): Promise<Connection> {
  const location = describeDatabase(settings);
  if (settings.kind === 'mysql') {
    const { createPool } = await import('mysql2');
    const pool = createPool({
      host: settings.host,
      port: settings.port,
      user: settings.user,
      password: settings.password,
      database: settings.database,
      ...(settings.socketPath ? { socketPath: settings.socketPath } : {}),
      charset: 'utf8mb4_unicode_ci',
      // DATETIME/TIMESTAMP stay text; datetime.ts turns them into UTC Dates.
      dateStrings: true,
      timezone: 'Z',
      connectionLimit: MYSQL_POOL_SIZE,
      supportBigNumbers: true,
    });
    const dialect = new MysqlDialect({
      pool,
      // CURRENT_TIMESTAMP defaults and TIMESTAMP columns then give UTC, as Magento stores datetimes.
      onCreateConnection: async (connection) => {
        await connection.executeQuery(CompiledQuery.raw("SET time_zone = '+00:00'"));
      },
    });
    return { db: new Kysely<Database>({ dialect, plugins }), dialect: 'mysql', location };
  }

  const { default: Sqlite } = await import('better-sqlite3');
  if (options.mustExist && settings.path !== ':memory:' && !existsSync(settings.path)) {
    throw new AsyncEventsError('STORE_UNAVAILABLE', `no database at ${settings.path}: run \`async-events migrate\` (or \`start\`) first, or point ASYNC_EVENTS_DB / --db at an existing one`, { location });
  }
  let database: SqliteDatabase.Database;
  try {
    if (settings.path !== ':memory:' && !options.mustExist) mkdirSync(path.dirname(path.resolve(settings.path)), { recursive: true });
    database = new Sqlite(settings.path, { fileMustExist: options.mustExist === true });
    // WAL lets readers in other processes work while one writes; busy_timeout makes writers queue, not fail.
    database.pragma('journal_mode = WAL');
    database.pragma(`busy_timeout = ${SQLITE_BUSY_TIMEOUT_MS}`);
    database.pragma('foreign_keys = ON');
    database.pragma('synchronous = NORMAL');
  } catch (error) {
    throw new AsyncEventsError('STORE_UNAVAILABLE', `cannot open SQLite database ${settings.path}: ${(error as Error).message}`, { location }, { cause: error });
  }
  const dialect = new ImmediateSqliteDialect({ database });
  return { db: new Kysely<Database>({ dialect, plugins }), dialect: 'sqlite', location };
}

/*
 * A deferred BEGIN takes its write lock on the first write; when two processes both read first, one of them
 * gets SQLITE_BUSY at once instead of waiting (busy_timeout does not apply to lock upgrades). BEGIN IMMEDIATE
 * takes the write lock up front, so concurrent writers wait their turn.
 */
class ImmediateSqliteDriver extends SqliteDriver {
  override async beginTransaction(connection: DatabaseConnection): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw('begin immediate'));
  }
}

class ImmediateSqliteDialect extends SqliteDialect {
  readonly #config: SqliteDialectConfig;

  constructor(config: SqliteDialectConfig) {
    super(config);
    this.#config = config;
  }

  override createDriver(): Driver {
    return new ImmediateSqliteDriver(this.#config);
  }
}
