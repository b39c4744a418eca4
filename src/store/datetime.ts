/*
 * Both databases keep datetimes as UTC wall-clock text 'YYYY-MM-DD HH:MM:SS' (Magento stores UTC): MySQL DATETIME
 * read with `dateStrings` on a session whose time_zone is '+00:00', and SQLite TEXT as written by
 * CURRENT_TIMESTAMP. Converting here, and only here, keeps Date objects out of the drivers, whose
 * own conversions use the process time zone.
 */

/** A Date as the database's UTC 'YYYY-MM-DD HH:MM:SS'. */
export function toDbDateTime(date: Date): string {
  if (Number.isNaN(date.getTime())) throw new RangeError('invalid Date given for a datetime column');
  return date.toISOString().slice(0, 19).replace('T', ' ');
}

export function nowDbDateTime(): string {
  return toDbDateTime(new Date());
}

const DB_DATETIME = /^(\d{4})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2}):(\d{2})(\.\d+)?(Z|[+-]00:?00)?$/;

/** A database datetime (UTC text, or a Date a driver made anyway) as a Date; NULL and MySQL's zero date give null. */
export function fromDbDateTime(value: unknown): Date | null {
  if (value === null || value === undefined) return null;
  if (value instanceof Date) return value;
  const text = String(value);
  if (text.startsWith('0000-00-00')) return null;
  const match = DB_DATETIME.exec(text);
  if (!match) throw new RangeError(`not a database datetime: ${JSON.stringify(text)}`);
  const [, y, mo, d, h, mi, s, fraction] = match;
  const ms = fraction ? Math.round(Number(fraction) * 1000) : 0;
  return new Date(Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s), ms));
}

/** Like fromDbDateTime for NOT NULL columns. */
export function requiredDbDateTime(value: unknown, column: string): Date {
  const date = fromDbDateTime(value);
  if (!date) throw new RangeError(`column ${column} is NULL or a zero date`);
  return date;
}
