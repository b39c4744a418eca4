import { sql, type KyselyPlugin } from 'kysely';
import type { DatabaseSettings } from '../config/settings.ts';
import { AsyncEventsError, isAsyncEventsError } from '../errors.ts';
import type { Logger } from '../logger.ts';
import { openConnection } from './connection.ts';
import { createConfigValues } from './config-values.ts';
import { createChainOrderRepository } from './chain-order.ts';
import { createDeliveryLog } from './delivery-log.ts';
import { createEncryptor } from './encryptor.ts';
import { migrate } from './migrations.ts';
import { createParkedMessages } from './parked-messages.ts';
import { createPreviousTokenRepository } from './previous-tokens.ts';
import type { TableName, TableNames } from './schema.ts';
import type { Store } from './store.ts';
import { createSubscriptionHealthStore } from './subscription-health.ts';
import { createSubscriptionRepository } from './subscriptions.ts';
import { TablePrefixPlugin } from './table-prefix-plugin.ts';

export type { Store } from './store.ts';
export { createEncryptor, ensureEmbeddedCryptKey, parseCryptKeys, type Encryptor } from './encryptor.ts';
export { DB_QUEUE_NAMES } from './migrations.ts';

export interface StoreOptions {
  readonly database: DatabaseSettings;
  /** env.php `db.table_prefix`; applied to every table, ours included. */
  readonly tablePrefix: string;
  /** env.php `crypt/key` versions, oldest first; the newest encrypts. */
  readonly cryptKeys: readonly string[];
  readonly logger: Logger;
  /** Open only an existing database: a missing SQLite file is an error instead of a new empty one. */
  readonly mustExist?: boolean;
}

// Every table of the Database interface, so the prefix plugin knows which names are tables.
const TABLES: Record<TableName, true> = {
  async_event_subscriber: true,
  async_event_subscriber_log: true,
  async_event_chain: true,
  async_event_retry: true,
  async_event_parked_message: true,
  async_event_attempt_target: true,
  async_event_held_payload: true,
  async_event_previous_token: true,
  async_event_subscription_health: true,
  async_event_subscription_health_hour: true,
  async_event_subscription_rule: true,
  async_event_chain_order: true,
  async_event_publish_order: true,
  core_config_data: true,
  queue: true,
  queue_message: true,
  queue_message_status: true,
  oauth_token: true,
};

export function tableNames(prefix: string): TableNames {
  return Object.fromEntries(Object.keys(TABLES).map((name) => [name, prefix + name])) as Record<TableName, string>;
}

/**
 * Opens the store on Magento's MySQL/MariaDB or on the embedded SQLite file and checks that it answers. Tables are
 * not created here: call `migrate()` (the `migrate` command and `start` do).
 */
export async function createStore(options: StoreOptions): Promise<Store> {
  const logger = options.logger.child({ stage: 'store' });
  const plugins: KyselyPlugin[] = options.tablePrefix ? [new TablePrefixPlugin(options.tablePrefix, Object.keys(TABLES))] : [];
  const { db, dialect, location } = await openConnection(options.database, plugins, { mustExist: options.mustExist === true });
  const tables = tableNames(options.tablePrefix);
  const encryptor = createEncryptor(options.cryptKeys);

  async function ping(): Promise<void> {
    try {
      await sql`SELECT 1`.execute(db);
    } catch (error) {
      if (isAsyncEventsError(error)) throw error;
      throw new AsyncEventsError('STORE_UNAVAILABLE', `database ${location} does not answer: ${(error as Error).message}`, { location }, { cause: error });
    }
  }

  try {
    await ping();
  } catch (error) {
    await db.destroy().catch(() => undefined);
    throw error;
  }
  logger.debug({ location, dialect, tablePrefix: options.tablePrefix }, 'store opened');

  return {
    dialect,
    db,
    tables,
    subscriptions: createSubscriptionRepository(db, dialect, encryptor),
    log: createDeliveryLog(db, dialect, logger),
    parked: createParkedMessages(db, logger),
    configValues: createConfigValues(db, dialect),
    previousTokens: createPreviousTokenRepository(db, encryptor, logger),
    health: createSubscriptionHealthStore(db, dialect),
    chainOrder: createChainOrderRepository(db, dialect),
    migrate: () => migrate(db, dialect, tables, logger),
    ping,
    close: () => db.destroy(),
  };
}
