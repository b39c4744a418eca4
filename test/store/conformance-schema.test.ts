import { createHash } from 'node:crypto';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DatabaseSettings } from '../../src/config/settings.ts';
import type { Store } from '../../src/store/store.ts';
import { describeWith } from '../support/services.ts';
import { BACKENDS, listTables, openStore } from './backends.ts';
import { MYSQL_TYPES, readSchemaTables } from './schema-fixtures.ts';

const OUR_TABLES = [
  'async_event_chain',
  'async_event_retry',
  'async_event_parked_message',
  'async_event_attempt_target',
  'async_event_held_payload',
  'async_event_previous_token',
  'async_event_subscription_health',
  'async_event_subscription_health_hour',
  'async_event_subscription_rule',
  'async_event_chain_order',
  'async_event_publish_order',
];
const FIXTURE_TABLES = readSchemaTables();
const ALL_TABLES = [...FIXTURE_TABLES.map((t) => t.name), ...OUR_TABLES].sort();

interface MysqlColumn {
  COLUMN_NAME: string;
  DATA_TYPE: string;
  COLUMN_TYPE: string;
  IS_NULLABLE: string;
  COLUMN_DEFAULT: string | null;
  EXTRA: string;
  CHARACTER_MAXIMUM_LENGTH: number | string | null;
}

