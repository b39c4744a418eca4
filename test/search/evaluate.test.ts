import { describe, expect, it } from 'vitest';
import { isAsyncEventsError } from '../../src/errors.ts';
import { compileMatcher } from '../../src/search/evaluate.ts';
import { parseQuery } from '../../src/search/query.ts';
import { BUILTIN_ONLY_CASES, CASES } from './support/cases.ts';
import { makeSeed } from './support/seed.ts';

/*
 * The in-memory evaluator (subscription filters) against the same conformance list the SQL and Elasticsearch
 * engines answer: on every seeded row it must agree with the list's independent predicate, so a filter means
 * exactly what the same text means in the log search.
 */

const seed = makeSeed(10_000);

describe('in-memory query evaluation agrees with the search conformance list', () => {
  it.each([...CASES, ...BUILTIN_ONLY_CASES].map((c) => [c.query, c] as const))('%s', (_query, testCase) => {
    const matches = compileMatcher(parseQuery(testCase.query));
    const got = seed.filter((row) =>
      matches({ logId: row.logId, uuid: row.uuid, eventName: row.eventName, success: row.success, created: row.created, document: row.serializedData }),
    );
    const want = seed.filter(testCase.matches);
    expect(got.map((row) => row.logId)).toEqual(want.map((row) => row.logId));
  });
});

describe('filter queries over Magento\'s response', () => {
  const order = '{"entity_id":7,"status":"processing","grand_total":120.5,"customer_email":"Roni_Cost@Example.com","items":[{"sku":"24-MB01"}],"gift":false,"note":null}';
  const matches = (filter: string, storeId = '1', eventName = 'sales.order.created'): boolean =>
    compileMatcher(parseQuery(filter, { fields: 'filter' }))({ eventName, storeId, document: order });

  it('reads data.* paths of the response, ranges as numbers', () => {
    expect(matches('data.status: processing AND data.grand_total:>100')).toBe(true);
    expect(matches('data.status: processing AND data.grand_total:>200')).toBe(false);
    expect(matches('data.customer_email: roni_cost@example.com')).toBe(true);
    expect(matches('data.gift: false')).toBe(true);
    expect(matches('_exists_:data.note')).toBe(false);
    expect(matches('data.items.sku: 24-MB01')).toBe(false);
  });

  it('reads event_name and store_id', () => {
    expect(matches('event_name: sales.order.*')).toBe(true);
    expect(matches('event_name: sales.order.*', '1', 'customer.created')).toBe(false);
    expect(matches('store_id: 1')).toBe(true);
    expect(matches('store_id:[2 TO 5]')).toBe(false);
    expect(matches('store_id:[1 TO 5]')).toBe(true);
  });

  it('refuses log fields a filter cannot know, with their position', () => {
    for (const [filter, position] of [
      ['data.status: x AND success: true', 20],
      ['log_id:5', 1],
      ['created:2024', 1],
    ] as const) {
      try {
        parseQuery(filter, { fields: 'filter' });
        expect.unreachable();
      } catch (error) {
        expect(isAsyncEventsError(error, 'QUERY_SYNTAX')).toBe(true);
        expect((error as { details: { position: number } }).details.position).toBe(position);
      }
    }
    expect(() => parseQuery('store_id: 1')).toThrow(/Unknown field "store_id"/);
  });
});
