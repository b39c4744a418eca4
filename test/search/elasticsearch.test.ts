import { Client } from '@elastic/elasticsearch';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { isAsyncEventsError } from '../../src/errors.ts';
import { silentLogger } from '../../src/logger.ts';
import { ES_CURSOR_PATH, LOG_INDEX_MAPPING, aliasFor, createElasticsearchSearch } from '../../src/search/elasticsearch.ts';
import type { SearchEngine } from '../../src/search/engine.ts';
import { searchMatches } from '../../src/search/matches.ts';
import { CASES } from './support/cases.ts';
import { openTestStore, type TestStore } from './support/databases.ts';
import { startFakeElasticsearch, type FakeElasticsearch } from './support/fake-elasticsearch.ts';
import { insertSeed, makeSeed, type SeedRow } from './support/seed.ts';

/*
 * The Elasticsearch adapter against a recording stand-in speaking the wire protocol (no Elasticsearch server can
 * run here): index layout and mapping, bulk NDJSON, the cursor that loses nothing while the node is down, and
 * the query_string sent for every query of the conformance list.
 */

const ROWS = 1200;
const seed = makeSeed(ROWS + 100);

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => {
      throw new Error('expected a rejection');
    },
    (error: unknown) => error,
  );
}

describe('Elasticsearch search adapter', () => {
  let opened: TestStore;
  let fake: FakeElasticsearch;
  let client: Client;
  let engine: SearchEngine;

  beforeAll(async () => {
    opened = await openTestStore('sqlite');
    await insertSeed(opened.store.db, seed.slice(0, ROWS));
  });
  afterAll(async () => {
    await opened?.dispose();
  });
  beforeEach(async () => {
    fake = await startFakeElasticsearch();
    client = new Client({ node: fake.url, maxRetries: 0 });
    engine = createElasticsearchSearch({ url: fake.url, indexPrefix: 'magento2', logger: silentLogger(), store: opened.store, client, batchSize: 500 });
    await opened.store.configValues.set(ES_CURSOR_PATH, '0');
  });
  afterEach(async () => {
    await engine.close();
    await client.close();
    await fake.close();
  });

  it('creates one index per event name behind upstream alias names, with upstream mapping', async () => {
    await engine.index!();
    const created = fake.requests.filter((r) => r.method === 'PUT');
    const eventNames = [...new Set(seed.slice(0, ROWS).map((row) => row.eventName.toLowerCase()))].sort();
    expect(created.map((r) => r.path).sort()).toEqual(eventNames.map((name) => `/magento2_async_event_${name}_v1`));
    const body = JSON.parse(created[0]?.body ?? '{}') as Record<string, unknown>;
    const alias = created[0]?.path.slice(1).replace(/_v1$/, '') ?? '';
    expect(body).toEqual({ mappings: LOG_INDEX_MAPPING, aliases: { [alias]: {} } });
    expect(LOG_INDEX_MAPPING.properties).toMatchObject({
      log_id: { type: 'long' },
      uuid: { type: 'keyword' },
      event_name: { type: 'keyword' },
      success: { type: 'boolean' },
      created: { type: 'date', format: 'yyyy-MM-dd HH:mm:ss' },
    });
    expect(aliasFor('magento2', 'Sales.Order.Created')).toBe('magento2_async_event_sales.order.created');
  });

  it('bulk-indexes every row as {log_id, uuid, event_name, success, created, data} under _id = log_id and keeps the cursor', async () => {
    const report = await engine.index!();
    expect(report).toEqual({ indexed: ROWS, rejected: 0, cursor: ROWS });
    expect(await opened.store.configValues.get(ES_CURSOR_PATH)).toBe(String(ROWS));
    const bulks = fake.requests.filter((r) => r.path === '/_bulk');
    expect(bulks).toHaveLength(Math.ceil(ROWS / 500));
    const lines = bulks[0]!.body.split('\n').filter((line) => line !== '');
    expect(lines).toHaveLength(1000);
    const row = seed[0] as SeedRow;
    expect(JSON.parse(lines[0]!)).toEqual({ index: { _index: aliasFor('magento2', row.eventName), _id: '1' } });
    expect(JSON.parse(lines[1]!)).toEqual({
      log_id: 1,
      uuid: row.uuid,
      event_name: row.eventName,
      success: row.success,
      created: row.created,
      data: JSON.parse(row.serializedData!),
    });
    // Upstream's documents put the payload at data.data.*, for CloudEvents and 3.x bodies alike.
    const cloudEvent = seed.find((r) => r.format === 'cloudevents')!;
    expect(fake.documents.get(String(cloudEvent.logId))?.document.data).toMatchObject({ specversion: '1.0', data: cloudEvent.payload });
    const broken = seed.slice(0, ROWS).find((r) => r.format === 'invalid' || r.format === 'null')!;
    expect(fake.documents.get(String(broken.logId))?.document).not.toHaveProperty('data');

    expect(await engine.index!()).toEqual({ indexed: 0, rejected: 0, cursor: ROWS });
  });

  it('loses nothing while Elasticsearch is down and resumes from the cursor', async () => {
    await engine.index!();
    await opened.store.db
      .insertInto('async_event_subscriber_log')
      .values(
        seed.slice(ROWS, ROWS + 100).map((row) => ({
          log_id: row.logId,
          uuid: row.uuid,
          subscription_id: row.subscriptionId,
          success: row.success ? 1 : 0,
          response_data: '',
          created: row.created,
          serialized_data: row.serializedData,
        })),
      )
      .execute();
    fake.down = true;
    const error = await rejection(engine.index!());
    expect(isAsyncEventsError(error, 'SEARCH_UNAVAILABLE')).toBe(true);
    expect(await opened.store.configValues.get(ES_CURSOR_PATH)).toBe(String(ROWS));

    fake.down = false;
    expect(await engine.index!()).toEqual({ indexed: 100, rejected: 0, cursor: ROWS + 100 });
    expect(fake.documents.size).toBe(ROWS + 100);
    await opened.store.db.deleteFrom('async_event_subscriber_log').where('log_id', '>', ROWS).execute();
  });

  it('stops the cursor before a row the node was too busy for, and skips a row it refuses for good', async () => {
    fake.itemStatus.set('700', 429);
    fake.itemStatus.set('300', 400);
    const error = await rejection(engine.index!());
    expect(isAsyncEventsError(error, 'SEARCH_UNAVAILABLE')).toBe(true);
    expect(await opened.store.configValues.get(ES_CURSOR_PATH)).toBe('699');

    fake.itemStatus.clear();
    const sentBefore = fake.requests.length;
    expect(await engine.index!()).toEqual({ indexed: ROWS - 699, rejected: 0, cursor: ROWS });
    const resent = fake.requests.slice(sentBefore).find((r) => r.path === '/_bulk')!;
    expect(JSON.parse(resent.body.split('\n')[0]!)).toMatchObject({ index: { _id: '700' } });
    expect(fake.documents.has('300')).toBe(false);
  });

  it.each(CASES.map((c) => [c.query, c] as const))('sends %s as an explicit query_string', async (_query, testCase) => {
    const ids = seed
      .slice(0, ROWS)
      .filter(testCase.matches)
      .map((row) => row.logId)
      .sort((a, b) => b - a);
    fake.searchAnswer = () => ({ ids: ids.slice(0, 20), total: ids.length });
    const result = await engine.search(testCase.query, { size: 20 });
    const [request] = fake.requests.filter((r) => r.path.endsWith('/_search'));
    expect(request?.path).toBe('/magento2_async_event_*/_search');
    expect(JSON.parse(request!.body)).toEqual({
      query: {
        query_string: {
          query: testCase.queryString,
          default_operator: 'OR',
          fields: ['event_name', 'uuid', 'data.*'],
          lenient: true,
          allow_leading_wildcard: true,
        },
      },
      sort: [{ log_id: { order: 'desc' } }],
      size: 20,
      from: 0,
      track_total_hits: true,
      _source: false,
    });
    expect(request!.search.get('ignore_unavailable')).toBe('true');
    expect(result.total).toBe(ids.length);
    expect(result.hits.map((hit) => hit.logId)).toEqual(ids.slice(0, 20));
  });

  it.each(CASES.map((c) => [c.query, c] as const))('walks every match of %s with search_after on log_id', async (_query, testCase) => {
    const ids = seed
      .slice(0, ROWS)
      .filter(testCase.matches)
      .map((row) => row.logId)
      .sort((a, b) => b - a);
    // The stand-in answers as Elasticsearch would for the query_string it receives: the matching ids after the cursor.
    fake.searchAnswer = (body) => {
      const after = (body.search_after as number[] | undefined)?.[0];
      return { ids: ids.filter((id) => after === undefined || id < after).slice(0, Number(body.size)), total: ids.length };
    };
    const walked: number[] = [];
    for await (const hits of searchMatches((q, page) => engine.search(q, page), testCase.query, 250)) walked.push(...hits.map((hit) => hit.logId));
    expect(walked).toEqual(ids);
    const bodies = fake.json('/magento2_async_event_*/_search');
    expect(bodies.length).toBe(Math.floor(ids.length / 250) + 1);
    bodies.forEach((body, i) => {
      // The iterator reads no total, so Elasticsearch is spared counting every hit of every page.
      expect(body).toMatchObject({ query: { query_string: { query: testCase.queryString, default_operator: 'OR' } }, sort: [{ log_id: { order: 'desc' } }], size: 250, track_total_hits: false });
      if (i === 0) expect(body).toMatchObject({ from: 0 });
      else expect(body).toMatchObject({ search_after: [ids[i * 250 - 1]] });
    });
  });

  it('pages with from, and past any depth with search_after on log_id', async () => {
    fake.searchAnswer = () => ({ ids: [1100, 1000, 5], total: 700 });
    await engine.search('success:false', { size: 100, from: 200 });
    await engine.search('success:false', { size: 100, beforeLogId: 1234 });
    const [first, second] = fake.json('/magento2_async_event_*/_search');
    expect(first).toMatchObject({ size: 100, from: 200 });
    expect(second).toMatchObject({ size: 100, search_after: [1234] });
    expect(second).not.toHaveProperty('from');
    const result = await engine.search('success:false', { size: 3 });
    expect(result.hits.map((h) => [h.logId, h.eventName])).toEqual([1100, 1000, 5].map((id) => [id, seed[id - 1]!.eventName]));
  });

  it('refuses a bad query before sending anything, and reports a refused one as QUERY_SYNTAX', async () => {
    const bad = await rejection(engine.search('event_name:(a OR b))', { size: 10 }));
    expect(isAsyncEventsError(bad, 'QUERY_SYNTAX')).toBe(true);
    const dateWildcard = await rejection(engine.search('created:2024-0?-01', { size: 10 }));
    expect((dateWildcard as Error).message).toMatch(/^Wildcard on created at position 9/);
    expect(fake.requests).toHaveLength(0);

    fake.searchStatus = 400;
    const refused = await rejection(engine.search('event_name:x', { size: 10 }));
    expect(isAsyncEventsError(refused, 'QUERY_SYNTAX')).toBe(true);
    fake.down = true;
    fake.searchStatus = 200;
    const down = await rejection(engine.search('event_name:x', { size: 10 }));
    expect(isAsyncEventsError(down, 'SEARCH_UNAVAILABLE')).toBe(true);
  });

  it('reindexes by dropping its indices by name and starting the cursor over', async () => {
    await engine.index!();
    // Another shop on the same cluster and prefix, with an event this log has no subscription for.
    fake.indices.set('magento2_async_event_other.shop.event', { index: 'magento2_async_event_other.shop.event_v1', body: {} });
    const report = await engine.reindex!();
    expect(report).toEqual({ indexed: ROWS, rejected: 0, cursor: ROWS });
    const deleted = fake.requests.filter((r) => r.method === 'DELETE');
    expect(deleted).toHaveLength(1);
    expect(deleted[0]!.path.split(',').every((name) => /^\/?magento2_async_event_[a-z.]+_v1$/.test(name))).toBe(true);
    expect(deleted[0]!.path).not.toContain('other.shop');
    expect(fake.requests.filter((r) => r.method === 'GET').every((r) => !r.path.includes('*'))).toBe(true);
    expect(fake.indices.get('magento2_async_event_other.shop.event')).toBeDefined();
    expect(fake.indices.size).toBeGreaterThan(0);
    expect(fake.documents.size).toBe(ROWS);
  });
});
