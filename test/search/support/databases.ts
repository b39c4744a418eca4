import { tmpdir } from 'node:os';
import path from 'node:path';
import { mkdtempSync, rmSync } from 'node:fs';
import { silentLogger } from '../../../src/logger.ts';
import { createStore, type Store } from '../../../src/store/index.ts';
import { MARIADB, createDatabase, dropDatabase } from '../../support/services.ts';

/** A migrated store on a fresh SQLite file or MariaDB database; `dispose` removes it. */
export interface TestStore {
  readonly store: Store;
  dispose(): Promise<void>;
}

export async function openTestStore(kind: 'sqlite' | 'mariadb', tablePrefix = ''): Promise<TestStore> {
  if (kind === 'sqlite') {
    const dir = mkdtempSync(path.join(tmpdir(), 'ae-search-'));
    const store = await createStore({ database: { kind: 'sqlite', path: path.join(dir, 'log.sqlite') }, tablePrefix, cryptKeys: [], logger: silentLogger() });
    await store.migrate();
    return {
      store,
      async dispose() {
        await store.close();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  }
  const database = await createDatabase('ae_search');
  const store = await createStore({ database: { kind: 'mysql', ...MARIADB, database }, tablePrefix, cryptKeys: [], logger: silentLogger() });
  await store.migrate();
  return {
    store,
    async dispose() {
      await store.close();
      await dropDatabase(database);
    },
  };
}
