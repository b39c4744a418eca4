import { describe, expect, it } from 'vitest';
import { csvField, csvRow, searchCsv } from '../../src/api/csv.ts';
import type { SearchHit } from '../../src/api/dependencies.ts';

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

  it('pages through the search until a short page and never holds more than a page', async () => {
    const hits: SearchHit[] = Array.from({ length: 7 }, (_, i) => ({
      logId: i + 1, uuid: `u${i}`, eventName: 'e', success: i % 2 === 0, created: new Date(Date.UTC(2026, 0, 1, 0, 0, i)), subscriptionId: 9, recipientUrl: 'https://x', responseData: 'ok',
    }));
    const pages: number[] = [];
    const search = async (_q: string, page: { size: number; from: number }) => {
      pages.push(page.from);
      return { total: hits.length, hits: hits.slice(page.from, page.from + page.size) };
    };
    const chunks: string[] = [];
    for await (const chunk of searchCsv(search, 'q', 3)) chunks.push(chunk);
    expect(pages).toEqual([0, 3, 6]);
    const lines = chunks.join('').split('\r\n');
    expect(lines[0]).toBe('log_id,uuid,event_name,success,created,subscription_id,recipient_url,response_data');
    expect(lines[1]).toBe('1,u0,e,1,2026-01-01 00:00:00,9,https://x,ok');
    expect(lines).toHaveLength(1 + 7 + 1);
  });

  it('stops at total even when the last page is full', async () => {
    const pages: number[] = [];
    const search = async (_q: string, page: { size: number; from: number }) => {
      pages.push(page.from);
      return { total: 2, hits: page.from === 0 ? [1, 2].map((n) => ({ logId: n, uuid: 'u', eventName: 'e', success: true, created: new Date(0), subscriptionId: 1, recipientUrl: 'r', responseData: '' })) : [] };
    };
    const out: string[] = [];
    for await (const chunk of searchCsv(search, '', 2)) out.push(chunk);
    expect(pages).toEqual([0]);
  });
});
