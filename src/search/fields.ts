import { AsyncEventsError } from '../errors.ts';

/*
 * The searchable fields: upstream's Elasticsearch document `{log_id, uuid, event_name, success, created, data}`,
 * where `data` is the decoded `serialized_data`. Both engines accept exactly these, so a query that works with
 * the built-in search works unchanged against Elasticsearch and back.
 */

export type KeywordFieldName = 'uuid' | 'event_name';

export type SearchField =
  | { readonly kind: 'log_id' }
  | { readonly kind: 'success' }
  | { readonly kind: 'created' }
  | { readonly kind: KeywordFieldName }
  /** Only in subscription filters: the store the event was published for, compared as text, ranges as numbers. */
  | { readonly kind: 'store_id' }
  /** A JSON path into `serialized_data`: `data.data.increment_id` is `$.data.increment_id`. */
  | { readonly kind: 'data'; readonly path: readonly string[] };

export const KNOWN_FIELDS = ['log_id', 'uuid', 'event_name', 'success', 'created', 'data.<path>'] as const;

/** A subscription filter reads the event before any delivery exists: no log row, chain or time yet. */
export const FILTER_FIELDS = ['event_name', 'store_id', 'data.<path>'] as const;

/** Which fields a query may name: the delivery log's, or a subscription filter's over Magento's response. */
export type FieldSet = 'log' | 'filter';

/**
 * Path segments are restricted so that a JSON path built from them can never leave its string literal (it is
 * bound as a parameter anyway). Digits-only segments are object keys, never array indexes: upstream says
 * properties inside arrays are not searchable, and we keep that.
 */
const PATH_SEGMENT = /^[A-Za-z0-9_-]+$/;

export function fieldName(field: SearchField): string {
  return field.kind === 'data' ? ['data', ...field.path].join('.') : field.kind;
}

/** `<what> at position <n>[: <hint>]`, the position being the 1-based column in the query text. */
export function queryError(what: string, position: number, hint?: string): AsyncEventsError {
  const message = `${what} at position ${position}${hint === undefined ? '' : `: ${hint}`}`;
  return new AsyncEventsError('QUERY_SYNTAX', message, { position });
}

export function resolveField(name: string, position: number, fields: FieldSet = 'log'): SearchField {
  if (fields === 'filter') {
    if (name === 'store_id') return { kind: 'store_id' };
    if (name !== 'event_name' && !name.startsWith('data')) {
      throw queryError(`Unknown field "${name}"`, position, `a filter can use ${FILTER_FIELDS.join(', ')} (data.<path> reads Magento's response, e.g. data.status)`);
    }
  }
  switch (name) {
    case 'log_id':
    case 'uuid':
    case 'event_name':
    case 'success':
    case 'created':
      return { kind: name };
  }
  if (name === 'data') {
    throw queryError('Field "data" without a path', position, 'name a path into the event data, e.g. data.data.increment_id');
  }
  if (name.startsWith('data.')) {
    const path = name.slice('data.'.length).split('.');
    const bad = path.find((segment) => !PATH_SEGMENT.test(segment));
    if (bad !== undefined) {
      const hint = bad.includes('*') || bad.includes('?') ? 'wildcards in field names are not supported' : `"${bad}" is not a valid path segment (letters, digits, _ and - only)`;
      throw queryError(`Invalid field "${name}"`, position, hint);
    }
    return { kind: 'data', path };
  }
  const known = `searchable fields are ${KNOWN_FIELDS.join(', ')}`;
  const hint = /^\d+$/.test(name) ? `a time needs quotes, e.g. created:"2024-05-01 10:00:00"; ${known}` : known;
  throw queryError(`Unknown field "${name}"`, position, hint);
}

/** `log_id` values: unsigned integers as the column holds them. */
export function parseLogId(text: string, position: number): number {
  if (!/^\d{1,15}$/.test(text)) throw queryError(`Invalid log_id "${text}"`, position, 'log_id needs a whole number');
  return Number(text);
}

/** `success` values, as Elasticsearch's boolean field accepts them. */
export function parseSuccess(text: string, position: number): boolean {
  if (text === 'true') return true;
  if (text === 'false') return false;
  throw queryError(`Invalid success value "${text}"`, position, 'success is true or false');
}

/** A data range bound is numeric when it reads as a JSON number; otherwise bounds compare as text. */
export function numericBound(text: string): number | undefined {
  return /^-?\d+(\.\d+)?([eE][+-]?\d+)?$/.test(text) ? Number(text) : undefined;
}
