import { DummyDriver, Kysely, MysqlAdapter, MysqlIntrospector, MysqlQueryCompiler, sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import type { Database } from '../../src/store/schema.ts';
import { TablePrefixPlugin } from '../../src/store/table-prefix-plugin.ts';
import { foreignKeyName, indexName } from '../../src/store/element-names.ts';
import { createHash } from 'node:crypto';

const db = new Kysely<Database>({
  dialect: {
    createAdapter: () => new MysqlAdapter(),
    createDriver: () => new DummyDriver(),
    createIntrospector: (k) => new MysqlIntrospector(k),
    createQueryCompiler: () => new MysqlQueryCompiler(),
  },
  plugins: [new TablePrefixPlugin('mage_', ['async_event_subscriber', 'async_event_subscriber_log', 'core_config_data'])],
});

describe('table prefix plugin', () => {
  it('prefixes tables in from, joins and qualified references, but not aliases', () => {
    const query = db
      .selectFrom('async_event_subscriber_log')
      .innerJoin('async_event_subscriber as s', 's.subscription_id', 'async_event_subscriber_log.subscription_id')
      .select(['async_event_subscriber_log.log_id', 's.event_name'])
      .compile();
    expect(query.sql).toBe(
      'select `mage_async_event_subscriber_log`.`log_id`, `s`.`event_name` from `mage_async_event_subscriber_log` ' +
        'inner join `mage_async_event_subscriber` as `s` on `s`.`subscription_id` = `mage_async_event_subscriber_log`.`subscription_id`',
    );
  });

  it('prefixes insert, update, delete and sql.table, and leaves unknown tables alone', () => {
    expect(db.insertInto('core_config_data').values({ path: 'a', value: 'b', scope: 'default', scope_id: 0 }).compile().sql).toMatch(
      /^insert into `mage_core_config_data`/,
    );
    expect(db.updateTable('async_event_subscriber').set({ status: 0 }).compile().sql).toMatch(/^update `mage_async_event_subscriber` set/);
    expect(db.deleteFrom('async_event_subscriber_log').compile().sql).toBe('delete from `mage_async_event_subscriber_log`');
    expect(sql`select * from ${sql.table('core_config_data')}, ${sql.table('information_schema.TABLES')}`.compile(db).sql).toBe(
      'select * from `mage_core_config_data`, `information_schema`.`TABLES`',
    );
  });
});

describe('Magento element names', () => {
  it('equal the referenceIds of upstream db_schema.xml without a prefix', () => {
    expect(indexName('async_event_subscriber_log', ['uuid'])).toBe('ASYNC_EVENT_SUBSCRIBER_LOG_UUID');
    expect(foreignKeyName('async_event_subscriber_log', 'subscription_id', 'async_event_subscriber', 'subscription_id')).toBe(
      'FK_5DC4CE95673D2497179D07B60DE79F61',
    );
    expect(indexName('core_config_data', ['scope', 'scope_id', 'path'], 'unique')).toBe('CORE_CONFIG_DATA_SCOPE_SCOPE_ID_PATH');
    expect(indexName('queue', ['name'], 'unique')).toBe('QUEUE_NAME');
    expect(indexName('queue_message_status', ['status', 'updated_at'])).toBe('QUEUE_MESSAGE_STATUS_STATUS_UPDATED_AT');
  });

  it('hash the prefixed names when too long, abbreviate when that suffices', () => {
    const entity = 'mage_async_event_subscriber_log_subscription_id_mage_async_event_subscriber_subscription_id';
    expect(foreignKeyName('mage_async_event_subscriber_log', 'subscription_id', 'mage_async_event_subscriber', 'subscription_id')).toBe(
      `FK_${createHash('md5').update(entity).digest('hex').toUpperCase()}`,
    );
    // 'status' → 'sts', 'value' → 'val' (Magento's ExpressionConverter dictionary).
    expect(indexName('a_very_long_table_prefix_for_status_values', ['status', 'value_id', 'other_column'])).toBe(
      'A_VERY_LONG_TABLE_PREFIX_FOR_STS_VALS_STS_VAL_ID_OTHER_COLUMN',
    );
  });
});
