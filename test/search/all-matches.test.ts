import { Client } from '@elastic/elasticsearch';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { searchCsv } from '../../src/api/csv.ts';
import type { SearchHit } from '../../src/api/dependencies.ts';
import { silentLogger } from '../../src/logger.ts';
import { createElasticsearchSearch } from '../../src/search/elasticsearch.ts';
import { createBuiltinSearch, type SearchEngine } from '../../src/search/engine.ts';
import { matchingUuids, type KeysetSearch } from '../../src/search/matches.ts';
import { describeWith } from '../support/services.ts';
import { openTestStore, type TestStore } from './support/databases.ts';
import { startFakeElasticsearch, type FakeElasticsearch } from './support/fake-elasticsearch.ts';
import { insertSeed, makeSeed, type SeedRow } from './support/seed.ts';

/*
 * Export and replay-by-query read every match, however many: 25,000 through each engine. The log skips every
 * sixth log_id, as if the cleanup had removed those rows; the Elasticsearch stand-in still holds them (30,000
 * ids), so its pages of 500 come back from the database with gaps, and a reader that stopped at a short page, or
 * paged with from past 10,000, would lose rows.
 */

const MATCHES = 25_000;
const seed: SeedRow[] = makeSeed(MATCHES).map((row, i) => ({ ...row, logId: i + 1 + Math.floor(i / 5) }));
const indexed = Array.from({ length: seed.at(-1)!.logId }, (_, i) => i + 1);

function asKeysetSearch(engine: SearchEngine): KeysetSearch<SearchHit> {
  return (query, page) => engine.search(query, page);
}

async function exportAndReplay(engine: SearchEngine): Promise<void> {
  const search = asKeysetSearch(engine);
  let csv = '';
  for await (const chunk of searchCsv(search, '*')) csv += chunk;
  const lines = csv.split('\r\n').slice(1, -1);
  const exported = lines.map((line) => Number(line.split(',')[0]));
  expect(exported).toHaveLength(MATCHES);
  expect(exported).toEqual(seed.map((row) => row.logId).reverse());

  const uuids = [...(await matchingUuids(search, 'success:false OR success:true', MATCHES, (limit) => new Error(`over ${limit}`))).keys()];
  const replayed = new Set<string>();
  for (const uuid of uuids) replayed.add(uuid);
  expect(replayed).toEqual(new Set(seed.map((row) => row.uuid)));
}

function builtin(kind: 'sqlite' | 'mariadb'): void {
  let opened: TestStore;
  beforeAll(async () => {
    opened = await openTestStore(kind);
    await insertSeed(opened.store.db, seed);
  }, 120_000);
  afterAll(async () => {
    await opened?.dispose();
  });

  it(`exports and replays all ${MATCHES} matches`, { timeout: 120_000 }, async () => {
    await exportAndReplay(createBuiltinSearch({ db: opened.store.db, dialect: opened.store.dialect }));
  });
}

describe('every match through the built-in engine on SQLite', () => builtin('sqlite'));
describeWith(['mariadb'], 'every match through the built-in engine on MariaDB', () => builtin('mariadb'));

describe('every match through Elasticsearch (stand-in with gaps)', () => {
  let opened: TestStore;
  let fake: FakeElasticsearch;
  let client: Client;
  let engine: SearchEngine;

  beforeAll(async () => {
    opened = await openTestStore('sqlite');
    await insertSeed(opened.store.db, seed);
    fake = await startFakeElasticsearch();
    fake.searchAnswer = (body) => {
      const size = Number(body.size);
      const after = (body.search_after as number[] | undefined)?.[0];
      const from = Number(body.from ?? 0);
      // Elasticsearch's index.max_result_window.
      if (from + size > 10_000) throw new Error(`from + size = ${from + size} is past the result window`);
      const newestFirst = [...indexed].reverse().filter((id) => after === undefined || id < after);
      return { ids: newestFirst.slice(from, from + size), total: indexed.length };
    };
    client = new Client({ node: fake.url, maxRetries: 0 });
    engine = createElasticsearchSearch({ url: fake.url, indexPrefix: 'magento2', logger: silentLogger(), store: opened.store, client });
  }, 120_000);
  afterAll(async () => {
    await engine?.close();
    await client?.close();
    await fake?.close();
    await opened?.dispose();
  });

  it(`exports and replays all ${MATCHES} matches, paging with search_after`, { timeout: 120_000 }, async () => {
    await exportAndReplay(engine);
    const searches = fake.json('/magento2_async_event_*/_search');
    expect(searches.length).toBeGreaterThan(2 * (indexed.length / 500));
    expect(searches.every((body) => body.from === undefined || body.from === 0)).toBe(true);
  });

  it('reaches a page number past 10,000 by walking with search_after', async () => {
    const page = await engine.search('*', { size: 100, from: 20_000 });
    const expected = [...indexed].reverse().slice(20_000, 20_100);
    const present = new Set(seed.map((row) => row.logId));
    expect(page.hits.map((hit) => hit.logId)).toEqual(expected.filter((id) => present.has(id)));
    expect(page.next).toBe(expected.at(-1));
  });
});
