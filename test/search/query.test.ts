import { describe, expect, it } from 'vitest';
import { isAsyncEventsError } from '../../src/errors.ts';
import { parseQuery, type SearchQuery } from '../../src/search/query.ts';

const NOW = new Date('2026-03-15T12:34:56Z');
const parse = (text: string): SearchQuery => parseQuery(text, { now: NOW });

function syntaxError(text: string): { message: string; position: unknown } {
  try {
    parse(text);
  } catch (error) {
    if (!isAsyncEventsError(error, 'QUERY_SYNTAX')) throw error;
    return { message: error.message, position: error.details.position };
  }
  throw new Error(`expected a syntax error for ${text}`);
}

/** The tree without positions, to compare spellings of the same query. */
const shape = (text: string): unknown => JSON.parse(JSON.stringify(parse(text), (key, value: unknown) => (key === 'position' ? undefined : value)));

const term = (value: string, position: number): SearchQuery => ({ kind: 'text', pattern: [{ kind: 'text', text: value }], position });

describe('parseQuery', () => {
  it('reads `field: value` with a space after the colon as upstream README writes it', () => {
    expect(parse('event_name: customer.*')).toEqual({
      kind: 'like',
      field: { kind: 'event_name' },
      pattern: [{ kind: 'text', text: 'customer.' }, { kind: 'any' }],
      position: 13,
    });
    expect(parse('data.data.customer_email: roni_cost@example.com')).toEqual({
      kind: 'equals',
      field: { kind: 'data', path: ['data', 'customer_email'] },
      value: 'roni_cost@example.com',
      position: 27,
    });
    expect(parse('success : false')).toEqual({ kind: 'equals', field: { kind: 'success' }, value: false, position: 11 });
  });

  it('binds NOT tighter than AND, and AND tighter than OR', () => {
    expect(parse('a OR b AND NOT c')).toEqual({
      kind: 'or',
      operands: [term('a', 1), { kind: 'and', operands: [term('b', 6), { kind: 'not', operand: term('c', 16) }] }],
    });
    expect(shape('a || b && !c')).toEqual(shape('a OR b AND NOT c'));
  });

  it('joins side-by-side clauses with OR, as Elasticsearch query_string does by default', () => {
    expect(parse('a b')).toEqual({ kind: 'or', operands: [term('a', 1), term('b', 3)] });
    expect(parseQuery('a b', { defaultOperator: 'AND' })).toEqual({ kind: 'and', operands: [term('a', 1), term('b', 3)] });
  });

  it('applies Lucene +/- rules to side-by-side clauses', () => {
    // +a b: b is optional once something is required
    expect(parse('+a b')).toEqual(term('a', 2));
    expect(parse('a -b')).toEqual({ kind: 'and', operands: [term('a', 1), { kind: 'not', operand: term('b', 4) }] });
    expect(parse('-b')).toEqual({ kind: 'not', operand: term('b', 2) });
    expect(parse('a b -c')).toEqual({ kind: 'and', operands: [{ kind: 'or', operands: [term('a', 1), term('b', 3)] }, { kind: 'not', operand: term('c', 6) }] });
  });

  it('keeps a - or + inside a term, and escapes', () => {
    expect(parse('data.data.sku:24-MB01')).toMatchObject({ kind: 'equals', value: '24-MB01' });
    expect(parse('data.data.url:https\\://x.test/a\\*b')).toMatchObject({ kind: 'equals', value: 'https://x.test/a*b' });
    expect(parse('"a \\"quoted\\" *word*"')).toEqual(term('a "quoted" *word*', 1));
    expect(parse('AND\\ more')).toEqual(term('AND more', 1));
  });

  it('reads wildcards as pattern parts', () => {
    expect(parse('data.data.increment_id:CK?0*')).toMatchObject({
      kind: 'like',
      pattern: [{ kind: 'text', text: 'CK' }, { kind: 'one' }, { kind: 'text', text: '0' }, { kind: 'any' }],
    });
    expect(parse('*')).toEqual({ kind: 'all' });
    expect(parse('*:*')).toEqual({ kind: 'all' });
    expect(parse('uuid:*')).toEqual({ kind: 'exists', field: { kind: 'uuid' }, position: 6 });
  });

  it('distributes a field over its group', () => {
    expect(parse('event_name:(a OR (b AND c*))')).toEqual({
      kind: 'or',
      operands: [
        { kind: 'equals', field: { kind: 'event_name' }, value: 'a', position: 13 },
        {
          kind: 'and',
          operands: [
            { kind: 'equals', field: { kind: 'event_name' }, value: 'b', position: 19 },
            { kind: 'like', field: { kind: 'event_name' }, pattern: [{ kind: 'text', text: 'c' }, { kind: 'any' }], position: 25 },
          ],
        },
      ],
    });
  });

  it('turns dates into the seconds they span, as Elasticsearch rounds them', () => {
    const span = (text: string): unknown => parse(text);
    expect(span('created:2024')).toMatchObject({ lower: { value: '2024-01-01 00:00:00', inclusive: true }, upper: { value: '2024-12-31 23:59:59', inclusive: true } });
    expect(span('created:2024-02')).toMatchObject({ upper: { value: '2024-02-29 23:59:59' } });
    expect(span('created:{2024-02-01 TO 2024-03-01}')).toMatchObject({ lower: { value: '2024-02-01 23:59:59', inclusive: false }, upper: { value: '2024-03-01 00:00:00', inclusive: false } });
    expect(span('created:>2024-05-01T10:00')).toMatchObject({ lower: { value: '2024-05-01 10:00:59', inclusive: false } });
    expect(span('created:<="2024-05-01 10:00:00"')).toMatchObject({ upper: { value: '2024-05-01 10:00:00', inclusive: true } });
    expect(span('created:[2024-05-01T10:00:00+02:00 TO *]')).toMatchObject({ lower: { value: '2024-05-01 08:00:00' } });
    expect(span('created:[now-7d TO now]')).toMatchObject({ lower: { value: '2026-03-08 12:34:56' }, upper: { value: '2026-03-15 12:34:56' } });
    expect(span('created:now/d')).toMatchObject({ lower: { value: '2026-03-15 00:00:00' }, upper: { value: '2026-03-15 23:59:59' } });
    expect(span('created:2024-05-0*')).toMatchObject({ kind: 'like' });
  });

  it('types log_id and data ranges', () => {
    expect(parse('log_id:[10 TO *}')).toEqual({ kind: 'range', field: { kind: 'log_id' }, lower: { value: 10, inclusive: true }, position: 8 });
    expect(parse('data.data.total:[1.5 TO 20]')).toMatchObject({ lower: { value: 1.5 }, upper: { value: 20 } });
    expect(parse('data.data.name:[a TO m]')).toMatchObject({ lower: { value: 'a' }, upper: { value: 'm' } });
    expect(parse('log_id:[* TO *]')).toEqual({ kind: 'exists', field: { kind: 'log_id' }, position: 8 });
  });

  it('accepts and ignores boosts', () => {
    expect(shape('event_name:a^2 OR (b)^0.5')).toEqual(shape('event_name:a OR b'));
  });

  it.each([
    ['event_name:a)', 13, /^Unexpected "\)" at position 13/],
    ['a AND OR b', 7, /^Unexpected "OR" at position 7/],
    ['AND a', 1, /^Unexpected "AND" at position 1/],
    ['NOT', 4, /^Unexpected end of query at position 4: "NOT" needs a term after it/],
    ['a (b', 3, /^Unclosed "\(" at position 3/],
    ['()', 1, /^Empty group "\(\)" at position 1/],
    ['event_name:', 12, /^Unexpected end of query at position 12: "event_name:" needs a value/],
    ['[a TO b]', 1, /^Range without a field at position 1/],
    ['log_id:[1 2]', 11, /^Unexpected "2" at position 11: a range is written/],
    ['log_id:1*', 8, /^Wildcard on log_id at position 8/],
    ['success:[true TO false]', 9, /^Range on success/],
    ['10:00', 1, /a time needs quotes/],
    ['data:x', 1, /^Field "data" without a path/],
    ['created:2024-02-30', 9, /^Invalid date/],
    ['a^', 2, /^Boost "\^" without a number/],
    ['event_name:(uuid:x)', 13, /inside the group of another field/],
    ['a:b:c', 1, /^Unknown field "a"/],
  ])('reports %s at position %i', (text, position, message) => {
    const error = syntaxError(text);
    expect(error.position).toBe(position);
    expect(error.message).toMatch(message);
  });

  it('refuses nesting and sizes that could exhaust the stack or the SQL parameters', () => {
    expect(syntaxError(`${'('.repeat(40)}a${')'.repeat(40)}`).message).toMatch(/nested too deeply/);
    expect(syntaxError('NOT '.repeat(40) + 'a').message).toMatch(/nested too deeply/);
    expect(syntaxError(Array.from({ length: 300 }, (_, i) => `t${i}`).join(' OR ')).message).toMatch(/Too many terms/);
    expect(parse(`${'('.repeat(30)}a${')'.repeat(30)}`)).toEqual(term('a', 31));
  });
});
