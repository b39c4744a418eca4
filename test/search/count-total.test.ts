import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBuiltinSearch, type SearchEngine } from '../../src/search/engine.ts';
import { searchMatches, type MatchPage } from '../../src/search/matches.ts';
import { describeWith } from '../support/services.ts';
import { openTestStore, type TestStore } from './support/databases.ts';
import { insertSeed, makeSeed } from './support/seed.ts';

/*
 * The built-in engine counts only when the count is news: a short first page is every match, and the match
 * iterators (CSV, replay by query) ask for no total at all, since a data.* count reads the whole table per page.
 * The pages themselves never change.
 */

const ROWS = 600;

function countTotal(kind: 'sqlite' | 'mariadb'): void {
  let opened: TestStore;
  let engine: SearchEngine;

  beforeAll(async () => {
    opened = await openTestStore(kind);
    await insertSeed(opened.store.db, makeSeed(ROWS));
    engine = createBuiltinSearch({ db: opened.store.db, dialect: opened.store.dialect });
  }, 60_000);
  afterAll(async () => {
    await opened?.dispose();
  });

  it('gives the same pages without a count, with this page as the lower bound of the total', async () => {
    const query = 'success:false OR data.data.customer_email:jane@example.net';
    const counted = await engine.search(query, { size: 10 });
    expect(counted.total).toBeGreaterThan(100);
    const uncounted = await engine.search(query, { size: 10, countTotal: false });
    expect(uncounted.hits).toEqual(counted.hits);
    expect(uncounted.next).toBe(counted.next);
    expect(uncounted.total).toBe(10);

    const deeper = { size: 10, from: 30 };
    expect((await engine.search(query, { ...deeper, countTotal: false })).total).toBe(40);
    expect((await engine.search(query, deeper)).total).toBe(counted.total);
    const keyset = await engine.search(query, { size: 10, beforeLogId: counted.next!, countTotal: false });
    expect(keyset.hits).toEqual((await engine.search(query, { size: 10, from: 10 })).hits);
    expect(keyset.total).toBe(10);
  });

  it('takes a short first page as every match, and counts when the page is full or not the first', async () => {
    expect((await engine.search('log_id:[1 TO 3]', { size: 10 })).total).toBe(3);
    expect((await engine.search('log_id:[1 TO 3]', { size: 3 })).total).toBe(3);
    expect((await engine.search('log_id:[1 TO 3]', { size: 2 })).total).toBe(3);
    expect((await engine.search('log_id:[1 TO 3]', { size: 2, from: 2 })).total).toBe(3);
    expect((await engine.search('log_id:[1 TO 3]', { size: 2, from: 5 })).total).toBe(3);
    expect((await engine.search('log_id:[1 TO 3]', { size: 2, beforeLogId: 3 })).total).toBe(3);
    expect((await engine.search('data.data.customer_email:"someone@example.com"', { size: 20 })).total).toBe(0);
  });
}

describeWith(['mariadb'], 'counting the total on MariaDB', () => countTotal('mariadb'));
describe('counting the total on SQLite', () => countTotal('sqlite'));

describe('the match iterator', () => {
  it('asks for no total on any page', async () => {
    const asked: unknown[] = [];
    const pages: MatchPage<number>[] = [
      { total: 2, hits: [9, 8], next: 8 },
      { total: 2, hits: [7], next: null },
    ];
    const seen: number[] = [];
    for await (const hits of searchMatches<number>(async (_query, page) => (asked.push(page), pages[asked.length - 1]!), 'x', 2)) seen.push(...hits);
    expect(seen).toEqual([9, 8, 7]);
    expect(asked).toEqual([
      { size: 2, countTotal: false },
      { size: 2, beforeLogId: 8, countTotal: false },
    ]);
  });
});