describe.each(BACKENDS)('store schema conformance on $name', (backend) => {
  describeWith(backend.services, `migrations (${backend.name})`, () => {
    let settings: DatabaseSettings;
    let drop: () => Promise<void>;
    let store: Store;

    beforeAll(async () => {
      ({ settings, drop } = await backend.newDatabase());
      store = await openStore(settings, '');
    });
    afterAll(async () => {
      await store?.close();
      await drop?.();
    });

    it('creates every table and both queue rows on an empty database, then reports everything unchanged', async () => {
      const first = await store.migrate();
      expect([...first.created].filter((c) => !c.includes(' row ')).sort()).toEqual(ALL_TABLES);
      expect(first.created).toContain("queue row 'event.trigger'");
      expect(first.created).toContain("queue row 'event.failover.retry'");
      expect(first.altered).toEqual([]);
      expect(await listTables(store)).toEqual(ALL_TABLES);

      await store.subscriptions.create({ eventName: 'kept.event', recipientUrl: 'https://example.com/kept', verificationToken: 't', metadata: 'http' });
      await store.configValues.set('system/async_events/max_deaths', '7');

      const second = await store.migrate();
      expect(second.created).toEqual([]);
      expect(second.altered).toEqual([]);
      expect([...second.unchanged].filter((c) => !c.includes(' row ')).sort()).toEqual(ALL_TABLES);
      expect(second.unchanged).toContain("queue row 'event.trigger'");

      const kept = await store.subscriptions.list();
      expect(kept.items.map((s) => s.eventName)).toEqual(['kept.event']);
      expect(await store.configValues.get('system/async_events/max_deaths')).toBe('7');
      const queues = await store.db.selectFrom('queue').select('name').orderBy('name').execute();
      expect(queues.map((q) => q.name)).toEqual(['event.failover.retry', 'event.trigger']);
    });

    it('adds the ordering column to a rule table of an earlier release, keeping its rows', async () => {
      await store.migrate();
      const sub = await store.subscriptions.create({ eventName: 'older.rules', recipientUrl: 'https://example.com/o', verificationToken: 't', metadata: 'http', rules: { filter: 'data.a:1' } });
      await sql.raw(`ALTER TABLE ${store.tables.async_event_subscription_rule} DROP COLUMN ordering`).execute(store.db);
      const report = await store.migrate();
      expect(report.altered).toEqual([`${store.tables.async_event_subscription_rule}.ordering added`]);
      expect((await store.subscriptions.get(sub.id))?.rules).toEqual({ filter: 'data.a:1' });
      const ordered = await store.subscriptions.create({ eventName: 'older.rules', recipientUrl: 'https://example.com/o', verificationToken: 't', metadata: 'http', rules: { ordering: 'entity' } });
      expect((await store.subscriptions.get(ordered.id))?.rules).toEqual({ ordering: 'entity' });
      expect((await store.migrate()).altered).toEqual([]);
      await store.subscriptions.delete(sub.id);
      await store.subscriptions.delete(ordered.id);
    });

    it('gives every fixture table exactly the columns of its db_schema.xml', async () => {
      for (const table of FIXTURE_TABLES) {
        if (store.dialect === 'sqlite') {
          const { rows } = await sql<{ name: string; notnull: number; pk: number }>`SELECT name, "notnull", pk FROM pragma_table_info(${table.name})`.execute(store.db);
          expect(rows.map((r) => r.name), table.name).toEqual(table.columns.map((c) => c.name));
          for (const column of table.columns) {
            const row = rows.find((r) => r.name === column.name);
            if (!column.identity) expect(row?.notnull === 1, `${table.name}.${column.name} NOT NULL`).toBe(!column.nullable);
          }
          continue;
        }
        const { rows } = await sql<MysqlColumn>`
          SELECT COLUMN_NAME, DATA_TYPE, COLUMN_TYPE, IS_NULLABLE, COLUMN_DEFAULT, EXTRA, CHARACTER_MAXIMUM_LENGTH
          FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ${table.name} ORDER BY ORDINAL_POSITION`.execute(store.db);
        expect(rows.map((r) => r.COLUMN_NAME), table.name).toEqual(table.columns.map((c) => c.name));
        for (const column of table.columns) {
          const row = rows.find((r) => r.COLUMN_NAME === column.name);
          const where = `${table.name}.${column.name}`;
          expect(row?.DATA_TYPE, where).toBe(MYSQL_TYPES[column.type]);
          expect(row?.COLUMN_TYPE.includes('unsigned'), `${where} unsigned`).toBe(column.unsigned);
          expect(row?.IS_NULLABLE, `${where} nullable`).toBe(column.nullable ? 'YES' : 'NO');
          expect(row?.EXTRA.includes('auto_increment'), `${where} identity`).toBe(column.identity);
          expect(/on update current_timestamp/i.test(row?.EXTRA ?? ''), `${where} on_update`).toBe(column.onUpdate);
          if (column.type === 'varchar') expect(Number(row?.CHARACTER_MAXIMUM_LENGTH), `${where} length`).toBe(Number(column.length ?? 255));
          if (column.default !== undefined && column.default !== 'NULL') {
            const actual = String(row?.COLUMN_DEFAULT).replace(/^'|'$/g, '').replace(/\(\)$/, '').toLowerCase();
            expect(actual, `${where} default`).toBe(column.default.toLowerCase());
          }
        }
        const [info] = (
          await sql<{ ENGINE: string; TABLE_COLLATION: string }>`
            SELECT ENGINE, TABLE_COLLATION FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ${table.name}`.execute(store.db)
        ).rows;
        expect(info?.ENGINE, table.name).toBe('InnoDB');
        if (table.collation) expect(info?.TABLE_COLLATION, table.name).toBe(table.collation);
      }
    });

    it('names indexes and foreign keys as Magento does (the fixtures\' referenceIds)', async () => {
      for (const table of FIXTURE_TABLES) {
        for (const key of table.keys) {
          if (key.kind === 'primary') continue;
          if (store.dialect === 'sqlite') {
            if (key.kind === 'foreign') continue; // SQLite keeps no catalogue of constraint names
            const { rows } = await sql<{ n: number }>`SELECT COUNT(*) AS n FROM sqlite_master WHERE type = 'index' AND name = ${key.referenceId}`.execute(store.db);
            expect(Number(rows[0]?.n), `${table.name} ${key.referenceId}`).toBe(1);
            continue;
          }
          if (key.kind === 'foreign') {
            const { rows } = await sql<{ DELETE_RULE: string }>`
              SELECT DELETE_RULE FROM information_schema.REFERENTIAL_CONSTRAINTS
              WHERE CONSTRAINT_SCHEMA = DATABASE() AND TABLE_NAME = ${table.name} AND CONSTRAINT_NAME = ${key.referenceId}`.execute(store.db);
            expect(rows[0]?.DELETE_RULE, `${table.name} ${key.referenceId}`).toBe(key.onDelete);
          } else {
            const { rows } = await sql<{ NON_UNIQUE: number | string }>`
              SELECT NON_UNIQUE FROM information_schema.STATISTICS
              WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ${table.name} AND INDEX_NAME = ${key.referenceId}`.execute(store.db);
            expect(rows.length, `${table.name} ${key.referenceId}`).toBeGreaterThan(0);
            expect(Number(rows[0]?.NON_UNIQUE), `${table.name} ${key.referenceId}`).toBe(key.kind === 'unique' ? 0 : 1);
          }
        }
      }
    });

    it('talks UTC and utf8mb4 on every connection', async () => {
      if (store.dialect === 'mysql') {
        const { rows } = await sql<{ tz: string }>`SELECT @@session.time_zone AS tz`.execute(store.db);
        expect(rows[0]?.tz).toBe('+00:00');
      }
      const text = 'ünïcødé ✓ 😀 日本';
      const sub = await store.subscriptions.create({ eventName: 'utf8.event', recipientUrl: `https://example.com/${text}`, verificationToken: text, metadata: 'http' });
      expect(await store.subscriptions.get(sub.id)).toMatchObject({ recipientUrl: `https://example.com/${text}`, verificationToken: text });
      await store.parked.park({ queue: 'event.trigger', body: text, reason: text });
      expect((await store.parked.list(1))[0]).toMatchObject({ body: text, reason: text });
    });

    it('keeps upstream semantics: log rows get created = now by default and go with their subscription', async () => {
      const sub = await store.subscriptions.create({ eventName: 'cascade.event', recipientUrl: 'https://example.com/c', verificationToken: 't', metadata: 'http' });
      // As PHP writes it: no `created`, the column default fills it in.
      await store.db.insertInto('async_event_subscriber_log').values({ uuid: 'u-default', subscription_id: sub.id, success: 1, response_data: 'ok' }).execute();
      const [row] = await store.log.attempts('u-default');
      expect(Math.abs((row?.created.getTime() ?? 0) - Date.now())).toBeLessThan(10_000);
      expect(await store.subscriptions.delete(sub.id)).toBe(true);
      expect(await store.log.attempts('u-default')).toEqual([]);
    });
  });

  describeWith(backend.services, `table prefix (${backend.name})`, () => {
    let drop: () => Promise<void>;
    let store: Store;

    beforeAll(async () => {
      const db = await backend.newDatabase();
      drop = db.drop;
      store = await openStore(db.settings, 'mage_');
      await store.migrate();
    });
    afterAll(async () => {
      await store?.close();
      await drop?.();
    });

    it('creates only prefixed tables and reports their real names', async () => {
      expect(await listTables(store)).toEqual(ALL_TABLES.map((t) => `mage_${t}`));
      expect(store.tables.async_event_subscriber).toBe('mage_async_event_subscriber');
      expect(store.tables.core_config_data).toBe('mage_core_config_data');
      const report = await store.migrate();
      expect(report.unchanged).toContain('mage_async_event_subscriber_log');
      expect(report.unchanged).toContain("mage_queue row 'event.trigger'");
    });

    it('routes unprefixed query-builder names to the prefixed tables', async () => {
      const sub = await store.subscriptions.create({ eventName: 'prefixed.event', recipientUrl: 'https://example.com/p', verificationToken: 't', metadata: 'http' });
      const { rows } = await sql<{ event_name: string }>`SELECT event_name FROM ${sql.raw(store.dialect === 'mysql' ? '`mage_async_event_subscriber`' : '"mage_async_event_subscriber"')}`.execute(store.db);
      expect(rows.map((r) => r.event_name)).toEqual(['prefixed.event']);
      expect((await store.subscriptions.get(sub.id))?.eventName).toBe('prefixed.event');
    });

    it('names the foreign key from the prefixed table names, as Magento does', async () => {
      if (store.dialect !== 'mysql') return;
      const expected = `FK_${createHash('md5').update('mage_async_event_subscriber_log_subscription_id_mage_async_event_subscriber_subscription_id').digest('hex').toUpperCase()}`;
      const { rows } = await sql<{ CONSTRAINT_NAME: string }>`
        SELECT CONSTRAINT_NAME FROM information_schema.REFERENTIAL_CONSTRAINTS
        WHERE CONSTRAINT_SCHEMA = DATABASE() AND TABLE_NAME = 'mage_async_event_subscriber_log'`.execute(store.db);
      expect(rows.map((r) => r.CONSTRAINT_NAME)).toEqual([expected]);
    });
  });

  describeWith(backend.services, `upgrade from upstream 3.x (${backend.name})`, () => {
    let drop: () => Promise<void>;
    let store: Store;

    beforeAll(async () => {
      const db = await backend.newDatabase();
      drop = db.drop;
      store = await openStore(db.settings, '');
    });
    afterAll(async () => {
      await store?.close();
      await drop?.();
    });

    it('widens recipient_url from 255 to 1024 and keeps the rows (the only alteration)', async () => {
      // Upstream 3.x's table, as PHP's setup:upgrade created it.
      const ddl =
        store.dialect === 'mysql'
          ? `CREATE TABLE async_event_subscriber (
              subscription_id int(10) unsigned NOT NULL AUTO_INCREMENT, event_name varchar(255) NOT NULL,
              recipient_url varchar(255) NOT NULL, verification_token varchar(255) NOT NULL,
              status tinyint(1) NOT NULL DEFAULT 0, subscribed_at datetime DEFAULT NULL,
              modified datetime NULL DEFAULT NULL ON UPDATE CURRENT_TIMESTAMP, metadata text NOT NULL,
              store_id smallint(5) unsigned NOT NULL DEFAULT 0, PRIMARY KEY (subscription_id)
            ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci`
          : `CREATE TABLE async_event_subscriber (
              subscription_id INTEGER PRIMARY KEY AUTOINCREMENT, event_name VARCHAR(255) NOT NULL,
              recipient_url VARCHAR(255) NOT NULL, verification_token VARCHAR(255) NOT NULL,
              status INTEGER NOT NULL DEFAULT 0, subscribed_at TEXT DEFAULT NULL, modified TEXT DEFAULT NULL,
              metadata TEXT NOT NULL, store_id INTEGER NOT NULL DEFAULT 0)`;
      await sql.raw(ddl).execute(store.db);
      // Upstream's test fixture row: token stored in plain text.
      await sql.raw(
        `INSERT INTO async_event_subscriber (event_name, recipient_url, verification_token, status, metadata, subscribed_at)
         VALUES ('example.event', 'https://mock.codes/503', 'secret', 1, 'http', '2024-03-01 10:00:00')`,
      ).execute(store.db);

      const report = await store.migrate();
      if (store.dialect === 'mysql') {
        expect(report.altered).toEqual(['async_event_subscriber.recipient_url varchar(255) -> varchar(1024)']);
        const { rows } = await sql<{ len: number }>`
          SELECT CHARACTER_MAXIMUM_LENGTH AS len FROM information_schema.COLUMNS
          WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'async_event_subscriber' AND COLUMN_NAME = 'recipient_url'`.execute(store.db);
        expect(Number(rows[0]?.len)).toBe(1024);
      } else {
        // SQLite does not enforce declared lengths: nothing to alter.
        expect(report.altered).toEqual([]);
      }
      expect(report.created).not.toContain('async_event_subscriber');
      expect(report.created).toContain('async_event_subscriber_log');

      const [fixture] = (await store.subscriptions.list()).items;
      expect(fixture).toMatchObject({ eventName: 'example.event', recipientUrl: 'https://mock.codes/503', verificationToken: 'secret', active: true });
      expect(fixture?.subscribedAt?.toISOString()).toBe('2024-03-01T10:00:00.000Z');

      const longUrl = `https://example.com/${'x'.repeat(1000)}`;
      const created = await store.subscriptions.create({ eventName: 'long.url', recipientUrl: longUrl, verificationToken: 't', metadata: 'http' });
      expect((await store.subscriptions.get(created.id))?.recipientUrl).toBe(longUrl);
      expect((await store.migrate()).altered).toEqual([]);
    });
  });
});
