import { describe, expect, it } from 'vitest';
import { isAsyncEventsError } from '../../src/errors.ts';
import { parseEventPattern } from '../../src/search/event-pattern.ts';

const EVENTS = ['sales.order.created', 'sales.order.updated', 'sales.invoice.created', 'customer.created', 'Sales.Order.Created', 'catalog.product*'];
const covered = (pattern: string): string[] => EVENTS.filter((name) => parseEventPattern(pattern).matches(name));

describe('event name patterns', () => {
  it('matches in the search syntax\'s wildcard form, case-sensitively', () => {
    expect(covered('sales.order.*')).toEqual(['sales.order.created', 'sales.order.updated']);
    expect(covered('*.created')).toEqual(['sales.order.created', 'sales.invoice.created', 'customer.created']);
    expect(covered('*')).toEqual(EVENTS);
    expect(covered('sales.?????.created')).toEqual(['sales.order.created']);
    expect(covered('customer.created')).toEqual(['customer.created']);
    expect(covered('catalog.product\\*')).toEqual(['catalog.product*']);
  });

  it('tells plain names from patterns', () => {
    expect(parseEventPattern('customer.created').wildcard).toBe(false);
    expect(parseEventPattern('customer.*').wildcard).toBe(true);
  });

  it.each(['', 'a OR b', 'customer.created AND x', '(a', 'a b'])('refuses %j naming the field', (text) => {
    try {
      parseEventPattern(text);
      expect.unreachable();
    } catch (error) {
      expect(isAsyncEventsError(error, 'VALIDATION_FAILED')).toBe(true);
      expect((error as { details: { field: string } }).details.field).toBe('event_name');
    }
  });
});
