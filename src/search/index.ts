import type { Logger } from '../logger.ts';
import type { Store } from '../store/store.ts';
import { createElasticsearchSearch } from './elasticsearch.ts';
import { createBuiltinSearch, type SearchEngine } from './engine.ts';

export { createBuiltinSearch, type IndexReport, type SearchEngine, type SearchPage, type SearchResult } from './engine.ts';
export { createElasticsearchSearch, ES_CURSOR_PATH } from './elasticsearch.ts';
export { parseQuery, type SearchQuery } from './query.ts';

const DEFAULT_INDEX_PREFIX = 'magento2';

/**
 * Magento's index prefix for its configured search engine (`catalog/search/engine`), which upstream's index
 * names start with; `magento2` when unset, as in Magento's config.xml.
 */
export async function magentoIndexPrefix(store: Pick<Store, 'configValues'>): Promise<string> {
  const engine = (await store.configValues.get('catalog/search/engine')) ?? 'opensearch';
  const prefix = await store.configValues.get(`catalog/search/${engine}_index_prefix`);
  return prefix !== undefined && prefix.trim() !== '' ? prefix.trim() : DEFAULT_INDEX_PREFIX;
}

/** Elasticsearch when a URL is configured (ASYNC_EVENTS_ELASTICSEARCH), else the built-in engine on the store. */
export async function createSearchEngine(options: { elasticsearchUrl: string | undefined; store: Store; logger: Logger; indexPrefix?: string }): Promise<SearchEngine> {
  const { store } = options;
  if (options.elasticsearchUrl === undefined || options.elasticsearchUrl === '') return createBuiltinSearch({ db: store.db, dialect: store.dialect });
  const indexPrefix = options.indexPrefix ?? (await magentoIndexPrefix(store));
  return createElasticsearchSearch({ url: options.elasticsearchUrl, indexPrefix, logger: options.logger, store });
}
