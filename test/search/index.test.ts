import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/logger.ts';
import { createSearchEngine, magentoIndexPrefix } from '../../src/search/index.ts';
import { openTestStore, type TestStore } from './support/databases.ts';

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
    expect(await engine.search('success:true', { size: 1 })).toEqual({ total: 0, hits: [] });
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
});
