import { describe, expect, it } from 'vitest';
import { fromDbDateTime, requiredDbDateTime, toDbDateTime } from '../../src/store/datetime.ts';

describe('database datetimes (UTC text)', () => {
  it('writes a Date as UTC wall-clock text, whatever the process time zone', () => {
    expect(toDbDateTime(new Date('2024-03-01T23:30:05.987+10:00'))).toBe('2024-03-01 13:30:05');
    expect(() => toDbDateTime(new Date('nope'))).toThrow(RangeError);
  });

  it('reads MySQL and SQLite text back as the same instant', () => {
    expect(fromDbDateTime('2024-03-01 13:30:05')?.toISOString()).toBe('2024-03-01T13:30:05.000Z');
    expect(fromDbDateTime('2024-03-01 13:30:05.25')?.toISOString()).toBe('2024-03-01T13:30:05.250Z');
    expect(fromDbDateTime('2024-03-01T13:30:05Z')?.toISOString()).toBe('2024-03-01T13:30:05.000Z');
  });

  it('treats NULL and the zero date as absent, and refuses anything else', () => {
    expect(fromDbDateTime(null)).toBeNull();
    expect(fromDbDateTime('0000-00-00 00:00:00')).toBeNull();
    expect(() => fromDbDateTime('yesterday')).toThrow(/not a database datetime/);
    expect(() => requiredDbDateTime(null, 'log.created')).toThrow(/log.created/);
  });
});
