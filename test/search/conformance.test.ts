import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isAsyncEventsError } from '../../src/errors.ts';
import { createBuiltinSearch, type SearchEngine } from '../../src/search/engine.ts';
import { describeWith } from '../support/services.ts';
import { BAD_QUERIES, BUILTIN_ONLY_CASES, CASES } from './support/cases.ts';
import { openTestStore, type TestStore } from './support/databases.ts';
import { insertSeed, makeSeed, type SeedRow } from './support/seed.ts';

/*
 * One list of queries, one seeded log of 10,000 rows, the built-in engine on SQLite and on MariaDB: both must
 * find exactly the rows the independent predicates of the list pick, newest first.
 */

const ROWS = 10_000;
const seed = makeSeed(ROWS);

function conformance(kind: 'sqlite' | 'mariadb'): void {
  let opened: TestStore;
  let engine: SearchEngine;

  beforeAll(async () => {
    opened = await openTestStore(kind, 'pfx_');
    await insertSeed(opened.store.db, seed);
    engine = createBuiltinSearch({ db: opened.store.db, dialect: opened.store.dialect });
  });
  afterAll(async () => {
    await engine?.close();
    await opened?.dispose();
  });

  const expected = (matches: (row: SeedRow) => boolean): number[] =>
    seed
      .filter(matches)
      .map((row) => row.logId)
      .sort((a, b) => b - a);

  it.each([...CASES, ...BUILTIN_ONLY_CASES].map((c) => [c.query, c] as const))('%s', async (_query, testCase) => {
    const ids = expected(testCase.matches);
    const result = await engine.search(testCase.query, { size: 50 });
    expect(result.total).toBe(ids.length);
    expect(result.hits.map((hit) => hit.logId)).toEqual(ids.slice(0, 50));
  });

  it('finds something and leaves something out for nearly every query (the list can fail)', () => {
    const informative = CASES.filter((c) => {
      const n = expected(c.matches).length;
      return n > 0 && n < ROWS;
    });
    expect(informative.length).toBeGreaterThanOrEqual(CASES.length - 4);
  });

  it('returns whole rows with their event and recipient', async () => {
    const { hits } = await engine.search('log_id:3900', { size: 10 });
    const row = seed[3899] as SeedRow;
    expect(hits).toHaveLength(1);
    expect(hits[0]).toMatchObject({
      logId: 3900,
      uuid: row.uuid,
      subscriptionId: row.subscriptionId,
      eventName: row.eventName,
      success: row.success,
      serializedData: row.serializedData,
      recipientUrl: `https://hooks.example.com/${row.subscriptionId}`,
    });
    expect(hits[0]?.created.toISOString()).toBe('2024-05-01T10:00:00.000Z');
  });

  it('pages with from/size and with beforeLogId to the last hit', async () => {
    const query = 'customer.* AND success: false';
    const ids = expected(CASES.find((c) => c.query === query)!.matches);
    expect(ids.length).toBeGreaterThan(1000);
    const second = await engine.search(query, { size: 100, from: 100 });
    expect(second.hits.map((h) => h.logId)).toEqual(ids.slice(100, 200));
    const walked: number[] = [];
    let before: number | undefined;
    for (;;) {
      const page = await engine.search(query, { size: 400, ...(before === undefined ? {} : { beforeLogId: before }) });
      expect(page.total).toBe(ids.length);
      walked.push(...page.hits.map((h) => h.logId));
      if (page.hits.length < 400) break;
      before = page.hits[page.hits.length - 1]?.logId;
    }
    expect(walked).toEqual(ids);
  });

  it.each(BAD_QUERIES.map((b) => [b.query, b] as const))('refuses %s with its position', async (_query, bad) => {
    const error = await engine.search(bad.query, { size: 10 }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(isAsyncEventsError(error, 'QUERY_SYNTAX')).toBe(true);
    expect((error as Error).message).toMatch(bad.message);
    expect((error as { details: { position: number } }).details.position).toBe(bad.position);
  });
}

describe('built-in search conformance on SQLite', () => conformance('sqlite'));
describeWith(['mariadb'], 'built-in search conformance on MariaDB', () => conformance('mariadb'));

describe('page checks', () => {
  it('refuses page sizes and offsets it cannot honour', async () => {
    const engine = createBuiltinSearch({ db: undefined as never, dialect: 'sqlite' });
    for (const page of [{ size: 0 }, { size: 1001 }, { size: 10, from: -1 }, { size: 10, from: 5, beforeLogId: 100 }, { size: 10, beforeLogId: 1.5 }]) {
      const error = await engine.search('*', page).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(isAsyncEventsError(error, 'VALIDATION_FAILED')).toBe(true);
    }
  });
});
