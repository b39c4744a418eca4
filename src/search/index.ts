import type { Logger } from '../logger.ts';
import type { Store } from '../store/store.ts';
import { createElasticsearchSearch } from './elasticsearch.ts';
import { createBuiltinSearch, type SearchEngine } from './engine.ts';

export { createBuiltinSearch, type IndexReport, type SearchEngine, type SearchPage, type SearchResult } from './engine.ts';
export { createElasticsearchSearch, ES_CURSOR_PATH } from './elasticsearch.ts';
export { parseQuery, type SearchQuery } from './query.ts';

const DEFAULT_INDEX_PREFIX = 'magento2';

/**
 * Magento's index prefix for its configured search engine (`catalog/search/engine`, then
 * `catalog/search/<engine>_index_prefix`), which upstream's index names start with. env.php `system` values win
 * over core_config_data, as in Magento; `magento2` when unset, as in Magento's config.xml.
 */
export async function magentoIndexPrefix(store: Pick<Store, 'configValues'>, systemOverrides: Readonly<Record<string, string>> = {}): Promise<string> {
  const read = async (path: string): Promise<string | undefined> => {
    const value = systemOverrides[path] ?? (await store.configValues.get(path));
    return value !== undefined && value.trim() !== '' ? value.trim() : undefined;
  };
  const engine = (await read('catalog/search/engine')) ?? 'opensearch';
  return (await read(`catalog/search/${engine}_index_prefix`)) ?? DEFAULT_INDEX_PREFIX;
}

/** Elasticsearch when a URL is configured (ASYNC_EVENTS_ELASTICSEARCH), else the built-in engine on the store. */
export async function createSearchEngine(options: {
  elasticsearchUrl: string | undefined;
  store: Store;
  logger: Logger;
  indexPrefix?: string;
  systemOverrides?: Readonly<Record<string, string>>;
}): Promise<SearchEngine> {
  const { store } = options;
  if (options.elasticsearchUrl === undefined || options.elasticsearchUrl === '') return createBuiltinSearch({ db: store.db, dialect: store.dialect });
  const indexPrefix = options.indexPrefix ?? (await magentoIndexPrefix(store, options.systemOverrides));
  return createElasticsearchSearch({ url: options.elasticsearchUrl, indexPrefix, logger: options.logger, store });
}
