import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { applySubscriptionRules } from '../../src/delivery/subscription-rules.ts';
import { silentLogger } from '../../src/logger.ts';
import { createBuiltinSearch, type SearchEngine } from '../../src/search/engine.ts';
import { parseQuery } from '../../src/search/query.ts';
import type { Subscription } from '../../src/types.ts';
import { BUILTIN_ONLY_CASES, CASES } from './support/cases.ts';
import { openTestStore, type TestStore } from './support/databases.ts';
import { insertSeed, makeSeed, type SeedRow } from './support/seed.ts';

/*
 * A subscription filter means what the same query means in the log search: every conformance query a filter may
 * hold (no log-only field) runs through the built-in search on a seeded SQLite log and through the delivery stage's
 * filter (the code path of the trigger handler), each row's stored payload standing in for Magento's response.
 * Both must keep exactly the same rows.
 */

const seed = makeSeed(3000).filter((row) => row.serializedData !== null);

const subscription = (filter: string): Subscription => ({
  id: 1,
  eventName: '*',
  recipientUrl: 'https://hooks.example.com/',
  verificationToken: 't',
  active: true,
  subscribedAt: null,
  modified: null,
  metadata: 'http',
  storeId: 0,
  rules: { filter },
});

function filterable(query: string): boolean {
  try {
    parseQuery(query, { fields: 'filter' });
    return true;
  } catch {
    return false;
  }
}

const cases = [...CASES, ...BUILTIN_ONLY_CASES].filter((c) => filterable(c.query));

describe('subscription filters against the built-in search, on the search conformance queries', () => {
  let opened: TestStore;
  let engine: SearchEngine;

  beforeAll(async () => {
    opened = await openTestStore('sqlite');
    await insertSeed(opened.store.db, seed);
    engine = createBuiltinSearch({ db: opened.store.db, dialect: opened.store.dialect });
  });
  afterAll(async () => {
    await engine?.close();
    await opened?.dispose();
  });

  it('covers most of the list (only log-only fields are left out)', () => {
    expect(cases.length).toBeGreaterThan(30);
    expect(cases.length).toBeGreaterThan((CASES.length + BUILTIN_ONLY_CASES.length) / 2);
  });

  async function searchIds(query: string): Promise<number[]> {
    const ids: number[] = [];
    let before: number | undefined;
    for (;;) {
      const page = await engine.search(query, { size: 1000, ...(before === undefined ? {} : { beforeLogId: before }) });
      ids.push(...page.hits.map((hit) => hit.logId));
      if (page.hits.length < 1000) return ids.sort((a, b) => a - b);
      before = page.hits[page.hits.length - 1]?.logId;
    }
  }

  it.each(cases.map((c) => [c.query] as const))('%s', async (query) => {
    const pending = seed.map((row) => ({ subscription: subscription(query), row }));
    const kept: SeedRow[] = [];
    for (const item of pending) {
      const started = applySubscriptionRules({ logger: silentLogger() }, [item], { eventName: item.row.eventName, storeId: '0', data: item.row.serializedData ?? '' });
      if (started.length > 0) kept.push(item.row);
    }
    const filtered = kept.map((row) => row.logId).sort((a, b) => a - b);
    expect(filtered).toEqual(await searchIds(query));
  });
});
