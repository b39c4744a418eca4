import { describe, expect, it } from 'vitest';
import { extraHeaderProblems, RESERVED_HEADER_NAMES } from '../../src/sinks/extra-headers.ts';

describe('extra headers of a subscription', () => {
  it('accepts ordinary header names and values', () => {
    expect(extraHeaderProblems({ 'X-Api-Key': 'k-123', Authorization: 'Bearer abc', 'x-tenant': 'shop 1\tDE' })).toEqual([]);
  });

  it.each(RESERVED_HEADER_NAMES.map((name) => [name.toUpperCase()]))('refuses the reserved %s', (name) => {
    expect(extraHeaderProblems({ [name]: 'x' })).toEqual([{ field: `headers.${name}`, message: expect.stringContaining('cannot be replaced') as string }]);
  });

  it('names each bad header', () => {
    const problems = extraHeaderProblems({ 'x_api key': '1', 'X-A': 'ok', 'x-a': 'dup', 'x-b': 'line\r\nInjected: 1', 'x-c': 'v'.repeat(1025) });
    expect(problems.map((p) => p.field)).toEqual(['headers.x_api key', 'headers.x-a', 'headers.x-b', 'headers.x-c']);
  });

  it('limits how many there are', () => {
    const many = Object.fromEntries(Array.from({ length: 21 }, (_, i) => [`x-h${i}`, 'v']));
    expect(extraHeaderProblems(many)[0]?.field).toBe('headers');
  });
});
