import { describe, expect, it } from 'vitest';
import { csvField, csvRow, searchCsv } from '../../src/api/csv.ts';
import type { SearchHit } from '../../src/api/dependencies.ts';
import { pageOfHits } from '../support/search-pages.ts';

describe('CSV (RFC 4180)', () => {
  it('quotes only fields with comma, quote, CR or LF, doubling quotes', () => {
    expect(csvField('plain')).toBe('plain');
    expect(csvField('a,b')).toBe('"a,b"');
    expect(csvField('say "hi"')).toBe('"say ""hi"""');
    expect(csvField('line\nbreak')).toBe('"line\nbreak"');
    expect(csvField('cr\rhere')).toBe('"cr\rhere"');
    expect(csvField(true)).toBe('1');
    expect(csvField(null)).toBe('');
    expect(csvField(42)).toBe('42');
    expect(csvRow(['a', 'b,c', 3])).toBe('a,"b,c",3\r\n');
  });

  it('pages through the search by log_id until the engine says nothing follows, never holding more than a page', async () => {
    const hits: SearchHit[] = Array.from({ length: 7 }, (_, i) => ({
      logId: i + 1, uuid: `u${i}`, eventName: 'e', success: i % 2 === 0, created: new Date(Date.UTC(2026, 0, 1, 0, 0, i)), subscriptionId: 9, recipientUrl: 'https://x', responseData: 'ok',
    }));
    const pages: (number | undefined)[] = [];
    const search = async (_q: string, page: { size: number; beforeLogId?: number }) => {
      pages.push(page.beforeLogId);
      return pageOfHits(hits, page);
    };
    const chunks: string[] = [];
    for await (const chunk of searchCsv(search, 'q', 3)) chunks.push(chunk);
    expect(pages).toEqual([undefined, 5, 2]);
    const lines = chunks.join('').split('\r\n');
    expect(lines[0]).toBe('log_id,uuid,event_name,success,created,subscription_id,recipient_url,response_data,sink');
    expect(lines[1]).toBe('7,u6,e,1,2026-01-01 00:00:06,9,https://x,ok,');
    expect(lines).toHaveLength(1 + 7 + 1);
  });

  it('goes on past short and empty pages (rows gone since they were indexed) until next is null', async () => {
    const row = (n: number): SearchHit => ({ logId: n, uuid: `u${n}`, eventName: 'e', success: true, created: new Date(0), subscriptionId: 1, recipientUrl: 'r', responseData: '' });
    const answers = [
      { total: 9, hits: [row(9)], next: 7 },
      { total: 9, hits: [], next: 4 },
      { total: 9, hits: [row(3), row(1)], next: null },
    ];
    const asked: (number | undefined)[] = [];
    const search = async (_q: string, page: { size: number; beforeLogId?: number }) => {
      asked.push(page.beforeLogId);
      return answers[asked.length - 1]!;
    };
    const out: string[] = [];
    for await (const chunk of searchCsv(search, '', 3)) out.push(chunk);
    expect(asked).toEqual([undefined, 7, 4]);
    expect(out.join('').split('\r\n').slice(1, -1).map((line) => line.split(',')[0])).toEqual(['9', '3', '1']);
  });

  it('refuses an engine whose cursor does not move instead of looping', async () => {
    const search = async () => ({ total: 1, hits: [], next: 5 });
    const out: string[] = [];
    await expect(async () => {
      for await (const chunk of searchCsv(search, '', 3)) out.push(chunk);
    }).rejects.toThrow(/did not advance/);
  });
});
