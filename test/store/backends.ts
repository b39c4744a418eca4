import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { sql } from 'kysely';
import type { DatabaseSettings } from '../../src/config/settings.ts';
import { silentLogger } from '../../src/logger.ts';
import { createStore } from '../../src/store/index.ts';
import type { Store } from '../../src/store/store.ts';
import { MARIADB, createDatabase, dropDatabase, type ServiceName } from '../support/services.ts';

export const CRYPT_KEY = 'T3stKeyT3stKeyT3stKeyT3stKeyT3st';

/** One database kind the conformance suite runs against. */
export interface Backend {
  readonly name: string;
  readonly services: ServiceName[];
  /** A new, empty database; drop() removes it. */
  newDatabase(): Promise<{ settings: DatabaseSettings; drop(): Promise<void> }>;
}

export const BACKENDS: Backend[] = [
  {
    name: 'SQLite',
    services: [],
    async newDatabase() {
      const dir = await mkdtemp(path.join(os.tmpdir(), 'ae-store-'));
      return {
        settings: { kind: 'sqlite', path: path.join(dir, 'store.sqlite') },
        drop: () => rm(dir, { recursive: true, force: true }),
      };
    },
  },
  {
    name: 'MariaDB',
    services: ['mariadb'],
    async newDatabase() {
      const database = await createDatabase('ae_store');
      return {
        settings: { kind: 'mysql', host: MARIADB.host, port: MARIADB.port, user: MARIADB.user, password: MARIADB.password, database },
        drop: () => dropDatabase(database),
      };
    },
  },
];

export function openStore(settings: DatabaseSettings, tablePrefix: string, cryptKeys: readonly string[] = [CRYPT_KEY]): Promise<Store> {
  return createStore({ database: settings, tablePrefix, cryptKeys, logger: silentLogger() });
}

/** Every table in the store's database, whatever its prefix. */
export async function listTables(store: Store): Promise<string[]> {
  const query =
    store.dialect === 'mysql'
      ? sql<{ name: string }>`SELECT TABLE_NAME AS name FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE()`
      : sql<{ name: string }>`SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'`;
  const { rows } = await query.execute(store.db);
  return rows.map((row) => row.name).sort();
}
