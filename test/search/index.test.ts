import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/logger.ts';
import { createSearchEngine, magentoIndexPrefix } from '../../src/search/index.ts';
import { openTestStore, type TestStore } from './support/databases.ts';
import { startFakeElasticsearch } from './support/fake-elasticsearch.ts';
import { insertSeed, makeSeed } from './support/seed.ts';

describe('createSearchEngine', () => {
  let opened: TestStore;
  beforeAll(async () => {
    opened = await openTestStore('sqlite');
  });
  afterAll(async () => {
    await opened?.dispose();
  });

  it('uses the built-in engine without an Elasticsearch URL', async () => {
    const engine = await createSearchEngine({ elasticsearchUrl: undefined, store: opened.store, logger: silentLogger() });
    expect(engine.kind).toBe('builtin');
    expect(await engine.search('success:true', { size: 1 })).toEqual({ total: 0, hits: [], next: null });
  });

  it("takes Magento's index prefix for its configured engine, magento2 by default", async () => {
    expect(await magentoIndexPrefix(opened.store)).toBe('magento2');
    await opened.store.configValues.set('catalog/search/engine', 'elasticsearch7');
    await opened.store.configValues.set('catalog/search/elasticsearch7_index_prefix', 'shop_live');
    expect(await magentoIndexPrefix(opened.store)).toBe('shop_live');
    const engine = await createSearchEngine({ elasticsearchUrl: 'http://127.0.0.1:9', store: opened.store, logger: silentLogger() });
    expect(engine.kind).toBe('elasticsearch');
    await engine.close();
  });

  it('lets env.php system values win over core_config_data, and indexes under the prefix it found', async () => {
    await opened.store.configValues.set('catalog/search/engine', 'elasticsearch7');
    await opened.store.configValues.set('catalog/search/elasticsearch7_index_prefix', 'shop_live');
    expect(await magentoIndexPrefix(opened.store, { 'catalog/search/engine': 'opensearch', 'catalog/search/opensearch_index_prefix': 'shop_env' })).toBe('shop_env');

    await insertSeed(opened.store.db, makeSeed(30));
    const fake = await startFakeElasticsearch();
    const engine = await createSearchEngine({ elasticsearchUrl: fake.url, store: opened.store, logger: silentLogger(), systemOverrides: { 'catalog/search/elasticsearch7_index_prefix': 'shop_env' } });
    try {
      await engine.index!();
      const created = fake.requests.filter((r) => r.method === 'PUT').map((r) => r.path);
      expect(created.length).toBeGreaterThan(0);
      expect(created.every((path) => path.startsWith('/shop_env_async_event_'))).toBe(true);
      await engine.search('*', { size: 5 });
      expect(fake.requests.at(-1)?.path).toBe('/shop_env_async_event_*/_search');
    } finally {
      await engine.close();
      await fake.close();
    }
  });
});
