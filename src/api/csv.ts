import type { SearchHit, SearchPage } from './dependencies.ts';
import { formatMagentoDate } from './display.ts';

/*
 * CSV of the delivery log (RFC 4180: CRLF line ends, fields quoted when they hold a comma, quote, CR or LF, quotes
 * doubled). Shared by `GET /V1/async_events/search.csv` and `async-events search --csv`.
 */

export const SEARCH_CSV_COLUMNS = ['log_id', 'uuid', 'event_name', 'success', 'created', 'subscription_id', 'recipient_url', 'response_data'] as const;

export function csvField(value: string | number | boolean | null | undefined): string {
  if (value === null || value === undefined) return '';
  const text = typeof value === 'boolean' ? (value ? '1' : '0') : String(value);
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

export function csvRow(values: readonly (string | number | boolean | null | undefined)[]): string {
  return `${values.map(csvField).join(',')}\r\n`;
}

export function searchHitCsvRow(hit: SearchHit): string {
  return csvRow([hit.logId, hit.uuid, hit.eventName, hit.success, formatMagentoDate(hit.created), hit.subscriptionId, hit.recipientUrl, hit.responseData]);
}

export type SearchFunction = (query: string, page: { size: number; from: number }) => Promise<SearchPage>;

/**
 * Header then one row per hit, fetching one page at a time so a large result never sits in memory. Stops at the
 * first short page, or when `total` is reached.
 */
export async function* searchCsv(search: SearchFunction, query: string, pageSize = 500): AsyncGenerator<string> {
  yield csvRow(SEARCH_CSV_COLUMNS);
  let from = 0;
  for (;;) {
    const page = await search(query, { size: pageSize, from });
    let chunk = '';
    for (const hit of page.hits) chunk += searchHitCsvRow(hit);
    if (chunk !== '') yield chunk;
    from += page.hits.length;
    if (page.hits.length < pageSize || from >= page.total) return;
  }
}
