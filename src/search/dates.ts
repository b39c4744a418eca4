import { queryError } from './fields.ts';

/*
 * `created` values. The column holds UTC wall-clock seconds (`yyyy-MM-dd HH:mm:ss`, upstream's mapping format), so
 * every date in a query becomes the span of seconds it names: `2024` is the whole year, `2024-05-01` the whole
 * day, `2024-05-01 10:00` one minute. This is how Elasticsearch rounds dates in term and range queries (an
 * inclusive upper bound and an exclusive lower bound round up to the end of the span), and rendering these spans
 * as full datetimes makes both engines agree whatever date format the index mapping declares.
 */

export interface DateSpan {
  /** First second of the span, `yyyy-MM-dd HH:mm:ss` UTC. */
  readonly first: string;
  /** Last second of the span. */
  readonly last: string;
}

const DATE = /^(\d{4})(?:-(\d{2})(?:-(\d{2})(?:[T ](\d{2})(?::(\d{2})(?::(\d{2})(?:\.\d{1,9})?)?)?)?)?)?(Z|[+-]\d{2}:?\d{2})?$/;
const NOW = /^now(?:([+-])(\d{1,6})([yMwdhHms]))?(?:\/([yMwdhHms]))?$/;

type Unit = 'y' | 'M' | 'w' | 'd' | 'h' | 'm' | 's';

export function formatUtc(ms: number): string {
  return new Date(ms).toISOString().slice(0, 19).replace('T', ' ');
}

export function dateSpan(text: string, position: number, now: Date = new Date()): DateSpan {
  const span = text.startsWith('now') ? relativeSpan(text, now) : absoluteSpan(text);
  if (span === undefined) {
    throw queryError(
      `Invalid date "${text}"`,
      position,
      'use yyyy, yyyy-MM, yyyy-MM-dd, "yyyy-MM-dd HH:mm:ss" (quoted, or with T) or now-7d; times are UTC',
    );
  }
  return { first: formatUtc(span.start), last: formatUtc(span.end - 1000) };
}

/** Start (inclusive) and end (exclusive) in epoch milliseconds. */
function absoluteSpan(text: string): { start: number; end: number } | undefined {
  const match = DATE.exec(text);
  if (!match) return undefined;
  const [, y, mo, d, h, mi, s, zone] = match;
  const parts = [Number(y), mo === undefined ? 1 : Number(mo), d === undefined ? 1 : Number(d), Number(h ?? 0), Number(mi ?? 0), Number(s ?? 0)] as const;
  const [year, month, day, hour, minute, second] = parts;
  if (month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 || second > 59) return undefined;
  const local = Date.UTC(year, month - 1, day, hour, minute, second);
  // Date.UTC rolls 2024-02-30 over into March; a date that does not exist is an error, not a different day.
  if (new Date(local).getUTCDate() !== day) return undefined;
  const unit: Unit = s !== undefined ? 's' : mi !== undefined ? 'm' : h !== undefined ? 'h' : d !== undefined ? 'd' : mo !== undefined ? 'M' : 'y';
  const start = local - offsetMs(zone);
  return { start, end: add(start, unit, 1) };
}

function relativeSpan(text: string, now: Date): { start: number; end: number } | undefined {
  const match = NOW.exec(text);
  if (!match) return undefined;
  const [, sign, amount, unit, rounding] = match;
  let at = Math.floor(now.getTime() / 1000) * 1000;
  if (sign !== undefined && amount !== undefined && unit !== undefined) at = add(at, normalizeUnit(unit), sign === '-' ? -Number(amount) : Number(amount));
  if (rounding === undefined) return { start: at, end: at + 1000 };
  const unitOfSpan = normalizeUnit(rounding);
  const start = floorTo(at, unitOfSpan);
  return { start, end: add(start, unitOfSpan, 1) };
}

function normalizeUnit(unit: string): Unit {
  return unit === 'H' ? 'h' : (unit as Unit);
}

function offsetMs(zone: string | undefined): number {
  if (zone === undefined || zone === 'Z') return 0;
  const digits = zone.replace(':', '');
  const minutes = Number(digits.slice(1, 3)) * 60 + Number(digits.slice(3, 5));
  return (zone.startsWith('-') ? -minutes : minutes) * 60_000;
}

function add(ms: number, unit: Unit, amount: number): number {
  const date = new Date(ms);
  switch (unit) {
    case 'y':
      date.setUTCFullYear(date.getUTCFullYear() + amount);
      return date.getTime();
    case 'M':
      date.setUTCMonth(date.getUTCMonth() + amount);
      return date.getTime();
    case 'w':
      return ms + amount * 7 * 86_400_000;
    case 'd':
      return ms + amount * 86_400_000;
    case 'h':
      return ms + amount * 3_600_000;
    case 'm':
      return ms + amount * 60_000;
    case 's':
      return ms + amount * 1000;
  }
}

function floorTo(ms: number, unit: Unit): number {
  const d = new Date(ms);
  switch (unit) {
    case 'y':
      return Date.UTC(d.getUTCFullYear(), 0, 1);
    case 'M':
      return Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1);
    case 'w': {
      // ISO weeks start on Monday, as Elasticsearch rounds them.
      const day = Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate());
      return day - ((d.getUTCDay() + 6) % 7) * 86_400_000;
    }
    case 'd':
      return Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate());
    case 'h':
      return Math.floor(ms / 3_600_000) * 3_600_000;
    case 'm':
      return Math.floor(ms / 60_000) * 60_000;
    case 's':
      return Math.floor(ms / 1000) * 1000;
  }
}
