import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sql } from 'kysely';
import { isAsyncEventsError } from '../../src/errors.ts';
import { createBuiltinSearch, type SearchEngine } from '../../src/search/engine.ts';
import { parseQuery } from '../../src/search/query.ts';
import { toQueryString } from '../../src/search/query-string.ts';
import type { Store } from '../../src/store/store.ts';
import { describeWith } from '../support/services.ts';
import { openTestStore, type TestStore } from './support/databases.ts';
import { randomQueries } from './support/random-queries.ts';
import { insertSeed, makeSeed } from './support/seed.ts';

/*
 * Random query strings, SQL-looking text included: the only error ever thrown is QUERY_SYNTAX, and the tables
 * hold exactly what they held before.
 */

async function fingerprint(store: Store): Promise<string> {
  const { rows } = await sql<Record<string, unknown>>`SELECT
      (SELECT COUNT(*) FROM ${sql.table('async_event_subscriber_log')}) AS logs,
      (SELECT SUM(log_id) + SUM(success) + SUM(LENGTH(serialized_data)) FROM ${sql.table('async_event_subscriber_log')}) AS log_sum,
      (SELECT COUNT(*) FROM ${sql.table('async_event_subscriber')}) AS subscriptions,
      (SELECT COUNT(*) FROM ${sql.table('core_config_data')}) AS config`.execute(store.db);
  return JSON.stringify(rows[0], (_key, value: unknown) => (typeof value === 'bigint' ? String(value) : value === null ? null : String(value)));
}

function fuzz(kind: 'sqlite' | 'mariadb', count: number): void {
  let opened: TestStore;
  let engine: SearchEngine;

  beforeAll(async () => {
    opened = await openTestStore(kind);
    await insertSeed(opened.store.db, makeSeed(300));
    engine = createBuiltinSearch({ db: opened.store.db, dialect: opened.store.dialect });
  });
  afterAll(async () => {
    await opened?.dispose();
  });

  it(`runs ${count} random queries: QUERY_SYNTAX or a result, never a change`, { timeout: 180_000 }, async () => {
    const before = await fingerprint(opened.store);
    let answered = 0;
    let refused = 0;
    for (const query of randomQueries(count, kind === 'sqlite' ? 1 : 2)) {
      try {
        const result = await engine.search(query, { size: 5 });
        expect(result.total).toBeGreaterThanOrEqual(result.hits.length);
        answered++;
      } catch (error) {
        if (!isAsyncEventsError(error, 'QUERY_SYNTAX')) throw new Error(`query ${JSON.stringify(query)} threw ${String(error)}`, { cause: error });
        expect(error.details.position).toEqual(expect.any(Number));
        refused++;
      }
    }
    expect(await fingerprint(opened.store)).toBe(before);
    // Both outcomes must occur, or the generator tests nothing.
    expect(answered).toBeGreaterThan(count / 20);
    expect(refused).toBeGreaterThan(count / 20);
  });

  it('runs the largest and deepest queries the parser accepts', async () => {
    const terms = (make: (i: number) => string): string[] => Array.from({ length: 200 }, (_, i) => make(i));
    const queries = [
      terms((i) => `word${i}*`).join(' OR '),
      terms((i) => `data.data.increment_id:CK${i}*`).join(' AND '),
      terms((i) => `-data.data.x${i}:[${i} TO *]`).join(' '),
      `${'('.repeat(16)}${'NOT '.repeat(16)}"deep"${')'.repeat(16)}`,
    ];
    for (const query of queries) {
      const result = await engine.search(query, { size: 5 });
      expect(result.total).toBeGreaterThanOrEqual(0);
    }
  });
}

describe('random queries', () => {
  it('render to a query_string or fail with QUERY_SYNTAX only', () => {
    for (const query of randomQueries(10_000, 3)) {
      try {
        expect(typeof toQueryString(parseQuery(query))).toBe('string');
      } catch (error) {
        if (!isAsyncEventsError(error, 'QUERY_SYNTAX')) throw new Error(`query ${JSON.stringify(query)} threw ${String(error)}`, { cause: error });
      }
    }
  });
});
describe('random queries against SQLite', () => fuzz('sqlite', 10_000));
describeWith(['mariadb'], 'random queries against MariaDB', () => fuzz('mariadb', 2_000));
