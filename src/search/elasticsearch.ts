import { Client, errors } from '@elastic/elasticsearch';
import { AsyncEventsError } from '../errors.ts';
import type { Logger } from '../logger.ts';
import { toDbDateTime } from '../store/datetime.ts';
import type { Store } from '../store/store.ts';
import type { LogRowWithEvent } from '../store/store.ts';
import { checkPage, type IndexReport, type SearchEngine } from './engine.ts';
import { LOG_ROW_COLUMNS, selectLogRowsWithTarget, toLogRow, type RawLogRow } from './log-rows.ts';
import { parseQuery } from './query.ts';
import { DEFAULT_FIELDS, toQueryString } from './query-string.ts';

/*
 * Search through Elasticsearch, in upstream's layout so that an index built by the PHP module keeps working and
 * ours works for it: one index per event name behind the alias `{prefix}_async_event_{event_name}` (versioned
 * `…_v1`), upstream's mapping, documents `{log_id, uuid, event_name, success, created, data}` with `_id` = log_id.
 *
 * Indexing follows the log with a cursor, the last indexed log_id, kept in core_config_data at
 * `async_events/search/es_cursor`: rows written while Elasticsearch is down are indexed when it is back, and a
 * restart resumes where it stopped. Hits are read back from the database, as upstream's grid does.
 */

export const ES_CURSOR_PATH = 'async_events/search/es_cursor';
const INDEX_BATCH = 500;
/** Elasticsearch's default index.max_result_window: from + size may not go past it. */
const MAX_RESULT_WINDOW = 10_000;
/** A health probe answers quickly or counts as down: /readyz and the console must not hang on it. */
const HEALTH_TIMEOUT_MS = 2000;

/** Upstream's mapping (`DynamicFieldMapper`): `data` is left to dynamic mapping. */
export const LOG_INDEX_MAPPING = {
  properties: {
    log_id: { type: 'long' },
    uuid: { type: 'keyword' },
    event_name: { type: 'keyword' },
    success: { type: 'boolean' },
    created: { type: 'date', format: 'yyyy-MM-dd HH:mm:ss' },
    data: { type: 'object', dynamic: true },
  },
} as const;

export interface ElasticsearchSearchOptions {
  readonly url: string;
  /** Magento's index prefix (`magento2` by default). */
  readonly indexPrefix: string;
  readonly logger: Logger;
  readonly store: Pick<Store, 'db' | 'log' | 'configValues'>;
  /** Injected client (tests); otherwise one is made for `url` and closed with the engine. */
  readonly client?: Client;
  readonly batchSize?: number;
}

export interface LogDocument {
  readonly log_id: number;
  readonly uuid: string;
  readonly event_name: string;
  readonly success: boolean;
  readonly created: string;
  readonly data?: Record<string, unknown>;
}

