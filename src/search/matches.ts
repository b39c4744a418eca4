import { AsyncEventsError } from '../errors.ts';

/*
 * Every match of a query, page after page, for whatever reads them all (CSV export, replay by query, the CLI).
 * Pages are keyed on log_id (keyset on SQL, search_after on Elasticsearch), never on an offset: a deep page costs
 * what the first does, Elasticsearch's 10,000-hit window does not apply, and rows logged meanwhile (higher
 * log_ids) cannot shift what is still to come. The walk ends only when the engine says it has nothing more
 * (`next` is null): a short or empty page is not the end, since rows removed by the log cleanup leave gaps in
 * what Elasticsearch still holds.
 */

export interface MatchPage<T> {
  readonly total: number;
  readonly hits: readonly T[];
  /** beforeLogId of the following page; null when the engine has nothing more. */
  readonly next: number | null;
}

/** The iterators read no total, so they ask for none (`countTotal: false`): no count per page. */
export type KeysetSearch<T> = (query: string, page: { size: number; beforeLogId?: number; countTotal: false }) => Promise<MatchPage<T>>;

export const MATCH_PAGE_SIZE = 500;

/** Yields each page's hits (possibly none) until the engine's last page. */
export async function* searchMatches<T>(search: KeysetSearch<T>, query: string, pageSize = MATCH_PAGE_SIZE): AsyncGenerator<readonly T[]> {
  let before: number | undefined;
  for (;;) {
    const page = await search(query, before === undefined ? { size: pageSize, countTotal: false } : { size: pageSize, beforeLogId: before, countTotal: false });
    yield page.hits;
    if (page.next === null) return;
    if (before !== undefined && page.next >= before) {
      // An engine whose cursor does not move would loop for ever.
      throw new AsyncEventsError('SEARCH_UNAVAILABLE', `search paging did not advance (log_id ${before} then ${page.next})`, { before, next: page.next });
    }
    before = page.next;
  }
}

/**
 * The distinct UUIDs of every match, each with its event name, in match order (newest first); refuses, before
 * anything is replayed, when there are more than `limit`.
 */
export async function matchingUuids(
  search: KeysetSearch<{ readonly uuid: string; readonly eventName: string }>,
  query: string,
  limit: number,
  tooMany: (limit: number) => Error,
  pageSize = MATCH_PAGE_SIZE,
): Promise<Map<string, string>> {
  const uuids = new Map<string, string>();
  for await (const hits of searchMatches(search, query, pageSize)) {
    for (const hit of hits) {
      if (!uuids.has(hit.uuid)) uuids.set(hit.uuid, hit.eventName);
      if (uuids.size > limit) throw tooMany(limit);
    }
  }
  return uuids;
}
