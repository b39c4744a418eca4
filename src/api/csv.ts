import { MATCH_PAGE_SIZE, searchMatches, type KeysetSearch } from '../search/matches.ts';
import type { SearchHit } from './dependencies.ts';
import { formatMagentoDate } from './display.ts';

/*
 * CSV of the delivery log (RFC 4180: CRLF line ends, fields quoted when they hold a comma, quote, CR or LF, quotes
 * doubled). Shared by `GET /V1/async_events/search.csv` and `async-events search --csv`.
 */

export const SEARCH_CSV_COLUMNS = ['log_id', 'uuid', 'event_name', 'success', 'created', 'subscription_id', 'recipient_url', 'response_data', 'sink'] as const;

export function csvField(value: string | number | boolean | null | undefined): string {
  if (value === null || value === undefined) return '';
  const text = typeof value === 'boolean' ? (value ? '1' : '0') : String(value);
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

export function csvRow(values: readonly (string | number | boolean | null | undefined)[]): string {
  return `${values.map(csvField).join(',')}\r\n`;
}

export function searchHitCsvRow(hit: SearchHit): string {
  return csvRow([hit.logId, hit.uuid, hit.eventName, hit.success, formatMagentoDate(hit.created), hit.subscriptionId, hit.recipientUrl, hit.responseData, hit.sink]);
}

/** Header then one row per match, a page at a time, so a large result never sits in memory. */
export async function* searchCsv(search: KeysetSearch<SearchHit>, query: string, pageSize = MATCH_PAGE_SIZE): AsyncGenerator<string> {
  yield csvRow(SEARCH_CSV_COLUMNS);
  for await (const hits of searchMatches(search, query, pageSize)) {
    let chunk = '';
    for (const hit of hits) chunk += searchHitCsvRow(hit);
    if (chunk !== '') yield chunk;
  }
}
