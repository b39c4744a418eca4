import { sql, type Kysely } from 'kysely';
import { nowDbDateTime } from './datetime.ts';
import type { Database } from './schema.ts';
import type { ConfigValues } from './store.ts';

const DEFAULT_SCOPE = 'default';
const DEFAULT_SCOPE_ID = 0;

/** LIKE pattern matching paths that start with the prefix ('!' escapes the wildcards in both databases). */
function startsWithPattern(prefix: string): string {
  return `${prefix.replace(/[!%_]/g, (c) => `!${c}`)}%`;
}

/**
 * `core_config_data` at the default scope. A NULL value reads as absent: the module's config.xml default then
 * applies, as in Magento.
 */
export function createConfigValues(db: Kysely<Database>, dialect: 'mysql' | 'sqlite'): ConfigValues {
  const defaultScope = () =>
    db.selectFrom('core_config_data').where('scope', '=', DEFAULT_SCOPE).where('scope_id', '=', DEFAULT_SCOPE_ID);

  return {
    async get(path) {
      const row = await defaultScope().select('value').where('path', '=', path).executeTakeFirst();
      return row?.value ?? undefined;
    },

    async getAll(prefix) {
      const rows = await defaultScope()
        .select(['path', 'value'])
        .where(sql<boolean>`${sql.ref('path')} LIKE ${startsWithPattern(prefix)} ESCAPE '!'`)
        .orderBy('path')
        .execute();
      const values: Record<string, string> = {};
      for (const row of rows) if (row.value !== null) values[row.path] = row.value;
      return values;
    },

    async set(path, value) {
      const now = nowDbDateTime();
      const insert = db
        .insertInto('core_config_data')
        .values({ scope: DEFAULT_SCOPE, scope_id: DEFAULT_SCOPE_ID, path, value, updated_at: now });
      await (dialect === 'mysql'
        ? insert.onDuplicateKeyUpdate({ value, updated_at: now })
        : insert.onConflict((oc) => oc.columns(['scope', 'scope_id', 'path']).doUpdateSet({ value, updated_at: now }))
      ).execute();
    },
  };
}
