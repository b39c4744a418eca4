import { describe, expect, it } from 'vitest';
import { isAsyncEventsError } from '../../src/errors.ts';
import { renderMessage } from '../../src/api/api-error.ts';
import { parseMagentoQuery } from '../../src/api/magento-query.ts';
import { searchCriteriaSchema, toSubscriptionCriteria } from '../../src/api/search-criteria.ts';
import { parseInput } from '../../src/api/validation.ts';
import { z } from 'zod';

const listQuery = z.strictObject({ searchCriteria: searchCriteriaSchema });

function criteriaOf(queryString: string) {
  const parsed = parseInput(listQuery, parseMagentoQuery(queryString), 'query');
  return toSubscriptionCriteria(parsed.searchCriteria);
}

function errorOf(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    if (!isAsyncEventsError(error)) throw error;
    return renderMessage(String(error.details.template), error.details.parameters as Record<string, unknown>);
  }
  throw new Error('expected an error');
}

describe('PHP-style nested query parsing', () => {
  it('nests bracketed keys, keeping indexes as keys (a sparse [10] stays one entry)', () => {
    expect(parseMagentoQuery('a[b][0][c]=1&a[b][0][d]=2&a[b][10][c]=3&plain=v&e=%E2%82%AC')).toEqual({
      a: { b: { '0': { c: '1', d: '2' }, '10': { c: '3' } } },
      plain: 'v',
      e: '€',
    });
  });

  it('lets nested keys supersede an empty searchCriteria= in either order', () => {
    expect(parseMagentoQuery('searchCriteria=&searchCriteria[pageSize]=2')).toEqual({ searchCriteria: { pageSize: '2' } });
    expect(parseMagentoQuery('searchCriteria[pageSize]=2&searchCriteria=')).toEqual({ searchCriteria: { pageSize: '2' } });
  });

  it('refuses a key given twice, a value that is also a parent, nesting too deep, and never builds prototypes', () => {
    expect(errorOf(() => parseMagentoQuery('a=1&a=2'))).toContain('"a" is given more than once');
    expect(errorOf(() => parseMagentoQuery('a[b][0]=1&a[b][0]=2'))).toContain('"a[b][0]" is given more than once');
    expect(errorOf(() => parseMagentoQuery('a=1&a[b]=2'))).toContain('both as a value and with nested keys');
    expect(errorOf(() => parseMagentoQuery(`a${'[x]'.repeat(12)}=1`))).toContain('cannot be read');
    expect(parseMagentoQuery('__proto__[polluted]=1')).toEqual({});
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('an unbalanced bracket stays part of the name, which the schema then refuses by name', () => {
    expect(errorOf(() => criteriaOf('searchCriteria[pageSize=1'))).toContain('"searchCriteria[[pageSize]" is not a known field');
  });
});

describe('Magento searchCriteria → store criteria and echo', () => {
  it('empty searchCriteria= means everything and echoes filter_groups: []', () => {
    expect(criteriaOf('searchCriteria=')).toEqual({ criteria: {}, echo: { filter_groups: [] } });
    expect(criteriaOf('')).toEqual({ criteria: {}, echo: { filter_groups: [] } });
  });

  it('keeps filter groups (AND) of filters (OR) in index order, defaults condition to eq', () => {
    const q = [
      'searchCriteria[filter_groups][1][filters][0][field]=status',
      'searchCriteria[filter_groups][1][filters][0][value]=1',
      'searchCriteria[filter_groups][0][filters][10][field]=store_id',
      'searchCriteria[filter_groups][0][filters][10][value]=2',
      'searchCriteria[filter_groups][0][filters][2][field]=event_name',
      'searchCriteria[filter_groups][0][filters][2][value]=sales.%25',
      'searchCriteria[filter_groups][0][filters][2][condition_type]=like',
      'searchCriteria[sort_orders][0][field]=subscription_id',
      'searchCriteria[sort_orders][0][direction]=desc',
      'searchCriteria[pageSize]=5',
      'searchCriteria[currentPage]=2',
    ].join('&');
    const { criteria, echo } = criteriaOf(q);
    expect(criteria).toEqual({
      filterGroups: [
        [
          { field: 'event_name', condition: 'like', value: 'sales.%' },
          { field: 'store_id', condition: 'eq', value: '2' },
        ],
        [{ field: 'status', condition: 'eq', value: '1' }],
      ],
      sortOrders: [{ field: 'subscription_id', direction: 'DESC' }],
      pageSize: 5,
      currentPage: 2,
    });
    expect(echo).toEqual({
      filter_groups: [
        { filters: [{ field: 'event_name', value: 'sales.%', condition_type: 'like' }, { field: 'store_id', value: '2', condition_type: 'eq' }] },
        { filters: [{ field: 'status', value: '1', condition_type: 'eq' }] },
      ],
      sort_orders: [{ field: 'subscription_id', direction: 'DESC' }],
      page_size: 5,
      current_page: 2,
    });
  });

  it('accepts camelCase keys as Magento does', () => {
    const { criteria } = criteriaOf('searchCriteria[filterGroups][0][filters][0][field]=status&searchCriteria[filterGroups][0][filters][0][value]=0&searchCriteria[filterGroups][0][filters][0][conditionType]=neq&searchCriteria[sortOrders][0][field]=event_name&searchCriteria[page_size]=3&searchCriteria[current_page]=1');
    expect(criteria).toEqual({
      filterGroups: [[{ field: 'status', condition: 'neq', value: '0' }]],
      sortOrders: [{ field: 'event_name', direction: 'ASC' }],
      pageSize: 3,
      currentPage: 1,
    });
  });

  it('does not require a value for null / notnull', () => {
    const { criteria } = criteriaOf('searchCriteria[filter_groups][0][filters][0][field]=modified&searchCriteria[filter_groups][0][filters][0][condition_type]=null');
    expect(criteria.filterGroups).toEqual([[{ field: 'modified', condition: 'null', value: '' }]]);
  });

  it.each([
    ['searchCriteria[filter_groups][0][filters][0][field]=verification_token&searchCriteria[filter_groups][0][filters][0][value]=x', 'searchCriteria[filter_groups][0][filters][0][field]'],
    ['searchCriteria[filter_groups][0][filters][0][field]=status&searchCriteria[filter_groups][0][filters][0][value]=1&searchCriteria[filter_groups][0][filters][0][condition_type]=regexp', 'condition_type'],
    ['searchCriteria[filter_groups][0][filters][0][field]=status', 'is required with condition_type "eq"'],
    ['searchCriteria[filter_groups][x][filters][0][field]=status', 'searchCriteria[filter_groups][x]'],
    ['searchCriteria[pageSize]=0', 'searchCriteria[pageSize]'],
    ['searchCriteria[pageSize]=abc', 'must be a whole number greater than 0'],
    ['searchCriteria[pageSize]=100000', 'must be at most 10000'],
    ['searchCriteria[sort_orders][0][field]=status&searchCriteria[sort_orders][0][direction]=up', 'must be ASC or DESC'],
    ['searchCriteria[bogus]=1', '"searchCriteria[bogus]" is not a known field'],
    ['searchCriteria=abc', 'must be empty or given as nested keys'],
    ['other=1', '"other" is not a known field'],
  ])('refuses %s naming the field', (queryString, expected) => {
    expect(errorOf(() => criteriaOf(queryString))).toContain(expected);
  });
});