/** Elasticsearch index names are lower-case and refuse `\ / * ? " < > | , #`, spaces and colons. */
export function aliasFor(indexPrefix: string, eventName: string): string {
  return `${indexPrefix}_async_event_${eventName}`.toLowerCase().replace(/[\\/*?"<>|,#:\s]/g, '_');
}

export function toLogDocument(row: LogRowWithEvent): LogDocument {
  let data: unknown;
  try {
    data = row.serializedData === null ? undefined : JSON.parse(row.serializedData);
  } catch {
    data = undefined;
  }
  const isObject = typeof data === 'object' && data !== null && !Array.isArray(data);
  return {
    log_id: row.logId,
    uuid: row.uuid,
    event_name: row.eventName,
    success: row.success,
    created: toDbDateTime(row.created),
    ...(isObject ? { data: data as Record<string, unknown> } : {}),
  };
}

/** The log_id a hit was sorted on (its `sort` value), else its `_id`. */
function sortValue(hit: { _id?: string | null; sort?: unknown[] }): number {
  const sorted = Number(hit.sort?.[0]);
  return Number.isSafeInteger(sorted) ? sorted : Number(hit._id);
}

export function createElasticsearchSearch(options: ElasticsearchSearchOptions): SearchEngine {
  const logger = options.logger.child({ stage: 'search', engine: 'elasticsearch' });
  const client = options.client ?? new Client({ node: options.url });
  const ownsClient = options.client === undefined;
  const batchSize = options.batchSize ?? INDEX_BATCH;
  const { store } = options;
  const searchPattern = `${options.indexPrefix}_async_event_*`.toLowerCase();
  const knownAliases = new Set<string>();

  const unavailable = (action: string, error: unknown): AsyncEventsError =>
    new AsyncEventsError('SEARCH_UNAVAILABLE', `Elasticsearch at ${options.url} failed to ${action}: ${(error as Error).message}`, { url: options.url }, { cause: error });

  async function ensureIndex(alias: string): Promise<void> {
    if (knownAliases.has(alias)) return;
    if (!(await client.indices.exists({ index: alias }))) {
      try {
        await client.indices.create({ index: `${alias}_v1`, mappings: LOG_INDEX_MAPPING, aliases: { [alias]: {} } });
        logger.info({ alias }, 'created search index');
      } catch (error) {
        // Another process created it in between.
        if (!(error instanceof errors.ResponseError && error.body?.error?.type === 'resource_already_exists_exception')) throw error;
      }
    }
    knownAliases.add(alias);
  }

  async function readCursor(): Promise<number> {
    const value = Number(await store.configValues.get(ES_CURSOR_PATH));
    return Number.isSafeInteger(value) && value > 0 ? value : 0;
  }

  async function index(onProgress?: (done: number) => void): Promise<IndexReport> {
    let cursor = await readCursor();
    let indexed = 0;
    let rejected = 0;
    for (;;) {
      const rows = await store.log.rows({ afterLogId: cursor, limit: batchSize, order: 'asc' });
      if (rows.length === 0) break;
      const operations: unknown[] = [];
      const sent: LogRowWithEvent[] = [];
      for (const row of rows) {
        if (row.eventName === '') {
          logger.warn({ logId: row.logId }, 'log row without a subscription cannot be indexed; skipped');
          rejected++;
          continue;
        }
        const alias = aliasFor(options.indexPrefix, row.eventName);
        try {
          await ensureIndex(alias);
        } catch (error) {
          throw unavailable('create an index', error);
        }
        operations.push({ index: { _index: alias, _id: String(row.logId) } }, toLogDocument(row));
        sent.push(row);
      }
      let lastDone = rows[rows.length - 1]?.logId ?? cursor;
      if (sent.length > 0) {
        let response;
        try {
          response = await client.bulk({ operations });
        } catch (error) {
          throw unavailable('index log rows', error);
        }
        // Items come back in request order. A busy or failing node (429, 5xx) stops the cursor before that row
        // so it is sent again; a document Elasticsearch refuses for good (mapping conflict) is logged and skipped.
        for (const [position, item] of response.items.entries()) {
          const result = item.index;
          const row = sent[position];
          if (result === undefined || row === undefined) continue;
          if (result.status >= 200 && result.status < 300) {
            indexed++;
          } else if (result.status === 429 || result.status >= 500) {
            lastDone = row.logId - 1;
            break;
          } else {
            rejected++;
            logger.warn({ logId: row.logId, status: result.status, reason: result.error?.reason }, 'Elasticsearch refused a log row; skipped');
          }
        }
      }
      if (lastDone > cursor) {
        cursor = lastDone;
        await store.configValues.set(ES_CURSOR_PATH, String(cursor));
      }
      onProgress?.(indexed + rejected);
      if (lastDone < (rows[rows.length - 1]?.logId ?? cursor)) {
        throw new AsyncEventsError('SEARCH_UNAVAILABLE', `Elasticsearch at ${options.url} is busy; indexing resumes after log_id ${cursor}`, { url: options.url, cursor });
      }
      if (rows.length < batchSize) break;
    }
    if (indexed > 0) logger.debug({ indexed, rejected, cursor }, 'indexed log rows');
    return { indexed, rejected, cursor };
  }

  /** Aliases of the events this log knows (its subscriptions' event names), whatever is in the cluster. */
  async function ourAliases(): Promise<string[]> {
    const rows = await store.db.selectFrom('async_event_subscriber').select('event_name').distinct().execute();
    return [...new Set([...rows.map((row) => aliasFor(options.indexPrefix, row.event_name)), ...knownAliases])].sort();
  }

  /**
   * The indices behind our aliases, resolved by exact name: a wildcard such as `{prefix}_async_event_*` would
   * also take the indices of another shop sharing the cluster (and its prefix).
   */
  async function ourIndices(): Promise<string[]> {
    const aliases = await ourAliases();
    if (aliases.length === 0) return [];
    const found = await client.indices.get({ index: aliases.join(','), ignore_unavailable: true, allow_no_indices: true });
    return Object.keys(found);
  }

  async function reindex(onProgress?: (done: number) => void): Promise<IndexReport> {
    try {
      const names = await ourIndices();
      // Named one by one: clusters refuse wildcard deletes (action.destructive_requires_name).
      if (names.length > 0) await client.indices.delete({ index: names.join(',') });
    } catch (error) {
      throw unavailable('drop the old indices', error);
    }
    knownAliases.clear();
    await store.configValues.set(ES_CURSOR_PATH, '0');
    return index(onProgress);
  }

  async function forget(logIds: readonly number[]): Promise<void> {
    // Rows past the cursor were never indexed.
    const cursor = await readCursor();
    const indexed = logIds.filter((id) => id <= cursor);
    if (indexed.length === 0) return;
    try {
      const aliases = await ourAliases();
      if (aliases.length === 0) return;
      await client.deleteByQuery({
        index: aliases.join(','),
        ignore_unavailable: true,
        allow_no_indices: true,
        conflicts: 'proceed',
        query: { terms: { log_id: [...indexed] } },
      });
    } catch (error) {
      throw unavailable('delete the documents of cleaned-up log rows', error);
    }
  }

  async function health(): Promise<string> {
    let answer;
    try {
      answer = await client.cluster.health({ timeout: '2s' }, { requestTimeout: HEALTH_TIMEOUT_MS, maxRetries: 0 });
    } catch (error) {
      throw unavailable('answer a health check', error);
    }
    if (answer.status === 'red') throw new AsyncEventsError('SEARCH_UNAVAILABLE', `Elasticsearch cluster ${answer.cluster_name} is red`, { url: options.url });
    return `Elasticsearch cluster ${answer.cluster_name} ${answer.status}, index prefix ${options.indexPrefix}`;
  }

  return {
    kind: 'elasticsearch',
    forget,
    health,
    async search(text, page) {
      const { size, from, beforeLogId, countTotal } = checkPage(page);
      const queryString = toQueryString(parseQuery(text));
      const query = { query_string: { query: queryString, default_operator: 'OR' as const, fields: [...DEFAULT_FIELDS], lenient: true, allow_leading_wildcard: true } };
      const ask = async (pageSize: number, position: { from: number } | { search_after: number[] }, countHits: boolean) => {
        try {
          return await client.search({
            index: searchPattern,
            ignore_unavailable: true,
            allow_no_indices: true,
            query,
            sort: [{ log_id: { order: 'desc' } }],
            size: pageSize,
            track_total_hits: countHits,
            _source: false,
            ...position,
          });
        } catch (error) {
          if (error instanceof errors.ResponseError && error.statusCode === 400) {
            throw new AsyncEventsError('QUERY_SYNTAX', `Elasticsearch refused the query: ${error.message}`, { queryString }, { cause: error });
          }
          throw unavailable('search', error);
        }
      };
      // Elasticsearch refuses from + size beyond 10,000 (index.max_result_window): a deep page number is reached by
      // walking there with search_after on log_id, ids only.
      let position: { from: number } | { search_after: number[] } = beforeLogId === undefined ? { from } : { search_after: [beforeLogId] };
      if (beforeLogId === undefined && from + size > MAX_RESULT_WINDOW) {
        let skipped = 0;
        let after: number | undefined;
        while (skipped < from) {
          const step = Math.min(MAX_RESULT_WINDOW, from - skipped);
          const walked = await ask(step, after === undefined ? { from: 0 } : { search_after: [after] }, false);
          const last = walked.hits.hits.at(-1);
          if (walked.hits.hits.length < step || last === undefined) return { total: countTotal ? await countOnly() : skipped + walked.hits.hits.length, hits: [], next: null };
          after = sortValue(last);
          skipped += walked.hits.hits.length;
        }
        position = after === undefined ? { from: 0 } : { search_after: [after] };
      }
      const response = await ask(size, position, countTotal);
      const counted = typeof response.hits.total === 'number' ? response.hits.total : response.hits.total?.value;
      const total = countTotal ? (counted ?? 0) : from + response.hits.hits.length;
      const last = response.hits.hits.at(-1);
      // A full page may have more behind it; a short one is the end, whatever the database still holds.
      const next = response.hits.hits.length === size && last !== undefined ? sortValue(last) : null;
      const ids = response.hits.hits.map((hit) => Number(hit._id)).filter((id) => Number.isSafeInteger(id));
      if (ids.length === 0) return { total, hits: [], next };
      const rows = await selectLogRowsWithTarget(store.db).select(LOG_ROW_COLUMNS).where('l.log_id', 'in', ids).execute();
      const byId = new Map(rows.map((row) => [Number(row.log_id), toLogRow(row as RawLogRow)]));
      // Rows deleted by the log cleanup since they were indexed are left out.
      const hits = ids.map((id) => byId.get(id)).filter((row): row is LogRowWithEvent => row !== undefined);
      return { total, hits, next };

      async function countOnly(): Promise<number> {
        const counted = await ask(0, { from: 0 }, true);
        return typeof counted.hits.total === 'number' ? counted.hits.total : (counted.hits.total?.value ?? 0);
      }
    },
    index,
    reindex,
    async close() {
      if (ownsClient) await client.close();
    },
  };
}
