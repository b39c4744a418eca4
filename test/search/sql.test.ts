import { DummyDriver, Kysely, MysqlAdapter, MysqlIntrospector, MysqlQueryCompiler, SqliteAdapter, SqliteIntrospector, SqliteQueryCompiler } from 'kysely';
import { describe, expect, it } from 'vitest';
import { parseQuery } from '../../src/search/query.ts';
import { globPattern, jsonPath, jsonSpellings, likePattern, searchCondition, type SqlDialect } from '../../src/search/sql.ts';
import type { Database } from '../../src/store/schema.ts';
import { CASES } from './support/cases.ts';

/* The SQL the translator writes: user text only ever travels as parameters. */

function compile(query: string, dialect: SqlDialect): { sql: string; parameters: readonly unknown[] } {
  const db = new Kysely<Database>({
    dialect: {
      createAdapter: () => (dialect === 'mysql' ? new MysqlAdapter() : new SqliteAdapter()),
      createDriver: () => new DummyDriver(),
      createIntrospector: (k) => (dialect === 'mysql' ? new MysqlIntrospector(k) : new SqliteIntrospector(k)),
      createQueryCompiler: () => (dialect === 'mysql' ? new MysqlQueryCompiler() : new SqliteQueryCompiler()),
    },
  });
  return db.selectFrom('async_event_subscriber_log as l').selectAll().where(searchCondition(parseQuery(query), dialect)).compile();
}

const HOSTILE = [
  `data.data.note:"'; DROP TABLE async_event_subscriber_log; --"`,
  `event_name:x\\'\\)\\ OR\\ 1=1\\ --*`,
  `"\\" OR 1=1 --"`,
  `uuid:[a' TO z'"]`,
  `data.data.x-y_1:"Robert'); DELETE FROM core_config_data; --"`,
];

describe('searchCondition', () => {
  it.each(['sqlite', 'mysql'] as const)('binds every value and path as a parameter (%s)', (dialect) => {
    for (const query of [...HOSTILE, ...CASES.map((c) => c.query)]) {
      const compiled = compile(query, dialect);
      for (const dangerous of ['DROP', 'DELETE', '1=1', 'Robert', 'roni_cost', 'customer.', '$.', 'CK']) {
        expect(compiled.sql).not.toContain(dangerous);
      }
      expect(compiled.sql.split('?').length - 1).toBe(compiled.parameters.length);
    }
    const { parameters } = compile(HOSTILE[0]!, dialect);
    expect(parameters).toContain(`'; DROP TABLE async_event_subscriber_log; --`);
    expect(parameters).toContain('$."data"."note"');
  });

  it('compares keywords in binary collation on MySQL and with GLOB on SQLite', () => {
    expect(compile('event_name:Sales.*', 'mysql').sql).toContain('CONVERT(s.event_name USING utf8mb4) COLLATE utf8mb4_bin LIKE ? ESCAPE');
    expect(compile('event_name:Sales.*', 'sqlite').sql).toContain('s.event_name GLOB ?');
  });

  it('escapes LIKE and GLOB metacharacters of literal text', () => {
    const pattern = parseQuery('data.data.x:50\\%_off!\\*\\[a\\]*');
    if (pattern.kind !== 'like') throw new Error('expected a wildcard');
    expect(likePattern(pattern.pattern)).toBe('50!%!_off!!*[a]%');
    expect(globPattern(pattern.pattern)).toBe('50%_off![*][[]a]*');
  });

  it('spells text as JSON and PHP json_encode store it', () => {
    expect(jsonSpellings([{ kind: 'text', text: 'Zoë "x/y"' }])).toEqual([
      [{ kind: 'text', text: 'Zoë "x/y"' }],
      [{ kind: 'text', text: 'Zoë \\"x/y\\"' }],
      [{ kind: 'text', text: 'Zo\\u00eb \\"x\\/y\\"' }],
    ]);
    expect(jsonPath(['data', 'increment_id'])).toBe('$."data"."increment_id"');
  });
});
