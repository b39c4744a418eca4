import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { DatabaseSettings } from '../../src/config/settings.ts';
import { silentLogger } from '../../src/logger.ts';
import { createDatabaseQueue, type DatabaseQueueOptions } from '../../src/queue/database/index.ts';
import type { QueueTransport } from '../../src/queue/transport.ts';
import { createStore, type Store } from '../../src/store/index.ts';
import { MARIADB, createDatabase, dropDatabase } from '../support/services.ts';

/** Magento's queue tables (prefixed, to prove the prefix is applied) on MariaDB or a temporary SQLite file. */
export interface DbEnv {
  readonly dialect: 'mysql' | 'sqlite';
  /** The store the tests inspect rows through. */
  readonly store: Store;
  /** A transport on a connection of its own, as a separate consumer process would have. */
  transport(extra?: Partial<DatabaseQueueOptions>): Promise<QueueTransport>;
  dispose(): Promise<void>;
}

export const TABLE_PREFIX = 'mg_';

export async function openDbEnv(dialect: 'mysql' | 'sqlite'): Promise<DbEnv> {
  let settings: DatabaseSettings;
  let cleanup: () => Promise<void>;
  if (dialect === 'mysql') {
    const name = await createDatabase('ae_queue');
    settings = { kind: 'mysql', host: MARIADB.host, port: MARIADB.port, user: MARIADB.user, password: MARIADB.password, database: name };
    cleanup = () => dropDatabase(name);
  } else {
    const dir = mkdtempSync(path.join(tmpdir(), 'ae-queue-'));
    settings = { kind: 'sqlite', path: path.join(dir, 'queue.sqlite') };
    cleanup = async () => rmSync(dir, { recursive: true, force: true });
  }
  const open = () => createStore({ database: settings, tablePrefix: TABLE_PREFIX, cryptKeys: [], logger: silentLogger() });
  const store = await open();
  await store.migrate();
  const stores: Store[] = [store];
  const transports: QueueTransport[] = [];
  return {
    dialect,
    store,
    async transport(extra = {}) {
      const own = await open();
      stores.push(own);
      const transport = createDatabaseQueue({ db: own.db, dialect: own.dialect, logger: silentLogger(), pollIntervalMs: 50, leaseSeconds: 300, publishOrderCheckMs: 100, ...extra });
      transports.push(transport);
      return transport;
    },
    async dispose() {
      await Promise.allSettled(transports.map((t) => t.close()));
      await Promise.allSettled(stores.map((s) => s.close()));
      await cleanup();
    },
  };
}
