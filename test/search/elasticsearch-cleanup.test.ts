import { Client } from '@elastic/elasticsearch';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAdminConfig } from '../../src/config/admin-config.ts';
import { isAsyncEventsError } from '../../src/errors.ts';
import { silentLogger } from '../../src/logger.ts';
import { ES_CURSOR_PATH, createElasticsearchSearch } from '../../src/search/elasticsearch.ts';
import type { SearchEngine } from '../../src/search/engine.ts';
import { cleanDeliveryLog } from '../../src/store/log-cleanup.ts';
import { openTestStore, type TestStore } from './support/databases.ts';
import { startFakeElasticsearch, type FakeElasticsearch } from './support/fake-elasticsearch.ts';
import { insertSeed, makeSeed } from './support/seed.ts';

/*
 * The log cleanup against the Elasticsearch stand-in: the documents of the rows it removes go too, batch by
 * batch and before their rows; rows past the index cursor were never indexed and cost no request; while
 * Elasticsearch is down the rows stay for the next run; the indexing cursor is left as it was. And the health
 * probe asks the cluster, with a short timeout.
 */

const ROWS = 600;
const INDEXED = 500;
// Rows 1…400 were created in 2023–2024 (90 minutes apart from 2023-08-31); the cut-off falls inside them.
const NOW = new Date('2023-09-26T00:00:00Z');

describe('log cleanup and health with Elasticsearch', () => {
  let opened: TestStore;
  let fake: FakeElasticsearch;
  let client: Client;
  let engine: SearchEngine;

  beforeAll(async () => {
    opened = await openTestStore('sqlite');
    await insertSeed(opened.store.db, makeSeed(ROWS));
    fake = await startFakeElasticsearch();
    client = new Client({ node: fake.url, maxRetries: 0 });
    engine = createElasticsearchSearch({ url: fake.url, indexPrefix: 'magento2', logger: silentLogger(), store: opened.store, client, batchSize: INDEXED });
    await opened.store.configValues.set('system/async_events/subscriber_log_cleanup_cron', '1');
    await opened.store.configValues.set('system/async_events/subscriber_log_cron_delete_period', '1');
  });
  afterAll(async () => {
    await engine?.close();
    await client?.close();
    await fake?.close();
    await opened?.dispose();
  });

  it('keeps the rows while Elasticsearch cannot forget them, then deletes rows and documents in batches, cursor untouched', async () => {
    // One indexing round of 500 rows, then the node is stopped before the rest: the cursor is at 500.
    fake.down = false;
    await engine.index!().catch(() => undefined);
    await opened.store.configValues.set(ES_CURSOR_PATH, String(INDEXED));
    for (const id of fake.documents.keys()) if (Number(id) > INDEXED) fake.documents.delete(id);
    expect(fake.documents.size).toBe(INDEXED);
    const config = createAdminConfig(opened.store.configValues, {}, { ttlMs: 0 });
    const cutoff = '2023-09-25 00:00:00';
    const old = (await opened.store.db.selectFrom('async_event_subscriber_log').select('log_id').where('created', '<', cutoff).orderBy('log_id').execute()).map((r) => r.log_id);
    expect(old.length).toBeGreaterThan(250);

    fake.down = true;
    const refused = await cleanDeliveryLog(config, opened.store, silentLogger(), NOW, { batchSize: 100, forgetIndexed: (ids) => engine.forget!(ids) }).catch((e: unknown) => e);
    expect(isAsyncEventsError(refused, 'SEARCH_UNAVAILABLE')).toBe(true);
    expect(await opened.store.log.count()).toBe(ROWS);

    fake.down = false;
    const before = fake.requests.length;
    const removed = await cleanDeliveryLog(config, opened.store, silentLogger(), NOW, { batchSize: 100, forgetIndexed: (ids) => engine.forget!(ids) });
    expect(removed).toBe(old.length);
    expect(await opened.store.log.count()).toBe(ROWS - old.length);
    const deletes = fake.requests.slice(before).filter((r) => r.path.endsWith('/_delete_by_query'));
    expect(deletes).toHaveLength(Math.ceil(old.length / 100));
    const sentIds = deletes.flatMap((r) => (JSON.parse(r.body) as { query: { terms: { log_id: number[] } } }).query.terms.log_id);
    expect(sentIds).toEqual(old);
    // Never a wildcard: the documents of another shop sharing the prefix stay.
    expect(deletes.every((r) => !r.path.includes('*'))).toBe(true);
    for (const id of old) expect(fake.documents.has(String(id))).toBe(false);
    expect(fake.documents.size).toBe(INDEXED - old.length);
    expect(await opened.store.configValues.get(ES_CURSOR_PATH)).toBe(String(INDEXED));

    // Indexing goes on from its cursor with the rows that are left.
    expect(await engine.index!()).toEqual({ indexed: ROWS - INDEXED, rejected: 0, cursor: ROWS });
    const hits = await engine.search('*', { size: 10 });
    expect(hits.next).toBeNull();
  });

  it('sends nothing for rows past the cursor (never indexed)', async () => {
    await opened.store.configValues.set(ES_CURSOR_PATH, '10');
    const before = fake.requests.length;
    await engine.forget!([500, 501, 502]);
    expect(fake.requests.length).toBe(before);
    await opened.store.configValues.set(ES_CURSOR_PATH, String(ROWS));
  });

  it('asks the cluster for its health with a short timeout', async () => {
    fake.clusterStatus = 'yellow';
    expect(await engine.health!()).toBe('Elasticsearch cluster fake-cluster yellow, index prefix magento2');
    const asked = fake.requests.filter((r) => r.path === '/_cluster/health').at(-1);
    expect(asked?.search.get('timeout')).toBe('2s');
    fake.clusterStatus = 'red';
    expect(isAsyncEventsError(await engine.health!().catch((e: unknown) => e), 'SEARCH_UNAVAILABLE')).toBe(true);
    fake.clusterStatus = 'hang';
    const hung = await engine.health!().catch((e: unknown) => e);
    expect(isAsyncEventsError(hung, 'SEARCH_UNAVAILABLE')).toBe(true);
    expect((hung as Error).message).toMatch(/failed to answer a health check: .*(timed? ?out|aborted)/i);
    fake.clusterStatus = 'green';
  });
});
